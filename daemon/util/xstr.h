/* SPDX-License-Identifier: MIT */
#pragma once

/* Small string helpers shared by every layer. */

/* asprintf that returns the string, or NULL when out of memory. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
