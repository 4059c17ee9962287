/* SPDX-License-Identifier: MIT */
#include "batch.h"
#include "bwshare.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "expand.h"
#include "fsq.h"
#include "job.h"
#include "macro.h"
#include "s3_client.h"
#include "validate.h"
#include "validate_list.h"

/* Calls with at least this many files give their memory back when freed. */
#define BATCH_TRIM_FILES 10000

static void batch_job_done(job *j, void *userdata);
static int batch_start_one(batch *b);
static bool batch_runnable(const batch *b);
static void batch_check_end(batch *b);
static void batch_file_finish(batch *b, job_file *f);

static batch *of_sched(const sched_client *c) {
        return container_of(c, batch, sched);
}

static int sched_start_one(sched_client *c) {
        return batch_start_one(of_sched(c));
}

static bool sched_runnable(const sched_client *c) {
        return batch_runnable(of_sched(c));
}

static void sched_idle(sched_client *c) {
        batch_check_end(of_sched(c));
}

static const sched_ops batch_sched_ops = {
        .start_one = sched_start_one,
        .runnable = sched_runnable,
        .idle = sched_idle,
};

static batch *of_input(batch_input *in) {
        return container_of(in, batch, in);
}

/* The call's options over the engine's defaults. */
static void batch_settings(batch *b, const batch_defaults *d) {
        const fds_options *o = &b->in.req.options;
        job_settings *t = &b->in.env.settings;

        b->parallelism = o->parallelism ? o->parallelism : d->parallelism;
        *t = (job_settings){
                .multipart = o->has_multipart ? o->multipart : d->transfer.multipart,
                .multipart_threshold = o->multipart_threshold ? o->multipart_threshold : d->transfer.multipart_threshold,
                .multipart_chunksize = o->multipart_chunksize ? o->multipart_chunksize : d->transfer.multipart_chunksize,
                .copy_cutoff = o->copy_cutoff ? o->copy_cutoff : d->transfer.copy_cutoff,
                .max_concurrency = o->max_concurrency ? o->max_concurrency : d->transfer.max_concurrency,
                .max_attempts = o->max_attempts ? o->max_attempts : d->transfer.max_attempts,
                .retry_budget_s = o->has_retry_time_budget ? o->retry_time_budget : d->transfer.retry_budget_s,
                .verify = o->verify,
                .no_clobber = o->no_clobber,
        };
        b->in.read_limit = d->max_read_bytes;
        if (o->max_bytes && o->max_bytes < b->in.read_limit)
                b->in.read_limit = o->max_bytes;
}

int batch_new(batch_engine *e, transfer_op kind, fds_call *call, fds_request *req, batch **ret) {
        int r = batch_engine_ready(e);
        if (r < 0)
                return r;
        batch *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->in.files = calloc(req->n_entries ? req->n_entries : 1, sizeof(job_file));
        if (!b->in.files) {
                free(b);
                return -ENOMEM;
        }
        b->in.engine = e;
        b->id = ++e->next_id;
        b->in.kind = kind;
        b->in.env.op = kind;
        b->call = *call;
        b->in.req = *req;
        *call = (fds_call){ 0 };
        *req = (fds_request){ 0 };
        b->in.n_files = b->in.req.n_entries;
        for (size_t i = 0; i < b->in.n_files; i++)
                b->in.files[i].entry = &b->in.req.entries[i];
        batch_settings(b, &e->defaults);
        throttle_init(&b->bandwidth, b->in.req.options.max_bandwidth, e->delay, e->loop);
        pace_init(&b->local_pace, b->in.req.options.max_bandwidth);
        b->in.env.shared = &e->shared;
        b->in.env.bandwidth = &b->bandwidth;
        b->in.env.local_pace = &b->local_pace;
        b->in.env.read_limit = b->in.read_limit;
        b->in.env.read_requested = &b->in.read_requested;
        sched_client_init(&b->sched, &batch_sched_ops);
        list_init(&b->jobs);
        list_init(&b->in.heads);
        list_init(&b->in.lists);
        list_add_tail(&e->batches, &b->link);
        e->n_batches++;
        bwshare_update(e);
        /* A big call's message has been parsed and dropped by now: give its
         * pages back rather than keep them for as long as the call runs. */
        if (b->in.n_files >= BATCH_TRIM_FILES)
                malloc_trim(0);
        *ret = b;
        return 0;
}

