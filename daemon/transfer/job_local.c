/* SPDX-License-Identifier: MIT */

/* Local files: each job is one blocking call of local.c on a worker thread
 * of libuv's pool, checked for cancel between chunks. */

#include <errno.h>
#include <stdlib.h>
#include <uv.h>

#include "fsq.h"
#include "job.h"
#include "local.h"
#include "pace.h"

typedef struct local_job {
        job base;
        uv_work_t work;
        int r;
        uint64_t bytes;
        char *data;
} local_job;

/* The call's cap and the daemon's, on this worker thread: wait for the
 * later of the two slots. */
static int local_pace(uint64_t n, void *userdata) {
        local_job *lj = userdata;
        const job_env *env = lj->base.env;
        uint64_t a = pace_reserve(env->local_pace, n), d = pace_reserve(env->shared->local_pace, n);
        return pace_wait_until(a > d ? a : d, &lj->base.cancel);
}

static void local_copy_work(uv_work_t *w) {
        local_job *lj = w->data;
        const job_env *env = lj->base.env;
        const fds_entry *e = lj->base.file->entry;
        local_copy_options o = { .verify = env->settings.verify, .no_replace = env->settings.no_clobber };
        /* Paced even when uncapped (a chunk of 8 MiB costs one atomic load),
         * so a cap set while the copy runs applies to it. */
        uint64_t c = pace_chunk(env->local_pace, UINT64_MAX), dc = pace_chunk(env->shared->local_pace, UINT64_MAX);
        o.pace = local_pace;
        o.pace_userdata = lj;
        o.chunk = c < dc ? c : dc;
        lj->r = local_copy(e->src, e->dst, &o, &lj->base.cancel, NULL, &lj->bytes);
}

static void local_size_work(uv_work_t *w) {
        local_job *lj = w->data;
        lj->r = local_size(lj->base.file->entry->src, &lj->bytes);
}

/* Each file may grow into the room the others left under the call's limit,
 * so the total read can pass the limit only when several grow at once. */
static void local_read_work(uv_work_t *w) {
        local_job *lj = w->data;
        const job_env *env = lj->base.env;
        job_file *f = lj->base.file;
        size_t len;
        uint64_t max = f->src_size + (env->read_limit - (*env->read_requested));
        lj->r = local_read(f->entry->src, (size_t) max, &lj->data, &len);
        if (lj->r >= 0)
                lj->bytes = len;
}

void job_local_set_error(job_file *f, int r) {
        switch (-r) {
        case LOCAL_ESAME:
                file_error_set(&f->err, FDS_CODE_SAME_FILE, "source and destination are the same file");
                break;
        case LOCAL_EVERIFY:
                file_error_set(&f->err, FDS_CODE_IO_ERROR, "verification failed: the copy differs from the source");
                break;
        case EBADFD:
                file_error_set(&f->err, FDS_CODE_INVALID_PATH, "not a regular file");
                break;
        case EFBIG:
                file_error_set(&f->err, FDS_CODE_TOO_LARGE, "file grew past the call's read limit");
                break;
        case ECANCELED:
                file_error_set(&f->err, FDS_CODE_CANCELED, "canceled");
                break;
        default:
                file_error_set_errno(&f->err, r, NULL);
        }
}

static void local_after(uv_work_t *w, int status) {
        local_job *lj = w->data;
        job_file *f = lj->base.file;
        int r = status < 0 ? status : lj->r;

        if (r < 0)
                job_local_set_error(f, r);
        else {
                f->bytes = lj->bytes;
                f->data = lj->data;
                lj->data = NULL;
        }
        free(lj->data);
        job_done(&lj->base);
}

static int local_start(job *j, uv_work_cb work) {
        local_job *lj = (local_job *) j;
        lj->work.data = lj;
        return fsq_queue(j->env->shared->fsq, j->env, j->env->creds, &lj->work, work, local_after);
}

static int copy_start(job *j) {
        return local_start(j, local_copy_work);
}

static int size_start(job *j) {
        return local_start(j, local_size_work);
}

static int read_start(job *j) {
        return local_start(j, local_read_work);
}

/* Not yet running: dropped from the queue. Running: the flag set by the
 * batch stops it at the next chunk. */
static void local_cancel(job *j) {
        local_job *lj = (local_job *) j;
        fsq_cancel(j->env->shared->fsq, &lj->work);
}

const job_type job_local_copy = {
        .name = "local-copy", .size = sizeof(local_job), .start = copy_start, .cancel = local_cancel,
};
const job_type job_local_size = {
        .name = "local-size", .size = sizeof(local_job), .start = size_start, .cancel = local_cancel,
};
const job_type job_local_read = {
        .name = "local-read", .size = sizeof(local_job), .start = read_start, .cancel = local_cancel,
};
