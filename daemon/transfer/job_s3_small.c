/* SPDX-License-Identifier: MIT */

/* The S3 requests that move no file: HeadObject for Size, GetObject into
 * memory for Read, and server-side CopyObject for S3 -> S3 (no bytes pass
 * through the daemon). Each is one call; they share this file because each
 * is a screenful. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "job.h"
#include "macro.h"
#include "job_s3.h"
#include "parts.h"
#include "s3_multipart.h"
#include "sigv4.h"

typedef struct small_job {
        job base;
        s3_call *call;
        char *data;             /* Read: the body so far */
        size_t len, cap, max;
        uint64_t size;          /* Size: Content-Length */
        bool have_size;
        char *etag;             /* Copy without validation: the source's */
        mp_file mp;             /* Copy of a large object: part by part */
        bool multipart;
} small_job;

static void small_done(s3_call *c, const s3_result *r, void *userdata) {
        small_job *sj = userdata;
        job_file *f = sj->base.file;
        const job_env *env = sj->base.env;

        sj->call = NULL;
        f->attempts = r->attempts;
        if (r->error < 0)
                job_s3_set_error(f, r, env->op == TRANSFER_COPY ? "copy failed"
                                     : env->op == TRANSFER_SIZE ? "size failed"
                                                             : "read failed");
        else if (env->op == TRANSFER_SIZE)
                f->bytes = sj->size;
        else if (env->op == TRANSFER_READ) {
                f->data = sj->data;
                f->bytes = sj->len;
                sj->data = NULL;
        } else
                f->bytes = f->src_size;
        free(sj->data);
        free(sj->etag);
        job_done(&sj->base);
}

static int head_header(http_request *req, const char *name, const char *value, void *userdata) {
        small_job *sj = userdata;
        if (strcasecmp(name, "etag") == 0) {
                free(sj->etag);
                sj->etag = strdup(value);
        } else if (strcasecmp(name, "content-length") == 0) {
                char *end;
                sj->size = strtoull(value, &end, 10);
                sj->have_size = *value && !*end;
        }
        return 0;
}

static int read_body(http_request *req, const void *data, size_t len, void *userdata) {
        small_job *sj = userdata;
        if (sj->len + len > sj->max)
                return -EFBIG;
        if (sj->len + len + 1 > sj->cap) {
                size_t cap = sj->cap ? sj->cap * 2 : 64 * 1024;
                while (cap < sj->len + len + 1)
                        cap *= 2;
                char *p = realloc(sj->data, cap);
                if (!p)
                        return -ENOMEM;
                sj->data = p;
                sj->cap = cap;
        }
        memcpy(sj->data + sj->len, data, len);
        sj->len += len;
        return 0;
}

static int small_begin(job *j, s3_call_opts *o) {
        small_job *sj = (small_job *) j;
        o->on_done = small_done;
        o->userdata = sj;
        return s3_call_start(j->env->shared->s3, o, &sj->call);
}

static int head_start(job *j) {
        s3_call_opts o = job_s3_opts(j->env, &j->file->entry->src_loc);
        o.method = HTTP_HEAD;
        o.on_header = head_header;
        o.shareable = true;
        return small_begin(j, &o);
}

/* A retried GET starts over. */
static int read_retry(s3_call *c, void *userdata) {
        small_job *sj = userdata;
        sj->len = 0;
        return 0;
}

static int read_start(job *j) {
        small_job *sj = (small_job *) j;
        const job_env *env = j->env;
        job_file *f = j->file;
        sigv4_pair if_match = { "If-Match", f->etag };
        s3_call_opts o = job_s3_opts(env, &f->entry->src_loc);

        sj->max = f->src_size + (env->read_limit - (*env->read_requested));
        o.method = HTTP_GET;
        if (f->etag) {
                o.headers = &if_match;
                o.n_headers = 1;
        }
        o.on_body = read_body;
        o.on_retry = read_retry;
        /* Pinned to the ETag validation saw: every caller's bytes alike. */
        o.shareable = f->etag != NULL;
        return small_begin(j, &o);
}

static void mcopy_done(mp_file *mp) {
        small_job *sj = container_of(mp, small_job, mp);
        job_file *f = sj->base.file;
        mp_report(mp, "multipart copy failed");
        if (mp->r == 0)
                f->bytes = f->src_size;
        f->attempts = mp->attempts;
        mp_free(mp);
        job_done(&sj->base);
}

