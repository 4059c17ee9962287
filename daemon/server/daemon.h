/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's shared state: one per process, owned by main.c. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "batch_engine.h"
#include "daemon_config.h"
#include "delay.h"
#include "list.h"
#include "metrics.h"
#include "s3_sites.h"

typedef struct http_client http_client;
typedef struct s3_ctx s3_ctx;

/* The server's own counters; the batch engine keeps those of files. */
typedef struct daemon_stats {
        uint64_t connections_total;
        /* status.c: bytes of Copy and Read files (Size moves none), and
         * calls that ended in an error (InvalidRequest, ReadLimitExceeded). */
        uint64_t bytes_moved;
        uint64_t calls_failed;
} daemon_stats;

typedef struct fds_daemon {
        uv_loop_t *loop;
        daemon_config cfg;
        list_node sessions;
        list_node peers;            /* peer.c: per-uid counters */
        gid_t socket_gid;           /* group of the socket file: the system service's access list */
        bool socket_gid_known;
        unsigned n_sessions;
        uint64_t next_session_id;
        daemon_stats stats;
        metrics_counters metrics;   /* metrics.c: by method, result and outcome */
        http_client *http;
        delay_queue delay;
        delay_entry idle_trim;      /* gives freed heap back once the daemon has been idle a while */
        s3_ctx *s3;
        s3_sites sites;             /* S3 settings and credentials of calls */
        batch_engine engine;        /* batches, their scheduler and their jobs' machinery */
        /* status.c: when the daemon started (CLOCK_MONOTONIC, ns) and the
         * transfer rate of the last few seconds. */
        uint64_t started_ns;
        uint64_t bytes_per_sec;
        /* Called when stopping and the last batch is gone. */
        void (*on_drained)(struct fds_daemon *d);
        /* A multipart upload could not be aborted: its parts stay billed
         * (main.c logs it and keeps it for the next start). */
        void (*upload_left)(struct fds_daemon *d, const char *endpoint, const char *bucket, const char *key,
                            const char *upload_id, const char *why);
        bool stopping;
} fds_daemon;

/* Set up what a running daemon shares (retry timer, HTTP engine, S3
 * context, S3 sites, batch engine) from d->cfg; d->loop is set. 0 or a
 * negative errno, *ret_what naming the part that failed. */
int daemon_init(fds_daemon *d, const char **ret_what);
/* Take over the settings a reload may change (the rest wait for a restart). */
void daemon_apply(fds_daemon *d, const daemon_config *n);
/* The daemon's [s3] settings as the layer under the call's options (the
 * strings stay cfg's). */
s3_settings_defaults daemon_s3_defaults(const daemon_config *cfg);
/* Stopping and the last batch is gone: close what daemon_init opened but
 * the S3 context (freed after the loop ends). */
void daemon_shutdown(fds_daemon *d);
