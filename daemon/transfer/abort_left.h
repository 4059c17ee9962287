/* SPDX-License-Identifier: MIT */
#pragma once

/* At start: abort the multipart uploads a previous run could not
 * (uploads_left.h), with the daemon's default S3 settings, on the same
 * endpoint only. Each one's outcome goes to report (the caller logs);
 * an aborted one (or one the server no longer knows) is forgotten. */

#include "uploads_left.h"

typedef struct abort_left abort_left;
typedef struct s3_ctx s3_ctx;
typedef struct s3_sites s3_sites;

/* What the aborts run with: the daemon's defaults. */
typedef struct abort_left_with {
        s3_ctx *s3;
        s3_sites *sites;
        unsigned max_attempts;
        unsigned retry_budget_s;
} abort_left_with;

/* r 0: aborted or already gone; <0: kept for the next start, why says. */
typedef void (*abort_left_fn)(const char *endpoint, const char *bucket, const char *key, const char *upload_id,
                              int r, const char *why, void *userdata);

/* 0 and *ret (freed by abort_left_free after the loop ended), or <0. */
int abort_left_start(const abort_left_with *with, uploads_left *u, abort_left_fn report, void *userdata,
                     abort_left **ret);
/* Stopping: drop a credentials lookup still waited for. */
void abort_left_stop(abort_left *a);
abort_left *abort_left_free(abort_left *a);
