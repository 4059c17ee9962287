/* SPDX-License-Identifier: MIT */
#pragma once

/* Daemon-wide scheduling of files in flight: at most `limit` at once,
 * shared fairly first between groups (users) and then between the clients
 * (calls) of a group, by weight (the call's priority): stride scheduling,
 * so with equal weights it is round-robin, and a 100,000-file batch cannot
 * starve a one-file call, nor one user's ten calls another user's one.
 * A client or group that had nothing to start for a while gets no credit
 * for it: it comes back at the current virtual time, first in line.
 * It knows nothing of batches: a client is anything that embeds a
 * sched_client and answers its three questions. */

#include <stdbool.h>
#include <stdint.h>

#include "list.h"

typedef struct sched_client sched_client;

typedef struct sched_ops {
        /* Start one more file: 1 started, 0 nothing to start. */
        int (*start_one)(sched_client *c);
        /* Could it start one now? */
        bool (*runnable)(const sched_client *c);
        /* It was picked and started nothing: it may be over (and freed). */
        void (*idle)(sched_client *c);
} sched_ops;

/* The calls of one user. It must outlive its clients' time in the
 * scheduler (it is linked only while one of them waits). */
typedef struct sched_group {
        list_node link;     /* in scheduler.groups while a client waits */
        list_node clients;  /* its clients waiting for a slot */
        uint64_t pass;      /* virtual time of its next start */
        uint64_t vtime;     /* its clients': the pass of the last started */
} sched_group;

#define SCHED_WEIGHT_MAX 100

struct sched_client {
        list_node link;       /* in its group's clients while it waits */
        const sched_ops *ops;
        sched_group *group;   /* NULL: the scheduler's own */
        unsigned weight;      /* 1..SCHED_WEIGHT_MAX; the group's weight is its heaviest waiting client's */
        uint64_t pass;
};

typedef struct scheduler {
        list_node groups;     /* groups with clients that may start files */
        sched_group own;      /* of clients without a group */
        uint64_t vtime;       /* the pass of the group picked last */
        unsigned limit;
        unsigned inflight;
        bool pumping;
} scheduler;

void scheduler_init(scheduler *s, unsigned limit);
void sched_group_init(sched_group *g);
/* Weight 1, no group. */
void sched_client_init(sched_client *c, const sched_ops *ops);
/* Before it is first added: its group (NULL: none) and weight. */
void sched_client_set(sched_client *c, sched_group *g, unsigned weight);
/* Start files while there is room; called after anything that may free
 * room or add work. Safe to call from inside a completion. */
void scheduler_pump(scheduler *s);
void scheduler_add(scheduler *s, sched_client *c);
void scheduler_remove(scheduler *s, sched_client *c);
/* A file of some client finished. */
void scheduler_release(scheduler *s);
