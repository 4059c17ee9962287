/* SPDX-License-Identifier: MIT */
#pragma once

/* A call's options as the "options" object of the request (options.c). */

#include <jansson.h>

#include "fds/options.h"

json_t *options_json(const fds_options *o);
