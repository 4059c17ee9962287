/* SPDX-License-Identifier: MIT */
#pragma once

/* A bandwidth cap for work that runs on worker threads (local copies),
 * where the loop's token buckets (throttle.h) cannot be used: a virtual
 * clock under a mutex. Each chunk reserves its share of time at the rate;
 * the caller waits until its slot begins, so files copied at once share
 * the rate instead of each getting it whole. */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct pace {
        pthread_mutex_t lock;
        _Atomic uint64_t rate; /* bytes per second; 0: no cap (changed while copies run) */
        uint64_t next_ns;    /* CLOCK_MONOTONIC: when the next chunk may start */
        _Atomic uint64_t reserved; /* bytes reserved, capped or not: what moved or is about to */
} pace;

void pace_init(pace *p, uint64_t rate);
void pace_done(pace *p);
/* A new cap for copies that pace themselves from now on (0: none). Copies
 * that started uncapped stay so; the next file takes the cap. */
void pace_set_rate(pace *p, uint64_t rate);
/* n bytes are to move: the CLOCK_MONOTONIC time they may start at
 * (0: now, no cap). Any thread. */
uint64_t pace_reserve(pace *p, uint64_t n);
/* The chunk a capped copy should move at a time: a tenth of a second's
 * worth, 64 KiB to max. */
uint64_t pace_chunk(const pace *p, uint64_t max);
/* Sleep until CLOCK_MONOTONIC time t, in slices, giving up with
 * -ECANCELED once cancel is set. Worker threads only. */
int pace_wait_until(uint64_t t, const atomic_bool *cancel);
