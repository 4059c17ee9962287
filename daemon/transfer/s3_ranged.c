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
#include "parts.h"

/* Ranges as large as an object's parts, up to this; larger parts are
 * fetched in the call's chunks and the file is read back to check it. */
#define RG_ALIGN_MAX (64ULL * 1024 * 1024)
/* A range is written and hashed this much at a time as it arrives. */
#define RG_STEP (1024 * 1024)

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
                if (r >= 0)
                        f->tmp->no_replace = f->env->settings.no_clobber;
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
        if (fsq_queue(f->env->shared->fsq, f->env, f->env->creds, &f->work, file_work, file_after) < 0) {
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

/* Nothing reads the part's buffer any more: free it and count the part. */
static void part_release(ranged_part *p) {
        ranged_file *f = p->file;
        p->want_write = false;
        bufcache_put(f->env->shared->bufs, p->buf, p->slot.len);
        p->buf = NULL;
        part_slot_release(&p->slot, f->env->shared->buffers);
        f->inflight--;
        if (p->end_r == 0)
                f->done++;
        ranged_fill(f);
        ranged_settle(f);
}

/* The part is over (its request is not in flight): once its write and its
 * hashing are back, it is released. */
static void part_end(ranged_part *p, int r, const s3_result *res) {
        ranged_file *f = p->file;
        if (res && res->attempts > f->attempts)
                f->attempts = res->attempts;
        p->ending = true;
        p->end_r = r;
        if (r < 0) {
                keep_failure(f, r, res);
                ranged_cancel(f);
        }
        if (p->hashing)
                md5q_kick(f->env->shared->md5q); /* an early push may wait for company */
        if (!p->writing && !p->hashing)
                part_release(p);
}

static void write_work(uv_work_t *w) {
        ranged_part *p = w->data;
        p->wr = fileio_pwrite_full(p->file->tmp->fd, p->buf + p->woff, p->wend - p->woff,
                                   (off_t) (p->slot.off + p->woff));
}

static void write_after(uv_work_t *w, int status);
static void on_part_hashed(md5q_req *h);

/* Write what arrived since the last write, once there is RG_STEP of it or
 * the range is all in: the bytes are still in the CPU's cache, and one
 * write per part is in flight at a time. 0, or a negative errno. */
static int part_write_some(ranged_part *p) {
        ranged_file *f = p->file;
        /* Stale: got is the new try's (0), queued the last one's. */
        if (p->stale || p->writing || p->got == p->queued || (!p->http_done && p->got - p->queued < RG_STEP))
                return 0;
        /* One write per file at a time: parallel writers of one file only
         * spin on its inode lock. */
        if (f->writer_busy) {
                p->want_write = true;
                return 0;
        }
        p->woff = p->queued;
        p->wend = p->got;
        p->work.data = p;
        int r = uv_queue_work(p->file->env->shared->loop, &p->work, write_work, write_after);
        if (r < 0)
                return r;
        p->queued = p->got;
        p->writing = true;
        f->writer_busy = true;
        return 0;
}

static void part_progress(ranged_part *p);

/* The file's writer is free: the next part with bytes to write, in turn. */
static void ranged_write_next(ranged_file *f) {
        for (unsigned k = 0; k < f->n_slots && !f->writer_busy; k++) {
                unsigned i = (f->write_turn + k) % f->n_slots;
                ranged_part *q = &f->slots[i];
                if (!q->slot.busy || !q->want_write)
                        continue;
                q->want_write = false;
                f->write_turn = i + 1;
                int r = part_write_some(q);
                if (r < 0 && q->wr == 0) {
                        q->wr = r;
                        part_progress(q);
                }
        }
}

/* Hash in the daemon's lanes what arrived, RG_STEP at a time, as the write
 * does; the last push gives the range's MD5. 0, or a negative errno. */
static int part_hash_some(ranged_part *p) {
        if (p->stale)
                return 0;
        bool last = p->http_done && p->got == p->slot.len;
        /* One step at a time, so the lanes' jobs are of one length and end
         * together: no tail of lanes hashed one by one. */
        uint64_t avail = p->got / RG_STEP * RG_STEP;
        if (avail > p->pushed + RG_STEP)
                avail = p->pushed + RG_STEP;
        else if (last && p->got - p->pushed <= RG_STEP)
                avail = p->got;
        last = avail == p->slot.len;
        if (p->hashing || p->hash_ready || avail == 0 || (!last && avail - p->pushed < RG_STEP))
                return 0;
        int r = 0;
        if (!p->hash_init) {
                r = md5q_req_init(&p->hash, p->buf, p->slot.len, on_part_hashed, p);
                /* Only the file's end awaits the ranges' digests: each push
                 * waits for company in the lanes. */
                p->hash.lazy = true;
        }
        if (r >= 0)
                r = md5q_push(p->file->env->shared->md5q, &p->hash, (size_t) avail);
        if (r < 0)
                return r;
        p->hash_init = true;
        p->pushed = avail;
        p->hashing = true;
        return 0;
}

/* A new attempt's bytes start the range over. */
static void part_restart(ranged_part *p) {
        p->queued = p->pushed = 0;
        p->hash_init = p->hash_ready = p->want_write = false;
        p->wr = 0;
        p->stale = false;
}

/* After a write or a hash came back: the part's end, the next step, or the
 * new attempt let go on once the last one's work is over. */
static void part_progress(ranged_part *p) {
        ranged_file *f = p->file;
        int r;

        if (p->ending) {
                if (!p->writing && !p->hashing)
                        part_release(p);
                return;
        }
        if (p->stale) {
                if (p->writing || p->hashing)
                        return;
                part_restart(p);
                if (p->paused) {
                        http_request_unpause(p->paused);
                        p->paused = NULL;
                }
                return;
        }
        if (!p->http_done) {
                /* What came while this was out; a failure fails the request
                 * at its next bytes or its end. */
                r = p->wr < 0 ? 0 : part_write_some(p);
                if (r == 0)
                        r = part_hash_some(p);
                if (r < 0 && p->wr == 0)
                        p->wr = r;
                return;
        }
        r = p->wr < 0 ? p->wr : f->r < 0 ? -ECANCELED : 0;
        if (r == 0)
                r = part_write_some(p);
        if (r == 0)
                r = part_hash_some(p);
        if (r < 0)
                part_end(p, r, NULL);
        else if (!p->writing && !p->hashing && p->queued == p->slot.len && p->hash_ready)
                part_end(p, 0, NULL);
}

static void write_after(uv_work_t *w, int status) {
        ranged_part *p = w->data;
        p->writing = false;
        p->file->writer_busy = false;
        if (status < 0)
                p->wr = status == UV_ECANCELED ? -ECANCELED : status;
        /* The others first (p is still in flight, so f stays). */
        ranged_write_next(p->file);
        part_progress(p);
}

static void on_part_hashed(md5q_req *h) {
        ranged_part *p = h->userdata;
        p->hashing = false;
        if (!p->stale && md5mb_job_done(&h->job)) {
                memcpy(p->file->digests + (size_t) p->slot.index * 16, h->job.digest, 16);
                p->hash_ready = true;
        }
        part_progress(p);
}

static int part_body(http_request *req, const void *data, size_t len, void *userdata) {
        ranged_part *p = userdata;
        /* A retry's bytes wait until the last attempt's write and hash let
         * go of the buffer. */
        if (p->stale) {
                p->paused = req;
                return HTTP_PAUSE;
        }
        if (p->wr < 0)
                return p->wr;
        if (p->got + len > p->slot.len)
                return -EMSGSIZE; /* more than the range asked for */
        memcpy(p->buf + p->got, data, len);
        p->got += len;
        int r = part_write_some(p);
        return r < 0 ? r : part_hash_some(p);
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
        ranged_part *p = userdata;
        p->got = 0;
        p->paused = NULL; /* that attempt is gone; the new one pauses anew */
        if (p->writing || p->hashing) {
                p->stale = true;
                if (p->hashing)
                        md5q_kick(p->file->env->shared->md5q);
        } else
                part_restart(p);
        return 0;
}

static void part_done(s3_call *c, const s3_result *res, void *userdata) {
        ranged_part *p = userdata;
        p->slot.call = NULL;
        int r = res->error;
        if (r == 0 && p->wr < 0)
                r = p->wr;
        if (r == 0 && p->got != p->slot.len)
                r = -EPIPE; /* a short range: the object is not what we planned for */
        if (r < 0 || p->file->r < 0) {
                part_end(p, r < 0 ? r : -ECANCELED, res);
                return;
        }
        if (res->attempts > p->file->attempts)
                p->file->attempts = res->attempts;
        p->http_done = true;
        part_progress(p);
}

static void part_get(ranged_part *p) {
        ranged_file *f = p->file;
        char range[64];
        snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, p->slot.off, p->slot.off + p->slot.len - 1);
        sigv4_pair h[2] = { { "If-Match", f->bf->etag }, { "Range", range } };
        p->buf = bufcache_get(f->env->shared->bufs, p->slot.len);
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
