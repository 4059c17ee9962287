/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon-wide budget of transfer buffer memory: every buffer a job
 * holds is granted from it first, so memory stays bounded whatever the
 * number and size of files. Waiters are served first come, first served;
 * a grant is delivered from the loop, never from inside the call that
 * freed the memory. */

#include <stdbool.h>
#include <stdint.h>

#include "delay.h"
#include "list.h"

typedef struct budget {
        uint64_t limit;
        uint64_t used;
        uint64_t peak;
        list_node waiters;
        delay_queue *dq;
} budget;

typedef struct budget_waiter budget_waiter;
struct budget_waiter {
        list_node link;
        delay_entry grant;      /* delivers the callback */
        uint64_t n;
        void (*cb)(budget_waiter *w);
        budget *owner;
        int state;              /* 0 idle, 1 queued, 2 granted pending delivery, 3 held */
};

void budget_init(budget *b, uint64_t limit, delay_queue *dq);
/* Ask for n bytes (at most the limit is ever asked). 1: granted now;
 * 0: queued, cb runs from the loop once granted. */
int budget_acquire(budget *b, budget_waiter *w, uint64_t n, void (*cb)(budget_waiter *w));
/* Give back what w holds, or stop waiting. */
void budget_release(budget *b, budget_waiter *w);
/* For a cancel: if w is still waiting (or its grant not yet delivered),
 * stop that and have fn run from the loop instead, so the canceled work
 * ends through its normal path but never inside the cancel call. Returns
 * whether it did. */
bool budget_cancel_wait(budget *b, budget_waiter *w, delay_entry *later, delay_fn fn);
