/* SPDX-License-Identifier: MIT */
#pragma once

/* A file's address as the protocol carries it: an absolute local path or an
 * s3://bucket/key URL. Parsing only; nothing here touches the file system. */

#include <stdbool.h>
#include <stddef.h>

#include "strpool.h"

typedef enum fds_location_kind {
        FDS_LOCATION_LOCAL,
        FDS_LOCATION_S3,
} fds_location_kind;

typedef struct fds_location {
        fds_location_kind kind;
        bool pooled;  /* the strings are a pool's (or the parsed string's): never freed here */
        char *path;   /* local: normalized absolute path */
        char *bucket; /* s3 */
        char *key;    /* s3: the key exactly as given (may be empty for a prefix) */
} fds_location;

#define FDS_S3_KEY_MAX 1024

/* Parse `s`. On failure returns a negative errno and, if ret_reason is not
 * NULL, a static human-readable reason. The result is freed with
 * fds_location_done(). Local paths are normalized lexically: repeated
 * slashes and "." components are dropped, ".." is kept as given (the file
 * system, not the string, decides where it leads). */
int fds_location_parse(const char *s, fds_location *ret, const char **ret_reason);
/* The same with the strings in pool, or in s itself where they are a part
 * of it (a path already normal, an S3 key): s must then live as long as
 * the pool, as it does when it is one of the pool's strings. Buckets
 * repeat from one entry to the next and are shared when they do. */
int fds_location_parse_in(const char *s, fds_strpool *pool, fds_location *ret, const char **ret_reason);
void fds_location_done(fds_location *l);

bool fds_s3_bucket_name_valid(const char *b, size_t n);

/* True when s starts with "s3://". */
bool fds_location_is_s3(const char *s);
