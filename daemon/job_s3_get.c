/* SPDX-License-Identifier: MIT */

/* S3 -> local: GetObject into a temporary next to the destination, renamed
 * on success. Bytes gather in two buffers; a full one is written by a
 * worker thread while curl fills the other, and curl is paused when both
 * are busy, so disk writes never block the loop and memory stays at two
 * buffers per file. A small object needs one worker hop in all: create,
 * write, rename. The GET is pinned to the ETag seen by validation. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "daemon.h"
#include "job.h"
#include "job_s3.h"
#include "local.h"

typedef enum get_work {
        GET_WORK_WRITE,
        GET_WORK_COMMIT,
        GET_WORK_DISCARD,
} get_work;

typedef struct get_job {
        job base;
        s3_call *call;
        http_request *req;      /* the attempt paused waiting for a buffer */
        uv_work_t work;         /* at most one worker task at a time */
        get_work wkind;
        local_tmp *tmp;
        char *bufs[2];
        size_t len[2];
        unsigned cur;           /* buffer being filled */
        unsigned wbuf;          /* buffer being written */
        uint64_t woff;          /* where it goes */
        uint64_t file_off;      /* where the next full buffer goes */
        bool writing, waiting, truncate, http_done;
        int werr;               /* worker result */
        int write_error;
        int r;
        bool sent;
        s3_result result;
        char result_msg[512];
        char result_code[64];
} get_job;

