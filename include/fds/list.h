/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fds/client.h>
#include <fds/error.h>
#include <fds/options.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One entry of a listing. */
typedef struct fds_list_entry {
        /* The full path ("/data/a.csv", "s3://bucket/data/a.csv"), usable
         * as a copy source; a directory's (local, or an S3 common prefix)
         * ends with '/'. */
        const char *path;
        bool dir;
        uint64_t size;    /* 0 for a directory */
        double mtime;     /* last modified, seconds since the epoch; -1 if not known */
        const char *etag; /* S3 objects: the ETag without quotes; else NULL */
} fds_list_entry;

/* Called for each entry, in order (local: sorted by path; S3: key order).
 * The entry is valid only during the call. A negative return aborts: the
 * connection is closed and fds_client_list() returns that value. */
typedef int (*fds_list_entry_fn)(const fds_list_entry *entry, void *userdata);

/*
 * List path: a local directory (its files and directories, symlinks
 * followed) or file (itself), or an S3 URL as `aws s3 ls` takes it (the key
 * as given is the prefix; "s3://b/data/" lists what is under data/, and
 * without recursive what lies below the next '/' is one directory entry).
 * recursive: every file below (for a directory, or a prefix ending in '/',
 * the files a recursive copy of it takes).
 * Entries stream: memory stays at one page whatever an S3 prefix holds.
 *
 * Returns 0 when everything was listed; 1 when the listing stopped on a
 * failure (missing directory or bucket, permission, S3 error), after the
 * entries listed until then, with *ret_error filled (free it with
 * fds_file_error_done(); ret_error may be NULL); a negative errno when the
 * call failed (-EINVAL with fds_client_last_error() for InvalidRequest).
 */
int fds_client_list(fds_client *c, const char *path, bool recursive, const fds_options *opts,
                    fds_list_entry_fn on_entry, void *userdata, fds_file_error *ret_error);

/* Frees what an fds_file_error returned to the caller holds; zeroes it. */
void fds_file_error_done(fds_file_error *e);

#ifdef __cplusplus
}
#endif
