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
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "etag.h"
#include "macro.h"
#include "fileio.h"
#include "fsq.h"
#include "job.h"
#include "job_s3.h"
#include "local.h"
#include "md5.h"
#include "md5q.h"
#include "s3_ranged.h"

/* Objects up to this size (when known) gather in one buffer. */
#define GET_WHOLE_MAX (8ULL * 1024 * 1024)
/* Such an object is hashed as it arrives, this much at a time, so the
 * daemon's MD5 lanes fill with every download in flight at once. */
#define GET_HASH_STEP (256 * 1024)

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
        s3_kept result;
        md5_ctx *md5;           /* of the bytes written, in order (worker) */
        char expect_md5[33];    /* from a single-part ETag */
        bool check_md5;
        bool no_md5;
        md5q_req hash;          /* a whole object, hashed in the daemon's lanes */
        bool whole;             /* one buffer of the object's size */
        bool hash_init;         /* hash holds this attempt's bytes [0, hashed) */
        size_t hashed;
        bool hashing;           /* a push is in the lanes: the buffer is read */
        bool hash_stale;        /* a retry started over while hashing */
        bool finish_wait;       /* get_finish waits for the push */
        budget_waiter mem;      /* the two buffers, from the daemon's budget */
        size_t buf_size;
        delay_entry later;
        bool mismatch;
        bool checked;           /* the bytes matched the ETag */
        etag_info etag;         /* from the response's ETag */
        uint64_t meta_part_size; /* fds's upload metadata: the parts' size */
        unsigned pass;          /* downloads of the file (a mismatch goes again) */
        /* A multipart ETag is checked as the bytes arrive (worker), in parts
         * of stream_part: the size fds uploaded with, else the call's part
         * size; another layout needs the file read back at the end. */
        uint64_t stream_part;
        uint64_t part_fill;
        unsigned part_cap;      /* part_digests has room for this many */
        unsigned parts_done;
        uint8_t *part_digests;  /* etag.n_parts of them */
        bool stream_off;        /* more parts than the ETag has: not this layout */
        uint8_t last[16];       /* MD5 of a pass whose multipart ETag did not match */
        /* What the worker goes by, copied on the loop when its task is
         * queued: a retry's headers may change the fields above meanwhile. */
        struct {
                etag_info etag;
                bool check_md5;     /* a single-part ETag: expect_md5 */
                bool multipart;     /* a multipart ETag to check */
                char expect_md5[33];
                uint64_t part_hint; /* the part size fds uploaded with, else the call's */
        } w;
        bool have_last;
        unsigned attempts_before; /* tries of the passes before */
        ranged_file rg;         /* the ranged strategy for a large object */
        bool ranged;
} get_job;

static void stream_reset(get_job *gj) {
        gj->part_fill = 0;
        gj->parts_done = 0;
        gj->stream_off = false;
}

/* Worker: the part being hashed is whole (or the object ended): its MD5
 * goes to part_digests. */
static int part_close(get_job *gj) {
        int r = md5_final(gj->md5, gj->part_digests + (size_t) gj->parts_done++ * 16);
        gj->part_fill = 0;
        return r < 0 ? r : md5_reset(gj->md5);
}

/* Worker: n bytes more of a multipart object into its part MD5s. */
static int stream_parts(get_job *gj, const char *p, size_t n) {
        int r = 0;

        if (gj->part_fill == 0 && gj->parts_done == 0) {
                /* A new pass: the ETag may be another object's than the last. */
                if (gj->part_cap < gj->w.etag.n_parts) {
                        uint8_t *d = realloc(gj->part_digests, (size_t) gj->w.etag.n_parts * 16);
                        if (!d)
                                return -ENOMEM;
                        gj->part_digests = d;
                        gj->part_cap = gj->w.etag.n_parts;
                }
                gj->stream_part = gj->w.part_hint;
                if (gj->stream_part == 0)
                        return -EINVAL;
        }
        while (n > 0 && r >= 0 && !gj->stream_off) {
                if (gj->parts_done >= gj->w.etag.n_parts || gj->parts_done >= gj->part_cap) {
                        gj->stream_off = true;
                        break;
                }
                size_t take = gj->stream_part - gj->part_fill < n ? (size_t) (gj->stream_part - gj->part_fill) : n;
                r = md5_update(gj->md5, p, take);
                gj->part_fill += take;
                p += take;
                n -= take;
                if (r >= 0 && gj->part_fill == gj->stream_part)
                        r = part_close(gj);
        }
        return r;
}

