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

/* A filter of a recursive pair: a glob (fnmatch(3), '*' matching '/' too)
 * against each file's path below src, to include or to exclude. */
typedef struct fds_filter {
        bool include;
        const char *glob;
} fds_filter;

/* A path is an absolute local path ("/data/a.bin") or an S3 URL
 * ("s3://bucket/key"); the daemon validates both. */
typedef struct fds_copy_pair {
        const char *src;
        const char *dst;
        /* src is a local directory or an s3://bucket/prefix/ and dst the
         * directory or prefix to copy into: the daemon copies every file
         * under src and reports each one with this pair's index. */
        bool recursive;
        /* Recursive only, as aws s3 cp --exclude/--include: every file
         * unless a filter says otherwise; of the filters that match a
         * file, the last decides. At most 100. */
        const fds_filter *filters;
        size_t n_filters;
} fds_copy_pair;

/* Whether a download's bytes were checked against the object's ETag. */
typedef enum fds_verified {
        FDS_VERIFIED_NA = 0,  /* not reported: not an S3 download, or failed */
        FDS_VERIFIED_YES,     /* every byte matched the ETag */
        FDS_VERIFIED_NO,      /* nothing to check against (SSE-KMS, unknown part layout) */
} fds_verified;

typedef struct fds_copy_result {
        size_t index; /* position of the pair in the request */
        const char *src;
        const char *dst;
        bool ok;
        uint64_t bytes;       /* bytes copied */
        unsigned attempts;    /* S3: tries the request took; 0 for local files */
        fds_file_error error; /* when !ok; all NULL/0 when ok */
        fds_verified verified;
        bool skipped;         /* no_clobber: the destination was there, left alone (ok) */
} fds_copy_result;

typedef struct fds_copy_summary {
        uint64_t files_ok;      /* skipped ones included */
        uint64_t files_failed;
        uint64_t bytes;
        double seconds;
        uint64_t files_skipped; /* no_clobber */
} fds_copy_summary;

/* Called once per file as it finishes (in finishing order, not request
 * order). The result and its strings are valid only during the call. A
 * negative return aborts: the connection is closed (the client becomes
 * unusable) and fds_client_copy() returns that value. */
typedef int (*fds_copy_result_fn)(const fds_copy_result *result, void *userdata);

/* Copy n pairs. opts and on_result may be NULL. Returns 0 once the
 * daemon has finished the whole batch, whether or not files failed; the
 * summary says how many did. ret_summary may be NULL. */
int fds_client_copy(fds_client *c, const fds_copy_pair *pairs, size_t n, const fds_options *opts,
                    fds_copy_result_fn on_result, void *userdata, fds_copy_summary *ret_summary);

/* The same, collecting the results in request order (by index; the files
 * of a recursive pair in the order they finished). Returns the number of
 * results, which is n unless a pair is recursive; free them with
 * fds_copy_results_free(*ret_results, count). ret_summary may be NULL. */
int fds_client_copy_all(fds_client *c, const fds_copy_pair *pairs, size_t n, const fds_options *opts,
                        fds_copy_result **ret_results, fds_copy_summary *ret_summary);

/* Accepts NULL; returns NULL. */
fds_copy_result *fds_copy_results_free(fds_copy_result *results, size_t n);

#ifdef __cplusplus
}
#endif
