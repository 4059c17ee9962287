/* SPDX-License-Identifier: MIT */
#pragma once

/* One call's files (Copy, Size or Read): validation before anything moves,
 * then the files run as jobs under the daemon-wide scheduler, and each
 * result is reported to the batch's owner as it finishes. */

#include <stdbool.h>
#include <stdint.h>

#include "batch_engine.h"
#include "batch_input.h"
#include "errcode.h"
#include "fsq.h"
#include "job.h"
#include "list.h"
#include "listing.h"
#include "message.h"
#include "request.h"
#include "pace.h"
#include "throttle.h"

typedef struct batch batch;

typedef struct batch_owner {
        /* A file finished (streaming replies). */
        void (*file_done)(batch *b, job_file *f, void *userdata);
        /* List, streaming: a page of entries (valid during the call). */
        void (*list_page)(batch *b, const listing_entry *e, size_t n, void *userdata);
        /* The batch ended: 0 all files ran, -EINVAL validation failed
         * (batch_problems), -EFBIG Read over its limit, -ECANCELED.
         * The owner replies and then frees the batch. */
        void (*end)(batch *b, int status, void *userdata);
} batch_owner;

struct batch {
        batch_input in;             /* the files, and what checking them needs */
        list_node link;             /* in engine->batches */
        uint64_t id;
        fds_call call;              /* owns the JSON the entries borrow */
        size_t next;                /* first file not yet started */
        unsigned parallelism;
        unsigned inflight;
        size_t validate_next;
        unsigned listing;           /* listings in flight: HEADs wait until they end */
        batch_share *share;         /* the user's files in flight, held until freed */
        throttle bandwidth;         /* options.transfer.max_bandwidth */
        pace local_pace;            /* the same cap, for local copies on worker threads */
        uint64_t files_ok, files_failed, bytes; /* List: entries listed, and 1 if it failed */
        uint64_t files_skipped; /* no_clobber: ok, and left alone (in files_ok too) */
        uint64_t bytes_unmetered; /* of finished files whose bytes no throttle saw */
        uint64_t started_ns;
        uint64_t bw_mark;           /* bwshare.c: bytes moved at its last look */
        uint64_t bw_share;          /* its part of the daemon's cap (0: none, its own cap only) */
        sched_client sched;         /* in the engine's scheduler while it may start files */
        list_node jobs;             /* running jobs */
        const batch_owner *owner;
        void *owner_data;
        pid_t peer_pid;             /* who called, for Calls (the owner sets it) */
        bool running, ended, paused, detached;
        bool answer_cancel;         /* canceled by request: its files end Canceled, and it answers */
};

/* Takes over call and req (both zeroed on success). */
int batch_new(batch_engine *e, transfer_op kind, fds_call *call, fds_request *req, batch **ret);
batch *batch_free(batch *b);

/* Whose permissions touch local files: the peer's when the daemon is
 * root; a peer other than the daemon's own user gets no local files when
 * it is not. groups is copied. */
int batch_set_peer(batch *b, batch_share *share, uid_t uid, gid_t gid, const gid_t *groups, int n_groups);

/* Validate, then run. The owner hears back through its callbacks. */
void batch_start(batch *b, const batch_owner *owner, void *userdata);
/* The owner is going away: cancel everything. owner (NULL: none) hears
 * the rest in its place (files that still end, then end, which frees the
 * batch; it has no one to reply to); with none, the batch frees itself
 * once its last job has finished. */
void batch_detach(batch *b, const batch_owner *owner, void *userdata);
void batch_cancel(batch *b);
/* Cancel at someone's request (the Cancel method): files not finished end
 * with Canceled (temporary files removed, multipart uploads aborted, as
 * for any cancel) and the owner hears end(0) with every result. */
void batch_cancel_answered(batch *b);
/* The call's bandwidth cap, changed while it runs (0: none). */
void batch_set_bandwidth(batch *b, uint64_t rate);
/* Bytes moved so far: S3 bodies as they move, other files as they finish. */
uint64_t batch_bytes_moved(const batch *b);
/* Files that have not started and still may: Calls and Status both count
 * these (none once canceled or ended; a List has none). */
uint64_t batch_files_queued(const batch *b);
/* Stop starting files while the owner cannot take more replies. */
void batch_set_paused(batch *b, bool paused);
/* Problems of a failed validation, sorted by index (borrowed). */
json_t *batch_problems(batch *b);
uint64_t batch_elapsed_ns(const batch *b);
/* Whether an ok file of b moved bytes: not a dry run, not skipped. */
static inline bool batch_file_moved(const batch *b, const job_file *f) {
        return !b->in.req.options.dry_run && !f->skipped;
}