/* Worker: this buffer into the temporary (made on the first write) at its
 * offset, and into the MD5s when there is an ETag to check it with. */
static int get_write(get_job *gj) {
        int r = 0;

        if (!gj->tmp) {
                r = local_tmp_create(gj->base.file->entry->dst, &gj->tmp);
                if (r >= 0)
                        gj->tmp->no_replace = gj->base.env->settings.no_clobber;
        }
        if (r >= 0 && gj->truncate) {
                r = local_tmp_reset(gj->tmp);
                if (r >= 0)
                        r = md5_reset(gj->md5);
                stream_reset(gj);
                gj->truncate = false;
        }
        if (r >= 0 && gj->len[gj->wbuf] > 0) {
                r = fileio_pwrite_full(gj->tmp->fd, gj->bufs[gj->wbuf], gj->len[gj->wbuf], (off_t) gj->woff);
                if (r >= 0 && gj->w.check_md5)
                        r = md5_update(gj->md5, gj->bufs[gj->wbuf], gj->len[gj->wbuf]);
                else if (r >= 0 && gj->w.multipart)
                        r = stream_parts(gj, gj->bufs[gj->wbuf], gj->len[gj->wbuf]);
        }
        return r;
}

/* Worker, at the end: whether the streamed part MD5s give the ETag. */
static int stream_matches(get_job *gj) {
        uint8_t d[16];
        int r = 0;

        if (gj->stream_off || !gj->part_digests)
                return 0;
        if (gj->part_fill > 0)
                r = part_close(gj);
        if (r < 0 || gj->parts_done != gj->w.etag.n_parts)
                return r;
        r = etag_combine(gj->part_digests, gj->w.etag.n_parts, d);
        return r < 0 ? r : memcmp(d, gj->w.etag.digest, 16) == 0;
}

/* End to end: the bytes on disk hash to what the server stored. */
static int get_verify_md5(get_job *gj) {
        char got[33];
        int r = md5_final_hex(gj->md5, got);

        if (r < 0)
                return r;
        if (strcmp(got, gj->w.expect_md5) != 0) {
                gj->mismatch = true;
                return -EBADMSG;
        }
        gj->checked = true;
        return 0;
}

/* A multipart object small enough for one GET: read it back (it is in the
 * page cache) with the part layouts it may have. */
static int get_verify_multipart(get_job *gj) {
        uint64_t layouts[ETAG_MAX_LAYOUTS];
        unsigned n = etag_layouts(gj->file_off, gj->w.etag.n_parts, gj->w.part_hint, layouts);
        uint8_t d[16];
        int r = stream_matches(gj);

        if (r != 0) {
                gj->checked = r > 0;
                return r < 0 ? r : 0;
        }
        if (n == 0)
                return 0;
        /* Read back for the other layouts (the streamed one is first). */
        r = etag_check_layouts(gj->tmp->fd, gj->file_off, &gj->w.etag, layouts, n,
                               layouts[0] == gj->stream_part && !gj->stream_off ? 1 : 0);
        if (r > 0)
                gj->checked = true;
        if (r != 0)
                return r < 0 ? r : 0;
        /* No layout matched. Twice with the same bytes: the parts were not
         * of one size, and there is nothing to check. */
        r = md5_file_digest(gj->tmp->fd, gj->file_off, d);
        if (r < 0)
                return r;
        if (!gj->have_last || memcmp(d, gj->last, 16) != 0) {
                memcpy(gj->last, d, 16);
                gj->have_last = true;
                gj->mismatch = true;
                return -EBADMSG;
        }
        return 0;
}

static void get_work_fn(uv_work_t *w) {
        get_job *gj = w->data;
        bool commit = gj->wkind == GET_WORK_COMMIT;
        int r;

        if (gj->wkind == GET_WORK_DISCARD) {
                gj->tmp = local_tmp_free(gj->tmp);
                gj->werr = 0;
                return;
        }
        r = get_write(gj);
        if (r >= 0 && commit && gj->w.check_md5)
                r = get_verify_md5(gj);
        if (r >= 0 && commit && gj->w.multipart)
                r = get_verify_multipart(gj);
        if (r >= 0 && commit)
                r = local_tmp_commit(gj->tmp, gj->base.env->shared->file_mode, false);
        if (r < 0)
                gj->tmp = local_tmp_free(gj->tmp);
        gj->werr = r;
}

