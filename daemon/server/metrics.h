/* SPDX-License-Identifier: MIT */
#pragma once

/* Prometheus metrics: the counters the server bumps as files and calls
 * end (fixed arrays indexed by enum, nothing allocated per file), and the
 * text exposition format 0.0.4 of them and of the daemon's state, made
 * anew on every scrape (metrics_http.c serves it). */

#include <stddef.h>
#include <stdint.h>

#include "errcode.h"
#include "job_file.h"

typedef struct fds_daemon fds_daemon;

#define METRICS_METHODS 4  /* transfer_op: copy, size, read, list */
#define METRICS_BUCKETS 13 /* upper bounds of fds_call_duration_seconds, +Inf not counted */

/* How a call ended. */
typedef enum metrics_outcome {
        METRICS_OUTCOME_OK,
        METRICS_OUTCOME_INVALID_REQUEST,
        METRICS_OUTCOME_READ_LIMIT,
        METRICS_OUTCOME_CANCELED,
        METRICS_OUTCOME_DISCONNECTED,      /* its client went away first */
        METRICS_OUTCOME_INVALID_PARAMETER, /* refused before it started */
        _METRICS_OUTCOME_MAX,
} metrics_outcome;

typedef struct metrics_counters {
        uint64_t files[METRICS_METHODS][_FDS_CODE_MAX];   /* by result */
        uint64_t bytes[METRICS_METHODS];
        uint64_t calls[METRICS_METHODS][_METRICS_OUTCOME_MAX];
        /* Per bucket, not cumulative; the last one is above every bound. */
        uint64_t duration[METRICS_METHODS][METRICS_BUCKETS + 1];
        double duration_sum[METRICS_METHODS];              /* seconds */
        double start_time;                                 /* seconds since the epoch */
} metrics_counters;

/* Zero counters; the start time is now. */
void metrics_init(metrics_counters *m);
/* A file of a call of kind op ended with code, having moved bytes. */
void metrics_file_done(metrics_counters *m, transfer_op op, fds_code code, uint64_t bytes);
/* A call of kind op ended after ns nanoseconds. */
void metrics_call_end(metrics_counters *m, transfer_op op, metrics_outcome outcome, uint64_t ns);
/* A call of kind op was refused before it started: counted, not timed. */
void metrics_call_refused(metrics_counters *m, transfer_op op);

/* The exposition of d's metrics: a malloc'd text in *ret, its length in
 * *ret_len. 0 or -ENOMEM. */
int metrics_render(const fds_daemon *d, char **ret, size_t *ret_len);

/* Its Content-Type. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
