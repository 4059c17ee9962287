/* SPDX-License-Identifier: MIT */
#pragma once

/* Daemon-wide scheduling of files in flight: at most `limit` at once,
 * handed out round-robin between the batches that have work, so a
 * 100,000-file batch cannot starve a one-file call of another client. */

#include <stdbool.h>

#include "list.h"

typedef struct batch batch;

typedef struct scheduler {
        list_node runnable;   /* batches that may start files */
        unsigned limit;
        unsigned inflight;
        bool pumping;
} scheduler;

void scheduler_init(scheduler *s, unsigned limit);
/* Start files while there is room; called after anything that may free
 * room or add work. Safe to call from inside a completion. */
void scheduler_pump(scheduler *s);
void scheduler_add(scheduler *s, batch *b);
void scheduler_remove(scheduler *s, batch *b);
/* A file of some batch finished. */
void scheduler_release(scheduler *s);
