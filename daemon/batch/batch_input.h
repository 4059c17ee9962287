/* SPDX-License-Identifier: MIT */
#pragma once

/* A call's files and what checking them needs: the part of a batch that
 * expansion (expand.c) and validation (validate*.c) read and write. They
 * see nothing else of the batch (its owner, scheduling, counters), and
 * report back through the callbacks they are given. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "batch_engine.h"
#include "fsq.h"
#include "job.h"
#include "list.h"
#include "request.h"

typedef struct batch_input batch_input;
typedef struct s3_site_wait s3_site_wait;

struct batch_input {
        batch_engine *engine;
        transfer_op kind;
        fds_request req;            /* entries; problems found go to req.problems */
        job_file *files;            /* one per entry, after expansion */
        size_t n_files;
        job_env env;                /* what its jobs get: settings are options over defaults */
        fs_creds creds;             /* the peer's identity for local files */
        bool as_peer;               /* use creds (the daemon is root, the peer is not) */
        bool local_denied;          /* the daemon cannot act as this peer */
        uid_t peer_uid;
        s3_site_wait *site_wait;    /* credentials on their way */
        void (*site_cont)(batch_input *in);
        unsigned validating;        /* checks in flight (chunks, HEADs, listings) */
        size_t head_next;           /* next file whose S3 source gets its HEAD */
        uint64_t read_limit;        /* Read: bytes the call may return */
        uint64_t read_requested;    /* Read: the sizes of its files, summed */
        list_node heads;            /* validation HEADs in flight */
        list_node lists;            /* validation listings in flight */
        struct expand_state *expand; /* recursive entries being listed */
        struct listing *listing;    /* List: the listing (listing.c) */
        bool canceled;
};

/* The identity local operations run with (NULL: the daemon's). */
static inline const fs_creds *batch_input_creds(const batch_input *in) {
        return in->env.creds;
}
