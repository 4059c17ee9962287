/* SPDX-License-Identifier: MIT */

/* local -> S3. The job opens the file first (with the peer's identity) and
 * then picks a strategy by its size: up to 8 MiB it is read whole into a
 * buffer granted by the budget, hashed and sent from memory; larger ones
 * go to the multipart strategy, or, with multipart off, are hashed in a
 * first pass and streamed through two buffers filled by uv_fs_read. Every
 * request carries Content-MD5, which the server checks, and no disk read
 * ever blocks the loop. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "fsq.h"
#include "macro.h"
#include "fileio.h"
#include "job.h"
#include "job_s3.h"
#include "md5.h"
#include "md5q.h"
#include "parts.h"
#include "s3_multipart.h"

typedef struct put_job {
        job base;
        uv_work_t work;
        uv_fs_t fs;
        s3_call *call;
        http_request *req;      /* the attempt waiting for bytes */
        int fd;
        uint64_t size;
        char content_md5[32];
        char *bufs[2];
        size_t len[2];
        bool filled[2];
        unsigned rd, wr;        /* buffer curl reads from; buffer being filled next */
        size_t pos;
        uint64_t file_off;
        unsigned generation;    /* bumped by a rewind: a read in flight is stale */
        unsigned read_gen;      /* generation of the read in flight */
        bool reading, waiting, http_done;
        bool sent;              /* an S3 call was made: its result is the file's */
        bool error_set;         /* the file's error is already written */
        int read_error;
        int r;
        s3_kept result;         /* copied out of the call's completion */
        mp_file mp;
        bool multipart;         /* the multipart strategy runs */
        budget_waiter mem;      /* this job's buffers, from the daemon's budget */
        delay_entry later;
        bool whole;             /* read whole and sent from memory */
        md5q_req hash;          /* Content-MD5 of a whole file */
} put_job;

/* Read whole up to this size (a budget grant each); above it, stream. */
#define PUT_WHOLE_MAX (8ULL * 1024 * 1024)

static void put_finish(put_job *pj) {
        job_file *f = pj->base.file;

        budget_release(pj->base.env->shared->buffers, &pj->mem);
        if (pj->multipart) {
                mp_report(&pj->mp, "multipart upload failed");
                if (pj->mp.r == 0)
                        f->bytes = pj->size;
                f->attempts = pj->mp.attempts;
                mp_free(&pj->mp);
                pj->r = pj->mp.r;
                pj->sent = false;
                if (pj->fd >= 0)
                        close(pj->fd);
                pj->fd = -1;
                job_done(&pj->base);
                return;
        }
        if (pj->fd >= 0)
                close(pj->fd);
        pj->fd = -1;
        free(pj->bufs[0]);
        free(pj->bufs[1]);
        pj->bufs[0] = pj->bufs[1] = NULL;
        if (pj->r < 0 && pj->error_set)
                ;
        else if (pj->r < 0 && !pj->sent)
                file_error_set_errno(&f->err, pj->r, "cannot read the source");
        else if (pj->r < 0)
                job_s3_set_error(f, &pj->result.r, "upload failed");
        else
                f->bytes = pj->size;
        f->attempts = pj->result.r.attempts;
        job_done(&pj->base);
}

static void on_fs_read(uv_fs_t *req);

static void read_kick(put_job *pj) {
        if (pj->reading || pj->filled[pj->wr] || pj->file_off >= pj->size || pj->read_error)
                return;
        size_t n = pj->size - pj->file_off < JOB_S3_BUF_SIZE ? (size_t) (pj->size - pj->file_off)
                                                            : JOB_S3_BUF_SIZE;
        uv_buf_t b = uv_buf_init(pj->bufs[pj->wr], (unsigned) n);
        pj->fs.data = pj;
        int r = uv_fs_read(pj->base.env->shared->loop, &pj->fs, pj->fd, &b, 1, (int64_t) pj->file_off,
                           on_fs_read);
        if (r < 0) {
                pj->read_error = r;
                return;
        }
        pj->reading = true;
        pj->read_gen = pj->generation;
}

static void on_fs_read(uv_fs_t *req) {
        put_job *pj = req->data;
        ssize_t n = req->result;
        unsigned gen = pj->read_gen;

        uv_fs_req_cleanup(req);
        pj->reading = false;
        if (pj->http_done) {
                put_finish(pj);
                return;
        }
        if (gen == pj->generation) {
                if (n < 0)
                        pj->read_error = (int) n;
                else if (n == 0)
                        pj->read_error = -ENODATA; /* the file shrank under us */
                else {
                        pj->len[pj->wr] = (size_t) n;
                        pj->filled[pj->wr] = true;
                        pj->file_off += (uint64_t) n;
                        pj->wr ^= 1;
                }
        }
        read_kick(pj);
        if (pj->waiting && pj->req) {
                pj->waiting = false;
                http_request_unpause(pj->req);
        }
}

