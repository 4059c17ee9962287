/* SPDX-License-Identifier: MIT */
#include "s3_health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define PROBE_BASE_MS 200
#define PROBE_CAP_MS 4000

typedef enum ep_state {
        EP_UP,
        EP_SUSPECT,     /* a probe decides */
        EP_DOWN,
} ep_state;

struct s3_endpoint {
        s3_health *h;
        list_node link;         /* in h->endpoints */
        char *url;              /* of the probe: the endpoint's "/" */
        char *ca_bundle;        /* what its requests trust over TLS; NULL: the daemon's */
        bool answered;          /* ever: an endpoint that never did is not "down" but wrong */
        unsigned failures;      /* outage failures since the last answer */
        uint64_t since;         /* when the first of them came */
        ep_state state;
        http_request *probe;    /* in flight */
        unsigned probes;        /* failed probes since the last answer: the back-off */
        list_node waiters;
        s3_health_wake woken;   /* why waiters wake once it is up */
        delay_entry timer;      /* the next probe, deadline or wake-up */
};

struct s3_health {
        http_client *http;
        delay_queue *delay;
        list_node endpoints;
        uint64_t rng;
        s3_health_stats stats;
};

int s3_health_new(http_client *http, delay_queue *delay, s3_health **ret) {
        s3_health *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->http = http;
        h->delay = delay;
        list_init(&h->endpoints);
        if (getrandom(&h->rng, sizeof(h->rng), GRND_NONBLOCK) != sizeof(h->rng))
                h->rng = (uint64_t) time(NULL) * 0x9e3779b97f4a7c15ULL;
        h->rng |= 1;
        *ret = h;
        return 0;
}

s3_health *s3_health_free(s3_health *h) {
        if (!h)
                return NULL;
        list_node *n, *t;
        list_for_each_safe(n, t, &h->endpoints) {
                s3_endpoint *e = list_entry(n, s3_endpoint, link);
                delay_cancel(h->delay, &e->timer);
                list_del(&e->link);
                free(e->url);
                free(e->ca_bundle);
                free(e);
        }
        free(h);
        return NULL;
}

const s3_health_stats *s3_health_stats_get(const s3_health *h) {
        return &h->stats;
}

