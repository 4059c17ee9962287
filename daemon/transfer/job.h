/* SPDX-License-Identifier: MIT */
#pragma once

/* A job is one file in flight. Each kind of transfer is a job_type: a small
 * table of functions, so a new kind (S3 upload, ranged download, ...) is a
 * new file, not a branch in the batch engine. A job gets what it needs in
 * its job_env and reports its end through its done callback; it knows
 * nothing of batches, sessions or the daemon. */

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "job_env.h"
#include "job_file.h"
#include "list.h"

typedef struct job job;

typedef struct job_type {
        const char *name;
        size_t size;                  /* bytes to allocate; struct job first */
        /* Begin. Returns 0 and later calls job_done() exactly once from a
         * loop callback (never from inside start), or a negative errno
         * having done nothing. */
        int (*start)(job *j);
        /* Ask for an early end; the job still ends through job_done(). */
        void (*cancel)(job *j);
} job_type;

/* The job's file is finished (its err/bytes/data are set): j is the
 * owner's to free. */
typedef void (*job_done_fn)(job *j, void *userdata);

struct job {
        const job_type *type;
        const job_env *env;
        job_file *file;
        job_done_fn done;
        void *userdata;
        list_node link;               /* the owner's */
        atomic_bool cancel;
};

/* For job types: the file is finished; tells the owner. */
static inline void job_done(job *j) {
        j->done(j, j->userdata);
}

/* The job type for one file of an operation: the one place that maps a
 * file's source and destination to its kind of transfer. */
const job_type *job_type_for(transfer_op op, const job_file *f);

/* Fill f->err for a local operation's negative errno (also for
 * validation's findings), with the same words everywhere. */
void job_local_set_error(job_file *f, int r);

/* The job types this daemon knows, per file kind. */
extern const job_type job_local_copy;
extern const job_type job_local_size;
extern const job_type job_local_read;
extern const job_type job_s3_put;
extern const job_type job_s3_get;
extern const job_type job_s3_copy;
extern const job_type job_s3_head;
extern const job_type job_s3_read;
