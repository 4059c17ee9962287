/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's shared state: one per process, owned by main.c. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "budget.h"
#include "delay.h"
#include "list.h"
#include "scheduler.h"
#include "pace.h"
#include "throttle.h"

#include "s3_settings.h"

typedef struct http_client http_client;
typedef struct s3_ctx s3_ctx;
typedef struct imds imds;
typedef struct fsq fsq;

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

typedef struct daemon_stats {
        uint64_t connections_total;
        uint64_t batches_total;
        uint64_t files_ok;
        uint64_t files_failed;
        uint64_t bytes;
        /* status.c: bytes of Copy and Read files (Size moves none), and
         * calls that ended in an error (InvalidRequest, ReadLimitExceeded). */
        uint64_t bytes_moved;
        uint64_t calls_failed;
} daemon_stats;

typedef struct fds_daemon {
        uv_loop_t *loop;
        daemon_config cfg;
        scheduler sched;
        list_node sessions;
        list_node peers;            /* peer.c: per-uid counters */
        gid_t socket_gid;           /* group of the socket file: the system service's access list */
        bool socket_gid_known;
        unsigned n_sessions;
        uint64_t next_session_id;
        uint64_t next_batch_id;
        daemon_stats stats;
        http_client *http;
        delay_queue delay;
        s3_ctx *s3;
        s3_settings_context *s3set;   /* parsed shared files, cached */
        s3_settings_defaults s3_defaults;
        imds *imds;                   /* created when first needed */
        unsigned n_batches;
        /* Set up with the first batch, from cfg (max_bandwidth, buffer_memory). */
        throttle bandwidth;
        pace local_pace;            /* max_bandwidth for local copies (worker threads) */
        budget buffers;
        fsq *fsq;                   /* file operations with the peer's identity */
        struct md5q *md5q;          /* MD5 of whole buffers, in SIMD lanes */
        bool transfer_ready;
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
