/* SPDX-License-Identifier: MIT */
#pragma once

/* The varlink methods: decode a call, run it, encode its replies. */

#include <stddef.h>

typedef struct session session;

void method_dispatch(session *s, const char *msg, size_t len);
