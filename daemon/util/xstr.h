/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include <stddef.h>

/* Small string helpers shared by every layer. */

/* asprintf that returns the string, or NULL when out of memory. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* The value of one hex digit (either case), or -1. */
int hex_digit_value(char c);

/* n bytes as 2n lower-case hex digits and a NUL, as ETags and SigV4 write them. */
void hex_encode(const void *data, size_t n, char *out);
