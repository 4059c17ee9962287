/* SPDX-License-Identifier: MIT */
#pragma once

/* A token bucket for bandwidth caps (one per call, one for the daemon).
 * Transfers take tokens as bytes move; when the bucket is empty they pause
 * and are woken from the shared delay queue once it has refilled. Nothing
 * sleeps on the loop. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "delay.h"
#include "list.h"

typedef struct throttle {
        uint64_t rate;          /* bytes per second; 0: no cap */
        uint64_t moved;         /* bytes taken, capped or not, since init */
        double tokens;          /* may go below zero: a chunk is taken whole */
        uint64_t last;          /* uv_now() of the last refill */
        list_node waiters;
        delay_entry tick;
        delay_queue *dq;
        uv_loop_t *loop;
} throttle;

typedef struct throttle_waiter throttle_waiter;
struct throttle_waiter {
        list_node link;
        void (*cb)(throttle_waiter *w);
};

void throttle_init(throttle *t, uint64_t rate, delay_queue *dq, uv_loop_t *loop);
void throttle_done(throttle *t);
/* Whether bytes may move now. */
bool throttle_ready(throttle *t);
/* n bytes moved. */
void throttle_take(throttle *t, size_t n);
/* A new cap while transfers run (0: none): waiters are woken from the
 * loop when the new rate lets them go, not from this call. */
void throttle_set_rate(throttle *t, uint64_t rate);
/* Call cb from the loop once the bucket has tokens again. */
void throttle_wait(throttle *t, throttle_waiter *w, void (*cb)(throttle_waiter *w));
void throttle_cancel(throttle *t, throttle_waiter *w);
