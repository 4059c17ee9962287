/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Standard base64 with padding; returns a malloc'd NUL-terminated string. */
char *base64_encode(const void *data, size_t len);
