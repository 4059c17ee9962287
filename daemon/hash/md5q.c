/* SPDX-License-Identifier: MIT */
#include "md5q.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

/* Bytes each lane advances between looks at the queue: small enough that a
 * new request waits little for a lane, large enough to amortize the lock. */
#define MD5Q_STEP (64 * 1024)
#define MD5Q_MAX_LANES 16
/* Without SIMD lanes (no AVX2, or not x86), messages are hashed one per
 * runner, on as many pool threads as this. */
#define MD5Q_SCALAR_RUNNERS 4
/* The longest an early or lazy push waits for company in the lanes. */
#define MD5Q_WAIT_MS 5

/* An empty message still needs a pointer: md5mb hashes its padding. */
static const uint8_t empty;

typedef struct md5q_runner {
        uv_work_t work;         /* a hashing run */
        md5mb *mb;              /* its lanes: worker only while queued */
        struct md5q *q;
        bool queued;            /* loop only */
} md5q_runner;

struct md5q {
        uv_loop_t *loop;
        uv_async_t async;       /* worker -> loop: digests ready */
        uv_timer_t wait;        /* bounds how long pushes wait for company */
        unsigned open_handles;  /* freed once both are closed */
        md5q_runner runners[MD5Q_SCALAR_RUNNERS];
        unsigned n_runners;     /* 1 with lanes: one set of lanes fills best */
        unsigned running;       /* loop only: runners queued or running */
        uv_mutex_t lock;
        list_node pending;      /* submitted, not in a lane yet (locked) */
        list_node done;         /* hashed, not reported yet (locked) */
        size_t n_pending;       /* on the pending list (locked) */
        size_t n_urgent;        /* of them, last pushes: a digest is awaited */
        bool kicked;            /* hash all pending now (locked) */
        bool closing;
};

static md5q_req *req_of(list_node *n) {
        return list_entry(n, md5q_req, link);
}

/* A push whose digest somebody waits for. */
static bool urgent(const md5q_req *r) {
        return r->job.avail == r->job.len && !r->lazy;
}

static bool md5q_due(const md5q *q);

static void md5q_work(uv_work_t *w) {
        md5q_runner *run = w->data;
        md5q *q = run->q;
        md5mb *mb = run->mb;
        md5mb_job *out[MD5Q_MAX_LANES];

        for (;;) {
                uv_mutex_lock(&q->lock);
                /* Joining one by one as they come, early pushes would keep
                 * a lane or two busy at the cost of all sixteen: they join
                 * when a digest is awaited or they are enough to fill the
                 * lanes well, as a run starts. */
                bool take = md5q_due(q);
                while (take && !list_empty(&q->pending) && md5mb_active(mb) < md5mb_lanes(mb)) {
                        md5q_req *r = req_of(q->pending.next);
                        list_del(&r->link);
                        q->n_pending--;
                        q->n_urgent -= urgent(r);
                        /* Cannot fail: lanes checked, data and length were
                         * checked by md5q_submit. */
                        md5mb_add(mb, &r->job);
                }
                if (list_empty(&q->pending))
                        q->kicked = false;
                bool idle = md5mb_active(mb) == 0;
                uv_mutex_unlock(&q->lock);
                if (idle)
                        return;
                size_t n = md5mb_step(mb, MD5Q_STEP, out, MD5Q_MAX_LANES);
                if (n == 0)
                        continue;
                uv_mutex_lock(&q->lock);
                for (size_t i = 0; i < n; i++)
                        list_add_tail(&q->done, &((md5q_req *) out[i]->userdata)->link);
                uv_mutex_unlock(&q->lock);
                uv_async_send(&q->async);
        }
}

static void md5q_report(md5q *q) {
        list_node done, *n, *t;

        list_init(&done);
        uv_mutex_lock(&q->lock);
        if (!list_empty(&q->done)) {
                /* Move the whole list over. */
                done.next = q->done.next;
                done.prev = q->done.prev;
                done.next->prev = &done;
                done.prev->next = &done;
                list_init(&q->done);
        }
        uv_mutex_unlock(&q->lock);
        list_for_each_safe(n, t, &done) {
                md5q_req *r = req_of(n);
                list_del(&r->link);
                r->done(r);
        }
}

static void md5q_queue(md5q *q);
static void md5q_close_handles(md5q *q);
static void on_wait(uv_timer_t *t);

/* Worth a run (locked): a digest is awaited, or enough early pushes wait to
 * fill half the lanes. Early pushes (bytes of a download still arriving)
 * are in no hurry, and hashed alone they would cost as much as a full set
 * of lanes: waiting for company is what makes the lanes pay. */
static bool md5q_due(const md5q *q) {
        unsigned half = md5mb_lanes(q->runners[0].mb) / 2;
        return q->n_urgent > 0 || q->n_pending >= (half ? half : 1) || (q->kicked && q->n_pending > 0);
}

static void md5q_after(uv_work_t *w, int status) {
        md5q_runner *run = w->data;
        md5q *q = run->q;
        (void) status; /* never canceled: nobody calls uv_cancel on it */
        /* Still marked queued: what the callbacks push waits for below. */
        md5q_report(q);
        run->queued = false;
        q->running--;
        uv_mutex_lock(&q->lock);
        bool more = md5q_due(q) || (q->closing && q->n_pending > 0);
        uv_mutex_unlock(&q->lock);
        /* Pushed after the run looked for the last time (or while closing,
         * by the callbacks just run: they are hashed before the end). */
        if (more)
                md5q_queue(q);
        if (q->closing && q->running == 0)
                md5q_close_handles(q);
}

