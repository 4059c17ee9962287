/* SPDX-License-Identifier: MIT */
#pragma once

/* What the daemon runs with: the configuration file and command line
 * (conf.c) over built-in defaults. Read by the server's modules; the
 * layers below get their own settings from it (daemon.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
        const char *metrics_listen; /* "IP:PORT" of the metrics endpoint; NULL: none */
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
        uint64_t copy_cutoff;       /* S3->S3: one CopyObject up to this */
        unsigned max_concurrency;   /* parts of one file in flight */
        uint64_t max_bandwidth;     /* bytes/s for the whole daemon; 0: no cap */
        uint64_t buffer_memory;     /* bytes of transfer buffers, daemon-wide */
} daemon_config;