static int copy_start(job *j);

/* Without validation the copy still needs its source's size and ETag:
 * above 5 GiB only a multipart copy works, and the result says the bytes. */
static void copy_head_done(s3_call *c, const s3_result *r, void *userdata) {
        small_job *sj = userdata;
        job_file *f = sj->base.file;
        int q = r->error;
        sj->call = NULL;
        /* A HEAD error has no body: NoSuchKey and NoSuchBucket look alike.
         * The copy itself fails with the server's own words. */
        if (q < 0 && (r->http_status == 404 || r->http_status == 403)) {
                f->src_known = true;
                q = copy_start(&sj->base);
                if (q == 0)
                        return;
        }
        if (q == 0) {
                f->src_size = sj->size;
                f->etag = sj->etag;
                sj->etag = NULL;
                f->src_known = true;
                q = copy_start(&sj->base);
                if (q == 0)
                        return;
                if (f->err.code == FDS_CODE_OK)
                        file_error_set_errno(&f->err, q, "copy failed");
        } else
                job_s3_set_error(f, r, "copy failed");
        f->attempts = r->attempts;
        free(sj->etag);
        job_done(&sj->base);
}

static int copy_start(job *j) {
        const fds_entry *e = j->file->entry;
        const job_env *env = j->env;
        small_job *sj = (small_job *) j;

        if (!j->file->etag && !j->file->src_known) {
                s3_call_opts o = job_s3_opts(env, &e->src_loc);
                o.method = HTTP_HEAD;
                o.on_header = head_header;
                o.on_done = copy_head_done;
                o.userdata = sj;
                return s3_call_start(env->shared->s3, &o, &sj->call);
        }

        /* As for local files: a copy onto itself is refused, not sent. */
        if (strcmp(e->src_loc.bucket, e->dst_loc.bucket) == 0 && strcmp(e->src_loc.key, e->dst_loc.key) == 0) {
                file_error_set(&j->file->err, FDS_CODE_SAME_FILE, "source and destination are the same object");
                return -EINVAL;
        }

        /* One CopyObject up to the copy cutoff: the server copies without
         * moving the bytes, far faster than parts, however parallel. It
         * takes at most 5 GiB; above that, or above the cutoff, parallel
         * UploadPartCopy. The size is known from validation or a listing. */
        if ((j->file->src_size > PARTS_MAX_SIZE || (env->settings.multipart && j->file->src_size > env->settings.copy_cutoff)) &&
            (j->file->etag || j->file->src_known)) {
                int r = mcopy_begin(&sj->mp, env, j->file, mcopy_done);
                if (r == 0)
                        sj->multipart = true;
                return r;
        }
        char *key = NULL, *source = NULL;
        int r;

        r = sigv4_uri_encode(e->src_loc.key, true, &key);
        if (r < 0)
                return r;
        if (asprintf(&source, "/%s/%s", e->src_loc.bucket, key) < 0) {
                free(key);
                return -ENOMEM;
        }
        free(key);
        sigv4_pair h[2] = { { "x-amz-copy-source", source }, { "x-amz-copy-source-if-match", j->file->etag } };
        s3_call_opts o = job_s3_opts(j->env, &e->dst_loc);
        o.method = HTTP_PUT;
        o.has_body = true;
        o.headers = h;
        o.n_headers = j->file->etag ? 2 : 1;
        o.parse_xml = true;
        r = small_begin(j, &o);
        free(source); /* s3_call keeps its own copy of the headers */
        return r;
}

static void small_cancel(job *j) {
        small_job *sj = (small_job *) j;
        if (sj->multipart)
                mp_cancel(&sj->mp);
        else if (sj->call)
                s3_call_cancel(sj->call);
}

const job_type job_s3_head = {
        .name = "s3-head", .size = sizeof(small_job), .start = head_start, .cancel = small_cancel,
};
const job_type job_s3_read = {
        .name = "s3-read", .size = sizeof(small_job), .start = read_start, .cancel = small_cancel,
};
const job_type job_s3_copy = {
        .name = "s3-copy", .size = sizeof(small_job), .start = copy_start, .cancel = small_cancel,
};
