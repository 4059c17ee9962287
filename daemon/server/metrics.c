/* SPDX-License-Identifier: MIT */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "macro.h"
#include "s3_client.h"
#include "status.h"

static const char *const method_names[METRICS_METHODS] = {
        [TRANSFER_COPY] = "copy",
        [TRANSFER_SIZE] = "size",
        [TRANSFER_READ] = "read",
        [TRANSFER_LIST] = "list",
};

static const char *const outcome_names[_METRICS_OUTCOME_MAX] = {
        [METRICS_OUTCOME_OK] = "ok",
        [METRICS_OUTCOME_INVALID_REQUEST] = "invalid_request",
        [METRICS_OUTCOME_READ_LIMIT] = "read_limit",
        [METRICS_OUTCOME_CANCELED] = "canceled",
        [METRICS_OUTCOME_DISCONNECTED] = "disconnected",
        [METRICS_OUTCOME_INVALID_PARAMETER] = "invalid_parameter",
};

/* Prometheus' default buckets, and two more for calls of many files. */
static const double bounds[METRICS_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                1,     2.5,  5,     10,   30,  60 };

_Static_assert(TRANSFER_LIST + 1 == METRICS_METHODS, "one row of counters per transfer_op");

void metrics_init(metrics_counters *m) {
        struct timespec ts;

        *m = (metrics_counters){ 0 };
        if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
                m->start_time = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void metrics_file_done(metrics_counters *m, transfer_op op, fds_code code, uint64_t bytes) {
        if ((unsigned) op >= METRICS_METHODS)
                return;
        m->files[op][(unsigned) code < _FDS_CODE_MAX ? code : FDS_CODE_INTERNAL]++;
        m->bytes[op] += bytes;
}

void metrics_call_end(metrics_counters *m, transfer_op op, metrics_outcome outcome, uint64_t ns) {
        double s = (double) ns / 1e9;
        size_t i = 0;

        if ((unsigned) op >= METRICS_METHODS || (unsigned) outcome >= _METRICS_OUTCOME_MAX)
                return;
        m->calls[op][outcome]++;
        while (i < METRICS_BUCKETS && s > bounds[i])
                i++;
        m->duration[op][i]++;
        m->duration_sum[op] += s;
}

void metrics_call_refused(metrics_counters *m, transfer_op op) {
        if ((unsigned) op < METRICS_METHODS)
                m->calls[op][METRICS_OUTCOME_INVALID_PARAMETER]++;
}

/* ---- the text format ---- */

typedef struct label {
        const char *name;
        const char *value;
} label;

static void put_help(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with backslash, double quote and line feed escaped, as
 * the format asks. */
static void put_escaped(FILE *f, const char *s) {
        for (; *s; s++)
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
}

static void put_series(FILE *f, const char *name, const char *suffix, const label *l, size_t n) {
        fprintf(f, "%s%s", name, suffix);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "%s%s=\"", i ? "," : "{", l[i].name);
                put_escaped(f, l[i].value);
                fputc('"', f);
        }
        fputs(n ? "} " : " ", f);
}

static void put_u(FILE *f, const char *name, const label *l, size_t n, uint64_t v) {
        put_series(f, name, "", l, n);
        fprintf(f, "%" PRIu64 "\n", v);
}

static void put_d(FILE *f, const char *name, const label *l, size_t n, double v) {
        put_series(f, name, "", l, n);
        fprintf(f, "%.6f\n", v);
}

static void render_files(FILE *f, const metrics_counters *m) {
        put_help(f, "fds_files_total", "counter",
                 "Files finished, by method and result (ok or the error code).");
        for (size_t op = 0; op < METRICS_METHODS; op++)
                for (size_t c = 0; c < _FDS_CODE_MAX; c++) {
                        label l[] = { { "method", method_names[op] },
                                      { "result", c == FDS_CODE_OK ? "ok" : fds_code_name((fds_code) c) } };
                        put_u(f, "fds_files_total", l, ELEMENTSOF(l), m->files[op][c]);
                }
        put_help(f, "fds_bytes_total", "counter",
                 "Bytes of the files finished ok, by method (Size moves none).");
        for (size_t op = 0; op < METRICS_METHODS; op++)
                put_u(f, "fds_bytes_total", (label[]){ { "method", method_names[op] } }, 1, m->bytes[op]);
}

static void render_calls(FILE *f, const metrics_counters *m) {
        static const char hist[] = "fds_call_duration_seconds";
        char le[32];

        put_help(f, "fds_calls_total", "counter", "Calls ended, by method and outcome.");
        for (size_t op = 0; op < METRICS_METHODS; op++)
                for (size_t o = 0; o < _METRICS_OUTCOME_MAX; o++) {
                        label l[] = { { "method", method_names[op] }, { "outcome", outcome_names[o] } };
                        put_u(f, "fds_calls_total", l, ELEMENTSOF(l), m->calls[op][o]);
                }
        put_help(f, hist, "histogram", "Time from the start of a call to its last reply, by method.");
        for (size_t op = 0; op < METRICS_METHODS; op++) {
                uint64_t cum = 0;
                for (size_t i = 0; i <= METRICS_BUCKETS; i++) {
                        cum += m->duration[op][i];
                        if (i < METRICS_BUCKETS)
                                snprintf(le, sizeof(le), "%g", bounds[i]);
                        label l[] = { { "method", method_names[op] },
                                      { "le", i < METRICS_BUCKETS ? le : "+Inf" } };
                        put_series(f, hist, "_bucket", l, ELEMENTSOF(l));
                        fprintf(f, "%" PRIu64 "\n", cum);
                }
                label l[] = { { "method", method_names[op] } };
                put_series(f, hist, "_sum", l, 1);
                fprintf(f, "%.6f\n", m->duration_sum[op]);
                put_series(f, hist, "_count", l, 1);
                fprintf(f, "%" PRIu64 "\n", cum);
        }
}

