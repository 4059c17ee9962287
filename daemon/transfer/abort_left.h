/* SPDX-License-Identifier: MIT */
#pragma once

/* At start: abort the multipart uploads a previous run could not
 * (uploads_left.h), with the daemon's default S3 settings, on the same
 * endpoint only. Each one's outcome goes to report (the caller logs);
 * an aborted one (or one the server no longer knows) is forgotten. */

#include "uploads_left.h"

typedef struct fds_daemon fds_daemon;
typedef struct abort_left abort_left;

/* r 0: aborted or already gone; <0: kept for the next start, why says. */
typedef void (*abort_left_fn)(const char *endpoint, const char *bucket, const char *key, const char *upload_id,
                              int r, const char *why, void *userdata);

/* 0 and *ret (freed by abort_left_free after the loop ended), or <0. */
int abort_left_start(fds_daemon *d, uploads_left *u, abort_left_fn report, void *userdata, abort_left **ret);
/* Stopping: drop a credentials lookup still waited for. */
void abort_left_stop(abort_left *a);
abort_left *abort_left_free(abort_left *a);
