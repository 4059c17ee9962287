/* SPDX-License-Identifier: MIT */
#include "batch.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "daemon.h"
#include "engine.h"
#include "expand.h"
#include "fsq.h"
#include "job.h"
#include "peer.h"
#include "session.h"
#include "s3_client.h"
#include "validate.h"
#include "validate_list.h"

/* Calls with at least this many files give their memory back when freed. */
#define BATCH_TRIM_FILES 10000

int file_error_set(file_error *e, fds_code code, const char *message) {
        char *m = strdup(message ? message : "");
        if (!m)
                return -ENOMEM;
        free(e->message);
        e->message = m;
        e->code = code;
        return 0;
}

int file_error_set_errno(file_error *e, int err, const char *what) {
        char buf[256];
        if (what)
                snprintf(buf, sizeof(buf), "%s: %s", what, strerror(abs(err)));
        else
                snprintf(buf, sizeof(buf), "%s", strerror(abs(err)));
        return file_error_set(e, fds_code_from_errno(err), buf);
}

static void file_error_done(file_error *e) {
        free(e->message);
        free(e->s3_code);
        *e = (file_error){ 0 };
}

int batch_new(fds_daemon *d, batch_kind kind, fds_call *call, fds_request *req, batch **ret) {
        int r = engine_ready(d);
        if (r < 0)
                return r;
        batch *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->files = calloc(req->n_entries ? req->n_entries : 1, sizeof(batch_file));
        if (!b->files) {
                free(b);
                return -ENOMEM;
        }
        b->daemon = d;
        b->id = ++d->next_batch_id;
        b->kind = kind;
        b->call = *call;
        b->req = *req;
        *call = (fds_call){ 0 };
        *req = (fds_request){ 0 };
        b->n_files = b->req.n_entries;
        for (size_t i = 0; i < b->n_files; i++)
                b->files[i].entry = &b->req.entries[i];
        b->parallelism = b->req.options.parallelism ? b->req.options.parallelism : d->cfg.parallelism;
        const fds_options *o = &b->req.options;
        b->max_attempts = o->max_attempts ? o->max_attempts : d->cfg.max_attempts;
        b->retry_budget_s = o->has_retry_time_budget ? o->retry_time_budget : d->cfg.retry_budget_s;
        b->multipart = o->has_multipart ? o->multipart : d->cfg.multipart;
        b->multipart_threshold = o->multipart_threshold ? o->multipart_threshold : d->cfg.multipart_threshold;
        b->multipart_chunksize = o->multipart_chunksize ? o->multipart_chunksize : d->cfg.multipart_chunksize;
        b->max_concurrency = o->max_concurrency ? o->max_concurrency : d->cfg.max_concurrency;
        throttle_init(&b->bandwidth, o->max_bandwidth, &d->delay, d->loop);
        pace_init(&b->local_pace, o->max_bandwidth);
        b->read_limit = d->cfg.max_read_bytes;
        if (b->req.options.max_bytes && b->req.options.max_bytes < b->read_limit)
                b->read_limit = b->req.options.max_bytes;
        list_init(&b->sched_link);
        list_init(&b->jobs);
        list_init(&b->heads);
        list_init(&b->lists);
        d->n_batches++;
        *ret = b;
        return 0;
}

batch *batch_free(batch *b) {
        if (!b)
                return NULL;
        scheduler_remove(&b->daemon->sched, b);
        for (size_t i = 0; i < b->n_files; i++) {
                file_error_done(&b->files[i].err);
                free(b->files[i].data);
                free(b->files[i].etag);
                free(b->files[i].vreason);
        }
        free(b->files);
        s3_site_free(b->site);
        free(b->creds.groups);
        peer_unref(b->daemon, b->peer);
        throttle_done(&b->bandwidth);
        pace_done(&b->local_pace);
        fds_request_done(&b->req);
        fds_call_done(&b->call);
        fds_daemon *d = b->daemon;
        size_t n_files = b->n_files;
        free(b);
        /* A big call's many small blocks (entries, JSON, results) go back
         * to glibc's free lists, not to the system: hand them back, or RSS
         * stays at the call's peak and creeps with the next. Only after big
         * calls: trimming walks the heap. */
        if (n_files >= BATCH_TRIM_FILES)
                malloc_trim(0);
        if (--d->n_batches == 0 && d->stopping && d->on_drained)
                d->on_drained(d);
        return NULL;
}

int batch_set_peer(batch *b, peer *p, uid_t uid, gid_t gid, const gid_t *groups, int n_groups) {
        b->peer_uid = uid;
        if (p) {
                p->refs++;
                b->peer = p;
        }
        if (uid == geteuid())
                return 0; /* the daemon's own user: nothing to switch */
        if (!fsq_can_switch()) {
                b->local_denied = true;
                return 0;
        }
        b->creds = (fs_creds){ .uid = uid, .gid = gid };
        if (n_groups > 0) {
                b->creds.groups = malloc((size_t) n_groups * sizeof(gid_t));
                if (!b->creds.groups)
                        return -ENOMEM;
                memcpy(b->creds.groups, groups, (size_t) n_groups * sizeof(gid_t));
                b->creds.n_groups = n_groups;
        }
        b->as_peer = true;
        return 0;
}

