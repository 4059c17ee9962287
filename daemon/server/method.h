/* SPDX-License-Identifier: MIT */
#pragma once

/* The varlink methods: decode a call, run it, encode its replies. */

#include <stddef.h>

#include <jansson.h>

#include "message.h"

typedef struct session session;

void method_dispatch(session *s, const char *msg, size_t len);
/* The one reply of a call that answers at once (none when it is oneway);
 * takes params (NULL: out of memory, and the connection closes). */
void method_reply(session *s, const fds_call *call, json_t *params);
void method_error(session *s, const fds_call *call, const char *name, json_t *params);
