/* SPDX-License-Identifier: MIT */
#pragma once

/* One call's files (Copy, Size or Read): validation before anything moves,
 * then the files run as jobs under the daemon-wide scheduler, and each
 * result is reported to the batch's owner as it finishes. */

#include <stdbool.h>
#include <stdint.h>

#include "batch_engine.h"
#include "errcode.h"
#include "fsq.h"
#include "job.h"
#include "list.h"
#include "message.h"
#include "request.h"
#include "pace.h"
#include "throttle.h"

typedef struct batch batch;
typedef struct s3_site s3_site;

typedef struct batch_owner {
        /* A file finished (streaming replies). */
        void (*file_done)(batch *b, job_file *f, void *userdata);
        /* The batch ended: 0 all files ran, -EINVAL validation failed
         * (batch_problems), -EFBIG Read over its limit, -ECANCELED.
         * The owner replies and then frees the batch. */
        void (*end)(batch *b, int status, void *userdata);
} batch_owner;

struct batch {
        batch_engine *engine;
        list_node link;             /* in engine->batches */
        uint64_t id;
        transfer_op kind;
        fds_call call;              /* owns the JSON the entries borrow */
        fds_request req;
        job_file *files;
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
        batch_share *share;         /* the user's files in flight, held until freed */
        s3_site *site;              /* when any path is s3:// */
        struct s3_site_wait *site_wait; /* credentials on their way */
        void (*site_cont)(batch *b);
        throttle bandwidth;         /* options.transfer.max_bandwidth */
        pace local_pace;            /* the same cap, for local copies on worker threads */
        job_env env;                /* what its jobs get: settings are options over defaults */
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
int batch_new(batch_engine *e, transfer_op kind, fds_call *call, fds_request *req, batch **ret);
batch *batch_free(batch *b);

/* Whose permissions touch local files: the peer's when the daemon is
 * root; a peer other than the daemon's own user gets no local files when
 * it is not. groups is copied. */
int batch_set_peer(batch *b, batch_share *share, uid_t uid, gid_t gid, const gid_t *groups, int n_groups);
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
void batch_file_finish(batch *b, job_file *f);