batch *batch_free(batch *b) {
        if (!b)
                return NULL;
        batch_engine *e = b->in.engine;
        scheduler_remove(&e->sched, &b->sched);
        for (size_t i = 0; i < b->in.n_files; i++)
                job_file_done(&b->in.files[i]);
        free(b->in.files);
        s3_site_free(b->in.env.site);
        free(b->in.creds.groups);
        if (b->share && e->share_release)
                e->share_release(e, b->share, e->userdata);
        throttle_done(&b->bandwidth);
        pace_done(&b->local_pace);
        listing_free(&b->in);
        fds_request_done(&b->in.req);
        fds_call_done(&b->call);
        size_t n_files = b->in.n_files;
        list_del(&b->link);
        free(b);
        /* A big call's many small blocks (entries, JSON, results) go back
         * to glibc's free lists, not to the system: hand them back, or RSS
         * stays at the call's peak and creeps with the next. Only after big
         * calls: trimming walks the heap. */
        if (n_files >= BATCH_TRIM_FILES)
                malloc_trim(0);
        if (--e->n_batches == 0 && e->drained)
                e->drained(e, e->userdata);
        return NULL;
}

int batch_set_peer(batch *b, batch_share *share, uid_t uid, gid_t gid, const gid_t *groups, int n_groups) {
        const fds_options *o = &b->in.req.options;

        b->in.peer_uid = uid;
        b->share = share;
        sched_client_set(&b->sched, share ? &share->group : NULL, o->priority ? o->priority : FDS_PRIORITY_DEFAULT);
        if (uid == geteuid())
                return 0; /* the daemon's own user: nothing to switch */
        if (!fsq_can_switch()) {
                b->in.local_denied = true;
                return 0;
        }
        b->in.creds = (fs_creds){ .uid = uid, .gid = gid };
        if (n_groups > 0) {
                b->in.creds.groups = malloc((size_t) n_groups * sizeof(gid_t));
                if (!b->in.creds.groups)
                        return -ENOMEM;
                memcpy(b->in.creds.groups, groups, (size_t) n_groups * sizeof(gid_t));
                b->in.creds.n_groups = n_groups;
        }
        b->in.as_peer = true;
        b->in.env.creds = &b->in.creds;
        return 0;
}

uint64_t batch_elapsed_ns(const batch *b) {
        return uv_hrtime() - b->started_ns;
}

json_t *batch_problems(batch *b) {
        return b->in.req.problems;
}

static void batch_end(batch *b, int status) {
        if (b->ended)
                return;
        b->ended = true;
        scheduler_remove(&b->in.engine->sched, &b->sched);
        if (!b->owner)
                batch_free(b);
        else
                b->owner->end(b, status, b->owner_data);
}

/* Canceled by request: whatever had not finished says so. A listing
 * (no files) says it in its one result. */
static void batch_finish_canceled(batch *b) {
        static const char why[] = "canceled by request (fdsctl cancel)";

        if (b->in.kind == TRANSFER_LIST) {
                if (b->in.files[0].err.code == FDS_CODE_OK)
                        file_error_set(&b->in.files[0].err, FDS_CODE_CANCELED, why);
                b->files_failed = 1;
                return;
        }
        for (size_t i = 0; i < b->in.n_files; i++) {
                job_file *f = &b->in.files[i];
                if (f->state == FILE_DONE)
                        continue;
                if (f->err.code == FDS_CODE_OK || f->err.code == FDS_CODE_CANCELED)
                        file_error_set(&f->err, FDS_CODE_CANCELED, why);
                batch_file_finish(b, f);
        }
        b->next = b->in.n_files;
}

static void batch_check_end(batch *b) {
        if (b->ended || b->in.validating > 0 || b->inflight > 0)
                return;
        if (b->in.canceled && b->answer_cancel && !b->detached) {
                batch_finish_canceled(b);
                batch_end(b, 0);
                return;
        }
        if (b->in.canceled) {
                batch_end(b, -ECANCELED);
                return;
        }
        if (!b->running)
                return;
        while (b->next < b->in.n_files && b->in.files[b->next].state == FILE_DONE)
                b->next++;
        if (b->next < b->in.n_files)
                return;
        batch_end(b, 0);
}

static bool share_full(const batch *b) {
        unsigned max = b->in.engine->defaults.max_inflight_per_share;
        return b->share && max && b->share->inflight >= max;
}

static bool batch_runnable(const batch *b) {
        return b->running && !b->in.canceled && !b->paused && b->inflight < b->parallelism &&
               b->next < b->in.n_files && !share_full(b);
}