static void render_s3(FILE *f, const s3_stats *s) {
        char status[8];

        put_help(f, "fds_s3_requests_total", "counter",
                 "S3 requests answered, by operation and HTTP status (error: no answer arrived).");
        for (size_t op = 0; s && op < _S3_OP_MAX; op++) {
                const s3_op_stats *o = &s->ops[op];
                for (size_t i = 0; i < S3_STATS_STATUSES && o->by_status[i].n; i++) {
                        snprintf(status, sizeof(status), "%u", (unsigned) o->by_status[i].status);
                        label l[] = { { "operation", s3_op_name((s3_op) op) },
                                      { "status", o->by_status[i].status ? status : "error" } };
                        put_u(f, "fds_s3_requests_total", l, ELEMENTSOF(l), o->by_status[i].n);
                }
                if (o->other) {
                        label l[] = { { "operation", s3_op_name((s3_op) op) }, { "status", "other" } };
                        put_u(f, "fds_s3_requests_total", l, ELEMENTSOF(l), o->other);
                }
        }
        put_help(f, "fds_s3_retries_total", "counter", "S3 requests sent again after a transient failure.");
        put_u(f, "fds_s3_retries_total", NULL, 0, s ? s->retries : 0);
        put_help(f, "fds_s3_redirects_total", "counter", "S3 requests sent again to the bucket's region.");
        put_u(f, "fds_s3_redirects_total", NULL, 0, s ? s->redirects : 0);
        put_help(f, "fds_s3_coalesced_total", "counter",
                 "S3 reads not sent: an identical one of the same credentials was in flight.");
        put_u(f, "fds_s3_coalesced_total", NULL, 0, s ? s->coalesced : 0);
}

/* The resident set from /proc/self/statm (its second field, in pages). */
static int resident_bytes(uint64_t *ret) {
        char buf[128];
        unsigned long long size, resident;
        int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        buf[n] = '\0';
        if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
                return -EIO;
        *ret = (uint64_t) resident * (uint64_t) sysconf(_SC_PAGESIZE);
        return 0;
}

static void render_gauge(FILE *f, const char *name, const char *help, uint64_t v) {
        put_help(f, name, "gauge", help);
        put_u(f, name, NULL, 0, v);
}

static void render_state(FILE *f, const fds_daemon *d) {
        const budget *b = &d->engine.buffers;
        uint64_t rss = 0;

        put_help(f, "fds_connections_total", "counter", "Client connections accepted.");
        put_u(f, "fds_connections_total", NULL, 0, d->stats.connections_total);
        render_gauge(f, "fds_connections_open", "Client connections open.", d->n_sessions);
        render_gauge(f, "fds_calls_running", "Copy, Size, Read and List calls running.",
                     d->engine.n_batches);
        render_gauge(f, "fds_files_in_flight", "Files being transferred.", d->engine.sched.inflight);
        render_gauge(f, "fds_files_queued", "Files of running calls not yet started.",
                     status_files_queued(d));
        /* The budget is set up with the first call; until then none is used. */
        render_gauge(f, "fds_buffer_memory_used_bytes", "Transfer buffer memory granted.",
                     d->engine.ready ? b->used : 0);
        render_gauge(f, "fds_buffer_memory_limit_bytes", "Transfer buffer memory the daemon may use.",
                     d->engine.ready ? b->limit : d->engine.cfg.buffer_memory);
        if (resident_bytes(&rss) >= 0)
                render_gauge(f, "fds_resident_memory_bytes", "Resident set size of fdsd.", rss);
        put_help(f, "fds_start_time_seconds", "gauge", "When fdsd started, in seconds since the epoch.");
        put_d(f, "fds_start_time_seconds", NULL, 0, d->metrics.start_time);
        put_help(f, "fds_uptime_seconds", "gauge", "Seconds since fdsd started.");
        put_d(f, "fds_uptime_seconds", NULL, 0, (double) (uv_hrtime() - d->started_ns) / 1e9);
        put_help(f, "fds_build_info", "gauge", "Always 1; the version of fdsd in its label.");
        put_u(f, "fds_build_info", (label[]){ { "version", FDS_VERSION } }, 1, 1);
}

int metrics_render(const fds_daemon *d, char **ret, size_t *ret_len) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return -ENOMEM;
        render_files(f, &d->metrics);
        render_calls(f, &d->metrics);
        render_s3(f, d->s3 ? s3_ctx_stats(d->s3) : NULL);
        render_state(f, d);
        /* A memory stream fails only for want of memory. */
        bool failed = ferror(f);
        if (fclose(f) != 0 || failed) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        *ret_len = len;
        return 0;
}
