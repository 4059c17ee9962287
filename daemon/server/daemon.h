/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's shared state: one per process, owned by main.c. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "batch_engine.h"
#include "delay.h"
#include "list.h"
#include "s3_sites.h"

typedef struct http_client http_client;
typedef struct s3_ctx s3_ctx;

typedef struct daemon_config {
        const char *socket_path;
        unsigned parallelism;       /* per-call default */
        unsigned max_inflight;      /* files in flight, daemon-wide */
        size_t max_message;         /* bytes per message */
        size_t max_entries;         /* files per call */
        uint64_t max_read_bytes;    /* per Read call */
        unsigned max_connections;
        size_t max_reply_backlog;   /* queued reply bytes before a batch pauses */
        unsigned max_attempts;      /* per S3 request, by default */
        unsigned retry_budget_s;    /* waiting out an endpoint that fails everything; 0: none */
        unsigned validate_concurrency; /* S3 HEADs in flight per batch while validating */
        mode_t file_mode;           /* of files the daemon creates (0666 less the umask) */
        /* Who may connect (peer.c); none set: the default policy. */
        uid_t *allow_uids;
        size_t n_allow_uids;
        gid_t *allow_gids;
        size_t n_allow_gids;
        /* Per peer uid; 0: no limit of its own. */
        unsigned max_connections_per_uid;
        unsigned max_inflight_per_uid;
        size_t max_buffered_per_uid;  /* bytes of half-read messages */
        unsigned write_stall_timeout_s; /* a client that reads nothing this long is dropped */
        /* S3 defaults: below a call's options.s3, above the environment. NULL: unset. */
        const char *s3_endpoint;
        const char *s3_region;
        const char *s3_profile;
        const char *s3_addressing_style; /* "path" or "virtual" */
        /* Credentials of the daemon defaults layer (config file only). */
        const char *s3_access_key_id;
        const char *s3_secret_access_key;
        const char *s3_session_token;
        /* Transfer defaults (boto3's TransferConfig), below options.transfer. */
        bool multipart;
        uint64_t multipart_threshold;
        uint64_t multipart_chunksize;
        unsigned max_concurrency;   /* parts of one file in flight */
        uint64_t max_bandwidth;     /* bytes/s for the whole daemon; 0: no cap */
        uint64_t buffer_memory;     /* bytes of transfer buffers, daemon-wide */
} daemon_config;

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
        http_client *http;
        delay_queue delay;
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
