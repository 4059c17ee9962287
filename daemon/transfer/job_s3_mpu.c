/* SPDX-License-Identifier: MIT */

/* local -> S3 above the multipart threshold, the multipart strategy of the
 * upload job (job_s3_put.c decides once it knows the size). Each part
 * is read whole on a worker thread into a buffer granted by the daemon's
 * budget, hashed in the daemon's MD5 lanes (Content-MD5, which the server
 * checks) and PUT from memory, so a retried part is sent again without
 * touching the disk. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "job.h"
#include "fileio.h"
#include "job_s3.h"
#include "md5.h"
#include "md5q.h"
#include "s3_multipart.h"

typedef struct part_read {
        uv_work_t work;
        md5q_req hash;
        mp_part *p;
        int fd;
        int r;
} part_read;

static void on_part_put(s3_call *c, const s3_result *r, void *userdata) {
        mp_part *p = userdata;
        mp_part_done(p, r->error, r);
}

static void part_read_work(uv_work_t *w) {
        part_read *pr = w->data;
        mp_part *p = pr->p;
        ssize_t n = fileio_pread_full(pr->fd, p->buf, p->slot.len, (off_t) p->slot.off);
        if (n < (ssize_t) p->slot.len)
                pr->r = n < 0 ? (int) n : -ENODATA; /* shrank under us */
}

static void on_part_hashed(md5q_req *h) {
        part_read *pr = h->userdata;
        mp_part *p = pr->p;
        int r = md5_base64(h->job.digest, p->md5);
        free(pr);
        p->slot.worker = false;
        if (r == 0 && p->file->r < 0)
                r = -ECANCELED;
        if (r < 0) {
                mp_part_done(p, r, NULL);
                return;
        }
        sigv4_pair q[2];
        char number[16];
        s3_call_opts o = mp_part_opts(p, q, number);
        sigv4_pair md5 = { "Content-MD5", p->md5 };
        o.headers = &md5;
        o.n_headers = 1;
        o.body = p->buf;
        o.body_length = p->slot.len;
        o.on_done = on_part_put;
        o.userdata = p;
        r = s3_call_start(p->file->env->shared->s3, &o, &p->slot.call);
        if (r < 0)
                mp_part_done(p, r, NULL);
}

/* Read: the part's Content-MD5 next, in the daemon's lanes with the other
 * parts and files being hashed. */
static void part_read_after(uv_work_t *w, int status) {
        part_read *pr = w->data;
        mp_part *p = pr->p;
        int r = status == UV_ECANCELED ? -ECANCELED : pr->r;
        if (r == 0 && p->file->r < 0)
                r = -ECANCELED;
        if (r == 0)
                r = md5q_submit(p->file->env->shared->md5q, &pr->hash, p->buf, p->slot.len, on_part_hashed, pr);
        if (r < 0) {
                free(pr);
                p->slot.worker = false;
                mp_part_done(p, r, NULL);
        }
}

static void mpu_part_start(mp_part *p) {
        part_read *pr = calloc(1, sizeof(*pr));
        p->buf = bufcache_get(p->file->env->shared->bufs, p->slot.len);
        if (!pr || !p->buf) {
                free(pr);
                mp_part_done(p, -ENOMEM, NULL);
                return;
        }
        *pr = (part_read){ .p = p, .fd = p->file->fd };
        pr->work.data = pr;
        p->slot.worker = true;
        if (uv_queue_work(p->file->env->shared->loop, &pr->work, part_read_work, part_read_after) < 0) {
                p->slot.worker = false;
                free(pr);
                mp_part_done(p, -ENOMEM, NULL);
        }
}

static void mpu_finished(mp_file *f) {
        f->on_end(f);
}

static const mp_ops mpu_ops = {
        .buffered = true,
        .part_start = mpu_part_start,
        .finished = mpu_finished,
};

int mpu_begin(mp_file *f, const job_env *env, job_file *bf, int fd, uint64_t size, void (*done)(mp_file *f)) {
        int r = mp_start(f, env, bf, &bf->entry->dst_loc, size, &mpu_ops);
        if (r < 0)
                return r;
        f->fd = fd;
        f->on_end = done;
        return 0;
}
