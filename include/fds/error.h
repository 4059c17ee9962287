/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* varlink error names the daemon may answer a call with (fds_call_error.name). */
#define FDS_CALL_ERROR_INVALID_REQUEST "io.fds.Transfer.InvalidRequest"
#define FDS_CALL_ERROR_READ_LIMIT_EXCEEDED "io.fds.Transfer.ReadLimitExceeded"
#define FDS_CALL_ERROR_MESSAGE_TOO_LARGE "io.fds.Transfer.MessageTooLarge"
#define FDS_CALL_ERROR_TOO_MANY_CONNECTIONS "io.fds.Transfer.TooManyConnections"
#define FDS_CALL_ERROR_INVALID_MESSAGE "io.fds.Transfer.InvalidMessage"
#define FDS_CALL_ERROR_NO_SUCH_CALL "io.fds.Transfer.NoSuchCall"
#define FDS_CALL_ERROR_NOT_PERMITTED "io.fds.Transfer.NotPermitted"
#define FDS_CALL_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define FDS_CALL_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"

/* Why one file failed. Per-file failures are data, not call errors. */
typedef struct fds_file_error {
        /* NotFound, PermissionDenied, IsADirectory, NotADirectory, NoSpace,
         * IOError, Canceled, Exists, InvalidPath, S3Error (or a newer one). */
        const char *code;
        const char *message;
        int http_status;     /* 0 if none */
        const char *s3_code; /* NULL if none */
} fds_file_error;

/* One validation problem of an InvalidRequest error. */
typedef struct fds_problem {
        int64_t index;   /* position in the copies array, -1 if none */
        const char *key; /* name of the Size/Read entry, NULL if none */
        const char *path;
        const char *reason;
} fds_problem;

/* A call the daemon answered with a varlink error instead of a reply. */
typedef struct fds_call_error {
        const char *name;            /* e.g. FDS_CALL_ERROR_INVALID_REQUEST */
        const char *message;         /* one line for humans, never NULL */
        const fds_problem *problems; /* InvalidRequest only, else NULL */
        size_t n_problems;
        int64_t limit;               /* ReadLimitExceeded, MessageTooLarge,
                                        TooManyConnections; else 0 */
        int64_t requested;           /* ReadLimitExceeded; else 0 */
        const char *parameters_json; /* the error's parameters as sent, "{}" if none */
        int64_t id;                  /* NoSuchCall: the call's id; else 0 */
} fds_call_error;

#ifdef __cplusplus
}
#endif
