/* SPDX-License-Identifier: MIT */
#include "status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "batch.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "s3_client.h"
#include "session.h"

#define STATUS_TICK_MS 1000

static void status_sample(status_meter *m) {
        fds_daemon *d = m->daemon;
        unsigned oldest;
        uint64_t dt;

        m->at_ns[m->next] = uv_hrtime();
        m->bytes[m->next] = d->stats.bytes_moved;
        if (m->n < STATUS_RATE_WINDOW + 1)
                m->n++;
        oldest = (m->next + STATUS_RATE_WINDOW + 2 - m->n) % (STATUS_RATE_WINDOW + 1);
        dt = m->at_ns[m->next] - m->at_ns[oldest];
        d->bytes_per_sec =
                dt ? (uint64_t) ((double) (m->bytes[m->next] - m->bytes[oldest]) * 1e9 / (double) dt) : 0;
        m->next = (m->next + 1) % (STATUS_RATE_WINDOW + 1);
}

static void on_tick(uv_timer_t *t) {
        status_sample(t->data);
}

int status_meter_start(status_meter *m, fds_daemon *d) {
        int r;

        *m = (status_meter){ .daemon = d };
        d->started_ns = uv_hrtime();
        r = uv_timer_init(d->loop, &m->timer);
        if (r < 0)
                return r;
        m->timer.data = m;
        status_sample(m);
        return uv_timer_start(&m->timer, on_tick, STATUS_TICK_MS, STATUS_TICK_MS);
}

void status_meter_close(status_meter *m) {
        if (m->daemon && !uv_is_closing((uv_handle_t *) &m->timer))
                uv_close((uv_handle_t *) &m->timer, NULL);
}

uint64_t status_files_queued(const fds_daemon *d) {
        const list_node *n;
        uint64_t q = 0;

        for (n = d->engine.batches.next; n != &d->engine.batches; n = n->next)
                q += batch_files_queued(list_entry(n, batch, link));
        return q;
}

static uint64_t retries(const fds_daemon *d) {
        return d->s3 ? s3_ctx_stats(d->s3)->retries : 0;
}

static uint64_t s3_requests(const fds_daemon *d) {
        return d->s3 ? s3_ctx_stats(d->s3)->requests : 0;
}

json_t *status_json(const fds_daemon *d) {
        /* clang-format off */
        return json_pack("{s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                         "version", FDS_VERSION,
                         "uptime_seconds", (double) (uv_hrtime() - d->started_ns) / 1e9,
                         "connections", (json_int_t) d->n_sessions,
                         "connections_total", (json_int_t) d->stats.connections_total,
                         "batches", (json_int_t) d->engine.n_batches,
                         "batches_total", (json_int_t) d->engine.stats.batches_total,
                         "files_in_flight", (json_int_t) d->engine.sched.inflight,
                         "files_queued", (json_int_t) status_files_queued(d),
                         "files_ok", (json_int_t) d->engine.stats.files_ok,
                         "files_failed", (json_int_t) d->engine.stats.files_failed,
                         "bytes", (json_int_t) d->stats.bytes_moved,
                         "bytes_per_second", (json_int_t) d->bytes_per_sec,
                         "s3_requests", (json_int_t) s3_requests(d),
                         "retries", (json_int_t) retries(d),
                         "calls_failed", (json_int_t) d->stats.calls_failed);
        /* clang-format on */
}

void status_call(session *s, const fds_call *call) {
        const char *unknown = json_object_iter_key(json_object_iter(call->parameters));
        json_t *p = unknown ? json_pack("{s:s}", "parameter", unknown) : status_json(s->daemon);
        char *buf;
        size_t len;
        int r = -ENOMEM;

        if (p && unknown)
                r = fds_error_encode(VARLINK_ERROR_INVALID_PARAMETER, p, &buf, &len);
        else if (p)
                r = fds_reply_encode(p, false, &buf, &len);
        if (r < 0) {
                session_close(s);
                return;
        }
        if (!call->oneway)
                session_send(s, buf, len);
        else
                free(buf);
}

static const char *plural(uint64_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}

void status_summary(const fds_daemon *d, char *buf, size_t size) {
        static const char units[][4] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double rate = (double) d->bytes_per_sec;
        unsigned u = 0;
        uint64_t q = status_files_queued(d);

        while (rate >= 1024 && u < 4) {
                rate /= 1024;
                u++;
        }
        snprintf(buf, size, "%u %s, %u %s, %u %s in flight, %" PRIu64 " queued, %.*f %s/s", d->n_sessions,
                 plural(d->n_sessions, "connection", "connections"), d->engine.n_batches,
                 plural(d->engine.n_batches, "batch", "batches"), d->engine.sched.inflight,
                 plural(d->engine.sched.inflight, "file", "files"), q, u ? 1 : 0, rate, units[u]);
}

void status_file_done(fds_daemon *d, const batch *b, const job_file *f) {
        bool moved = b->in.kind != TRANSFER_SIZE && batch_file_moved(b, f) && f->err.code == FDS_CODE_OK;

        if (moved)
                d->stats.bytes_moved += f->bytes;
        metrics_file_done(&d->metrics, b->in.kind, f->err.code, moved ? f->bytes : 0);
}

static metrics_outcome call_outcome(const batch *b, int status) {
        if (b->detached)
                return METRICS_OUTCOME_DISCONNECTED;
        switch (status) {
        case 0:
                return b->answer_cancel ? METRICS_OUTCOME_CANCELED : METRICS_OUTCOME_OK;
        case -EINVAL:
                return METRICS_OUTCOME_INVALID_REQUEST;
        case -EFBIG:
                return METRICS_OUTCOME_READ_LIMIT;
        default:
                return METRICS_OUTCOME_CANCELED;
        }
}

void status_batch_end(fds_daemon *d, const batch *b, int status) {
        if (status == -EINVAL || status == -EFBIG)
                d->stats.calls_failed++;
        /* A listing is the one "file" of a List call: its result counts as one. */
        if (b->in.kind == TRANSFER_LIST && status == 0)
                metrics_file_done(&d->metrics, TRANSFER_LIST, b->in.files[0].err.code, 0);
        metrics_call_end(&d->metrics, b->in.kind, call_outcome(b, status), batch_elapsed_ns(b));
}

static void detached_file_done(batch *b, job_file *f, void *userdata) {
        status_file_done(userdata, b, f);
}

static void detached_end(batch *b, int status, void *userdata) {
        fds_daemon *d = userdata;
        status_batch_end(d, b, status);
        log_info("batch %" PRIu64 ": %" PRIu64 " ok, %" PRIu64 " failed before its client went away", b->id,
                 b->files_ok, b->files_failed);
        batch_free(b);
}

const batch_owner status_detached_owner = {
        .file_done = detached_file_done,
        .end = detached_end,
};
