/* SPDX-License-Identifier: MIT */
/* The batch engine and its scheduler driven with a fake job type: no
 * sockets, no curl, no files. Each fake job waits in a list until the test
 * finishes it (with a result of the test's choosing), so a test sees
 * exactly which files are in flight at every step. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "batch.h"
#include "batch_engine.h"
#include "delay.h"
#include "errcode.h"
#include "fixture.h"
#include "job.h"
#include "list.h"
#include "macro.h"

#define MAX_FILES 64

typedef struct fake_job {
        job base;
        list_node link;         /* in the world's running list */
        bool canceled;
} fake_job;

typedef struct world {
        uv_loop_t loop;
        delay_queue delay;
        batch_engine engine;
        list_node running;      /* fake jobs started, not yet finished */
        unsigned n_running, max_running;
        size_t started[MAX_FILES * 2]; /* entry index of each start, in order */
        const batch *started_by[MAX_FILES * 2];
        size_t n_started;
        int refuse_index;       /* start() fails for this entry index (-1: none) */
} world;

static world *W;

static int fake_start(job *j) {
        fake_job *f = (fake_job *) j;
        size_t index = j->file->entry->index;
        if ((int) index == W->refuse_index)
                return -EIO;
        ck_assert_uint_lt(W->n_started, ELEMENTSOF(W->started));
        W->started_by[W->n_started] = j->userdata;
        W->started[W->n_started++] = index;
        list_add_tail(&W->running, &f->link);
        if (++W->n_running > W->max_running)
                W->max_running = W->n_running;
        return 0;
}

static void fake_cancel(job *j) {
        ((fake_job *) j)->canceled = true;
}

static const job_type fake_type = {
        .name = "fake",
        .size = sizeof(fake_job),
        .start = fake_start,
        .cancel = fake_cancel,
};

static const job_type *fake_for(transfer_op op, const job_file *f) {
        return &fake_type;
}

/* Finish the oldest running job: ok with `bytes`, or failed with err. */
static size_t finish_oldest(int err, uint64_t bytes) {
        ck_assert(!list_empty(&W->running));
        fake_job *f = list_entry(W->running.next, fake_job, link);
        job_file *file = f->base.file;
        size_t index = file->entry->index;
        list_del(&f->link);
        W->n_running--;
        if (err)
                file_error_set_errno(&file->err, err, "fake failure");
        else
                file->bytes = bytes;
        job_done(&f->base); /* frees f */
        return index;
}

/* The owner: what it heard, in order. */
typedef struct owner_log {
        size_t done[MAX_FILES];
        bool done_ok[MAX_FILES];
        size_t n_done;
        int ends;
        int status;
        uint64_t files_ok, files_failed, bytes;
} owner_log;

static void on_file_done(batch *b, job_file *f, void *userdata) {
        owner_log *o = userdata;
        ck_assert_uint_lt(o->n_done, MAX_FILES);
        o->done_ok[o->n_done] = f->err.code == FDS_CODE_OK;
        o->done[o->n_done++] = f->entry->index;
}

static void on_end(batch *b, int status, void *userdata) {
        owner_log *o = userdata;
        o->ends++;
        o->status = status;
        o->files_ok = b->files_ok;
        o->files_failed = b->files_failed;
        o->bytes = b->bytes;
        batch_free(b);
}

static const batch_owner owner = { .file_done = on_file_done, .end = on_end };

static void world_setup(world *w, unsigned max_inflight, unsigned per_share) {
        memset(w, 0, sizeof(*w));
        ck_assert_int_eq(uv_loop_init(&w->loop), 0);
        ck_assert_int_eq(delay_init(&w->delay, &w->loop), 0);
        batch_engine_config cfg = { .max_inflight = max_inflight, .buffer_memory = 1 << 20, .file_mode = 0644 };
        batch_engine_init(&w->engine, &w->loop, &w->delay, NULL, NULL, &cfg);
        w->engine.defaults = (batch_defaults){ .parallelism = 10, .max_entries = 1000,
                                               .max_read_bytes = 1 << 20,
                                               .max_inflight_per_share = per_share };
        w->engine.job_for = fake_for;
        list_init(&w->running);
        w->refuse_index = -1;
        W = w;
}

/* Every handle closed: the loop closes cleanly. */
static void world_teardown(world *w) {
        ck_assert(list_empty(&w->running));
        ck_assert_uint_eq(w->engine.n_batches, 0);
        batch_engine_shutdown(&w->engine);
        delay_close(&w->delay);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        ck_assert_int_eq(uv_loop_close(&w->loop), 0);
        W = NULL;
}

