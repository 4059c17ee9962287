/* SPDX-License-Identifier: MIT */
#include "scheduler.h"

#include "batch.h"

void scheduler_init(scheduler *s, unsigned limit) {
        *s = (scheduler){ .limit = limit ? limit : 1 };
        list_init(&s->runnable);
}

void scheduler_add(scheduler *s, batch *b) {
        if (!list_linked(&b->sched_link))
                list_add_tail(&s->runnable, &b->sched_link);
}

void scheduler_remove(scheduler *s, batch *b) {
        list_del(&b->sched_link);
}

void scheduler_release(scheduler *s) {
        if (s->inflight > 0)
                s->inflight--;
}

/* The ring is kept in least-recently-served order: a batch that got a slot
 * goes to the back, so a newcomer gets the next free slot even when a large
 * batch could use every one. */
void scheduler_pump(scheduler *s) {
        if (s->pumping)
                return;
        s->pumping = true;
        while (s->inflight < s->limit && !list_empty(&s->runnable)) {
                batch *b = list_entry(s->runnable.next, batch, sched_link);
                list_del(&b->sched_link);
                if (batch_start_one(b) > 0) {
                        s->inflight++;
                        if (batch_runnable(b))
                                list_add_tail(&s->runnable, &b->sched_link);
                        continue;
                }
                /* Nothing started: its remaining files may all have failed
                 * to start, in which case it is over. May free b. */
                batch_check_end(b);
        }
        s->pumping = false;
}
