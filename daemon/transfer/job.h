/* SPDX-License-Identifier: MIT */
#pragma once

/* A job is one file of a batch in flight. Each kind of transfer is a
 * job_type: a small table of functions, so a new kind (S3 upload, ranged
 * download, ...) is a new file, not a branch in the batch engine. */

#include <stdatomic.h>
#include <stddef.h>

#include "batch.h"
#include "list.h"

typedef struct job_type {
        const char *name;
        size_t size;                  /* bytes to allocate; struct job first */
        /* Begin. Returns 0 and later calls batch_job_done() exactly once from
         * a loop callback (never from inside start), or a negative errno
         * having done nothing. */
        int (*start)(job *j);
        /* Ask for an early end; the job still ends through batch_job_done(). */
        void (*cancel)(job *j);
} job_type;

struct job {
        const job_type *type;
        batch *batch;
        batch_file *file;
        list_node link;               /* in batch->jobs */
        atomic_bool cancel;
};

/* Fill f->err for a local operation's negative errno (also for
 * validation's findings), with the same words everywhere. */
void job_local_set_error(batch_file *f, int r);

/* The job types this daemon knows, per file kind. */
extern const job_type job_local_copy;
extern const job_type job_local_size;
extern const job_type job_local_read;
extern const job_type job_s3_put;
extern const job_type job_s3_get;
extern const job_type job_s3_copy;
extern const job_type job_s3_head;
extern const job_type job_s3_read;
