/* SPDX-License-Identifier: MIT */
#pragma once

/* One file of an operation and its result, as jobs fill it in. */

#include <stdbool.h>
#include <stdint.h>

#include "errcode.h"
#include "request.h"

/* What the caller asked of its files. */
typedef enum transfer_op {
        TRANSFER_COPY,
        TRANSFER_SIZE,
        TRANSFER_READ,
        TRANSFER_LIST, /* no jobs: the batch lists (batch/listing.c) */
} transfer_op;

typedef struct file_error {
        fds_code code;        /* FDS_CODE_OK on success */
        char *message;
        int http_status;      /* 0: none */
        char *s3_code;        /* NULL: none */
} file_error;

typedef enum file_state {
        FILE_PENDING,
        FILE_RUNNING,
        FILE_DONE,
} file_state;

/* Whether a downloaded file's bytes were checked against what the server
 * says the object holds (its ETag). */
typedef enum file_verified {
        FILE_VERIFIED_NA,     /* not a download from S3 */
        FILE_VERIFIED_YES,
        FILE_VERIFIED_NO,     /* nothing to check against (SSE-KMS, an unknown part layout) */
} file_verified;

typedef struct job_file {
        fds_entry *entry;
        uint64_t bytes;       /* copied, or the size */
        void *data;           /* Read: the contents (malloc'd) */
        file_error err;
        file_state state;
        /* What validation found out, for the job to start from. */
        uint64_t src_size;    /* size seen */
        char *etag;           /* an S3 source's ETag, pinned for the transfer */
        bool src_known;       /* size and ETag came from a listing: no HEAD needed */
        unsigned attempts;    /* S3 requests: tries the last request took */
        file_verified verified;
        /* Validation's own findings (the batch layer's). */
        int vr;               /* 0 or negative errno for the source */
        int dvr;              /* 0 or negative errno for the destination */
        bool dst_exists;      /* no_clobber: the destination is there already */
        bool skipped;         /* so it was left alone */
        char *vreason;        /* why the source failed, when errno says too little */
        char *dreason;        /* the same for the destination */
        int vhttp;            /* HTTP status of a failed S3 check */
} job_file;

int file_error_set(file_error *e, fds_code code, const char *message);
int file_error_set_errno(file_error *e, int err, const char *what);
void file_error_done(file_error *e);
/* Free what the file owns (not its entry). */
void job_file_done(job_file *f);
