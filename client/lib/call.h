/* SPDX-License-Identifier: MIT */
#pragma once

/* One call's request and replies over a connection (call.c). */

#include <jansson.h>
#include <stdbool.h>

#include "conn.h"
#include "fds/options.h"

int call_start(fds_client *c, const char *method, json_t *parameters, const fds_options *opts, bool more);
int call_next(fds_client *c, json_t **ret_parameters, bool *ret_continues);
