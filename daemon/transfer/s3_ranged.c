/* SPDX-License-Identifier: MIT */
#include "s3_ranged.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "fsq.h"
#include "job_s3.h"
#include "md5.h"
#include "parts.h"

/* Ranges as large as an object's parts, up to this; larger parts are
 * fetched in the call's chunks and the file is read back to check it. */
#define RG_ALIGN_MAX (64ULL * 1024 * 1024)

static void ranged_fill(ranged_file *f);
static void ranged_settle(ranged_file *f);

static void keep_failure(ranged_file *f, int r, const s3_result *res) {
        if (f->r < 0)
                return;
        f->r = r;
        if (res && res->error < 0 && r != -ECANCELED)
                s3_kept_set(&f->fail, res);
}

void ranged_report(ranged_file *f) {
        job_file *bf = f->bf;
        bf->attempts = f->attempts_before + f->attempts;
        if (f->r >= 0) {
                bf->bytes = f->size;
                bf->verified = f->verified;
                return;
        }
        if (f->mismatch)
                file_error_set(&bf->err, FDS_CODE_IO_ERROR,
                               f->etag.kind == ETAG_MULTIPART
                                       ? "checksum mismatch: the data received does not match the object's multipart ETag"
                                       : "checksum mismatch: the data received does not match the object's MD5 ETag");
        else if (f->fail.set && f->fail.r.http_status == 412)
                file_error_set(&bf->err, FDS_CODE_IO_ERROR,
                               "the object changed while it was being downloaded (its ETag no longer matches)");
        else if (f->fail.set)
                job_s3_set_error(bf, &f->fail.r, "download failed");
        else
                file_error_set_errno(&bf->err, f->r, "download failed");
        if (f->fail.set)
                bf->err.http_status = (int) f->fail.r.http_status;
}

void ranged_free(ranged_file *f) {
        free(f->slots);
        free(f->digests);
        f->tmp = local_tmp_free(f->tmp);
}

/* Worker: whether the temporary holds the object's bytes. 0 yes (or
 * nothing to check against: f->verified says which), -EBADMSG no. */
static int ranged_verify(ranged_file *f) {
        int r;
        f->verified = FILE_VERIFIED_NO;
        /* rclone's whole-object MD5 holds whatever the ETag is. */
        if (f->has_meta_md5 && (f->opaque || f->etag.kind != ETAG_MD5)) {
                etag_info whole = { .kind = ETAG_MD5 };
                memcpy(whole.digest, f->meta_md5, 16);
                r = etag_check_file(f->tmp->fd, f->size, &whole, 0);
                goto out;
        }
        if (f->opaque || f->etag.kind == ETAG_OPAQUE)
                return 0;
        if (f->etag.kind == ETAG_MD5)
                r = etag_check_file(f->tmp->fd, f->size, &f->etag, 0);
        else if (f->n_layouts == 0 && !f->meta_part_size)
                return 0; /* a layout no common uploader makes */
        else {
                r = 0;
                if (f->aligned) {
                        uint8_t d[16];
                        r = etag_combine(f->digests, f->n_parts, d);
                        if (r >= 0)
                                r = memcmp(d, f->etag.digest, 16) == 0;
                }
                /* fds's own uploads say their part size (a copy by another
                 * tool may keep the metadata but not the layout, so it is
                 * the first thing tried, not the only one). */
                if (r == 0 && f->meta_part_size && !(f->aligned && f->chunk == f->meta_part_size))
                        r = etag_check_file(f->tmp->fd, f->size, &f->etag, f->meta_part_size);
                /* The guess was wrong, or the bytes are: read back with
                 * the other layouts before calling it a mismatch. */
                if (r == 0)
                        r = etag_check_layouts(f->tmp->fd, f->size, &f->etag, f->layouts, f->n_layouts,
                                               f->aligned ? 1 : 0);
                /* No layout matched twice, with the same bytes both times:
                 * the parts were not of one size (nothing to check
                 * against), as networks do not corrupt the same way twice. */
                uint8_t d[16];
                if (r == 0 && (r = etag_combine(f->digests, f->n_parts, d)) >= 0) {
                        if (f->have_last && memcmp(d, f->last, 16) == 0)
                                return 0;
                        memcpy(f->last, d, 16);
                        f->have_last = true;
                        r = 0;
                }
        }
out:
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;
        f->verified = FILE_VERIFIED_YES;
        return 0;
}

