/* SPDX-License-Identifier: MIT */
/* Live control of running calls: Calls lists them, Cancel stops one, and
 * SetBandwidth changes a call's or the daemon's cap while bytes move. */
#include "calls.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "daemon.h"
#include "log.h"
#include "message.h"
#include "method.h"
#include "session.h"

#define CALLS_MIN_BANDWIDTH 1024ULL
#define CALLS_MAX_BANDWIDTH (1ULL << 50)

static const char *const method_names[] = {
        [TRANSFER_COPY] = "Copy", [TRANSFER_SIZE] = "Size", [TRANSFER_READ] = "Read", [TRANSFER_LIST] = "List",
};

static const char *batch_state(const batch *b) {
        if (b->ended)
                return "replying";
        if (b->in.canceled)
                return "canceling";
        if (!b->running)
                return "starting";
        return b->paused ? "paused" : "running";
}

static json_t *call_info_json(const batch *b) {
        uint64_t ns = batch_elapsed_ns(b), moved = batch_bytes_moved(b);
        uint64_t files = b->in.kind == TRANSFER_LIST ? 0 : b->in.n_files;
        double secs = (double) ns / 1e9;

        /* clang-format off */
        return json_pack("{s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I}",
                         "id", (json_int_t) b->id,
                         "method", method_names[b->in.kind],
                         "uid", (json_int_t) b->in.peer_uid,
                         "pid", (json_int_t) b->peer_pid,
                         "state", batch_state(b),
                         "files", (json_int_t) files,
                         "files_ok", (json_int_t) (b->in.kind == TRANSFER_LIST ? 0 : b->files_ok),
                         "files_failed", (json_int_t) (b->in.kind == TRANSFER_LIST ? 0 : b->files_failed),
                         "files_in_flight", (json_int_t) b->inflight,
                         "files_queued", (json_int_t) batch_files_queued(b),
                         "bytes", (json_int_t) moved,
                         "bytes_per_second", (json_int_t) (secs > 0 ? (double) moved / secs : 0),
                         "seconds", secs,
                         "max_bandwidth", (json_int_t) b->in.req.options.max_bandwidth);
        /* clang-format on */
}

