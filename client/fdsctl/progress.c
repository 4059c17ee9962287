/* SPDX-License-Identifier: MIT */
/* The progress line of a batch: files done/total, bytes, rate. */
#include <stdio.h>
#include <time.h>

#include "fdsctl.h"

/* Redraw at most this often; the last file always redraws. */
#define PROGRESS_INTERVAL 0.1

double progress_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void progress_human(double v, char *buf, size_t size) {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        size_t u = 0;

        while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1024;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%.0f %s", v, units[u]);
        else
                snprintf(buf, size, "%.1f %s", v, units[u]);
}

static void progress_draw(progress *p, double now) {
        double elapsed = now - p->started;
        char bytes[32], rate[32];

        progress_human((double) p->bytes, bytes, sizeof(bytes));
        progress_human(elapsed > 0 ? (double) p->bytes / elapsed : 0, rate, sizeof(rate));
        /* \r and erase-to-end-of-line: the line is replaced, not appended. */
        fprintf(stderr, "\r\033[K%zu/%zu files, %s, %s/s", p->done, p->total, bytes, rate);
        fflush(stderr);
        p->drawn = now;
}

void progress_init(progress *p, size_t total, bool enabled) {
        *p = (progress){.enabled = enabled, .total = total, .started = progress_now()};
        if (p->enabled)
                progress_draw(p, p->started);
}

void progress_file_done(progress *p, uint64_t bytes) {
        double now;

        p->done++;
        p->bytes += bytes;
        if (!p->enabled)
                return;
        now = progress_now();
        if (p->done == p->total || p->drawn == 0 || now - p->drawn >= PROGRESS_INTERVAL)
                progress_draw(p, now);
}

void progress_clear(progress *p) {
        if (!p->enabled || p->drawn == 0)
                return;
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
}
