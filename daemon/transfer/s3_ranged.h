/* SPDX-License-Identifier: MIT */
#pragma once

/* S3 -> local for a large object: parallel ranged GETs, each pinned to the
 * ETag validation saw (If-Match), so an object replaced mid-download fails
 * clearly instead of mixing two versions. Each range gathers in a buffer
 * granted by the daemon's budget; as its bytes arrive they are written at
 * their offset into the temporary by a worker thread, a MiB at a time while
 * still in the CPU's cache, and hashed in the daemon's MD5 lanes. The temporary is
 * renamed only when every range is in and the bytes match the ETag: an MD5,
 * or for a multipart object the MD5 of its parts' MD5s. The ranges follow
 * the object's parts when its layout can be guessed (etag.h), so the check
 * costs no second read; otherwise the file is read back before the rename.
 * A mismatch downloads the file again (up to the call's attempts). */

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "budget.h"
#include "etag.h"
#include "local.h"
#include "md5q.h"
#include "job_s3.h"
#include "part_pool.h"
#include "s3_client.h"

typedef struct ranged_file ranged_file;

typedef struct ranged_part {
        part_slot slot;          /* first: index, range, grant, request */
        ranged_file *file;
        uint64_t got;            /* bytes of this attempt in buf */
        char *buf;
        uv_work_t work;          /* the write of [woff, wend) in flight */
        uint64_t woff, wend;
        uint64_t queued;         /* [0, queued) written or being written */
        int wr;                  /* a write's failure */
        md5q_req hash;           /* the range's MD5, in the daemon's lanes */
        uint64_t pushed;         /* [0, pushed) handed to the lanes */
        http_request *paused;    /* the attempt waiting for stale work */
        int end_r;
        bool writing, hashing, hash_init, hash_ready;
        bool want_write;         /* bytes wait for the file's writer */
        bool http_done;
        bool stale;              /* a retry began while the last try's work was out */
        bool ending;             /* part_end ran: release once the work is back */
} ranged_part;

struct ranged_file {
        const job_env *env;
        job_file *bf;
        void (*on_end)(ranged_file *f);
        local_tmp *tmp;
        uv_work_t work;          /* create, commit or discard */
        int wr;
        uint64_t size, chunk;
        unsigned n_parts, next, done, inflight, n_slots;
        bool writer_busy;        /* a part's write is out (one per file) */
        unsigned write_turn;     /* the slot whose bytes wait longest, about */
        ranged_part *slots;
        int r;
        bool canceled, settled, working, mismatch;
        etag_info etag;          /* what the bytes must hash to */
        uint64_t layouts[ETAG_MAX_LAYOUTS]; /* part sizes the object may have */
        unsigned n_layouts;
        bool aligned;            /* ranges are layouts[0]'s parts: digests says it all */
        bool opaque;             /* SSE-KMS or SSE-C: the ETag is no digest */
        uint64_t meta_part_size; /* the upload's part size, from fds's metadata */
        uint8_t meta_md5[16];    /* the whole object's MD5, from rclone's */
        bool has_meta_md5;
        uint8_t *digests;        /* MD5 of each range, 16 bytes each */
        unsigned pass, max_passes; /* downloads of the whole file */
        bool again;              /* the last pass did not match: go again */
        uint8_t last[16];        /* MD5 of the range MD5s of a pass that did not match */
        bool have_last;
        file_verified verified;
        s3_kept fail;            /* the first S3 failure */
        unsigned attempts;       /* the most tries any range took, this pass */
        unsigned attempts_before; /* tries of the passes before */
};

/* done(f) runs once, later, from the loop, once this returned 0. */
int ranged_start(ranged_file *f, const job_env *env, job_file *bf, void (*done)(ranged_file *f));
void ranged_cancel(ranged_file *f);
/* Fill bf from f (after done). */
void ranged_report(ranged_file *f);
void ranged_free(ranged_file *f);