/* A file of this user ended: its other batches, held back by the per-user
 * limit, may go on. */
static void batch_wake_share(batch *b) {
        batch_engine *e = b->in.engine;
        list_node *n, *t;
        unsigned max = e->defaults.max_inflight_per_share;
        if (!b->share || !max || b->share->inflight + 1 != max)
                return;
        list_for_each_safe(n, t, &e->batches) {
                batch *o = list_entry(n, batch, link);
                if (o != b && o->share == b->share && batch_runnable(o))
                        scheduler_add(&e->sched, &o->sched);
        }
}

/* Whether a file's bytes pass the call's throttle as they move: an S3
 * body one way (S3 to S3 is the server's copy, local files move on
 * worker threads and are counted when they finish). */
static bool file_metered(const batch *b, const job_file *f) {
        bool src_s3 = f->entry->src_loc.kind == FDS_LOCATION_S3;
        if (b->in.kind == TRANSFER_READ)
                return src_s3;
        if (b->in.kind != TRANSFER_COPY)
                return true; /* Size: nothing moves */
        return src_s3 != (f->entry->dst_loc.kind == FDS_LOCATION_S3);
}

static void batch_file_finish(batch *b, job_file *f) {
        f->state = FILE_DONE;
        if (f->err.code == FDS_CODE_OK) {
                b->files_ok++;
                b->bytes += f->bytes;
                if (batch_file_moved(b, f) && !file_metered(b, f))
                        b->bytes_unmetered += f->bytes;
                b->files_skipped += f->skipped;
                /* A dry run or a skip moved nothing: the daemon's counters stay. */
                if (batch_file_moved(b, f)) {
                        b->in.engine->stats.files_ok++;
                        b->in.engine->stats.bytes += f->bytes;
                }
        } else {
                b->files_failed++;
                b->in.engine->stats.files_failed++;
        }
        if (b->owner && b->owner->file_done)
                b->owner->file_done(b, f, b->owner_data);
}

static int batch_start_one(batch *b) {
        while (batch_runnable(b)) {
                job_file *f = &b->in.files[b->next++];
                if (f->state != FILE_PENDING)
                        continue;
                const job_type *t = b->in.engine->job_for(b->in.kind, f);
                job *j = calloc(1, t->size);
                if (!j) {
                        file_error_set_errno(&f->err, -ENOMEM, NULL);
                        batch_file_finish(b, f);
                        continue;
                }
                j->type = t;
                j->env = &b->in.env;
                j->file = f;
                j->done = batch_job_done;
                j->userdata = b;
                atomic_init(&j->cancel, false);
                f->state = FILE_RUNNING;
                list_add_tail(&b->jobs, &j->link);
                b->inflight++;
                if (b->share)
                        b->share->inflight++;
                int r = t->start(j);
                if (r >= 0)
                        return 1;
                list_del(&j->link);
                b->inflight--;
                if (b->share)
                        b->share->inflight--;
                free(j);
                /* A job that refused to start may have said why. */
                if (f->err.code == FDS_CODE_OK)
                        file_error_set_errno(&f->err, r, "cannot start");
                batch_file_finish(b, f);
        }
        return 0;
}

static void batch_job_done(job *j, void *userdata) {
        batch *b = userdata;
        job_file *f = j->file;
        scheduler *s = &b->in.engine->sched;

        list_del(&j->link);
        free(j);
        b->inflight--;
        if (b->share) {
                b->share->inflight--;
                batch_wake_share(b);
        }
        scheduler_release(s);
        /* A job that finished despite a cancel keeps its true result. */
        batch_file_finish(b, f);
        if (batch_runnable(b))
                scheduler_add(s, &b->sched);
        batch_check_end(b); /* may free b */
        scheduler_pump(s);
}

static void batch_run(batch *b) {
        scheduler *s = &b->in.engine->sched;
        b->running = true;
        /* The scheduler ends the batch when it finds nothing to start, so b
         * may be gone after the pump. */
        scheduler_add(s, &b->sched);
        scheduler_pump(s);
}

