/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One health state per S3 endpoint, shared by every call on the node.
 *
 * After S3_HEALTH_SUSPECT_AFTER outage failures in a row (no answer, or
 * 500/502/503/504), node-wide, on an endpoint that has answered before (one
 * that never did is misconfigured, not down: its requests fail after their
 * attempts, as ever), the endpoint is suspect: calls stop trying
 * it and wait, and the endpoint sends a probe of its own (an unsigned
 * GET /: any answer but an outage says it serves). If the probe is
 * answered, the failures were the requests' own (one object that keeps
 * failing): the waiters go on spending their attempts. If not, the
 * endpoint is down: probes follow with full-jitter back-off, and the first
 * answer wakes every waiter to try again, their attempts untouched. So a
 * 30 s brownout costs a few probes, not every file's attempts (botocore's
 * retry quota and aws-c-s3's retry token bucket, node-wide). A waiter
 * gives up at its deadline. Loop thread only.
 */

#include <stdbool.h>
#include <stdint.h>

#include "delay.h"
#include "http.h"
#include "list.h"

typedef struct s3_health s3_health;
typedef struct s3_endpoint s3_endpoint;
typedef struct s3_health_waiter s3_health_waiter;

typedef enum s3_health_wake {
        S3_HEALTH_UP,        /* the endpoint was down and answers again: try, no attempt spent */
        S3_HEALTH_OWN,       /* the endpoint serves: the failure was the request's own */
        S3_HEALTH_EXPIRED,   /* the deadline passed while waiting */
} s3_health_wake;

struct s3_health_waiter {
        list_node link;
        uint64_t deadline;   /* uv_now() ms */
        void (*fn)(s3_health_waiter *w, s3_health_wake why);
};

#define S3_HEALTH_SUSPECT_AFTER 3

typedef struct s3_health_stats {
        uint64_t probes;
        uint64_t outages;    /* times an endpoint was found down */
} s3_health_stats;

int s3_health_new(http_client *http, delay_queue *delay, s3_health **ret);
/* After the http client has closed (no probe can be in flight). */
s3_health *s3_health_free(s3_health *h);
const s3_health_stats *s3_health_stats_get(const s3_health *h);

/* The state of an endpoint ("http://127.0.0.1:7480") as requests trusting
 * ca_bundle (NULL: the daemon's trust store) reach it, made on first use;
 * NULL when out of memory (calls then go on without). */
s3_endpoint *s3_health_get(s3_health *h, const char *endpoint, const char *ca_bundle);

/* Suspect or down: a call waits instead of trying. */
bool s3_endpoint_waiting(const s3_endpoint *e);
/* uv_now() ms of the first failure of the current run of outage failures
 * (0: none). A time budget counts from here too, so once an outage has
 * lasted longer than it, new requests fail at once instead of each
 * waiting anew. */
uint64_t s3_endpoint_failing_since(const s3_endpoint *e);
/* A request got an answer that is no outage. */
void s3_endpoint_ok(s3_endpoint *e);
/* A request got no answer, or 500/502/503/504. */
void s3_endpoint_failed(s3_endpoint *e);
/* Wait until the endpoint's state is known or w's deadline; w->fn runs
 * later, from the loop. */
void s3_endpoint_wait(s3_endpoint *e, s3_health_waiter *w);
void s3_endpoint_cancel_wait(s3_endpoint *e, s3_health_waiter *w);
