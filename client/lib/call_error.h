/* SPDX-License-Identifier: MIT */
#pragma once

/* The varlink error that ended the last call, and what owns its strings
 * (error.c). It knows replies, not connections or calls. */

#include <jansson.h>
#include <stdbool.h>

#include "fds/error.h"

typedef struct call_error {
        bool set;
        fds_call_error pub;
        json_t *reply; /* pub's strings point into it */
        fds_problem *problems;
        char *message;
        char *parameters_json;
} call_error;

void call_error_clear(call_error *e);
/* Take over reply (an error reply) as the last error. */
int call_error_set(call_error *e, json_t *reply);