static json_t *calls_json(const fds_daemon *d) {
        json_t *a = json_array();
        const list_node *n;

        for (n = d->engine.batches.next; a && n != &d->engine.batches; n = n->next)
                if (json_array_append_new(a, call_info_json(list_entry(n, batch, link))) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return json_pack("{s:o, s:I}", "calls", a, "max_bandwidth", (json_int_t) d->engine.cfg.max_bandwidth);
}

static batch *calls_find(fds_daemon *d, uint64_t id) {
        list_node *n;

        for (n = d->engine.batches.next; n != &d->engine.batches; n = n->next) {
                batch *b = list_entry(n, batch, link);
                if (b->id == id)
                        return b;
        }
        return NULL;
}

/* Parameters: only `allowed`, each an integer >= 0 (optional ones may be
 * missing). On failure, the name of the first bad one. */
static const char *calls_params(const json_t *p, const char *const *allowed, size_t n_allowed,
                                const char *required) {
        const char *k;
        json_t *v;

        json_object_foreach((json_t *) p, k, v) {
                bool known = false;
                for (size_t i = 0; i < n_allowed; i++)
                        known = known || strcmp(k, allowed[i]) == 0;
                if (!known || !json_is_integer(v) || json_integer_value(v) < 0)
                        return k;
        }
        if (required && !json_object_get(p, required))
                return required;
        return NULL;
}

static bool calls_may_touch(const session *s, const batch *b) {
        return s->peer_uid == 0 || s->peer_uid == b->in.peer_uid;
}

/* The running call id, if this peer may act on it; else the error is
 * answered (denied says why) and NULL returned. */
static batch *calls_target(session *s, const fds_call *call, uint64_t id, const char *denied) {
        batch *b = calls_find(s->daemon, id);

        if (!b)
                method_error(s, call, FDS_ERROR_NO_SUCH_CALL, json_pack("{s:I}", "id", (json_int_t) id));
        else if (!calls_may_touch(s, b)) {
                method_error(s, call, FDS_ERROR_NOT_PERMITTED, json_pack("{s:s}", "reason", denied));
                b = NULL;
        }
        return b;
}

static void calls_list(session *s, fds_call *call) {
        const char *unknown = json_object_iter_key(json_object_iter(call->parameters));

        if (unknown)
                method_error(s, call, VARLINK_ERROR_INVALID_PARAMETER, json_pack("{s:s}", "parameter", unknown));
        else
                method_reply(s, call, calls_json(s->daemon));
}

static void calls_cancel(session *s, fds_call *call) {
        static const char *const allowed[] = { "id" };
        const char *bad = calls_params(call->parameters, allowed, 1, "id");
        uint64_t id;
        batch *b;

        if (bad) {
                method_error(s, call, VARLINK_ERROR_INVALID_PARAMETER, json_pack("{s:s}", "parameter", bad));
                return;
        }
        id = (uint64_t) json_integer_value(json_object_get(call->parameters, "id"));
        b = calls_target(s, call, id, "only the call's own user or root may cancel it");
        if (!b)
                return;
        bool canceled = !b->in.canceled && !b->ended;
        if (canceled)
                log_info("call %" PRIu64 " of uid %u canceled by uid %u pid %d", id, (unsigned) b->in.peer_uid,
                         (unsigned) s->peer_uid, (int) s->peer_pid);
        batch_cancel_answered(b); /* may answer, and free, b */
        method_reply(s, call, json_pack("{s:b}", "canceled", canceled));
}

static void calls_set_bandwidth(session *s, fds_call *call) {
        static const char *const allowed[] = { "id", "max_bandwidth" };
        const char *bad = calls_params(call->parameters, allowed, 2, "max_bandwidth");
        fds_daemon *d = s->daemon;

        if (bad) {
                method_error(s, call, VARLINK_ERROR_INVALID_PARAMETER, json_pack("{s:s}", "parameter", bad));
                return;
        }
        uint64_t rate = (uint64_t) json_integer_value(json_object_get(call->parameters, "max_bandwidth"));
        /* What options.transfer.max_bandwidth takes, and 0 for none. */
        if (rate != 0 && (rate < CALLS_MIN_BANDWIDTH || rate > CALLS_MAX_BANDWIDTH)) {
                method_error(s, call, VARLINK_ERROR_INVALID_PARAMETER,
                             json_pack("{s:s}", "parameter", "max_bandwidth"));
                return;
        }
        json_t *idv = json_object_get(call->parameters, "id");
        if (!idv) {
                if (s->peer_uid != 0 && s->peer_uid != geteuid()) {
                        method_error(s, call, FDS_ERROR_NOT_PERMITTED,
                                     json_pack("{s:s}", "reason",
                                               "only root or the user fdsd runs as may change the daemon's cap"));
                        return;
                }
                log_info("daemon bandwidth cap set to %" PRIu64 " bytes/s by uid %u pid %d", rate,
                         (unsigned) s->peer_uid, (int) s->peer_pid);
                batch_engine_set_bandwidth(&d->engine, rate);
                method_reply(s, call, json_object());
                return;
        }
        batch *b = calls_target(s, call, (uint64_t) json_integer_value(idv),
                                "only the call's own user or root may change its cap");
        if (!b)
                return;
        batch_set_bandwidth(b, rate);
        method_reply(s, call, json_object());
}

void calls_method(session *s, fds_call *call, calls_op op) {
        switch (op) {
        case CALLS_LIST:
                calls_list(s, call);
                break;
        case CALLS_CANCEL:
                calls_cancel(s, call);
                break;
        case CALLS_SET_BANDWIDTH:
                calls_set_bandwidth(s, call);
                break;
        }
}
