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
        int http_status;      /* 0: none */
        char *message;
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

/* One per file of a call, queued or not: its size counts for a 100,000-file
 * call, so small fields are grouped to leave no padding. */
typedef struct job_file {
        fds_entry *entry;
        uint64_t bytes;       /* copied, or the size */
        void *data;           /* Read: the contents (malloc'd) */
        file_error err;
        /* What validation found out, for the job to start from. */
        uint64_t src_size;    /* size seen */
        char *etag;           /* an S3 source's ETag, pinned for the transfer */
        char *vreason;        /* why the source failed, when errno says too little */
        char *dreason;        /* the same for the destination */
        /* Validation's own findings (the batch layer's). */
        int vr;               /* 0 or negative errno for the source */
        int dvr;              /* 0 or negative errno for the destination */
        int vhttp;            /* HTTP status of a failed S3 check */
        unsigned attempts;    /* S3 requests: tries the last request took */
        uint8_t state;        /* file_state */
        uint8_t verified;     /* file_verified */
        bool src_known;       /* size and ETag came from a listing: no HEAD needed */
        bool dst_exists;      /* no_clobber: the destination is there already */
        bool skipped;         /* so it was left alone */
} job_file;

int file_error_set(file_error *e, fds_code code, const char *message);
int file_error_set_errno(file_error *e, int err, const char *what);
void file_error_done(file_error *e);
/* Free what the file owns (not its entry). */
void job_file_done(job_file *f);