static bool same_bundle(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

s3_endpoint *s3_health_get(s3_health *h, const char *endpoint, const char *ca_bundle) {
        list_node *n, *t;
        char *url;
        list_for_each_safe(n, t, &h->endpoints) {
                s3_endpoint *e = list_entry(n, s3_endpoint, link);
                if (strncmp(e->url, endpoint, strlen(endpoint)) == 0 && strcmp(e->url + strlen(endpoint), "/") == 0 &&
                    same_bundle(e->ca_bundle, ca_bundle))
                        return e;
        }
        s3_endpoint *e = calloc(1, sizeof(*e));
        if (!e || asprintf(&url, "%s/", endpoint) < 0) {
                free(e);
                return NULL;
        }
        if (ca_bundle && !(e->ca_bundle = strdup(ca_bundle))) {
                free(url);
                free(e);
                return NULL;
        }
        e->url = url;
        e->h = h;
        e->woken = S3_HEALTH_OWN;
        list_init(&e->waiters);
        list_init(&e->timer.link);
        list_add_tail(&h->endpoints, &e->link);
        return e;
}

bool s3_endpoint_waiting(const s3_endpoint *e) {
        return e->state != EP_UP;
}

uint64_t s3_endpoint_failing_since(const s3_endpoint *e) {
        return e->failures ? e->since : 0;
}

static uint64_t jitter(s3_health *h, uint64_t cap) {
        h->rng ^= h->rng << 13;
        h->rng ^= h->rng >> 7;
        h->rng ^= h->rng << 17;
        return h->rng % (cap + 1);
}

static uint64_t now_ms(s3_endpoint *e) {
        return uv_now(e->h->delay->timer.loop);
}

static void on_timer(delay_entry *d);

static void arm(s3_endpoint *e, uint64_t ms) {
        delay_cancel(e->h->delay, &e->timer);
        delay_add(e->h->delay, &e->timer, ms, on_timer);
}

/* Move every waiter (or only the expired ones) to a list of the caller's. */
static void take(s3_endpoint *e, list_node *to, bool expired_only) {
        uint64_t now = now_ms(e);
        list_node *n, *t;
        list_init(to);
        list_for_each_safe(n, t, &e->waiters) {
                s3_health_waiter *w = list_entry(n, s3_health_waiter, link);
                if (!expired_only || w->deadline <= now) {
                        list_del(&w->link);
                        list_add_tail(to, &w->link);
                }
        }
}

/* A callback may start, cancel or park other calls: it only ever touches
 * the head taken next, or the endpoint's own list. */
static void wake_all(list_node *l, s3_health_wake why) {
        while (!list_empty(l)) {
                s3_health_waiter *w = list_entry(l->next, s3_health_waiter, link);
                list_del(&w->link);
                w->fn(w, why);
        }
}

/* The timer: the next probe when down, else the soonest deadline. */
static void schedule(s3_endpoint *e) {
        uint64_t ms = UINT64_MAX, now = now_ms(e);
        if (e->state == EP_UP && !list_empty(&e->waiters))
                ms = 0;
        else if (e->state == EP_SUSPECT && !e->probe)
                ms = 0;
        else if (e->state == EP_DOWN && !e->probe && !list_empty(&e->waiters)) {
                uint64_t cap = (uint64_t) PROBE_BASE_MS << (e->probes < 8 ? e->probes : 8);
                ms = PROBE_BASE_MS / 2 + jitter(e->h, cap > PROBE_CAP_MS ? PROBE_CAP_MS : cap);
        }
        list_node *n, *t;
        list_for_each_safe(n, t, &e->waiters) {
                s3_health_waiter *w = list_entry(n, s3_health_waiter, link);
                uint64_t d = w->deadline > now ? w->deadline - now : 0;
                if (d < ms)
                        ms = d;
        }
        if (ms == UINT64_MAX)
                delay_cancel(e->h->delay, &e->timer);
        else
                arm(e, ms);
}

/* The endpoint answers: everyone wakes (from the timer, never from inside
 * a call's callback), told whether it had been down. */
static void set_up(s3_endpoint *e) {
        ep_state was = e->state;
        e->answered = true;
        e->state = EP_UP;
        e->failures = 0;
        e->probes = 0;
        if (was == EP_UP)
                return;
        e->woken = was == EP_DOWN ? S3_HEALTH_UP : S3_HEALTH_OWN;
        schedule(e);
}

static void on_probe_done(http_request *req, const http_result *res, void *userdata) {
        s3_endpoint *e = userdata;
        e->probe = NULL;
        if (res->error == -ECANCELED)
                return; /* the client is closing */
        bool outage = res->status == 0 || res->status == 500 || res->status == 502 || res->status == 503 ||
                      res->status == 504;
        if (!outage) {
                set_up(e);
                return;
        }
        if (e->state != EP_DOWN)
                e->h->stats.outages++;
        e->state = EP_DOWN;
        e->woken = S3_HEALTH_UP;
        e->probes++;
        schedule(e);
}

static void probe_start(s3_endpoint *e) {
        /* GET, its small body read and dropped: RGW answers HEAD / with a
         * body, which would poison the connection for the next request. */
        http_request_opts o = {
                .method = HTTP_GET,
                .url = e->url,
                .on_done = on_probe_done,
                .userdata = e,
                .ca_bundle = e->ca_bundle,
        };
        e->h->stats.probes++;
        if (http_request_start(e->h->http, &o, &e->probe) < 0) {
                /* Out of memory: let the calls go on as if it served. */
                e->probe = NULL;
                set_up(e);
        }
}

static void on_timer(delay_entry *d) {
        s3_endpoint *e = (s3_endpoint *) ((char *) d - offsetof(s3_endpoint, timer));
        list_node l;

        take(e, &l, true);
        wake_all(&l, S3_HEALTH_EXPIRED);
        if (e->state == EP_UP) {
                take(e, &l, false);
                wake_all(&l, e->woken);
        } else if (!e->probe && (e->state == EP_SUSPECT || !list_empty(&e->waiters)))
                probe_start(e);
        schedule(e);
}

void s3_endpoint_ok(s3_endpoint *e) {
        set_up(e);
}

void s3_endpoint_failed(s3_endpoint *e) {
        if (e->failures == 0)
                e->since = now_ms(e);
        if (++e->failures >= S3_HEALTH_SUSPECT_AFTER && e->state == EP_UP && e->answered) {
                e->state = EP_SUSPECT;
                schedule(e);
        }
}

void s3_endpoint_wait(s3_endpoint *e, s3_health_waiter *w) {
        list_add_tail(&e->waiters, &w->link);
        schedule(e);
}

void s3_endpoint_cancel_wait(s3_endpoint *e, s3_health_waiter *w) {
        list_del(&w->link);
        schedule(e);
}
