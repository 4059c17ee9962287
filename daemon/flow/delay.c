/* SPDX-License-Identifier: MIT */
#include "delay.h"

static void on_timer(uv_timer_t *t);

static void delay_arm(delay_queue *q) {
        if (q->closing)
                return;
        if (list_empty(&q->entries)) {
                uv_timer_stop(&q->timer);
                return;
        }
        delay_entry *first = list_entry(q->entries.next, delay_entry, link);
        uint64_t now = uv_now(q->timer.loop);
        uv_timer_start(&q->timer, on_timer, first->due > now ? first->due - now : 0, 0);
}

static void on_timer(uv_timer_t *t) {
        delay_queue *q = t->data;
        uint64_t now = uv_now(t->loop);

        /* An entry's callback may add or cancel others, so take one at a
         * time from the head. */
        while (!q->closing && !list_empty(&q->entries)) {
                delay_entry *e = list_entry(q->entries.next, delay_entry, link);
                if (e->due > now)
                        break;
                list_del(&e->link);
                e->fn(e);
        }
        delay_arm(q);
}

int delay_init(delay_queue *q, uv_loop_t *loop) {
        *q = (delay_queue){ 0 };
        list_init(&q->entries);
        int r = uv_timer_init(loop, &q->timer);
        if (r < 0)
                return r;
        q->timer.data = q;
        /* A stopped timer does not keep the loop alive; an armed one must,
         * or a stopping daemon could exit under a job waiting to retry. */
        return 0;
}

void delay_close(delay_queue *q) {
        list_node *n, *t;
        if (q->closing)
                return;
        q->closing = true;
        list_for_each_safe(n, t, &q->entries)
                list_del(n);
        uv_close((uv_handle_t *) &q->timer, NULL);
}

void delay_add(delay_queue *q, delay_entry *e, uint64_t ms, delay_fn fn) {
        list_node *n;

        e->due = uv_now(q->timer.loop) + ms;
        e->fn = fn;
        for (n = q->entries.next; n != &q->entries; n = n->next)
                if (list_entry(n, delay_entry, link)->due > e->due)
                        break;
        /* Insert before n (the first later entry, or the head). */
        list_add_tail(n, &e->link);
        delay_arm(q);
}

void delay_cancel(delay_queue *q, delay_entry *e) {
        if (!list_linked(&e->link))
                return;
        list_del(&e->link);
        delay_arm(q);
}
