/* SPDX-License-Identifier: MIT */
#include "scheduler.h"

void scheduler_init(scheduler *s, unsigned limit) {
        *s = (scheduler){ .limit = limit ? limit : 1 };
        list_init(&s->runnable);
}

void sched_client_init(sched_client *c, const sched_ops *ops) {
        list_init(&c->link);
        c->ops = ops;
}

void scheduler_add(scheduler *s, sched_client *c) {
        if (!list_linked(&c->link))
                list_add_tail(&s->runnable, &c->link);
}

void scheduler_remove(scheduler *s, sched_client *c) {
        list_del(&c->link);
}

void scheduler_release(scheduler *s) {
        if (s->inflight > 0)
                s->inflight--;
}

/* The ring is kept in least-recently-served order: a client that got a
 * slot goes to the back, so a newcomer gets the next free slot even when a
 * large batch could use every one. */
void scheduler_pump(scheduler *s) {
        if (s->pumping)
                return;
        s->pumping = true;
        while (s->inflight < s->limit && !list_empty(&s->runnable)) {
                sched_client *c = list_entry(s->runnable.next, sched_client, link);
                list_del(&c->link);
                if (c->ops->start_one(c) > 0) {
                        s->inflight++;
                        if (c->ops->runnable(c))
                                list_add_tail(&s->runnable, &c->link);
                        continue;
                }
                /* Nothing started: its remaining files may all have failed
                 * to start, in which case it is over. May free it. */
                c->ops->idle(c);
        }
        s->pumping = false;
}
