/* SPDX-License-Identifier: MIT */
#pragma once

/* What every batch of the process shares: the defaults calls fall back
 * on, the scheduler, the jobs' shared machinery (set up with the first
 * batch), and counters. The server owns one and hears back through its
 * callbacks; nothing here knows of sockets or sessions. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "budget.h"
#include "bufcache.h"
#include "delay.h"
#include "job.h"
#include "list.h"
#include "pace.h"
#include "scheduler.h"
#include "throttle.h"

typedef struct batch_engine batch_engine;
typedef struct s3_sites s3_sites;

/* The daemon's settings under each call's options. */
typedef struct batch_defaults {
        unsigned parallelism;         /* files of one call in flight */
        size_t max_entries;           /* files per call, after expansion */
        uint64_t max_read_bytes;      /* per Read call */
        unsigned validate_concurrency; /* S3 HEADs in flight per batch while validating */
        unsigned max_inflight_per_share; /* files of one user in flight; 0: no limit */
        job_settings transfer;
} batch_defaults;

typedef struct batch_stats {
        uint64_t batches_total;
        uint64_t files_ok;
        uint64_t files_failed;
        uint64_t bytes;
} batch_stats;

/* Files in flight of one user across all its batches. Embedded in the
 * owner's per-user record; the engine holds it while a batch lives. */
typedef struct batch_share {
        unsigned inflight;
        sched_group group;   /* the user's calls in the scheduler */
} batch_share;

void batch_share_init(batch_share *s);

typedef struct batch_engine_config {
        uint64_t max_bandwidth;       /* bytes/s for the whole process; 0: no cap */
        uint64_t buffer_memory;       /* bytes of transfer buffers */
        unsigned max_inflight;        /* files in flight, process-wide */
        mode_t file_mode;             /* of files created */
} batch_engine_config;

struct batch_engine {
        uv_loop_t *loop;
        batch_engine_config cfg;
        batch_defaults defaults;
        delay_queue *delay;
        s3_ctx *s3;
        s3_sites *sites;
        scheduler sched;
        list_node batches;            /* all of them */
        unsigned n_batches;
        uint64_t next_id;
        batch_stats stats;
        delay_entry bw_tick;          /* bwshare.c: shares the cap between calls */
        uint64_t bw_last;             /* uv_now() of the last share-out */
        /* Set up with the first batch (batch_engine_ready). */
        job_shared shared;
        throttle bandwidth;
        pace local_pace;
        budget buffers;
        bufcache bufs;           /* buffers kept for reuse within that budget */
        bool ready;
        /* Which job runs a file (tests give their own). */
        const job_type *(*job_for)(transfer_op op, const job_file *f);
        /* The last batch is gone. */
        void (*drained)(batch_engine *e, void *userdata);
        /* A batch let go of its share (the owner may free it). */
        void (*share_release)(batch_engine *e, batch_share *s, void *userdata);
        /* A multipart upload could not be aborted (job_shared.upload_left). */
        void (*upload_left)(const char *endpoint, const char *bucket, const char *key, const char *upload_id,
                            const char *why, void *userdata);
        void *userdata;
};

void batch_engine_init(batch_engine *e, uv_loop_t *loop, delay_queue *delay, s3_ctx *s3, s3_sites *sites,
                       const batch_engine_config *cfg);
/* Thread pools, buffer budget and bandwidth caps: once, with the first batch. */
int batch_engine_ready(batch_engine *e);
/* The daemon-wide cap, changed while transfers run (0: none). */
void batch_engine_set_bandwidth(batch_engine *e, uint64_t rate);
/* No batch is left and none will come: close what ready opened. */
void batch_engine_shutdown(batch_engine *e);