const fs_creds *batch_creds(const batch *b) {
        return b->as_peer ? &b->creds : NULL;
}

uint64_t batch_elapsed_ns(const batch *b) {
        return uv_hrtime() - b->started_ns;
}

json_t *batch_problems(batch *b) {
        return b->req.problems;
}

static void batch_end(batch *b, int status) {
        if (b->ended)
                return;
        b->ended = true;
        scheduler_remove(&b->daemon->sched, b);
        if (b->detached || !b->owner)
                batch_free(b);
        else
                b->owner->end(b, status, b->owner_data);
}

void batch_check_end(batch *b) {
        if (b->ended || b->validating > 0 || b->inflight > 0)
                return;
        if (b->canceled) {
                batch_end(b, -ECANCELED);
                return;
        }
        if (!b->running)
                return;
        while (b->next < b->n_files && b->files[b->next].state == FILE_DONE)
                b->next++;
        if (b->next < b->n_files)
                return;
        batch_end(b, 0);
}

bool batch_runnable(const batch *b) {
        return b->running && !b->canceled && !b->paused && b->inflight < b->parallelism &&
               b->next < b->n_files && (!b->peer || b->peer->inflight < peer_max_inflight(b->daemon));
}

/* A file of this user ended: its other batches, held back by the per-user
 * limit, may go on. */
static void batch_wake_peer(batch *b) {
        fds_daemon *d = b->daemon;
        list_node *n, *t;
        if (!b->peer || b->peer->inflight + 1 != peer_max_inflight(d))
                return;
        list_for_each_safe(n, t, &d->sessions) {
                session *s = list_entry(n, session, link);
                if (s->batch && s->batch != b && s->batch->peer == b->peer && batch_runnable(s->batch))
                        scheduler_add(&d->sched, s->batch);
        }
}

/* The one place that maps a file to its kind of transfer. */
static const job_type *batch_job_type(const batch *b, const batch_file *f) {
        bool src_s3 = f->entry->src_loc.kind == FDS_LOCATION_S3;
        bool dst_s3 = f->entry->dst_loc.kind == FDS_LOCATION_S3;

        switch (b->kind) {
        case BATCH_COPY:
                if (src_s3)
                        return dst_s3 ? &job_s3_copy : &job_s3_get;
                return dst_s3 ? &job_s3_put : &job_local_copy;
        case BATCH_SIZE:
                return src_s3 ? &job_s3_head : &job_local_size;
        case BATCH_READ:
                return src_s3 ? &job_s3_read : &job_local_read;
        }
        return NULL;
}

void batch_file_finish(batch *b, batch_file *f) {
        f->state = FILE_DONE;
        if (f->err.code == FDS_CODE_OK) {
                b->files_ok++;
                b->bytes += f->bytes;
                b->daemon->stats.files_ok++;
                b->daemon->stats.bytes += f->bytes;
        } else {
                b->files_failed++;
                b->daemon->stats.files_failed++;
        }
        if (b->owner && !b->detached)
                b->owner->file_done(b, f, b->owner_data);
}

int batch_start_one(batch *b) {
        while (batch_runnable(b)) {
                batch_file *f = &b->files[b->next++];
                if (f->state != FILE_PENDING)
                        continue;
                const job_type *t = batch_job_type(b, f);
                job *j = calloc(1, t->size);
                if (!j) {
                        file_error_set_errno(&f->err, -ENOMEM, NULL);
                        batch_file_finish(b, f);
                        continue;
                }
                j->type = t;
                j->batch = b;
                j->file = f;
                atomic_init(&j->cancel, false);
                f->state = FILE_RUNNING;
                list_add_tail(&b->jobs, &j->link);
                b->inflight++;
                if (b->peer)
                        b->peer->inflight++;
                int r = t->start(j);
                if (r >= 0)
                        return 1;
                list_del(&j->link);
                b->inflight--;
                if (b->peer)
                        b->peer->inflight--;
                free(j);
                /* A job that refused to start may have said why. */
                if (f->err.code == FDS_CODE_OK)
                        file_error_set_errno(&f->err, r, "cannot start");
                batch_file_finish(b, f);
        }
        return 0;
}

void batch_job_done(job *j) {
        batch *b = j->batch;
        batch_file *f = j->file;
        scheduler *s = &b->daemon->sched;

        list_del(&j->link);
        free(j);
        b->inflight--;
        if (b->peer) {
                b->peer->inflight--;
                batch_wake_peer(b);
        }
        scheduler_release(s);
        /* A job that finished despite a cancel keeps its true result. */
        batch_file_finish(b, f);
        if (batch_runnable(b))
                scheduler_add(s, b);
        batch_check_end(b); /* may free b */
        scheduler_pump(s);
}

static void batch_run(batch *b) {
        scheduler *s = &b->daemon->sched;
        b->running = true;
        /* The scheduler ends the batch when it finds nothing to start, so b
         * may be gone after the pump. */
        scheduler_add(s, b);
        scheduler_pump(s);
}

