/* SPDX-License-Identifier: MIT */
#pragma once

/* Deferred callbacks (retry back-off) on one shared uv_timer, so a job
 * that waits needs no handle of its own and can be freed at any time
 * after delay_cancel(). */

#include <stdint.h>
#include <uv.h>

#include "list.h"

typedef struct delay_entry delay_entry;
typedef void (*delay_fn)(delay_entry *e);

struct delay_entry {
        list_node link;
        uint64_t due;   /* uv_now() milliseconds */
        delay_fn fn;
};

typedef struct delay_queue {
        uv_timer_t timer;   /* timer.data points back */
        list_node entries;  /* sorted by due */
        bool closing;
} delay_queue;

int delay_init(delay_queue *q, uv_loop_t *loop);
/* Entries still queued are dropped without being called. */
void delay_close(delay_queue *q);
/* Call fn from the loop after ms milliseconds. e must stay valid until it
 * runs or is canceled. */
void delay_add(delay_queue *q, delay_entry *e, uint64_t ms, delay_fn fn);
void delay_cancel(delay_queue *q, delay_entry *e);