static ssize_t put_read(http_request *req, void *buf, size_t len, void *userdata) {
        put_job *pj = userdata;

        if (pj->filled[pj->rd]) {
                size_t avail = pj->len[pj->rd] - pj->pos;
                size_t n = len < avail ? len : avail;
                memcpy(buf, pj->bufs[pj->rd] + pj->pos, n);
                pj->pos += n;
                if (pj->pos == pj->len[pj->rd]) {
                        pj->filled[pj->rd] = false;
                        pj->pos = 0;
                        pj->rd ^= 1;
                        read_kick(pj);
                }
                return (ssize_t) n;
        }
        if (pj->read_error)
                return pj->read_error;
        read_kick(pj);
        pj->req = req;
        pj->waiting = true;
        return HTTP_PAUSE;
}

/* libcurl resends the body from the start on a fresh connection. */
static int put_rewind(http_request *req, void *userdata) {
        put_job *pj = userdata;
        pj->generation++;
        pj->filled[0] = pj->filled[1] = false;
        pj->rd = pj->wr = 0;
        pj->pos = 0;
        pj->file_off = 0;
        pj->read_error = 0;
        if (!pj->reading)
                read_kick(pj);
        return 0;
}

static int put_retry(s3_call *c, void *userdata) {
        return put_rewind(NULL, userdata);
}

static void put_done(s3_call *c, const s3_result *r, void *userdata) {
        put_job *pj = userdata;

        pj->call = NULL;
        pj->req = NULL;
        pj->r = r->error;
        s3_kept_set(&pj->result, r);
        pj->sent = true;
        pj->http_done = true;
        if (!pj->reading)
                put_finish(pj);
}

static void put_send(put_job *pj);
static void put_hash(put_job *pj);
static void put_digest(put_job *pj);
static void on_hash_mem(budget_waiter *w);

static void put_mp_done(mp_file *mp) {
        put_finish(container_of(mp, put_job, mp));
}

/* Any thread: the file whole into bufs[0]. */
static int read_whole(put_job *pj) {
        pj->bufs[0] = malloc(pj->size ? pj->size : 1);
        if (!pj->bufs[0])
                return -ENOMEM;
        ssize_t n = fileio_pread_full(pj->fd, pj->bufs[0], pj->size, 0);
        if (n < (ssize_t) pj->size)
                return n < 0 ? (int) n : -ENODATA; /* the file shrank under us */
        return 0;
}

