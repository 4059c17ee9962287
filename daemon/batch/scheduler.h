/* SPDX-License-Identifier: MIT */
#pragma once

/* Daemon-wide scheduling of files in flight: at most `limit` at once,
 * handed out round-robin between the clients (batches) that have work, so
 * a 100,000-file batch cannot starve a one-file call of another client.
 * It knows nothing of batches: a client is anything that embeds a
 * sched_client and answers its three questions. */

#include <stdbool.h>

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

struct sched_client {
        list_node link;       /* in runnable while it waits for a slot */
        const sched_ops *ops;
};

typedef struct scheduler {
        list_node runnable;   /* clients that may start files */
        unsigned limit;
        unsigned inflight;
        bool pumping;
} scheduler;

void scheduler_init(scheduler *s, unsigned limit);
void sched_client_init(sched_client *c, const sched_ops *ops);
/* Start files while there is room; called after anything that may free
 * room or add work. Safe to call from inside a completion. */
void scheduler_pump(scheduler *s);
void scheduler_add(scheduler *s, sched_client *c);
void scheduler_remove(scheduler *s, sched_client *c);
/* A file of some client finished. */
void scheduler_release(scheduler *s);
