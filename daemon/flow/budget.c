/* SPDX-License-Identifier: MIT */
#include "budget.h"
#include "macro.h"

#include <stddef.h>

enum { W_IDLE, W_QUEUED, W_PENDING, W_HELD };

void budget_init(budget *b, uint64_t limit, delay_queue *dq) {
        *b = (budget){ .limit = limit ? limit : 1, .dq = dq };
        list_init(&b->waiters);
}

static void on_grant(delay_entry *e) {
        budget_waiter *w = container_of(e, budget_waiter, grant);
        w->state = W_HELD;
        w->cb(w);
}

static void budget_serve(budget *b) {
        while (!list_empty(&b->waiters)) {
                budget_waiter *w = list_entry(b->waiters.next, budget_waiter, link);
                if (b->used + w->n > b->limit)
                        break; /* FIFO: no overtaking, so big asks are not starved */
                list_del(&w->link);
                b->used += w->n;
                if (b->used > b->peak)
                        b->peak = b->used;
                w->state = W_PENDING;
                delay_add(b->dq, &w->grant, 0, on_grant);
        }
}

int budget_acquire(budget *b, budget_waiter *w, uint64_t n, void (*cb)(budget_waiter *w)) {
        w->n = n > b->limit ? b->limit : n;
        w->cb = cb;
        w->owner = b;
        list_init(&w->link);
        list_init(&w->grant.link);
        if (list_empty(&b->waiters) && b->used + w->n <= b->limit) {
                b->used += w->n;
                if (b->used > b->peak)
                        b->peak = b->used;
                w->state = W_HELD;
                return 1;
        }
        w->state = W_QUEUED;
        list_add_tail(&b->waiters, &w->link);
        return 0;
}

bool budget_cancel_wait(budget *b, budget_waiter *w, delay_entry *later, delay_fn fn) {
        if ((w->state != W_QUEUED && w->state != W_PENDING) || list_linked(&later->link))
                return false;
        budget_release(b, w);
        delay_add(b->dq, later, 0, fn);
        return true;
}

void budget_release(budget *b, budget_waiter *w) {
        switch (w->state) {
        case W_QUEUED:
                list_del(&w->link);
                break;
        case W_PENDING:
                delay_cancel(b->dq, &w->grant);
                b->used -= w->n;
                break;
        case W_HELD:
                b->used -= w->n;
                break;
        default:
                return;
        }
        w->state = W_IDLE;
        budget_serve(b);
}
