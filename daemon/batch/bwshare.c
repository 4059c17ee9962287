/* SPDX-License-Identifier: MIT */
#include "bwshare.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "batch.h"
#include "batch_engine.h"
#include "macro.h"

/* A call that moved at least this part of its share wants more. */
#define BWSHARE_SATURATED 0.8
/* A call below that may grow by this much before the next look. */
#define BWSHARE_HEADROOM 1.5
/* Nobody's share falls below this (bytes/s): a call that was idle for a
 * period can start again. */
#define BWSHARE_FLOOR (64.0 * 1024)

void bwshare_fill(const double *weight, const double *demand, size_t n, double total, double *out) {
        bool *done = calloc(n ? n : 1, sizeof(bool));
        double left = total, wsum = 0;

        if (!done) {
                /* No room to be clever: by weight alone. */
                for (size_t i = 0; i < n; i++)
                        wsum += weight[i];
                for (size_t i = 0; i < n; i++)
                        out[i] = wsum > 0 ? total * weight[i] / wsum : 0;
                return;
        }
        for (size_t i = 0; i < n; i++)
                out[i] = 0;
        /* Those who want less than their share get what they want; the
         * rest is shared again among the others, until nobody is below. */
        for (;;) {
                bool changed = false;
                wsum = 0;
                for (size_t i = 0; i < n; i++)
                        if (!done[i])
                                wsum += weight[i];
                if (wsum <= 0)
                        break;
                for (size_t i = 0; i < n; i++)
                        if (!done[i] && demand[i] <= left * weight[i] / wsum) {
                                out[i] = demand[i];
                                done[i] = true;
                                changed = true;
                        }
                if (!changed) {
                        for (size_t i = 0; i < n; i++)
                                if (!done[i])
                                        out[i] = left * weight[i] / wsum;
                        left = 0;
                        break;
                }
                left = total;
                for (size_t i = 0; i < n; i++)
                        if (done[i])
                                left -= out[i];
        }
        /* Everyone is content: the spare goes round by weight. */
        if (left > 0) {
                wsum = 0;
                for (size_t i = 0; i < n; i++)
                        wsum += weight[i];
                for (size_t i = 0; i < n && wsum > 0; i++)
                        out[i] += left * weight[i] / wsum;
        }
        free(done);
}

static uint64_t moved(batch *b) {
        return b->bandwidth.moved + atomic_load(&b->local_pace.reserved);
}

static bool moving(const batch *b) {
        return b->inflight > 0 && !b->ended && !b->in.canceled && b->in.kind != TRANSFER_LIST;
}

/* The call's rate: its own cap, or lower while it has a share. */
static void apply(batch *b, double share) {
        uint64_t own = b->in.req.options.max_bandwidth;
        uint64_t rate = share > 0 ? (uint64_t) share : 0;
        if (rate && rate < 1024)
                rate = 1024;
        if (own && (!rate || own < rate))
                rate = own;
        b->bw_share = share > 0 ? (uint64_t) share : 0;
        /* Small changes are not worth restarting the buckets for. */
        uint64_t cur = b->bandwidth.rate;
        if (cur == rate || (cur && rate && (double) cur > 0.95 * (double) rate && (double) cur < 1.05 * (double) rate))
                return;
        throttle_set_rate(&b->bandwidth, rate);
        pace_set_rate(&b->local_pace, rate);
}

/* What b wants next: more than it has if it used most of it. */
static double demand(batch *b, double seconds) {
        uint64_t now = moved(b);
        double used = (double) (now - b->bw_mark) / seconds;
        b->bw_mark = now;
        double want = b->bw_share == 0 || used >= BWSHARE_SATURATED * (double) b->bw_share ? INFINITY
                                                                                       : used * BWSHARE_HEADROOM;
        if (want < BWSHARE_FLOOR)
                want = BWSHARE_FLOOR;
        uint64_t own = b->in.req.options.max_bandwidth;
        return own && (double) own < want ? (double) own : want;
}

typedef struct claim {
        batch *b;
        double weight, demand, out;
} claim;

/* Fill the users first (each by its heaviest call, wanting what its calls
 * want), then each user's calls from its part. */
static void share(claim *c, size_t n, double total) {
        /* Users' weights, demands and parts, then one user's calls'. */
        double *w = calloc(6 * n, sizeof(double));
        batch_share **user = calloc(n, sizeof(*user));
        size_t nu = 0;

        if (!w || !user) {
                for (size_t i = 0; i < n; i++)
                        c[i].out = total / (double) n;
                free(w);
                free(user);
                return;
        }
        double *d = w + n, *o = w + 2 * n, *cw = w + 3 * n, *cd = w + 4 * n, *co = w + 5 * n;
        for (size_t i = 0; i < n; i++) {
                size_t u = 0;
                while (u < nu && user[u] != c[i].b->share)
                        u++;
                if (u == nu)
                        user[nu++] = c[i].b->share;
                if (c[i].weight > w[u])
                        w[u] = c[i].weight;
                d[u] += c[i].demand;
        }
        bwshare_fill(w, d, nu, total, o);
        for (size_t u = 0; u < nu; u++) {
                size_t k = 0;
                for (size_t i = 0; i < n; i++)
                        if (c[i].b->share == user[u]) {
                                cw[k] = c[i].weight;
                                cd[k] = c[i].demand;
                                k++;
                        }
                bwshare_fill(cw, cd, k, o[u], co);
                k = 0;
                for (size_t i = 0; i < n; i++)
                        if (c[i].b->share == user[u])
                                c[i].out = co[k++];
        }
        free(w);
        free(user);
}

static void on_tick(delay_entry *t) {
        batch_engine *e = container_of(t, batch_engine, bw_tick);
        uint64_t now = uv_now(e->loop);
        double secs = now > e->bw_last ? (double) (now - e->bw_last) / 1000.0 : BWSHARE_PERIOD_MS / 1000.0;
        size_t n = 0, k = 0;
        list_node *i;

        e->bw_last = now;
        for (i = e->batches.next; i != &e->batches; i = i->next)
                n += moving(list_entry(i, batch, link));
        claim *c = n > 1 ? calloc(n, sizeof(*c)) : NULL;
        for (i = e->batches.next; i != &e->batches; i = i->next) {
                batch *b = list_entry(i, batch, link);
                if (!c || !moving(b)) {
                        /* Alone, or not moving: its own cap only, measured afresh. */
                        b->bw_mark = moved(b);
                        apply(b, 0);
                        continue;
                }
                c[k++] = (claim){ .b = b, .weight = b->sched.weight, .demand = demand(b, secs) };
        }
        if (c) {
                share(c, n, (double) e->cfg.max_bandwidth);
                for (k = 0; k < n; k++)
                        apply(c[k].b, c[k].out);
                free(c);
        }
        bwshare_update(e);
}

void bwshare_update(batch_engine *e) {
        if (e->cfg.max_bandwidth && e->n_batches > 0) {
                if (!list_linked(&e->bw_tick.link)) {
                        if (!e->bw_last)
                                e->bw_last = uv_now(e->loop);
                        delay_add(e->delay, &e->bw_tick, BWSHARE_PERIOD_MS, on_tick);
                }
                return;
        }
        delay_cancel(e->delay, &e->bw_tick);
        e->bw_last = 0;
        for (list_node *i = e->batches.next; i != &e->batches; i = i->next)
                apply(list_entry(i, batch, link), 0);
}

void bwshare_stop(batch_engine *e) {
        delay_cancel(e->delay, &e->bw_tick);
}