/* Worker: one of create (first), commit (all in) or discard (failed). */
static void file_work(uv_work_t *w) {
        ranged_file *f = w->data;
        int r = 0;
        if (!f->tmp && f->r == 0) {
                r = local_tmp_create(f->bf->entry->dst, &f->tmp);
                /* Sized up front so every range writes at its own offset. */
                if (r >= 0 && ftruncate(f->tmp->fd, (off_t) f->size) < 0)
                        r = -errno;
        } else if (f->r == 0 && f->done == f->n_parts) {
                r = ranged_verify(f);
                if (r == -EBADMSG) {
                        f->mismatch = true;
                        /* Another pass overwrites every range in place. */
                        if (f->pass < f->max_passes) {
                                f->again = true;
                                f->wr = 0;
                                return;
                        }
                }
                if (r >= 0)
                        r = local_tmp_commit(f->tmp, f->env->shared->file_mode, false);
        }
        if (r < 0 || f->r < 0)
                f->tmp = local_tmp_free(f->tmp);
        f->wr = r;
}

static void file_after(uv_work_t *w, int status) {
        ranged_file *f = w->data;
        bool created = f->tmp && f->done == 0 && f->inflight == 0 && f->next == 0;
        f->working = false;
        if (f->again && status >= 0 && f->r == 0) {
                /* A checksum mismatch is transient, like a 500: the whole
                 * file once more, its tries counted. */
                f->again = false;
                f->mismatch = false;
                f->settled = false;
                f->pass++;
                f->next = f->done = 0;
                f->attempts_before += f->attempts;
                f->attempts = 0;
                ranged_fill(f);
                return;
        }
        if (f->again) {
                f->again = false;
                f->tmp = local_tmp_free(f->tmp);
                keep_failure(f, -EBADMSG, NULL);
        }
        if (status < 0)
                f->wr = status;
        if (f->wr < 0)
                keep_failure(f, f->wr, NULL);
        if (f->r == 0 && created) {
                ranged_fill(f);
                return;
        }
        if (f->settled) {
                f->on_end(f);
                return;
        }
        ranged_settle(f);
}

static void file_queue(ranged_file *f) {
        f->working = true;
        f->work.data = f;
        if (fsq_queue(f->env->shared->fsq, f->env->creds, &f->work, file_work, file_after) < 0) {
                f->working = false;
                keep_failure(f, -ENOMEM, NULL);
                f->on_end(f);
        }
}

/* Nothing in flight: commit or discard, then report. */
static void ranged_settle(ranged_file *f) {
        if (f->inflight > 0 || f->working || f->settled)
                return;
        if (f->r == 0 && f->done < f->n_parts)
                return;
        f->settled = true;
        if (f->tmp || f->r == 0)
                file_queue(f);
        else
                f->on_end(f);
}

static void part_end(ranged_part *p, int r, const s3_result *res) {
        ranged_file *f = p->file;
        if (res && res->attempts > f->attempts)
                f->attempts = res->attempts;
        free(p->buf);
        p->buf = NULL;
        part_slot_release(&p->slot, f->env->shared->buffers);
        f->inflight--;
        if (r < 0) {
                keep_failure(f, r, res);
                ranged_cancel(f);
        } else
                f->done++;
        ranged_fill(f);
        ranged_settle(f);
}

static void write_work(uv_work_t *w) {
        ranged_part *p = w->data;
        p->r = p->hashed ? 0 : md5_digest(p->buf, p->slot.len, p->file->digests + (size_t) p->slot.index * 16);
        if (p->r < 0)
                return;
        p->r = fileio_pwrite_full(p->file->tmp->fd, p->buf, p->slot.len, (off_t) p->slot.off);
}

static void write_after(uv_work_t *w, int status) {
        ranged_part *p = w->data;
        part_end(p, status == UV_ECANCELED ? -ECANCELED : p->r, NULL);
}

static void part_write(ranged_part *p) {
        p->work.data = p;
        if (uv_queue_work(p->file->env->shared->loop, &p->work, write_work, write_after) < 0)
                part_end(p, -ENOMEM, NULL);
}

static void on_part_hashed(md5q_req *h) {
        ranged_part *p = h->userdata;
        memcpy(p->file->digests + (size_t) p->slot.index * 16, h->job.digest, 16);
        p->hashed = true;
        if (p->file->r < 0) {
                part_end(p, -ECANCELED, NULL);
                return;
        }
        part_write(p);
}

static int part_body(http_request *req, const void *data, size_t len, void *userdata) {
        ranged_part *p = userdata;
        if (p->got + len > p->slot.len)
                return -EMSGSIZE; /* more than the range asked for */
        memcpy(p->buf + p->got, data, len);
        p->got += len;
        return 0;
}

static int part_header(http_request *req, const char *name, const char *value, void *userdata) {
        ranged_part *p = userdata;
        /* SSE-KMS and SSE-C objects have ETags that are not their MD5. */
        if ((strcasecmp(name, "x-amz-server-side-encryption") == 0 && strncmp(value, "aws:kms", 7) == 0) ||
            strcasecmp(name, "x-amz-server-side-encryption-customer-algorithm") == 0)
                p->file->opaque = true;
        else if (strcasecmp(name, ETAG_META_PART_SIZE) == 0)
                p->file->meta_part_size = etag_meta_part_size(value);
        else if (strcasecmp(name, ETAG_META_MD5) == 0)
                p->file->has_meta_md5 = etag_meta_md5(value, p->file->meta_md5);
        return 0;
}