/* A Copy of n local files (no existence checks: the paths are made up),
 * started with options_json ("{}" for none). */
static batch *copy_start(world *w, size_t n, const char *options_json, const char *tag, batch_share *share,
                         owner_log *log) {
        json_t *copies = json_array();
        for (size_t i = 0; i < n; i++) {
                char src[64], dst[64];
                snprintf(src, sizeof(src), "/nonexistent/%s/src%zu", tag, i);
                snprintf(dst, sizeof(dst), "/nonexistent/%s/dst%zu", tag, i);
                json_array_append_new(copies, json_pack("{s:s, s:s}", "src", src, "dst", dst));
        }
        json_t *options = json_loads(options_json, 0, NULL);
        ck_assert_ptr_nonnull(options);
        json_object_set_new(options, "validate", json_false());
        json_t *params = json_pack("{s:o, s:o}", "copies", copies, "options", options);
        fds_request_limits lim = { .max_entries = 1000 };
        fds_request req = { 0 };
        char *param = NULL;
        ck_assert_int_eq(fds_request_parse_copy(params, &lim, &req, &param), 0);
        fds_call call = { .root = params, .method = "io.fds.Transfer.Copy", .parameters = params };
        batch *b;
        ck_assert_int_eq(batch_new(&w->engine, TRANSFER_COPY, &call, &req, &b), 0);
        ck_assert_int_eq(batch_set_peer(b, share, geteuid(), getegid(), NULL, 0), 0);
        memset(log, 0, sizeof(*log));
        batch_start(b, &owner, log);
        return b;
}

START_TEST(parallelism_one_runs_files_one_at_a_time_in_order) {
        world w;
        owner_log log;
        world_setup(&w, 100, 0);
        copy_start(&w, 5, "{\"parallelism\": 1}", "a", NULL, &log);
        for (size_t i = 0; i < 5; i++) {
                ck_assert_uint_eq(w.n_running, 1);
                ck_assert_uint_eq(w.started[i], i);
                ck_assert_uint_eq(finish_oldest(0, 10 + i), i);
        }
        ck_assert_uint_eq(w.max_running, 1);
        ck_assert_int_eq(log.ends, 1);
        ck_assert_int_eq(log.status, 0);
        ck_assert_uint_eq(log.n_done, 5);
        for (size_t i = 0; i < 5; i++)
                ck_assert_uint_eq(log.done[i], i);
        ck_assert_uint_eq(log.files_ok, 5);
        ck_assert_uint_eq(log.bytes, 10 + 11 + 12 + 13 + 14);
        ck_assert_uint_eq(w.engine.stats.files_ok, 5);
        world_teardown(&w);
}
END_TEST

START_TEST(parallelism_n_keeps_n_in_flight) {
        world w;
        owner_log log;
        world_setup(&w, 100, 0);
        copy_start(&w, 20, "{\"parallelism\": 4}", "a", NULL, &log);
        while (w.n_running > 0) {
                /* Full until the last files. */
                ck_assert_uint_eq(w.n_running, w.n_started < 20 ? 4 : w.n_running);
                ck_assert_uint_le(w.n_running, 4);
                finish_oldest(0, 1);
        }
        ck_assert_uint_eq(w.max_running, 4);
        ck_assert_uint_eq(w.n_started, 20);
        for (size_t i = 0; i < 20; i++)
                ck_assert_uint_eq(w.started[i], i);
        ck_assert_int_eq(log.ends, 1);
        ck_assert_uint_eq(log.files_ok, 20);
        world_teardown(&w);
}
END_TEST

START_TEST(engine_limit_caps_every_batch) {
        world w;
        owner_log a, b;
        world_setup(&w, 3, 0);
        copy_start(&w, 10, "{\"parallelism\": 8}", "a", NULL, &a);
        copy_start(&w, 10, "{\"parallelism\": 8}", "b", NULL, &b);
        ck_assert_uint_eq(w.n_running, 3);
        while (w.n_running > 0)
                finish_oldest(0, 1);
        ck_assert_uint_eq(w.max_running, 3);
        ck_assert_int_eq(a.ends + b.ends, 2);
        ck_assert_uint_eq(a.files_ok + b.files_ok, 20);
        world_teardown(&w);
}
END_TEST

