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

/* One entry of a Size or Read call: the caller's name for it and its path
 * (absolute local path or s3:// URL). Names must be distinct. */
typedef struct fds_named_path {
        const char *name;
        const char *path;
} fds_named_path;

typedef struct fds_size_result {
        const char *name;
        const char *path;
        bool ok;
        uint64_t size;        /* when ok */
        fds_file_error error; /* when !ok; all NULL/0 when ok */
} fds_size_result;

typedef struct fds_read_result {
        const char *name;
        const char *path;
        bool ok;
        uint8_t *data; /* when ok: the contents, plus a NUL not counted in size */
        size_t size;
        fds_file_error error; /* when !ok; all NULL/0 when ok */
} fds_read_result;

/* Sizes of n files: (*ret_results)[i] answers files[i]. Free with
 * fds_size_results_free(*ret_results, n). Returns n; per-file failures are
 * in the results. -EINVAL for duplicate names. */
int fds_client_size(fds_client *c, const fds_named_path *files, size_t n, const fds_options *opts,
                    fds_size_result **ret_results);

fds_size_result *fds_size_results_free(fds_size_result *results, size_t n);

/* Contents of n files, decoded, as for fds_client_size(). The
 * option "max_bytes" bounds the sum of all sizes (the daemon caps it too);
 * over it the call fails with FDS_CALL_ERROR_READ_LIMIT_EXCEEDED. */
int fds_client_read(fds_client *c, const fds_named_path *files, size_t n, const fds_options *opts,
                    fds_read_result **ret_results);

fds_read_result *fds_read_results_free(fds_read_result *results, size_t n);

#ifdef __cplusplus
}
#endif