/* Start an idle runner, if there is one. */
static void md5q_queue(md5q *q) {
        for (unsigned i = 0; i < q->n_runners; i++) {
                md5q_runner *run = &q->runners[i];
                if (run->queued)
                        continue;
                run->work.data = run;
                /* uv_queue_work fails only without a work callback. */
                if (uv_queue_work(q->loop, &run->work, md5q_work, md5q_after) == 0) {
                        run->queued = true;
                        q->running++;
                }
                return;
        }
}

static void md5q_free_runners(md5q *q) {
        for (unsigned i = 0; i < MD5Q_SCALAR_RUNNERS; i++)
                q->runners[i].mb = md5mb_free(q->runners[i].mb);
}

static void on_async(uv_async_t *a) {
        md5q_report(a->data);
}

int md5q_new(uv_loop_t *loop, md5q **ret) {
        return md5q_new_impl(loop, NULL, ret);
}

int md5q_new_impl(uv_loop_t *loop, const char *impl, md5q **ret) {
        md5q *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->loop = loop;
        list_init(&q->pending);
        list_init(&q->done);
        int r = md5mb_new_impl(impl, &q->runners[0].mb);
        if (r >= 0 && md5mb_lanes(q->runners[0].mb) > MD5Q_MAX_LANES)
                r = -EINVAL;
        q->n_runners = r >= 0 && md5mb_lanes(q->runners[0].mb) == 1 ? MD5Q_SCALAR_RUNNERS : 1;
        for (unsigned i = 0; i < q->n_runners && r >= 0; i++) {
                q->runners[i].q = q;
                if (i > 0)
                        r = md5mb_new_impl(impl, &q->runners[i].mb);
        }
        if (r >= 0)
                r = uv_mutex_init(&q->lock);
        if (r >= 0 && (r = uv_async_init(loop, &q->async, on_async)) < 0)
                uv_mutex_destroy(&q->lock);
        if (r < 0) {
                md5q_free_runners(q);
                free(q);
                return r;
        }
        q->async.data = q;
        uv_timer_init(loop, &q->wait); /* cannot fail */
        q->wait.data = q;
        q->open_handles = 2;
        /* Only queued work keeps the loop alive: its after-callback reports
         * whatever the async did not. */
        uv_unref((uv_handle_t *) &q->async);
        *ret = q;
        return 0;
}

static void on_close(uv_handle_t *h) {
        md5q *q = h->data;
        if (--q->open_handles > 0)
                return;
        uv_mutex_destroy(&q->lock);
        md5q_free_runners(q);
        free(q);
}

static void md5q_close_handles(md5q *q) {
        uv_close((uv_handle_t *) &q->async, on_close);
        uv_close((uv_handle_t *) &q->wait, on_close);
}

static void on_wait(uv_timer_t *t) {
        md5q_kick(t->data);
}

void md5q_close(md5q *q) {
        if (!q || q->closing)
                return;
        q->closing = true;
        md5q_kick(q); /* early pushes still waiting (none, if used right) */
        /* A run that reported its last digest may not have returned yet. */
        if (q->running == 0)
                md5q_close_handles(q);
}

int md5q_req_init(md5q_req *r, const void *data, size_t len, void (*done)(md5q_req *r), void *userdata) {
        if (!done || (!data && len > 0) || len > SIZE_MAX - 128)
                return -EINVAL;
        r->job = (md5mb_job){ .data = len ? data : &empty, .len = len, .avail = len, .userdata = r };
        r->done = done;
        r->userdata = userdata;
        r->lazy = false;
        return 0;
}

int md5q_submit(md5q *q, md5q_req *r, const void *data, size_t len, void (*done)(md5q_req *r),
                void *userdata) {
        int e = md5q_req_init(r, data, len, done, userdata);
        return e < 0 ? e : md5q_push(q, r, len);
}

int md5q_push(md5q *q, md5q_req *r, size_t avail) {
        /* md5mb reads an avail of 0 as "all". */
        if (avail > r->job.len || (avail == 0 && r->job.len > 0))
                return -EINVAL;
        r->job.avail = avail;
        uv_mutex_lock(&q->lock);
        list_add_tail(&q->pending, &r->link);
        q->n_pending++;
        q->n_urgent += urgent(r);
        bool due = md5q_due(q);
        uv_mutex_unlock(&q->lock);
        /* A run going on takes it into a lane once pushes are due; those
         * not due yet go at the latest when the wait is over. */
        if (due)
                md5q_queue(q);
        else if (!uv_is_active((uv_handle_t *) &q->wait))
                uv_timer_start(&q->wait, on_wait, MD5Q_WAIT_MS, 0);
        return 0;
}

void md5q_kick(md5q *q) {
        uv_mutex_lock(&q->lock);
        /* Also for a run that has looked for the last time but not yet
         * reported back: md5q_after sees the flag. */
        q->kicked = q->n_pending > 0;
        bool any = q->kicked;
        uv_mutex_unlock(&q->lock);
        if (any)
                md5q_queue(q);
}