static void batch_validated(batch *b) {
        int r;

        if (b->in.canceled) {
                batch_check_end(b);
                return;
        }
        r = validate_collect(&b->in);
        /* A Read's missing files are those keys' errors. */
        for (size_t i = 0; b->in.kind == TRANSFER_READ && i < b->in.n_files; i++)
                if (b->in.files[i].state == FILE_PENDING && b->in.files[i].err.code != FDS_CODE_OK)
                        batch_file_finish(b, &b->in.files[i]);
        if (r < 0) {
                batch_end(b, r);
                return;
        }
        /* no_clobber: a destination that is there is left alone, reported. */
        for (size_t i = 0; b->in.kind == TRANSFER_COPY && i < b->in.n_files; i++)
                if (b->in.files[i].state == FILE_PENDING && b->in.files[i].dst_exists) {
                        b->in.files[i].skipped = true;
                        batch_file_finish(b, &b->in.files[i]);
                }
        if (b->in.kind == TRANSFER_COPY && b->in.req.options.dry_run) {
                /* Each file as it would go, with the size validation saw. */
                for (size_t i = 0; i < b->in.n_files; i++)
                        if (b->in.files[i].state == FILE_PENDING) {
                                b->in.files[i].bytes = b->in.files[i].src_size;
                                batch_file_finish(b, &b->in.files[i]);
                        }
                b->next = b->in.n_files;
                b->running = true;
                batch_check_end(b); /* may free b */
                return;
        }
        batch_run(b);
}

static void batch_validate_next(batch *b);

static bool validate_complete(const batch *b) {
        return b->in.validating == 0 &&
               ((b->validate_next >= b->in.n_files && b->in.head_next >= b->in.n_files) || b->in.canceled);
}

static void on_validate_done(validate_chunk *c, void *userdata) {
        batch *b = userdata;
        b->in.validating--;
        validate_chunk_free(c);
        batch_validate_next(b);
        if (validate_complete(b))
                batch_validated(b);
}

static void on_list_done(batch_input *in) {
        batch *b = of_input(in);

        b->in.validating--;
        b->listing--;
        batch_validate_next(b);
        if (validate_complete(b))
                batch_validated(b);
}

static void on_head_done(batch_input *in) {
        batch *b = of_input(in);

        b->in.validating--;
        batch_validate_next(b);
        if (validate_complete(b))
                batch_validated(b);
}

/* Existence checks run on worker threads, two chunks per batch at a time so
 * one huge batch does not fill the thread pool's queue. */
static void batch_validate_next(batch *b) {
        while (!b->in.canceled && b->in.validating < 2 && b->validate_next < b->in.n_files) {
                size_t lo = b->validate_next;
                size_t hi = lo + VALIDATE_CHUNK < b->in.n_files ? lo + VALIDATE_CHUNK : b->in.n_files;
                int r = validate_chunk_queue(&b->in, lo, hi, on_validate_done, b);
                if (r < 0) {
                        /* Checked inline instead: slower, never wrong. */
                        validate_range(&b->in, lo, hi);
                        b->validate_next = hi;
                        continue;
                }
                b->validate_next = hi;
                b->in.validating++;
        }
        /* S3 sources: a HEAD each, many at a time (they wait on the network,
         * not on us), for those the listings did not find. What they learn
         * is kept for the transfer. */
        while (!b->in.canceled && b->listing == 0 && b->in.validating < 2 + b->in.engine->defaults.validate_concurrency &&
               b->in.head_next < b->in.n_files) {
                int r = validate_head_start(&b->in, &b->in.files[b->in.head_next++], on_head_done);
                if (r > 0)
                        b->in.validating += (unsigned) r;
        }
}

static void on_expanded(batch_input *in);
static void batch_validate_begin(batch *b);
static void batch_after_site(batch_input *in);

void batch_start(batch *b, const batch_owner *owner, void *userdata) {
        b->owner = owner;
        b->owner_data = userdata;
        b->started_ns = uv_hrtime();
        b->in.engine->stats.batches_total++;
        /* Settings first: without them no S3 source can be checked, and their
         * absence is one more problem to report. */
        int r = validate_identity(&b->in);
        if (r >= 0)
                r = validate_site(&b->in, batch_after_site);
        if (r == 1)
                return;
        if (r < 0) {
                batch_end(b, r);
                return;
        }
        batch_after_site(&b->in);
}

static void on_list_page(batch_input *in, const listing_entry *e, size_t n) {
        batch *b = of_input(in);
        b->files_ok += n;
        if (b->owner && !b->detached && b->owner->list_page)
                b->owner->list_page(b, e, n, b->owner_data);
}

