/* SPDX-License-Identifier: MIT */
#pragma once

/* FileError from a reply (file-error.c): parsed with borrowed strings,
 * duplicated into owned copies. */

#include <jansson.h>

#include "fds/error.h"

int file_error_parse(json_t *obj, fds_file_error *ret);
int file_error_dup(const fds_file_error *from, fds_file_error *ret);
void file_error_done(fds_file_error *e);