static int pwrite_all(int fd, const char *p, size_t n, uint64_t off) {
        while (n > 0) {
                ssize_t k = pwrite(fd, p, n, (off_t) off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                n -= (size_t) k;
                off += (uint64_t) k;
        }
        return 0;
}

static void get_work_fn(uv_work_t *w) {
        get_job *gj = w->data;
        int r = 0;

        if (gj->wkind == GET_WORK_DISCARD) {
                gj->tmp = local_tmp_free(gj->tmp);
                gj->werr = 0;
                return;
        }
        if (!gj->tmp)
                r = local_tmp_create(gj->base.file->entry->dst, &gj->tmp);
        if (r >= 0 && gj->truncate) {
                r = local_tmp_reset(gj->tmp);
                gj->truncate = false;
        }
        if (r >= 0 && gj->len[gj->wbuf] > 0)
                r = pwrite_all(gj->tmp->fd, gj->bufs[gj->wbuf], gj->len[gj->wbuf], gj->woff);
        if (r >= 0 && gj->wkind == GET_WORK_COMMIT)
                r = local_tmp_commit(gj->tmp, gj->base.batch->daemon->cfg.file_mode, false);
        if (r < 0)
                gj->tmp = local_tmp_free(gj->tmp);
        gj->werr = r;
}

static void get_end(get_job *gj) {
        batch_file *f = gj->base.file;

        if (gj->r < 0 && gj->sent && gj->result.error < 0)
                job_s3_set_error(f, &gj->result, "download failed");
        else if (gj->r < 0)
                file_error_set_errno(&f->err, gj->r, "cannot write the destination");
        else
                f->bytes = gj->file_off;
        f->attempts = gj->result.attempts;
        gj->tmp = local_tmp_free(gj->tmp);
        free(gj->bufs[0]);
        free(gj->bufs[1]);
        batch_job_done(&gj->base);
}

static void get_after(uv_work_t *w, int status);

static int get_queue(get_job *gj, get_work kind, unsigned buf) {
        gj->wkind = kind;
        gj->wbuf = buf;
        gj->woff = gj->file_off;
        gj->file_off += gj->len[buf];
        gj->writing = true;
        gj->work.data = gj;
        int r = uv_queue_work(gj->base.batch->daemon->loop, &gj->work, get_work_fn, get_after);
        if (r < 0)
                gj->writing = false;
        return r;
}

/* After the transfer: write what is left and rename, or drop the temporary. */
static void get_finish(get_job *gj) {
        int r;
        if (gj->r == 0 && atomic_load(&gj->base.cancel))
                gj->r = -ECANCELED, gj->sent = false;
        if (gj->r == 0)
                r = get_queue(gj, GET_WORK_COMMIT, gj->cur);
        else {
                gj->len[gj->cur] = 0;
                r = gj->tmp ? get_queue(gj, GET_WORK_DISCARD, gj->cur) : 1;
        }
        if (r != 0) {
                if (r < 0 && gj->r == 0)
                        gj->r = r;
                get_end(gj);
        }
}

static void get_after(uv_work_t *w, int status) {
        get_job *gj = w->data;
        get_work kind = gj->wkind;

        gj->writing = false;
        gj->len[gj->wbuf] = 0;
        if (status == UV_ECANCELED)
                gj->werr = -ECANCELED;
        if (kind != GET_WORK_WRITE) {
                if (kind == GET_WORK_COMMIT && gj->werr < 0)
                        gj->r = gj->werr, gj->sent = false;
                get_end(gj);
                return;
        }
        if (gj->werr < 0 && !gj->write_error)
                gj->write_error = gj->werr;
        if (gj->http_done) {
                if (gj->write_error && gj->r == 0)
                        gj->r = gj->write_error, gj->sent = false;
                get_finish(gj);
                return;
        }
        if (gj->waiting && gj->req) {
                gj->waiting = false;
                http_request_unpause(gj->req);
        }
}

static int get_body(http_request *req, const void *data, size_t len, void *userdata) {
        get_job *gj = userdata;

        if (gj->write_error)
                return gj->write_error;
        if (len > JOB_S3_BUF_SIZE)
                return -EMSGSIZE;
        if (gj->len[gj->cur] + len > JOB_S3_BUF_SIZE) {
                if (gj->writing) {
                        gj->req = req;
                        gj->waiting = true;
                        return HTTP_PAUSE;
                }
                int r = get_queue(gj, GET_WORK_WRITE, gj->cur);
                if (r < 0)
                        return r;
                gj->cur ^= 1;
        }
        memcpy(gj->bufs[gj->cur] + gj->len[gj->cur], data, len);
        gj->len[gj->cur] += len;
        return 0;
}

/* A new attempt starts the file over; a write still in flight lands first
 * (writes are serialized) and is then truncated away. */
static int get_retry(s3_call *c, void *userdata) {
        get_job *gj = userdata;
        gj->truncate = true;
        gj->file_off = 0;
        gj->cur = gj->writing ? gj->wbuf ^ 1 : 0;
        gj->len[gj->cur] = 0;
        gj->write_error = 0;
        return 0;
}

static void get_done(s3_call *c, const s3_result *r, void *userdata) {
        get_job *gj = userdata;

        gj->call = NULL;
        gj->req = NULL;
        gj->sent = true;
        gj->r = r->error;
        gj->result = *r;
        snprintf(gj->result_msg, sizeof(gj->result_msg), "%s", r->message);
        gj->result.message = gj->result_msg;
        gj->result.s3_code = NULL;
        if (r->s3_code) {
                snprintf(gj->result_code, sizeof(gj->result_code), "%s", r->s3_code);
                gj->result.s3_code = gj->result_code;
        }
        gj->result.xml = NULL;
        if (gj->r == 0 && gj->write_error)
                gj->r = gj->write_error, gj->sent = false;
        gj->http_done = true;
        if (!gj->writing)
                get_finish(gj);
}

static int get_start(job *j) {
        get_job *gj = (get_job *) j;
        batch *b = j->batch;
        batch_file *f = j->file;

        gj->bufs[0] = malloc(JOB_S3_BUF_SIZE);
        gj->bufs[1] = malloc(JOB_S3_BUF_SIZE);
        if (!gj->bufs[0] || !gj->bufs[1]) {
                free(gj->bufs[0]);
                free(gj->bufs[1]);
                return -ENOMEM;
        }
        sigv4_pair if_match = { "If-Match", f->etag };
        s3_call_opts o = job_s3_opts(b, &f->entry->src_loc);
        o.method = HTTP_GET;
        if (f->etag) {
                o.headers = &if_match;
                o.n_headers = 1;
        }
        o.on_body = get_body;
        o.on_retry = get_retry;
        o.on_done = get_done;
        o.userdata = gj;
        int r = s3_call_start(b->daemon->s3, &o, &gj->call);
        if (r < 0) {
                free(gj->bufs[0]);
                free(gj->bufs[1]);
        }
        return r;
}

static void get_cancel(job *j) {
        get_job *gj = (get_job *) j;
        if (gj->call)
                s3_call_cancel(gj->call);
}

const job_type job_s3_get = {
        .name = "s3-get", .size = sizeof(get_job), .start = get_start, .cancel = get_cancel,
};