static void get_begin(get_job *gj);

/* A checksum mismatch is transient, like a 500: the file once more, from
 * the start, its tries counted. */
static bool get_again(get_job *gj) {
        const job_env *env = gj->base.env;
        if (!gj->mismatch || gj->pass >= (env->settings.max_attempts ? env->settings.max_attempts : 1) || atomic_load(&gj->base.cancel))
                return false;
        gj->pass++;
        gj->attempts_before += gj->result.r.attempts;
        gj->result = (s3_kept){ .set = false };
        gj->len[0] = gj->len[1] = 0;
        gj->cur = gj->wbuf = 0;
        gj->woff = gj->file_off = 0;
        gj->writing = gj->waiting = gj->truncate = gj->http_done = gj->sent = false;
        gj->werr = gj->write_error = gj->r = 0;
        gj->hash_init = gj->hashing = gj->hash_stale = gj->finish_wait = false;
        gj->hashed = 0;
        gj->mismatch = gj->checked = false;
        gj->check_md5 = false;
        gj->etag = (etag_info){ .kind = ETAG_OPAQUE };
        stream_reset(gj);
        if (md5_reset(gj->md5) < 0)
                return false;
        get_begin(gj);
        return true;
}

static void get_end(get_job *gj) {
        job_file *f = gj->base.file;

        if (get_again(gj))
                return;
        if (gj->mismatch)
                file_error_set(&f->err, FDS_CODE_IO_ERROR,
                               "checksum mismatch: the data received does not match the object's MD5 ETag");
        else if (gj->r < 0 && gj->sent && gj->result.r.error < 0)
                job_s3_set_error(f, &gj->result.r, "download failed");
        else if (gj->r < 0)
                file_error_set_errno(&f->err, gj->r, "cannot write the destination");
        else {
                f->bytes = gj->file_off;
                f->verified = gj->checked ? FILE_VERIFIED_YES : FILE_VERIFIED_NO;
        }
        f->attempts = gj->attempts_before + gj->result.r.attempts;
        gj->tmp = local_tmp_free(gj->tmp);
        free(gj->bufs[0]);
        free(gj->bufs[1]);
        md5_free(gj->md5);
        free(gj->part_digests);
        budget_release(gj->base.env->shared->buffers, &gj->mem);
        job_done(&gj->base);
}

static void get_after(uv_work_t *w, int status);

static int get_queue(get_job *gj, get_work kind, unsigned buf) {
        gj->w.etag = gj->etag;
        gj->w.check_md5 = gj->check_md5;
        gj->w.multipart = gj->etag.kind == ETAG_MULTIPART && !gj->no_md5;
        memcpy(gj->w.expect_md5, gj->expect_md5, sizeof(gj->w.expect_md5));
        gj->w.part_hint = gj->meta_part_size ? gj->meta_part_size : gj->base.env->settings.multipart_chunksize;
        gj->wkind = kind;
        gj->wbuf = buf;
        gj->woff = gj->file_off;
        gj->file_off += gj->len[buf];
        gj->writing = true;
        gj->work.data = gj;
        int r = fsq_queue(gj->base.env->shared->fsq, gj->base.env, gj->base.env->creds, &gj->work, get_work_fn, get_after);
        if (r < 0)
                gj->writing = false;
        return r;
}

static void get_finish(get_job *gj);

static void on_hashed(md5q_req *h) {
        get_job *gj = h->userdata;

        gj->hashing = false;
        if (gj->hash_stale) {
                /* A retry started over: those bytes are gone. */
                gj->hash_stale = false;
                gj->hash_init = false;
                if (gj->waiting && gj->req) {
                        gj->waiting = false;
                        http_request_unpause(gj->req);
                }
        } else if (md5mb_job_done(&h->job)) {
                char got[33];
                md5_hex(h->job.digest, got);
                gj->check_md5 = false; /* checked */
                if (strcmp(got, gj->expect_md5) != 0) {
                        gj->mismatch = true;
                        gj->r = -EBADMSG;
                        gj->sent = false;
                } else
                        gj->checked = true;
        }
        if (gj->finish_wait) {
                gj->finish_wait = false;
                get_finish(gj);
        }
}

