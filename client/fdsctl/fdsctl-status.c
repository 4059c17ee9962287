/* SPDX-License-Identifier: MIT */
/* fdsctl status: the daemon's state, for people or as JSON. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fdsctl.h"

/* "12.3 GiB": binary units, one decimal above bytes. */
const char *human_bytes(uint64_t v, char buf[static 32]) {
        static const char units[][4] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        double d = (double) v;
        unsigned u = 0;

        while (d >= 1024 && u < 5) {
                d /= 1024;
                u++;
        }
        snprintf(buf, 32, "%.*f %s", u ? 1 : 0, d, units[u]);
        return buf;
}

/* "3d 04h 05m 06s", leaving out leading zero units. */
const char *human_duration(double seconds, char buf[static 48]) {
        uint64_t s = seconds > 0 ? (uint64_t) seconds : 0;
        uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;

        if (d)
                snprintf(buf, 48, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", d, h, m, s % 60);
        else if (h)
                snprintf(buf, 48, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", h, m, s % 60);
        else if (m)
                snprintf(buf, 48, "%" PRIu64 "m %02" PRIu64 "s", m, s % 60);
        else
                snprintf(buf, 48, "%" PRIu64 "s", s);
        return buf;
}

static int print_json(const fds_status *st) {
        json_t *o = json_pack("{s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                              "version", st->version, "uptime_seconds", st->uptime_seconds,
                              "connections", (json_int_t) st->connections,
                              "connections_total", (json_int_t) st->connections_total,
                              "batches", (json_int_t) st->batches,
                              "batches_total", (json_int_t) st->batches_total,
                              "files_in_flight", (json_int_t) st->files_in_flight,
                              "files_queued", (json_int_t) st->files_queued,
                              "files_ok", (json_int_t) st->files_ok,
                              "files_failed", (json_int_t) st->files_failed,
                              "bytes", (json_int_t) st->bytes,
                              "bytes_per_second", (json_int_t) st->bytes_per_second,
                              "s3_requests", (json_int_t) st->s3_requests,
                              "retries", (json_int_t) st->retries,
                              "calls_failed", (json_int_t) st->calls_failed);
        int r;

        if (!o)
                return -ENOMEM;
        r = json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
        json_decref(o);
        if (r < 0)
                return -EIO;
        fputc('\n', stdout);
        return 0;
}

int status_print(const fds_status *st, bool json) {
        char up[48], moved[32], rate[32];
        int r = 0;

        if (json)
                r = print_json(st);
        else
                printf("fdsd %s, up %s\n"
                       "connections:  %" PRIu64 " (%" PRIu64 " since start)\n"
                       "batches:      %" PRIu64 " running (%" PRIu64 " since start)\n"
                       "files:        %" PRIu64 " in flight, %" PRIu64 " queued; %" PRIu64 " ok, %" PRIu64
                       " failed since start\n"
                       "moved:        %s, %s/s now\n"
                       "s3 requests:  %" PRIu64 " (%" PRIu64 " retried)\n"
                       "calls failed: %" PRIu64 "\n",
                       st->version, human_duration(st->uptime_seconds, up), st->connections,
                       st->connections_total, st->batches, st->batches_total, st->files_in_flight,
                       st->files_queued, st->files_ok, st->files_failed, human_bytes(st->bytes, moved),
                       human_bytes(st->bytes_per_second, rate), st->s3_requests, st->retries, st->calls_failed);
        if (r < 0 || fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "fdsctl: cannot write the status: %s\n", r < 0 ? strerror(-r) : strerror(errno));
                return r < 0 ? r : -EIO;
        }
        return 0;
}