static int part_retry(s3_call *c, void *userdata) {
        ((ranged_part *) userdata)->got = 0;
        return 0;
}

static void part_done(s3_call *c, const s3_result *res, void *userdata) {
        ranged_part *p = userdata;
        p->slot.call = NULL;
        if (res->attempts > p->file->attempts)
                p->file->attempts = res->attempts;
        int r = res->error;
        if (r == 0 && p->got != p->slot.len)
                r = -EPIPE; /* a short range: the object is not what we planned for */
        if (r < 0 || p->file->r < 0) {
                part_end(p, r < 0 ? r : -ECANCELED, res);
                return;
        }
        /* Hashed in the lanes with the other ranges in flight (about a
         * third of the serial cost); if they cannot take it, the worker
         * that writes it hashes it. */
        p->hashed = false;
        if (p->slot.len > 0 && md5q_submit(p->file->env->shared->md5q, &p->hash, p->buf, p->slot.len, on_part_hashed, p) == 0)
                return;
        part_write(p);
}

static void part_get(ranged_part *p) {
        ranged_file *f = p->file;
        char range[64];
        snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, p->slot.off, p->slot.off + p->slot.len - 1);
        sigv4_pair h[2] = { { "If-Match", f->bf->etag }, { "Range", range } };
        p->buf = malloc(p->slot.len ? p->slot.len : 1);
        if (!p->buf) {
                part_end(p, -ENOMEM, NULL);
                return;
        }
        s3_call_opts o = job_s3_opts(f->env, &f->bf->entry->src_loc);
        o.method = HTTP_GET;
        o.headers = h;
        o.n_headers = 2;
        o.on_header = part_header;
        o.on_body = part_body;
        o.on_retry = part_retry;
        o.on_done = part_done;
        o.userdata = p;
        int r = s3_call_start(f->env->shared->s3, &o, &p->slot.call);
        if (r < 0)
                part_end(p, r, NULL);
}

static void on_mem(budget_waiter *w) {
        ranged_part *p = container_of(w, ranged_part, slot.mem);
        if (p->file->r < 0)
                part_end(p, -ECANCELED, NULL);
        else
                part_get(p);
}

static void ranged_fill(ranged_file *f) {
        while (f->r == 0 && f->tmp && f->next < f->n_parts && f->inflight < f->n_slots) {
                ranged_part *p = (ranged_part *) part_pool_take(f->slots, f->n_slots, f->next, f->size, f->chunk);
                if (!p)
                        return;
                p->file = f;
                f->next++;
                f->inflight++;
                if (budget_acquire(f->env->shared->buffers, &p->slot.mem, p->slot.len, on_mem))
                        part_get(p);
        }
}

int ranged_start(ranged_file *f, const job_env *env, job_file *bf, void (*done)(ranged_file *f)) {
        *f = (ranged_file){ .env = env, .bf = bf, .on_end = done, .size = bf->src_size, .pass = 1,
                        .max_passes = env->settings.max_attempts ? env->settings.max_attempts : 1 };
        int r = parts_plan(f->size, env->settings.multipart_chunksize, &f->chunk, &f->n_parts);
        if (r < 0)
                return r;
        f->etag = etag_parse(bf->etag);
        if (f->etag.kind == ETAG_MULTIPART)
                f->n_layouts = etag_layouts(f->size, f->etag.n_parts, f->chunk, f->layouts);
        /* Ranges that are the object's parts (most likely layout first):
         * each range's MD5 is a part's, and the check needs no read back. */
        if (f->n_layouts > 0 && f->etag.n_parts > 1 && f->layouts[0] >= PARTS_MIN_SIZE &&
            f->layouts[0] <= RG_ALIGN_MAX && f->layouts[0] <= env->shared->buffers->limit / 2) {
                f->aligned = true;
                f->chunk = f->layouts[0];
                f->n_parts = f->etag.n_parts;
        }
        f->digests = calloc(f->n_parts, 16);
        if (!f->digests)
                return -ENOMEM;
        f->n_slots = env->settings.max_concurrency < f->n_parts ? env->settings.max_concurrency : f->n_parts;
        f->slots = calloc(f->n_slots, sizeof(ranged_part));
        if (!f->slots) {
                f->digests = (free(f->digests), NULL);
                return -ENOMEM;
        }
        file_queue(f);
        return 0;
}

static void on_later(delay_entry *e) {
        ranged_part *p = container_of(e, ranged_part, slot.later);
        part_end(p, -ECANCELED, NULL);
}

void ranged_cancel(ranged_file *f) {
        if (f->r == 0)
                f->r = -ECANCELED;
        f->canceled = true;
        part_pool_cancel(f->slots, f->n_slots, f->env->shared->buffers, on_later);
}
