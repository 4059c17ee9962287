/* SPDX-License-Identifier: MIT */
#include "s3_multipart.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "etag.h"
#include "journal.h"
#include "job_s3.h"
#include "parts.h"

static void mp_fill(mp_file *f);
static void mp_complete(mp_file *f);
static void mp_abort(mp_file *f);

static void keep_failure(mp_file *f, int r, const s3_result *res) {
        if (f->r < 0)
                return;
        f->r = r;
        if (res && res->error < 0 && r != -ECANCELED)
                s3_kept_set(&f->fail, res);
}

void mp_report(mp_file *f, const char *what) {
        if (f->r >= 0)
                return;
        if (f->fail.set)
                job_s3_set_error(f->bf, &f->fail.r, what);
        else
                file_error_set_errno(&f->bf->err, f->r, what);
}

void mp_free(mp_file *f) {
        if (f->etags)
                for (unsigned i = 0; i < f->n_parts; i++)
                        free(f->etags[i]);
        free(f->etags);
        free(f->slots);
        /* Completed, aborted, or kept by upload_left for the next start. */
        if (f->journaled)
                journal_upload_end(f->upload_id);
        free(f->upload_id);
        free(f->body);
}

/* Everything in flight has ended: complete, abort, or report. */
static void mp_settle(mp_file *f) {
        if (f->inflight > 0 || f->call)
                return;
        if (f->r == 0 && f->done == f->n_parts && !f->body) {
                mp_complete(f);
                return;
        }
        if (f->r < 0 && f->upload_id && !f->aborting) {
                mp_abort(f);
                return;
        }
        if (f->r < 0 || f->aborting || f->body)
                f->ops->finished(f);
}

static int on_part_header(http_request *req, const char *name, const char *value, void *userdata) {
        mp_part *p = userdata;
        if (strcasecmp(name, "etag") == 0) {
                free(p->file->etags[p->slot.index]);
                p->file->etags[p->slot.index] = strdup(value);
        }
        return 0;
}

void mp_part_done(mp_part *p, int r, const s3_result *res) {
        mp_file *f = p->file;
        if (res && res->attempts > f->attempts)
                f->attempts = res->attempts;
        bufcache_put(f->env->shared->bufs, p->buf, p->slot.len);
        p->buf = NULL;
        part_slot_release(&p->slot, f->env->shared->buffers);
        f->inflight--;
        if (r == 0 && res && res->xml && res->xml->etag) {
                /* UploadPartCopy answers in its body. */
                free(f->etags[p->slot.index]);
                f->etags[p->slot.index] = strdup(res->xml->etag);
        }
        if (r == 0 && !f->etags[p->slot.index])
                r = -EBADMSG;
        if (r < 0) {
                keep_failure(f, r, res);
                mp_cancel(f);
        } else
                f->done++;
        mp_fill(f);
        mp_settle(f);
}

static void on_later(delay_entry *e) {
        mp_part *p = container_of(e, mp_part, slot.later);
        mp_part_done(p, -ECANCELED, NULL);
}

static void on_mem(budget_waiter *w) {
        mp_part *p = container_of(w, mp_part, slot.mem);
        if (p->file->r < 0) {
                mp_part_done(p, -ECANCELED, NULL);
                return;
        }
        p->file->ops->part_start(p);
}

static void mp_fill(mp_file *f) {
        while (f->r == 0 && f->upload_id && f->next < f->n_parts && f->inflight < f->n_slots) {
                mp_part *p = (mp_part *) part_pool_take(f->slots, f->n_slots, f->next, f->size, f->chunk);
                if (!p)
                        return;
                p->file = f;
                f->next++;
                f->inflight++;
                if (!f->ops->buffered || budget_acquire(f->env->shared->buffers, &p->slot.mem, p->slot.len, on_mem))
                        f->ops->part_start(p);
        }
}

