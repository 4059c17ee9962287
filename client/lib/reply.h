/* SPDX-License-Identifier: MIT */
#pragma once

/* Reading fields of a decoded reply: nothing here knows of connections. */

#include <jansson.h>
#include <stdint.h>

/* obj[key] as a non-negative integer: 1 set, 0 absent or null, -EBADMSG
 * anything else. */
int reply_get_uint64(json_t *obj, const char *key, uint64_t *ret);
/* obj[key] if it is a string, else NULL (borrowed from obj). */
const char *reply_get_string(json_t *obj, const char *key);