/* Worker thread: open, and read a small file whole. */
static void put_open_work(uv_work_t *w) {
        put_job *pj = w->data;
        const char *path = pj->base.file->entry->src;
        struct stat st;

        pj->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (pj->fd < 0) {
                pj->r = -errno;
                return;
        }
        if (fstat(pj->fd, &st) < 0) {
                pj->r = -errno;
                return;
        }
        if (S_ISDIR(st.st_mode)) {
                pj->r = -EISDIR;
                return;
        }
        if (!S_ISREG(st.st_mode)) {
                pj->r = -EBADFD;
                return;
        }
        pj->size = (uint64_t) st.st_size;
        if (pj->size > JOB_S3_BUF_SIZE) {
                (void) posix_fadvise(pj->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
                return;
        }
        pj->r = read_whole(pj);
}

/* Worker (libuv's pool: the file is open already): a whole file, or the
 * MD5 of a large one before it is streamed (one message: no lanes to share). */
static void put_hash_work(uv_work_t *w) {
        put_job *pj = w->data;
        if (pj->whole) {
                pj->r = read_whole(pj);
                return;
        }
        uint8_t d[16];
        pj->r = md5_file_digest(pj->fd, pj->size, d);
        if (pj->r >= 0)
                pj->r = md5_base64(d, pj->content_md5);
}

static void put_open_after(uv_work_t *w, int status) {
        put_job *pj = w->data;
        const job_env *env = pj->base.env;

        if (status == UV_ECANCELED || atomic_load(&pj->base.cancel))
                pj->r = -ECANCELED;
        else if (status < 0)
                pj->r = status;
        if (pj->r < 0) {
                put_finish(pj);
                return;
        }
        if (env->settings.multipart && pj->size > env->settings.multipart_threshold) {
                /* Parts get grants of their own. */
                budget_release(env->shared->buffers, &pj->mem);
                pj->r = mpu_begin(&pj->mp, env, pj->base.file, pj->fd, pj->size, put_mp_done);
                if (pj->r == 0)
                        pj->multipart = true;
                else
                        put_finish(pj);
                return;
        }
        if (!env->settings.multipart && pj->size > PARTS_MAX_SIZE) {
                pj->r = -EFBIG;
                file_error_set(&pj->base.file->err, FDS_CODE_TOO_LARGE,
                               "larger than 5 GiB: S3 takes that only as a multipart upload (multipart is off)");
                pj->error_set = true;
                put_finish(pj);
                return;
        }
        if (pj->size <= JOB_S3_BUF_SIZE) {
                put_digest(pj);
                return;
        }
        /* Larger: a grant of its own size (whole) or of two buffers (stream),
         * then hashed on a worker before anything is sent. */
        budget *bud = env->shared->buffers;
        pj->whole = pj->size <= PUT_WHOLE_MAX && pj->size <= bud->limit / 2;
        budget_release(bud, &pj->mem);
        if (budget_acquire(bud, &pj->mem, pj->whole ? pj->size : 2 * JOB_S3_BUF_SIZE, on_hash_mem))
                put_hash(pj);
}

static void put_hash_after(uv_work_t *w, int status) {
        put_job *pj = w->data;
        if (status < 0 || atomic_load(&pj->base.cancel))
                pj->r = status < 0 ? status : -ECANCELED;
        if (pj->r < 0) {
                put_finish(pj);
                return;
        }
        if (!pj->whole) {
                pj->bufs[0] = malloc(JOB_S3_BUF_SIZE);
                pj->bufs[1] = malloc(JOB_S3_BUF_SIZE);
                if (!pj->bufs[0] || !pj->bufs[1]) {
                        pj->r = -ENOMEM;
                        put_finish(pj);
                        return;
                }
                read_kick(pj);
                put_send(pj);
                return;
        }
        put_digest(pj);
}

static void put_hash(put_job *pj) {
        pj->work.data = pj;
        int r = uv_queue_work(pj->base.env->shared->loop, &pj->work, put_hash_work, put_hash_after);
        if (r < 0) {
                pj->r = r;
                put_finish(pj);
        }
}

static void on_hashed(md5q_req *h) {
        put_job *pj = h->userdata;
        pj->r = md5_base64(h->job.digest, pj->content_md5);
        if (pj->r == 0 && atomic_load(&pj->base.cancel))
                pj->r = -ECANCELED;
        if (pj->r < 0) {
                put_finish(pj);
                return;
        }
        put_send(pj);
}

/* The file is whole in bufs[0]: its Content-MD5 in the daemon's lanes. */
static void put_digest(put_job *pj) {
        int r = md5q_submit(pj->base.env->shared->md5q, &pj->hash, pj->bufs[0], pj->size, on_hashed, pj);
        if (r < 0) {
                pj->r = r;
                put_finish(pj);
        }
}

static void on_hash_mem(budget_waiter *w) {
        put_job *pj = container_of(w, put_job, mem);
        if (atomic_load(&pj->base.cancel)) {
                pj->r = -ECANCELED;
                put_finish(pj);
                return;
        }
        put_hash(pj);
}

/* One PUT with Content-MD5: from memory (bufs[0] whole) or streamed. */
static void put_send(put_job *pj) {
        const job_env *env = pj->base.env;
        const fds_entry *e = pj->base.file->entry;
        bool small = pj->size <= JOB_S3_BUF_SIZE || pj->whole;
        sigv4_pair md5 = { "Content-MD5", pj->content_md5 };
        s3_call_opts o = job_s3_opts(env, &e->dst_loc);
        o.method = HTTP_PUT;
        o.has_body = true;
        o.body_length = pj->size;
        o.headers = &md5;
        o.n_headers = 1;
        if (small)
                o.body = pj->bufs[0];
        else {
                o.read = put_read;
                o.rewind = put_rewind;
                o.on_retry = put_retry;
        }
        o.on_done = put_done;
        o.userdata = pj;
        int r = s3_call_start(env->shared->s3, &o, &pj->call);
        if (r < 0) {
                pj->r = r;
                pj->http_done = true;
                if (!pj->reading)
                        put_finish(pj);
        }
}

static void put_open(put_job *pj) {
        pj->work.data = pj;
        int r = fsq_queue(pj->base.env->shared->fsq, pj->base.env, pj->base.env->creds, &pj->work, put_open_work,
                          put_open_after);
        if (r < 0) {
                pj->r = r;
                put_finish(pj);
        }
}

static void on_open_mem(budget_waiter *w) {
        put_job *pj = container_of(w, put_job, mem);
        if (atomic_load(&pj->base.cancel)) {
                pj->r = -ECANCELED;
                put_finish(pj);
                return;
        }
        put_open(pj);
}

static void on_later(delay_entry *e) {
        put_finish(container_of(e, put_job, later));
}

/* The first grant covers a small file read whole (most uploads need no
 * other); a larger file trades it for what its strategy needs. */
static int put_start(job *j) {
        put_job *pj = (put_job *) j;
        pj->fd = -1;
        list_init(&pj->later.link);
        if (budget_acquire(j->env->shared->buffers, &pj->mem, JOB_S3_BUF_SIZE, on_open_mem))
                put_open(pj);
        return 0;
}

static void put_cancel(job *j) {
        put_job *pj = (put_job *) j;
        if (budget_cancel_wait(j->env->shared->buffers, &pj->mem, &pj->later, on_later)) {
                pj->r = -ECANCELED;
                return;
        }
        if (pj->multipart)
                mp_cancel(&pj->mp);
        else if (pj->call)
                s3_call_cancel(pj->call);
        else
                fsq_cancel(j->env->shared->fsq, &pj->work);
}

const job_type job_s3_put = {
        .name = "s3-put", .size = sizeof(put_job), .start = put_start, .cancel = put_cancel,
};