/* A one-file call of another client does not wait behind a big batch's
 * files: the ring gives it a slot after at most one turn of the batches
 * ahead of it. */
START_TEST(scheduler_serves_a_newcomer_within_a_turn) {
        world w;
        owner_log big, small;
        world_setup(&w, 2, 0);
        const batch *bb = copy_start(&w, 10, "{}", "big", NULL, &big);
        ck_assert_uint_eq(w.n_running, 2);
        const batch *sb = copy_start(&w, 1, "{}", "small", NULL, &small);
        ck_assert_uint_eq(w.n_running, 2);
        finish_oldest(0, 1);
        finish_oldest(0, 1);
        ck_assert_uint_eq(w.n_started, 4);
        ck_assert_ptr_eq(w.started_by[0], bb);
        ck_assert(w.started_by[2] == sb || w.started_by[3] == sb);
        while (w.n_running > 0)
                finish_oldest(0, 1);
        ck_assert_int_eq(small.ends, 1);
        ck_assert_int_eq(big.ends, 1);
        ck_assert_uint_eq(big.files_ok, 10);
        world_teardown(&w);
}
END_TEST

START_TEST(partial_failure_reports_each_file) {
        world w;
        owner_log log;
        world_setup(&w, 100, 0);
        copy_start(&w, 6, "{\"parallelism\": 2}", "a", NULL, &log);
        while (w.n_running > 0) {
                fake_job *f = list_entry(w.running.next, fake_job, link);
                size_t index = f->base.file->entry->index;
                finish_oldest(index % 2 ? -EACCES : 0, 100);
        }
        ck_assert_int_eq(log.ends, 1);
        ck_assert_int_eq(log.status, 0); /* the call ran; files failed */
        ck_assert_uint_eq(log.files_ok, 3);
        ck_assert_uint_eq(log.files_failed, 3);
        ck_assert_uint_eq(log.bytes, 300);
        for (size_t i = 0; i < log.n_done; i++)
                ck_assert(log.done_ok[i] == (log.done[i] % 2 == 0));
        ck_assert_uint_eq(w.engine.stats.files_failed, 3);
        world_teardown(&w);
}
END_TEST

START_TEST(a_job_that_cannot_start_fails_only_its_file) {
        world w;
        owner_log log;
        world_setup(&w, 100, 0);
        w.refuse_index = 2;
        batch *b = copy_start(&w, 4, "{\"parallelism\": 1}", "a", NULL, &log);
        ck_assert_str_eq(fds_code_name(b->in.files[2].err.code), "OK"); /* not reached yet */
        while (w.n_running > 0)
                finish_oldest(0, 1);
        ck_assert_int_eq(log.ends, 1);
        ck_assert_uint_eq(log.files_ok, 3);
        ck_assert_uint_eq(log.files_failed, 1);
        ck_assert_uint_eq(w.n_started, 3);
        bool saw2 = false;
        for (size_t i = 0; i < log.n_done; i++)
                if (log.done[i] == 2) {
                        saw2 = true;
                        ck_assert(!log.done_ok[i]);
                }
        ck_assert(saw2);
        world_teardown(&w);
}
END_TEST

/* Cancel: running jobs are told, nothing new starts, and the batch ends
 * with -ECANCELED once its last job has reported. */
START_TEST(cancel_stops_starting_and_ends_after_running_jobs) {
        world w;
        owner_log log;
        world_setup(&w, 100, 0);
        batch *b = copy_start(&w, 10, "{\"parallelism\": 3}", "a", NULL, &log);
        finish_oldest(0, 1);
        ck_assert_uint_eq(w.n_started, 4);
        batch_cancel(b);
        list_node *n, *t;
        unsigned told = 0;
        list_for_each_safe(n, t, &w.running) {
                fake_job *f = list_entry(n, fake_job, link);
                ck_assert(f->canceled);
                ck_assert(atomic_load(&f->base.cancel));
                told++;
        }
        ck_assert_uint_eq(told, 3);
        ck_assert_int_eq(log.ends, 0);
        finish_oldest(-ECANCELED, 0);
        finish_oldest(0, 5); /* one finished despite the cancel: keeps its result */
        ck_assert_int_eq(log.ends, 0);
        finish_oldest(-ECANCELED, 0);
        ck_assert_uint_eq(w.n_started, 4);
        ck_assert_int_eq(log.ends, 1);
        ck_assert_int_eq(log.status, -ECANCELED);
        ck_assert_uint_eq(log.files_ok, 2);
        ck_assert_uint_eq(log.files_failed, 2);
        world_teardown(&w);
}
END_TEST

