/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Per-call options, sent as the "options" object of a call. Keys are dotted
 * paths into that object ("parallelism", "max_bytes", "s3.endpoint_url"),
 * so settings added to the interface later need no new API. The library
 * does not check key names: the daemon rejects unknown ones. */
typedef struct fds_options fds_options;

/* NULL when out of memory. */
fds_options *fds_options_new(void);
/* Accepts NULL; returns NULL. */
fds_options *fds_options_free(fds_options *o);

/* Set (or replace) one value. -EINVAL for an empty key or key component, a
 * string that is not UTF-8, a double that is not finite, or when a prefix
 * of the key already holds a value that is not an object ("s3" set to a
 * string, then "s3.region"); -ENOMEM. */
int fds_options_set_int(fds_options *o, const char *key, int64_t value);
int fds_options_set_bool(fds_options *o, const char *key, bool value);
int fds_options_set_string(fds_options *o, const char *key, const char *value);
int fds_options_set_double(fds_options *o, const char *key, double value);

/* Remove one value; 0 if it was not set. -EINVAL for a malformed key. */
int fds_options_unset(fds_options *o, const char *key);

#ifdef __cplusplus
}
#endif