static void batch_validated(batch *b) {
        int r;

        if (b->canceled) {
                batch_check_end(b);
                return;
        }
        r = validate_collect(b);
        if (r < 0) {
                batch_end(b, r);
                return;
        }
        batch_run(b);
}

static void batch_validate_next(batch *b);

static bool validate_complete(const batch *b) {
        return b->validating == 0 &&
               ((b->validate_next >= b->n_files && b->head_next >= b->n_files) || b->canceled);
}

static void on_validate_done(validate_chunk *c, void *userdata) {
        batch *b = userdata;
        b->validating--;
        validate_chunk_free(c);
        batch_validate_next(b);
        if (validate_complete(b))
                batch_validated(b);
}

static void on_list_done(batch *b) {
        b->validating--;
        b->listing--;
        batch_validate_next(b);
        if (validate_complete(b))
                batch_validated(b);
}

static void on_head_done(batch *b) {
        b->validating--;
        batch_validate_next(b);
        if (validate_complete(b))
                batch_validated(b);
}

/* Existence checks run on worker threads, two chunks per batch at a time so
 * one huge batch does not fill the thread pool's queue. */
static void batch_validate_next(batch *b) {
        while (!b->canceled && b->validating < 2 && b->validate_next < b->n_files) {
                size_t lo = b->validate_next;
                size_t hi = lo + VALIDATE_CHUNK < b->n_files ? lo + VALIDATE_CHUNK : b->n_files;
                int r = validate_chunk_queue(b, lo, hi, on_validate_done, b);
                if (r < 0) {
                        /* Checked inline instead: slower, never wrong. */
                        validate_range(b, lo, hi);
                        b->validate_next = hi;
                        continue;
                }
                b->validate_next = hi;
                b->validating++;
        }
        /* S3 sources: a HEAD each, many at a time (they wait on the network,
         * not on us), for those the listings did not find. What they learn
         * is kept for the transfer. */
        while (!b->canceled && b->listing == 0 && b->validating < 2 + b->daemon->cfg.validate_concurrency &&
               b->head_next < b->n_files) {
                int r = validate_head_start(b, &b->files[b->head_next++], on_head_done);
                if (r > 0)
                        b->validating++;
        }
}

static void on_expanded(batch *b);
static void batch_validate_begin(batch *b);
static void batch_after_site(batch *b);

void batch_start(batch *b, const batch_owner *owner, void *userdata) {
        b->owner = owner;
        b->owner_data = userdata;
        b->started_ns = uv_hrtime();
        b->daemon->stats.batches_total++;
        /* Settings first: without them no S3 source can be checked, and their
         * absence is one more problem to report. */
        int r = validate_identity(b);
        if (r >= 0)
                r = validate_site(b, batch_after_site);
        if (r == 1)
                return;
        if (r < 0) {
                batch_end(b, r);
                return;
        }
        batch_after_site(b);
}

static void batch_after_site(batch *b) {
        if (b->canceled) {
                batch_check_end(b);
                return;
        }
        /* Recursive entries become files first, so validation sees them all. */
        b->validating++;
        int r = expand_start(b, on_expanded);
        if (r > 0)
                return;
        b->validating--;
        if (r < 0) {
                batch_end(b, r);
                return;
        }
        batch_validate_begin(b);
}

static void on_expanded(batch *b) {
        b->validating--;
        int r = expand_apply(b);
        if (r < 0) {
                batch_end(b, r);
                return;
        }
        if (b->canceled) {
                batch_check_end(b);
                return;
        }
        batch_validate_begin(b);
}

static void batch_validate_begin(batch *b) {
        int n = validate_lists_start(b, on_list_done);
        b->listing += (unsigned) n;
        b->validating += (unsigned) n;
        if (!validate_needed(b)) {
                /* Only listings for S3 -> S3 sizes, if any: no checks. */
                b->validate_next = b->head_next = b->n_files;
                if (n == 0)
                        batch_validated(b);
                return;
        }
        batch_validate_next(b);
        if (validate_complete(b))
                batch_validated(b);
}

void batch_cancel(batch *b) {
        list_node *n, *t;

        if (b->canceled || b->ended)
                return;
        b->canceled = true;
        scheduler_remove(&b->daemon->sched, b);
        list_for_each_safe(n, t, &b->jobs) {
                job *j = list_entry(n, job, link);
                atomic_store(&j->cancel, true);
                if (j->type->cancel)
                        j->type->cancel(j);
        }
        validate_heads_cancel(b);
        validate_lists_cancel(b);
        validate_site_cancel(b);
        expand_cancel(b);
        batch_check_end(b); /* may free b */
}

void batch_detach(batch *b) {
        b->detached = true;
        batch_cancel(b);
}

void batch_set_paused(batch *b, bool paused) {
        if (b->paused == paused)
                return;
        b->paused = paused;
        if (!paused && batch_runnable(b)) {
                scheduler_add(&b->daemon->sched, b);
                scheduler_pump(&b->daemon->sched);
        }
}