static void on_created(s3_call *c, const s3_result *r, void *userdata) {
        mp_file *f = userdata;
        f->call = NULL;
        if (r->error < 0)
                keep_failure(f, r->error, r);
        else if (!r->xml || !r->xml->upload_id)
                keep_failure(f, -EBADMSG, NULL);
        else if (!(f->upload_id = strdup(r->xml->upload_id)))
                keep_failure(f, -ENOMEM, NULL);
        else if (f->env->site) {
                /* Should fdsd be killed before it ends, the next start aborts it. */
                char endpoint[512];
                snprintf(endpoint, sizeof(endpoint), "%s://%s", f->env->site->scheme, f->env->site->host);
                f->journaled = journal_upload_begin(endpoint, f->dst->bucket, f->dst->key, f->upload_id);
        }
        if (f->canceled)
                keep_failure(f, -ECANCELED, NULL);
        mp_fill(f);
        mp_settle(f);
}

int mp_start(mp_file *f, const job_env *env, job_file *bf, const fds_location *dst, uint64_t size,
             const mp_ops *ops) {
        int r;
        *f = (mp_file){ .env = env, .bf = bf, .ops = ops, .dst = dst, .size = size };
        r = parts_plan(size, env->settings.multipart_chunksize, &f->chunk, &f->n_parts);
        if (r < 0)
                return r;
        f->n_slots = env->settings.max_concurrency < f->n_parts ? env->settings.max_concurrency : f->n_parts;
        f->slots = calloc(f->n_slots, sizeof(mp_part));
        f->etags = calloc(f->n_parts, sizeof(char *));
        if (!f->slots || !f->etags) {
                mp_free(f);
                return -ENOMEM;
        }
        sigv4_pair q = { "uploads", NULL };
        /* The part size travels with the object, so a download knows the
         * layout its ETag was made with (etag.h) and checks every byte. */
        char part_size[24];
        snprintf(part_size, sizeof(part_size), "%" PRIu64, f->chunk);
        sigv4_pair h = { ETAG_META_PART_SIZE, part_size };
        s3_call_opts o = job_s3_opts(env, dst);
        o.method = HTTP_POST;
        o.query = &q;
        o.n_query = 1;
        o.headers = &h;
        o.n_headers = 1;
        o.has_body = true;
        o.payload_hash = SIGV4_EMPTY_SHA256;
        o.parse_xml = true;
        o.on_done = on_created;
        o.userdata = f;
        r = s3_call_start(env->shared->s3, &o, &f->call);
        if (r < 0)
                mp_free(f);
        return r;
}

s3_call_opts mp_part_opts(mp_part *p, sigv4_pair q[2], char number[16]) {
        mp_file *f = p->file;
        snprintf(number, 16, "%u", p->slot.index + 1);
        q[0] = (sigv4_pair){ "partNumber", number };
        q[1] = (sigv4_pair){ "uploadId", f->upload_id };
        s3_call_opts o = job_s3_opts(f->env, f->dst);
        o.method = HTTP_PUT;
        o.query = q;
        o.n_query = 2;
        o.has_body = true;
        o.on_header = on_part_header;
        return o;
}

static void on_completed(s3_call *c, const s3_result *r, void *userdata) {
        mp_file *f = userdata;
        f->call = NULL;
        if (r->error < 0)
                keep_failure(f, r->error, r);
        else if (!r->xml || r->xml->kind != S3_XML_COMPLETE_MULTIPART)
                keep_failure(f, -EBADMSG, NULL);
        mp_settle(f);
}

static int xml_escape_append(char **p, size_t *left, const char *s) {
        for (; *s; s++) {
                const char *rep = *s == '"' ? "&quot;" : *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : NULL;
                size_t n = rep ? strlen(rep) : 1;
                if (n >= *left)
                        return -ENOBUFS;
                if (rep)
                        memcpy(*p, rep, n);
                else
                        **p = *s;
                *p += n;
                *left -= n;
        }
        **p = '\0';
        return 0;
}

