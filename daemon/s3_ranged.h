/* SPDX-License-Identifier: MIT */
#pragma once

/* S3 -> local for a large object: parallel ranged GETs, each pinned to the
 * ETag validation saw (If-Match), so an object replaced mid-download fails
 * clearly instead of mixing two versions. Each range gathers in a buffer
 * granted by the daemon's budget and is written at its offset into the
 * temporary by a worker thread; the temporary is renamed only when every
 * range is in (and, for a single-part object, its MD5 matches the ETag). */

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "batch.h"
#include "budget.h"
#include "local.h"
#include "job_s3.h"
#include "s3_client.h"

typedef struct rg_file rg_file;

typedef struct rg_part {
        rg_file *file;
        unsigned index;
        uint64_t off, len, got;
        budget_waiter mem;
        delay_entry later;
        s3_call *call;
        char *buf;
        uv_work_t work;
        int r;
        bool busy;
} rg_part;

struct rg_file {
        batch *b;
        batch_file *bf;
        void (*on_end)(rg_file *f);
        local_tmp *tmp;
        uv_work_t work;          /* create, commit or discard */
        int wr;
        uint64_t size, chunk;
        unsigned n_parts, next, done, inflight, n_slots;
        rg_part *slots;
        int r;
        bool canceled, settled, working, mismatch;
        char expect_md5[33];
        bool check_md5;
        s3_kept fail;            /* the first S3 failure */
        unsigned attempts;       /* the most tries any range took */
};

/* done(f) runs once, later, from the loop, once this returned 0. */
int rg_start(rg_file *f, batch *b, batch_file *bf, void (*done)(rg_file *f));
void rg_cancel(rg_file *f);
/* Fill bf from f (after done). */
void rg_report(rg_file *f);
void rg_free(rg_file *f);
