/* SPDX-License-Identifier: MIT */
#include "throttle.h"
#include "macro.h"

#include <stddef.h>

/* Up to 50 ms of traffic may go in one burst (at least 64 KiB), so a cap
 * holds over any second while chunks of curl's size still flow. */
static double burst(const throttle *t) {
        double b = (double) t->rate / 20.0;
        return b < 65536.0 ? 65536.0 : b;
}

static void refill(throttle *t) {
        uint64_t now = uv_now(t->loop);
        if (now > t->last) {
                t->tokens += (double) (now - t->last) * (double) t->rate / 1000.0;
                if (t->tokens > burst(t))
                        t->tokens = burst(t);
                t->last = now;
        }
}

void throttle_init(throttle *t, uint64_t rate, delay_queue *dq, uv_loop_t *loop) {
        *t = (throttle){ .rate = rate, .dq = dq, .loop = loop, .last = uv_now(loop) };
        t->tokens = rate ? burst(t) : 0;
        list_init(&t->waiters);
        list_init(&t->tick.link);
}

void throttle_done(throttle *t) {
        list_node *n, *x;
        delay_cancel(t->dq, &t->tick);
        list_for_each_safe(n, x, &t->waiters)
                list_del(n);
}

bool throttle_ready(throttle *t) {
        if (!t || t->rate == 0)
                return true;
        refill(t);
        return t->tokens > 0;
}

void throttle_take(throttle *t, size_t n) {
        if (!t)
                return;
        t->moved += n;
        if (t->rate == 0)
                return;
        refill(t);
        t->tokens -= (double) n;
}

static void arm(throttle *t);

static void on_tick(delay_entry *e) {
        throttle *t = container_of(e, throttle, tick);
        refill(t);
        if (t->rate && t->tokens <= 0) {
                arm(t);
                return;
        }
        /* Wake everyone: each takes what it moves, and whoever finds the
         * bucket empty again waits again. */
        while (!list_empty(&t->waiters)) {
                throttle_waiter *w = list_entry(t->waiters.next, throttle_waiter, link);
                list_del(&w->link);
                w->cb(w);
        }
}

static void arm(throttle *t) {
        if (list_linked(&t->tick.link))
                return;
        double need = t->tokens <= 0 ? -t->tokens + 1.0 : 0.0;
        uint64_t ms = (uint64_t) (need * 1000.0 / (double) t->rate) + 1;
        delay_add(t->dq, &t->tick, ms, on_tick);
}

void throttle_wait(throttle *t, throttle_waiter *w, void (*cb)(throttle_waiter *w)) {
        w->cb = cb;
        if (list_linked(&w->link))
                return;
        list_add_tail(&t->waiters, &w->link);
        arm(t);
}

void throttle_cancel(throttle *t, throttle_waiter *w) {
        list_del(&w->link);
}

void throttle_set_rate(throttle *t, uint64_t rate) {
        bool was_capped = t->rate != 0;

        if (t->rate == rate)
                return;
        if (was_capped)
                refill(t);
        t->rate = rate;
        if (!was_capped) {
                /* Uncapped until now: start from a full bucket. */
                t->last = uv_now(t->loop);
                t->tokens = burst(t);
        } else if (rate && t->tokens > burst(t))
                t->tokens = burst(t);
        /* The wake-up was timed for the old rate. */
        delay_cancel(t->dq, &t->tick);
        if (!list_empty(&t->waiters)) {
                if (rate == 0 || t->tokens > 0)
                        delay_add(t->dq, &t->tick, 0, on_tick);
                else
                        arm(t);
        }
}