/* Hash the bytes of a whole object received so far (all of them: the
 * digest follows). 0 pushed, <0 not (the caller goes on without). */
static int get_hash_push(get_job *gj, size_t avail) {
        int r = 0;
        if (!gj->hash_init)
                r = md5q_req_init(&gj->hash, gj->bufs[0], gj->buf_size, on_hashed, gj);
        if (r >= 0)
                r = md5q_push(gj->base.env->shared->md5q, &gj->hash, avail);
        if (r < 0)
                return r;
        gj->hash_init = true;
        gj->hashed = avail;
        gj->hashing = true;
        return 0;
}

/* After the transfer: write what is left and rename, or drop the temporary.
 * An object held whole is checked before it is written; its buffer stays
 * until the lanes are done reading it. */
static void get_finish(get_job *gj) {
        int r;
        if (gj->hashing) {
                gj->finish_wait = true;
                md5q_kick(gj->base.env->shared->md5q);
                return;
        }
        if (gj->r == 0 && atomic_load(&gj->base.cancel))
                gj->r = -ECANCELED, gj->sent = false;
        /* Short of the size it was sized for (cannot happen with the ETag
         * pinned): the worker hashes it instead, as a streamed object. */
        if (gj->r == 0 && gj->check_md5 && gj->whole && gj->len[0] == gj->buf_size && gj->file_off == 0 &&
            !gj->tmp && get_hash_push(gj, gj->len[0]) == 0) {
                gj->finish_wait = true;
                return;
        }
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
        if (status < 0)
                gj->werr = status;
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

static int get_header(http_request *req, const char *name, const char *value, void *userdata) {
        get_job *gj = userdata;
        if (strcasecmp(name, "etag") == 0) {
                gj->check_md5 = md5_from_etag(value, gj->expect_md5);
                gj->etag = etag_parse(value);
        } else if (strcasecmp(name, ETAG_META_PART_SIZE) == 0)
                gj->meta_part_size = etag_meta_part_size(value);
        /* SSE-KMS and SSE-C objects have ETags that are not their MD5. */
        else if ((strcasecmp(name, "x-amz-server-side-encryption") == 0 && strncmp(value, "aws:kms", 7) == 0) ||
                 strcasecmp(name, "x-amz-server-side-encryption-customer-algorithm") == 0)
                gj->no_md5 = true;
        if (gj->no_md5) {
                gj->check_md5 = false;
                gj->etag.kind = ETAG_OPAQUE;
        }
        return 0;
}

static int get_body(http_request *req, const void *data, size_t len, void *userdata) {
        get_job *gj = userdata;

        if (gj->write_error)
                return gj->write_error;
        /* A retry's bytes wait until the lanes let go of the last try's. */
        if (gj->hash_stale) {
                gj->req = req;
                gj->waiting = true;
                return HTTP_PAUSE;
        }
        /* More than the object's known size (an object held whole has no
         * second buffer, and the lanes may be reading this one). */
        if (len > gj->buf_size || (gj->whole && gj->len[0] + len > gj->buf_size))
                return -EMSGSIZE;
        if (gj->len[gj->cur] + len > gj->buf_size) {
                if (gj->writing) {
                        gj->req = req;
                        gj->waiting = true;
                        return HTTP_PAUSE;
                }
                /* The second buffer, first needed now (streaming only). */
                if (!gj->bufs[gj->cur ^ 1] && !(gj->bufs[gj->cur ^ 1] = malloc(gj->buf_size)))
                        return -ENOMEM;
                int r = get_queue(gj, GET_WORK_WRITE, gj->cur);
                if (r < 0)
                        return r;
                gj->cur ^= 1;
        }
        memcpy(gj->bufs[gj->cur] + gj->len[gj->cur], data, len);
        gj->len[gj->cur] += len;
        /* A whole object: hash what arrived while the rest comes (the last
         * push, with the digest, is get_finish's). */
        if (gj->whole && gj->check_md5 && !gj->hashing && gj->len[0] < gj->buf_size &&
            gj->len[0] - gj->hashed >= GET_HASH_STEP)
                (void) get_hash_push(gj, gj->len[0]);
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
        /* The attempt that paused itself is gone: the new one pauses anew if
         * it must. */
        gj->req = NULL;
        gj->waiting = false;
        if (gj->hashing) {
                gj->hash_stale = true;
                md5q_kick(gj->base.env->shared->md5q);
        } else
                gj->hash_init = false;
        gj->hashed = 0;
        return 0;
}

static void get_done(s3_call *c, const s3_result *r, void *userdata) {
        get_job *gj = userdata;

        gj->call = NULL;
        gj->req = NULL;
        gj->sent = true;
        gj->r = r->error;
        s3_kept_set(&gj->result, r);
        if (gj->r == 0 && gj->write_error)
                gj->r = gj->write_error, gj->sent = false;
        gj->http_done = true;
        if (!gj->writing)
                get_finish(gj);
}

static void ranged_done(ranged_file *rg) {
        get_job *gj = container_of(rg, get_job, rg);
        ranged_report(rg);
        ranged_free(rg);
        job_done(&gj->base);
}

static void on_later(delay_entry *e) {
        get_end(container_of(e, get_job, later));
}

static void get_begin(get_job *gj) {
        const job_env *env = gj->base.env;
        job_file *f = gj->base.file;
        int r = -ENOMEM;

        /* A second pass keeps what the first allocated. */
        if (!gj->bufs[0])
                gj->bufs[0] = malloc(gj->buf_size);
        if (gj->bufs[0])
                r = gj->md5 ? 0 : md5_new(&gj->md5);
        if (r >= 0) {
                sigv4_pair if_match = { "If-Match", f->etag };
                s3_call_opts o = job_s3_opts(env, &f->entry->src_loc);
                o.method = HTTP_GET;
                if (f->etag) {
                        o.headers = &if_match;
                        o.n_headers = 1;
                }
                o.on_header = get_header;
                o.on_body = get_body;
                o.on_retry = get_retry;
                o.on_done = get_done;
                o.userdata = gj;
                r = s3_call_start(env->shared->s3, &o, &gj->call);
        }
        if (r < 0) {
                gj->r = r;
                get_end(gj);
        }
}

static void on_mem(budget_waiter *w) {
        get_job *gj = container_of(w, get_job, mem);
        if (atomic_load(&gj->base.cancel)) {
                gj->r = -ECANCELED;
                get_end(gj);
                return;
        }
        get_begin(gj);
}

static int get_start(job *j) {
        get_job *gj = (get_job *) j;
        gj->pass = 1;
        const job_env *env = j->env;
        job_file *f = j->file;

        list_init(&gj->mem.link);
        /* A large object whose size and ETag validation learned: parallel
         * ranges, each pinned to that ETag. */
        if (env->settings.multipart && f->etag && f->src_size > env->settings.multipart_threshold) {
                gj->ranged = true;
                return ranged_start(&gj->rg, env, f, ranged_done);
        }
        /* An object of known size up to 8 MiB gathers in one buffer of its
         * size and is written in one worker hop; otherwise two streaming
         * buffers. */
        uint64_t grant;
        if (f->etag && f->src_size <= GET_WHOLE_MAX && f->src_size <= env->shared->buffers->limit / 2) {
                gj->buf_size = f->src_size ? (size_t) f->src_size : 1;
                grant = gj->buf_size;
                gj->whole = true;
        } else {
                gj->buf_size = JOB_S3_BUF_SIZE;
                grant = 2 * JOB_S3_BUF_SIZE;
        }
        if (budget_acquire(env->shared->buffers, &gj->mem, grant, on_mem) > 0)
                get_begin(gj);
        return 0;
}

static void get_cancel(job *j) {
        get_job *gj = (get_job *) j;
        if (gj->ranged)
                ranged_cancel(&gj->rg);
        else if (gj->call)
                s3_call_cancel(gj->call);
        else if (budget_cancel_wait(j->env->shared->buffers, &gj->mem, &gj->later, on_later))
                gj->r = -ECANCELED;
}

const job_type job_s3_get = {
        .name = "s3-get", .size = sizeof(get_job), .start = get_start, .cancel = get_cancel,
};
