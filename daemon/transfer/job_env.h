/* SPDX-License-Identifier: MIT */
#pragma once

/* Everything a job may use, handed down by whoever runs it: the daemon's
 * shared machinery (job_shared) and one call's settings. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "budget.h"
#include "bufcache.h"
#include "fsq.h"
#include "job_file.h"
#include "pace.h"
#include "throttle.h"

typedef struct s3_ctx s3_ctx;
typedef struct s3_site s3_site;
struct md5q;

/* Set up once, shared by every job of the process. */
typedef struct job_shared {
        uv_loop_t *loop;
        fsq *fsq;                 /* file operations with the caller's identity */
        struct md5q *md5q;        /* MD5 of whole buffers, in SIMD lanes */
        budget *buffers;          /* transfer buffer memory */
        bufcache *bufs;           /* its buffers, kept for reuse */
        s3_ctx *s3;
        throttle *bandwidth;      /* the daemon-wide cap */
        pace *local_pace;         /* the same cap, for local copies on worker threads */
        mode_t file_mode;         /* of files the daemon creates */
        /* A multipart upload could not be aborted: its parts stay billed
         * until someone does (NULL: nobody keeps track). */
        void (*upload_left)(const char *endpoint, const char *bucket, const char *key, const char *upload_id,
                            const char *why, void *userdata);
        void *userdata;
} job_shared;

/* Effective transfer settings of one call: its options over the daemon's
 * defaults (boto3's TransferConfig). */
typedef struct job_settings {
        bool multipart;
        uint64_t multipart_threshold;
        uint64_t multipart_chunksize;
        uint64_t copy_cutoff;         /* S3->S3: one CopyObject up to this, parts above */
        unsigned max_concurrency;     /* parts of one file in flight */
        unsigned max_attempts;        /* per S3 request */
        unsigned retry_budget_s;      /* waiting out an endpoint that fails everything */
        bool verify;                  /* local copies: read the destination back */
        bool no_clobber;              /* a destination that appeared meanwhile is not replaced */
} job_settings;

typedef struct job_env {
        const job_shared *shared;
        transfer_op op;
        job_settings settings;
        const fs_creds *creds;        /* whose permissions local files use; NULL: the daemon's */
        s3_site *site;                /* when any path is s3:// */
        throttle *bandwidth;          /* the call's cap */
        pace *local_pace;             /* the call's cap, for local copies */
        /* Read: bytes the call may return in all, and how many its files
         * asked for so far (validation's sizes; a file may grow into what
         * is left). */
        uint64_t read_limit;
        const uint64_t *read_requested;
} job_env;
