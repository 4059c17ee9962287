/* SPDX-License-Identifier: MIT */
#pragma once

/* One call's files (Copy, Size or Read): validation before anything moves,
 * then the files run as jobs under the daemon-wide scheduler, and each
 * result is reported to the batch's owner as it finishes. */

#include <stdbool.h>
#include <stdint.h>

#include "errcode.h"
#include "fsq.h"
#include "list.h"
#include "message.h"
#include "request.h"
#include "pace.h"
#include "throttle.h"

typedef struct fds_daemon fds_daemon;
typedef struct batch batch;
typedef struct job job;
typedef struct s3_site s3_site;

typedef enum batch_kind {
        BATCH_COPY,
        BATCH_SIZE,
        BATCH_READ,
} batch_kind;

typedef struct file_error {
        fds_code code;        /* FDS_CODE_OK on success */
        char *message;
        int http_status;      /* 0: none */
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

typedef struct batch_file {
        fds_entry *entry;
        uint64_t bytes;       /* copied, or the size */
        void *data;           /* Read: the contents (malloc'd) */
        file_error err;
        file_state state;
        int vr;               /* validation: 0 or negative errno for the source */
        int dvr;              /* validation: 0 or negative errno for the destination */
        uint64_t src_size;    /* validation: size seen */
        char *etag;           /* validation: an S3 source's ETag, pinned for the transfer */
        char *vreason;        /* validation: why the source failed, when errno says too little */
        int vhttp;            /* validation: HTTP status of a failed S3 check */
        bool src_known;       /* size and ETag came from a listing: no HEAD needed */
        unsigned attempts;    /* S3 requests: tries the last request took */
        file_verified verified;
} batch_file;

typedef struct batch_owner {
        /* A file finished (streaming replies). */
        void (*file_done)(batch *b, batch_file *f, void *userdata);
        /* The batch ended: 0 all files ran, -EINVAL validation failed
         * (batch_problems), -EFBIG Read over its limit, -ECANCELED.
         * The owner replies and then frees the batch. */
        void (*end)(batch *b, int status, void *userdata);
} batch_owner;

struct batch {
        fds_daemon *daemon;
        uint64_t id;
        batch_kind kind;
        fds_call call;              /* owns the JSON the entries borrow */
        fds_request req;
        batch_file *files;
        size_t n_files;
        size_t next;                /* first file not yet started */
        unsigned parallelism;
        unsigned inflight;
        unsigned validating;        /* validation chunks in flight */
        size_t validate_next;
        fs_creds creds;             /* the peer's identity for local files */
        bool as_peer;               /* use creds (the daemon is root, the peer is not) */
        bool local_denied;          /* the daemon cannot act as this peer */
        uid_t peer_uid;
        struct peer *peer;          /* per-uid counters (a reference) */
        s3_site *site;              /* when any path is s3:// */
        struct s3_site_wait *site_wait; /* credentials on their way */
        void (*site_cont)(batch *b);
        throttle bandwidth;         /* options.transfer.max_bandwidth */
        pace local_pace;            /* the same cap, for local copies on worker threads */
        /* Effective transfer settings: options over daemon defaults. */
        bool multipart;
        uint64_t multipart_threshold, multipart_chunksize;
        unsigned max_concurrency;
        unsigned max_attempts;
        unsigned retry_budget_s;    /* options.transfer.retry_time_budget over the daemon's */
        size_t head_next;           /* next file whose S3 source gets its HEAD */
        uint64_t read_limit;
        uint64_t read_requested;
        uint64_t files_ok, files_failed, bytes;
        uint64_t started_ns;
        list_node sched_link;
        list_node jobs;             /* running jobs */
        list_node heads;            /* validation HEADs in flight */
        list_node lists;            /* validation listings in flight */
        unsigned listing;           /* of them: HEADs wait until they end */
        struct expand_state *expand; /* recursive entries being listed */
        const batch_owner *owner;
        void *owner_data;
        bool running, canceled, ended, paused, detached;
};

/* Takes over call and req (both zeroed on success). */
int batch_new(fds_daemon *d, batch_kind kind, fds_call *call, fds_request *req, batch **ret);
batch *batch_free(batch *b);

/* Whose permissions touch local files: the peer's when the daemon is
 * root; a peer other than the daemon's own user gets no local files when
 * it is not. groups is copied. */
int batch_set_peer(batch *b, struct peer *p, uid_t uid, gid_t gid, const gid_t *groups, int n_groups);
/* The identity local operations of this batch run with (NULL: the daemon's). */
const fs_creds *batch_creds(const batch *b);

/* Validate, then run. The owner hears back through its callbacks. */
void batch_start(batch *b, const batch_owner *owner, void *userdata);
/* The owner is going away: cancel everything; the batch frees itself once
 * its last job has finished. */
void batch_detach(batch *b);
void batch_cancel(batch *b);
/* Stop starting files while the owner cannot take more replies. */
void batch_set_paused(batch *b, bool paused);
/* Problems of a failed validation, sorted by index (borrowed). */
json_t *batch_problems(batch *b);
uint64_t batch_elapsed_ns(const batch *b);

/* For the scheduler: start one more file. 1 started, 0 nothing to start. */
int batch_start_one(batch *b);
bool batch_runnable(const batch *b);
/* Ends the batch if nothing is left to do; may free it. */
void batch_check_end(batch *b);

/* Record a file as finished (its err/bytes/data set) and tell the owner. */
void batch_file_finish(batch *b, batch_file *f);

/* For jobs: the file is finished (its err/bytes/data are set). */
void batch_job_done(job *j);

int file_error_set(file_error *e, fds_code code, const char *message);
int file_error_set_errno(file_error *e, int err, const char *what);