/* Paused, a batch starts nothing; canceled with nothing running, it ends
 * at once. */
START_TEST(pause_holds_files_and_cancel_while_idle_ends_at_once) {
        world w;
        owner_log log;
        world_setup(&w, 100, 0);
        batch *b = copy_start(&w, 3, "{\"parallelism\": 1}", "a", NULL, &log);
        batch_set_paused(b, true);
        finish_oldest(0, 1);
        ck_assert_uint_eq(w.n_running, 0);
        batch_set_paused(b, false);
        ck_assert_uint_eq(w.n_running, 1);
        batch_set_paused(b, true);
        finish_oldest(0, 1);
        ck_assert_uint_eq(w.n_running, 0);
        ck_assert_int_eq(log.ends, 0);
        batch_cancel(b);
        ck_assert_int_eq(log.ends, 1);
        ck_assert_int_eq(log.status, -ECANCELED);
        ck_assert_uint_eq(log.files_ok, 2);
        ck_assert_uint_eq(w.n_started, 2);
        world_teardown(&w);
}
END_TEST

/* One user's batches share its limit of files in flight; a batch held
 * back by it goes on when a file of the other ends. */
START_TEST(share_limit_spans_batches_of_one_user) {
        world w;
        owner_log a, b;
        batch_share share;

        batch_share_init(&share);
        world_setup(&w, 100, 3);
        copy_start(&w, 4, "{}", "a", &share, &a);
        copy_start(&w, 4, "{}", "b", &share, &b);
        ck_assert_uint_eq(w.n_running, 3);
        ck_assert_uint_eq(share.inflight, 3);
        while (w.n_running > 0) {
                ck_assert_uint_le(w.n_running, 3);
                finish_oldest(0, 1);
        }
        ck_assert_uint_eq(w.n_started, 8);
        ck_assert_uint_eq(share.inflight, 0);
        ck_assert_uint_eq(a.files_ok + b.files_ok, 8);
        world_teardown(&w);
}
END_TEST

/* An invalid request never reaches a job: validation's problems end it. */
START_TEST(problems_end_the_batch_before_any_job) {
        world w;
        owner_log log;
        world_setup(&w, 100, 0);
        json_t *params = json_pack("{s:[{s:s, s:s}, {s:s, s:s}]}", "copies", "src", "/x/a", "dst", "/x/same",
                                   "src", "/x/b", "dst", "/x/same");
        fds_request_limits lim = { .max_entries = 1000 };
        fds_request req = { 0 };
        char *param = NULL;
        ck_assert_int_eq(fds_request_parse_copy(params, &lim, &req, &param), 0);
        fds_call call = { .root = params, .method = "io.fds.Transfer.Copy", .parameters = params };
        batch *b;
        ck_assert_int_eq(batch_new(&w.engine, TRANSFER_COPY, &call, &req, &b), 0);
        memset(&log, 0, sizeof(log));
        batch_start(b, &owner, &log);
        /* Local checks run on worker threads: let them. */
        while (log.ends == 0)
                uv_run(&w.loop, UV_RUN_ONCE);
        ck_assert_int_eq(log.status, -EINVAL);
        ck_assert_uint_eq(w.n_started, 0);
        world_teardown(&w);
}
END_TEST

static Suite *batch_engine_suite(void) {
        Suite *s = suite_create("batch_engine");
        TCase *tc = tcase_create("fake jobs");
        tcase_add_test(tc, parallelism_one_runs_files_one_at_a_time_in_order);
        tcase_add_test(tc, parallelism_n_keeps_n_in_flight);
        tcase_add_test(tc, engine_limit_caps_every_batch);
        tcase_add_test(tc, scheduler_serves_a_newcomer_within_a_turn);
        tcase_add_test(tc, partial_failure_reports_each_file);
        tcase_add_test(tc, a_job_that_cannot_start_fails_only_its_file);
        tcase_add_test(tc, cancel_stops_starting_and_ends_after_running_jobs);
        tcase_add_test(tc, pause_holds_files_and_cancel_while_idle_ends_at_once);
        tcase_add_test(tc, share_limit_spans_batches_of_one_user);
        tcase_add_test(tc, problems_end_the_batch_before_any_job);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fixture_run(batch_engine_suite());
}