static void mp_complete(mp_file *f) {
        size_t cap = 128 + (size_t) f->n_parts * 200;
        f->body = malloc(cap);
        if (!f->body) {
                keep_failure(f, -ENOMEM, NULL);
                mp_settle(f);
                return;
        }
        char *p = f->body;
        size_t left = cap;
        int n = snprintf(p, left, "<CompleteMultipartUpload>");
        p += n, left -= (size_t) n;
        for (unsigned i = 0; i < f->n_parts; i++) {
                n = snprintf(p, left, "<Part><PartNumber>%u</PartNumber><ETag>", i + 1);
                p += n, left -= (size_t) n;
                if (xml_escape_append(&p, &left, f->etags[i]) < 0)
                        break;
                n = snprintf(p, left, "</ETag></Part>");
                p += n, left -= (size_t) n;
        }
        snprintf(p, left, "</CompleteMultipartUpload>");
        sigv4_pair q = { "uploadId", f->upload_id };
        s3_call_opts o = job_s3_opts(f->env, f->dst);
        o.method = HTTP_POST;
        o.query = &q;
        o.n_query = 1;
        o.has_body = true;
        o.body = f->body;
        o.body_length = strlen(f->body);
        o.parse_xml = true;
        o.on_done = on_completed;
        o.userdata = f;
        /* The body is ours and small: no bandwidth cap on it. */
        o.throttles[0] = o.throttles[1] = NULL;
        int r = s3_call_start(f->env->shared->s3, &o, &f->call);
        if (r < 0) {
                keep_failure(f, r, NULL);
                mp_settle(f);
        }
}

static void on_aborted(s3_call *c, const s3_result *r, void *userdata) {
        mp_file *f = userdata;
        const job_shared *sh = f->env->shared;
        f->call = NULL;
        /* An abort that fails leaves parts billed: say so, and keep it. */
        if (r->error < 0 && !f->fail.set)
                keep_failure(f, r->error, r);
        if (r->error < 0 && sh->upload_left && f->env->site) {
                char endpoint[512], why[640];
                snprintf(endpoint, sizeof(endpoint), "%s://%s", f->env->site->scheme, f->env->site->host);
                if (r->http_status)
                        snprintf(why, sizeof(why), "AbortMultipartUpload: %s (HTTP %ld%s%s, %u attempts)", r->message,
                                 r->http_status, r->s3_code ? " " : "", r->s3_code ? r->s3_code : "", r->attempts);
                else
                        snprintf(why, sizeof(why), "AbortMultipartUpload: %s (%u attempts)", r->message, r->attempts);
                sh->upload_left(endpoint, f->dst->bucket, f->dst->key, f->upload_id, why, sh->userdata);
        }
        f->ops->finished(f);
}

/* Tries of an abort: cleanup that leaves parts billed when it fails gets
 * at least the default, whatever the call allowed its transfers. */
#define MP_ABORT_MIN_ATTEMPTS 5

static void mp_abort(mp_file *f) {
        f->aborting = true;
        sigv4_pair q = { "uploadId", f->upload_id };
        s3_call_opts o = job_s3_opts(f->env, f->dst);
        if (o.max_attempts < MP_ABORT_MIN_ATTEMPTS)
                o.max_attempts = MP_ABORT_MIN_ATTEMPTS;
        o.method = HTTP_DELETE;
        o.query = &q;
        o.n_query = 1;
        o.on_done = on_aborted;
        o.userdata = f;
        if (s3_call_start(f->env->shared->s3, &o, &f->call) < 0)
                f->ops->finished(f);
}

void mp_cancel(mp_file *f) {
        if (f->r == 0)
                f->r = -ECANCELED;
        f->canceled = true;
        part_pool_cancel(f->slots, f->n_slots, f->env->shared->buffers, on_later);
        /* A create or complete in flight is not canceled: the server may
         * have acted on it already, and only its answer says whether there
         * is an upload to abort (or an object that is whole). */
}
