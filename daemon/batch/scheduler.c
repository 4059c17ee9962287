/* SPDX-License-Identifier: MIT */
#include "scheduler.h"

/* Virtual time one start costs at weight 1; a weight w pays 1/w of it. */
#define SCHED_STRIDE (1u << 20)

void sched_group_init(sched_group *g) {
        *g = (sched_group){ .pass = 0 };
        list_init(&g->link);
        list_init(&g->clients);
}

void scheduler_init(scheduler *s, unsigned limit) {
        *s = (scheduler){ .limit = limit ? limit : 1 };
        list_init(&s->groups);
        sched_group_init(&s->own);
}

void sched_client_init(sched_client *c, const sched_ops *ops) {
        list_init(&c->link);
        c->ops = ops;
        c->group = NULL;
        c->weight = 1;
        c->pass = 0;
}

void sched_client_set(sched_client *c, sched_group *g, unsigned weight) {
        c->group = g;
        c->weight = weight < 1 ? 1 : weight > SCHED_WEIGHT_MAX ? SCHED_WEIGHT_MAX : weight;
}

static sched_group *group_of(scheduler *s, const sched_client *c) {
        return c->group ? c->group : &s->own;
}

void scheduler_add(scheduler *s, sched_client *c) {
        sched_group *g = group_of(s, c);

        if (list_linked(&c->link))
                return;
        if (list_empty(&g->clients)) {
                /* Back after a pause: no credit for the time it was away. */
                if (g->pass < s->vtime)
                        g->pass = s->vtime;
                list_add_tail(&s->groups, &g->link);
        }
        if (c->pass < g->vtime)
                c->pass = g->vtime;
        list_add_tail(&g->clients, &c->link);
}

void scheduler_remove(scheduler *s, sched_client *c) {
        sched_group *g = group_of(s, c);

        if (!list_linked(&c->link))
                return;
        list_del(&c->link);
        if (list_empty(&g->clients))
                list_del(&g->link);
}

void scheduler_release(scheduler *s) {
        if (s->inflight > 0)
                s->inflight--;
}

/* The waiting group of least pass; the first of equals, so with equal
 * weights the one served longest ago. */
static sched_group *pick_group(scheduler *s) {
        sched_group *best = NULL;

        for (list_node *n = s->groups.next; n != &s->groups; n = n->next) {
                sched_group *g = list_entry(n, sched_group, link);
                if (!best || g->pass < best->pass)
                        best = g;
        }
        return best;
}

static sched_client *pick_client(sched_group *g, unsigned *ret_weight) {
        sched_client *best = NULL;
        unsigned w = 1;

        for (list_node *n = g->clients.next; n != &g->clients; n = n->next) {
                sched_client *c = list_entry(n, sched_client, link);
                if (!best || c->pass < best->pass)
                        best = c;
                if (c->weight > w)
                        w = c->weight;
        }
        *ret_weight = w;
        return best;
}

/* A client of g started a file: both pay for it. */
static void charge(scheduler *s, sched_group *g, unsigned group_weight, sched_client *c) {
        s->vtime = g->pass;
        g->pass += SCHED_STRIDE / group_weight;
        g->vtime = c->pass;
        c->pass += SCHED_STRIDE / c->weight;
}

void scheduler_pump(scheduler *s) {
        if (s->pumping)
                return;
        s->pumping = true;
        while (s->inflight < s->limit && !list_empty(&s->groups)) {
                unsigned w;
                sched_group *g = pick_group(s);
                sched_client *c = pick_client(g, &w);

                scheduler_remove(s, c);
                if (c->ops->start_one(c) > 0) {
                        s->inflight++;
                        charge(s, g, w, c);
                        if (c->ops->runnable(c))
                                scheduler_add(s, c);
                        continue;
                }
                /* Nothing started: its remaining files may all have failed
                 * to start, in which case it is over. May free it. */
                c->ops->idle(c);
        }
        s->pumping = false;
}
