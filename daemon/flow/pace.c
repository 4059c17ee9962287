/* SPDX-License-Identifier: MIT */
#include "pace.h"

#include <errno.h>
#include <time.h>

#define NS 1000000000ULL
#define SLICE_NS (50ULL * 1000 * 1000)

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * NS + (uint64_t) ts.tv_nsec;
}

void pace_init(pace *p, uint64_t rate) {
        pthread_mutex_init(&p->lock, NULL);
        atomic_init(&p->rate, rate);
        atomic_init(&p->reserved, 0);
        p->next_ns = 0;
}

void pace_set_rate(pace *p, uint64_t rate) {
        pthread_mutex_lock(&p->lock);
        p->rate = rate;
        /* Slots reserved at the old rate are not carried over. */
        p->next_ns = 0;
        pthread_mutex_unlock(&p->lock);
}

void pace_done(pace *p) {
        pthread_mutex_destroy(&p->lock);
}

uint64_t pace_reserve(pace *p, uint64_t n) {
        if (!p)
                return 0;
        atomic_fetch_add(&p->reserved, n);
        if (p->rate == 0)
                return 0;
        uint64_t now = now_ns();
        pthread_mutex_lock(&p->lock);
        uint64_t rate = p->rate;
        if (rate == 0) {
                pthread_mutex_unlock(&p->lock);
                return 0;
        }
        /* Idle time is not saved up: a burst after a pause starts now. */
        uint64_t start = p->next_ns > now ? p->next_ns : now;
        p->next_ns = start + (uint64_t) ((double) n * NS / (double) rate);
        pthread_mutex_unlock(&p->lock);
        return start;
}

uint64_t pace_chunk(const pace *p, uint64_t max) {
        if (!p || p->rate == 0)
                return max;
        uint64_t c = atomic_load(&p->rate) / 10;
        if (c < 64 * 1024)
                c = 64 * 1024;
        return c < max ? c : max;
}

int pace_wait_until(uint64_t t, const atomic_bool *cancel) {
        for (;;) {
                if (cancel && atomic_load(cancel))
                        return -ECANCELED;
                uint64_t now = now_ns();
                if (now >= t)
                        return 0;
                uint64_t d = t - now < SLICE_NS ? t - now : SLICE_NS;
                struct timespec ts = { .tv_sec = (time_t) (d / NS), .tv_nsec = (long) (d % NS) };
                nanosleep(&ts, NULL);
        }
}