static void on_listed(batch_input *in, int r) {
        batch *b = of_input(in);
        size_t n;
        listing_entries(in, &n);
        b->files_ok += n;
        b->in.validating--;
        if (r == -ECANCELED || b->in.canceled) {
                batch_check_end(b);
                return;
        }
        /* Whatever stopped it, the caller hears why in the last reply. */
        if (r < 0 && in->files[0].err.code == FDS_CODE_OK)
                file_error_set_errno(&in->files[0].err, r, "listing");
        b->files_failed = in->files[0].err.code != FDS_CODE_OK;
        batch_end(b, 0);
}

static const listing_ops batch_listing_ops = {
        .page = on_list_page,
        .done = on_listed,
};

/* List: a listing instead of files; problems found so far (paths, S3
 * settings, identity) are the call's error. */
static void batch_list(batch *b) {
        if (json_array_size(b->in.req.problems) > 0) {
                batch_end(b, -EINVAL);
                return;
        }
        /* No file of it is queued (Status counts files_queued). */
        b->next = b->in.n_files;
        b->in.validating++;
        int r = listing_start(&b->in, b->call.more && !b->call.oneway, b->paused, &batch_listing_ops);
        if (r < 0)
                on_listed(&b->in, r);
}

static void batch_after_site(batch_input *in) {
        batch *b = of_input(in);
        if (b->in.canceled) {
                batch_check_end(b);
                return;
        }
        if (b->in.kind == TRANSFER_LIST) {
                batch_list(b);
                return;
        }
        /* Recursive entries become files first, so validation sees them all. */
        b->in.validating++;
        int r = expand_start(&b->in, on_expanded);
        if (r > 0)
                return;
        b->in.validating--;
        if (r < 0) {
                batch_end(b, r);
                return;
        }
        batch_validate_begin(b);
}

static void on_expanded(batch_input *in) {
        batch *b = of_input(in);

        b->in.validating--;
        int r = expand_apply(&b->in);
        if (r < 0) {
                batch_end(b, r);
                return;
        }
        if (b->in.canceled) {
                batch_check_end(b);
                return;
        }
        batch_validate_begin(b);
}

static void batch_validate_begin(batch *b) {
        int n = validate_lists_start(&b->in, on_list_done);
        b->listing += (unsigned) n;
        b->in.validating += (unsigned) n;
        if (!validate_needed(&b->in)) {
                /* Only listings for S3 -> S3 sizes, if any: no checks. */
                b->validate_next = b->in.head_next = b->in.n_files;
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

        if (b->in.canceled || b->ended)
                return;
        b->in.canceled = true;
        scheduler_remove(&b->in.engine->sched, &b->sched);
        list_for_each_safe(n, t, &b->jobs) {
                job *j = list_entry(n, job, link);
                atomic_store(&j->cancel, true);
                if (j->type->cancel)
                        j->type->cancel(j);
        }
        validate_heads_cancel(&b->in);
        validate_lists_cancel(&b->in);
        validate_site_cancel(&b->in);
        expand_cancel(&b->in);
        listing_cancel(&b->in);
        batch_check_end(b); /* may free b */
}

void batch_cancel_answered(batch *b) {
        if (b->in.canceled || b->ended)
                return;
        b->answer_cancel = true;
        batch_cancel(b); /* may free b */
}

void batch_set_bandwidth(batch *b, uint64_t rate) {
        b->in.req.options.max_bandwidth = rate;
        throttle_set_rate(&b->bandwidth, rate);
        pace_set_rate(&b->local_pace, rate);
}

uint64_t batch_files_queued(const batch *b) {
        if (b->in.kind == TRANSFER_LIST || b->in.canceled || b->ended || b->next >= b->in.n_files)
                return 0;
        return b->in.n_files - b->next;
}

uint64_t batch_bytes_moved(const batch *b) {
        return b->bandwidth.moved + b->bytes_unmetered;
}

void batch_detach(batch *b, const batch_owner *owner, void *userdata) {
        b->detached = true;
        b->owner = owner;
        b->owner_data = userdata;
        batch_cancel(b);
}

void batch_set_paused(batch *b, bool paused) {
        if (b->paused == paused)
                return;
        b->paused = paused;
        if (b->in.kind == TRANSFER_LIST) {
                listing_set_paused(&b->in, paused); /* may end, and free, b */
                return;
        }
        if (!paused && batch_runnable(b)) {
                scheduler_add(&b->in.engine->sched, &b->sched);
                scheduler_pump(&b->in.engine->sched);
        }
}
