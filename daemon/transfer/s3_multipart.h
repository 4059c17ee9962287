/* SPDX-License-Identifier: MIT */
#pragma once

/* What multipart upload and multipart copy share: the part bookkeeping of
 * one file, the three object-level requests (create, complete, abort) and
 * the CompleteMultipartUpload body. The strategies differ only in how a
 * part is moved (job_s3_mpu.c: read and PUT; job_s3_mcopy.c: UploadPartCopy). */

#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "job_s3.h"
#include "part_pool.h"
#include "s3_client.h"

typedef struct mp_file mp_file;

typedef struct mp_part {
        part_slot slot;          /* first: index, range, grant, request */
        mp_file *file;
        void *buf;
        char md5[32];            /* Content-MD5 of an uploaded part */
        int r;
} mp_part;

typedef struct mp_ops {
        /* Parts carry their bytes through the daemon (and take buffer memory). */
        bool buffered;
        /* Move part p; report with mp_part_done(p, r) exactly once. */
        void (*part_start)(mp_part *p);
        /* Everything is over (ok, failed or canceled); f->r says which. */
        void (*finished)(mp_file *f);
} mp_ops;

struct mp_file {
        const job_env *env;
        job_file *bf;
        const mp_ops *ops;
        const fds_location *dst;
        uint64_t size, chunk;
        unsigned n_parts, next, done, inflight;
        mp_part *slots;
        unsigned n_slots;
        char **etags;
        char *upload_id;
        s3_call *call;           /* create, complete or abort */
        char *body;              /* the complete request's body */
        int fd;                  /* upload: the source file */
        void (*on_end)(mp_file *f); /* upload: who to tell at the end */
        int r;                   /* first error */
        bool canceled;
        bool aborting;
        bool journaled;         /* its UploadId is in the crash journal */
        s3_kept fail;            /* the first S3 failure */
        unsigned attempts;       /* the most tries any of its requests took */
};

/* Plan the parts and create the upload; ops->finished runs in any case
 * once this returned 0. */
int mp_start(mp_file *f, const job_env *env, job_file *bf, const fds_location *dst, uint64_t size,
             const mp_ops *ops);
void mp_part_done(mp_part *p, int r, const s3_result *res);
void mp_cancel(mp_file *f);
/* The request options of part p's upload (PUT ?partNumber&uploadId);
 * q and number must live until s3_call_start returns. */
s3_call_opts mp_part_opts(mp_part *p, sigv4_pair q[2], char number[16]);
void mp_free(mp_file *f);
/* job_s3_mpu.c: upload the open file fd (size bytes) as a multipart
 * upload; done(f) runs at the end in any case once this returned 0. */
int mpu_begin(mp_file *f, const job_env *env, job_file *bf, int fd, uint64_t size, void (*done)(mp_file *f));

/* job_s3_mcopy.c: copy S3 -> S3 part by part (UploadPartCopy); the source
 * is bf's src_loc with bf->etag pinned. */
int mcopy_begin(mp_file *f, const job_env *env, job_file *bf, void (*done)(mp_file *f));

/* Fill bf->err from f (after finished). */
void mp_report(mp_file *f, const char *what);
