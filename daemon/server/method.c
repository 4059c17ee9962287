/* SPDX-License-Identifier: MIT */
#include "method.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "batch.h"
#include "calls.h"
#include "daemon.h"
#include "log.h"
#include "macro.h"
#include "peer.h"
#include "reply_tail.h"
#include "result_json.h"
#include "message.h"
#include "metrics.h"
#include "request.h"
#include "session.h"
#include "status.h"

static void reply(session *s, json_t *params, bool continues) {
        char *buf;
        size_t len;
        if (fds_reply_encode(params, continues, &buf, &len) < 0) {
                session_close(s);
                return;
        }
        session_send(s, buf, len);
}

static void reply_error(session *s, const char *name, json_t *params) {
        char *buf;
        size_t len;
        if (fds_error_encode(name, params, &buf, &len) < 0) {
                session_close(s);
                return;
        }
        session_send(s, buf, len);
}

void method_reply(session *s, const fds_call *call, json_t *params) {
        if (call->oneway && params) {
                json_decref(params);
                return;
        }
        reply(s, params, false);
}

void method_error(session *s, const fds_call *call, const char *name, json_t *params) {
        if (call->oneway && params) {
                json_decref(params);
                return;
        }
        reply_error(s, name, params);
}

/* The last reply of a Copy with `more`: the results went one by one. */
static json_t *copy_more_reply(const batch *b) {
        return json_pack("{s:o}", "summary", result_summary_json(b));
}

static json_t *list_entry_json(const listing_entry *e) {
        json_t *o = json_pack("{s:s}", "path", e->path);
        if (o && e->dir)
                json_object_set_new(o, "dir", json_true());
        else if (o)
                json_object_set_new(o, "size", json_integer((json_int_t) e->size));
        if (o && e->mtime_ms != LISTING_NO_TIME)
                json_object_set_new(o, "mtime", json_real((double) e->mtime_ms / 1000.0));
        if (o && e->etag)
                json_object_set_new(o, "etag", json_string(e->etag));
        return o;
}

static json_t *list_entries_json(const listing_entry *e, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, list_entry_json(&e[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

/* The last reply of a List: the entries (none when streamed) and what
 * stopped the listing, if anything did. */
static json_t *list_reply(batch *b) {
        size_t n;
        const listing_entry *e = listing_entries(&b->in, &n);
        json_t *p = json_pack("{s:o}", "entries", list_entries_json(e, n));
        const file_error *err = &b->in.files[0].err;
        if (p && err->code != FDS_CODE_OK && json_object_set_new(p, "error", result_error_json(err)) < 0) {
                json_decref(p);
                p = NULL;
        }
        return p;
}

static void on_list_page(batch *b, const listing_entry *e, size_t n, void *userdata) {
        session *s = userdata;
        if (n > 0)
                reply(s, json_pack("{s:o}", "entries", list_entries_json(e, n)), true);
}

static void on_file_done(batch *b, job_file *f, void *userdata) {
        session *s = userdata;
        status_file_done(s->daemon, b, f);
        if (b->in.kind != TRANSFER_COPY || !b->call.more || b->call.oneway)
                return;
        reply(s, json_pack("{s:o}", "result", result_copy_json(f)), true);
}

static const char *const kind_names[] = { "Copy", "Size", "Read", "List" };

static void on_end(batch *b, int status, void *userdata) {
        session *s = userdata;

        status_batch_end(s->daemon, b, status);
        if (status == 0) {
                /* For the journal: FDS_BATCH=, the peer, and the first failure. */
                const job_file *fail = NULL;
                for (size_t i = 0; b->files_failed && !fail && i < b->in.n_files; i++)
                        if (b->in.files[i].err.code != FDS_CODE_OK)
                                fail = &b->in.files[i];
                log_fields lf = { .batch = b->id, .peer = true, .peer_uid = s->peer_uid,
                                  .peer_pid = s->peer_pid, .path = fail ? fail->entry->src : NULL,
                                  .code = fail ? fds_code_name(fail->err.code) : NULL };
                log_struct(LOG_LEVEL_INFO, &lf,
                           "batch %" PRIu64 ": %s from uid %u pid %d: %" PRIu64 " ok, %" PRIu64
                           " failed, %" PRIu64 " bytes, %.3f s%s%s%s%s",
                           b->id, kind_names[b->in.kind], (unsigned) s->peer_uid, (int) s->peer_pid,
                           b->files_ok, b->files_failed, b->bytes, (double) batch_elapsed_ns(b) / 1e9,
                           fail ? "; first failure: \"" : "", fail ? fail->entry->src : "",
                           fail ? "\": " : "", fail ? lf.code : "");
        }
        if (!b->call.oneway) {
                switch (status) {
                case 0:
                        if (b->in.kind == TRANSFER_LIST || (b->in.kind == TRANSFER_COPY && b->call.more)) {
                                reply(s, b->in.kind == TRANSFER_LIST ? list_reply(b) : copy_more_reply(b),
                                      false);
                                break;
                        }
                        /* Every file's result: encoded as the client reads. */
                        reply_tail *t;
                        if (reply_tail_new(b, &t) < 0) {
                                session_close(s);
                                break;
                        }
                        session_send_tail(s, t);
                        return;
                case -EINVAL:
                        reply_error(s, FDS_ERROR_INVALID_REQUEST,
                                    json_pack("{s:O}", "problems", batch_problems(b)));
                        break;
                case -EFBIG:
                        reply_error(s, FDS_ERROR_READ_LIMIT,
                                    json_pack("{s:I, s:I}", "limit", (json_int_t) b->in.read_limit,
                                              "requested", (json_int_t) b->in.read_requested));
                        break;
                default:
                        /* Canceled by shutdown: the connection closes next. */
                        break;
                }
        }
        batch_free(b);
        session_call_done(s);
}

static const batch_owner session_owner = {
        .file_done = on_file_done,
        .list_page = on_list_page,
        .end = on_end,
};

static void transfer_call(session *s, fds_call *call, transfer_op kind) {
        fds_daemon *d = s->daemon;
        fds_request_limits lim = { .max_entries = d->cfg.max_entries, .s3_available = true };
        fds_request req = { 0 };
        char *param = NULL;
        batch *b;
        int r;

        r = kind == TRANSFER_COPY   ? fds_request_parse_copy(call->parameters, &lim, &req, &param)
            : kind == TRANSFER_LIST ? fds_request_parse_list(call->parameters, &lim, &req, &param)
                                    : fds_request_parse_files(call->parameters, &lim, &req, &param);
        if (r == -EINVAL) {
                metrics_call_refused(&d->metrics, kind);
                reply_error(s, VARLINK_ERROR_INVALID_PARAMETER, json_pack("{s:s}", "parameter", param));
                free(param);
                return;
        }
        /* The request has copies of what it needs: the parsed entries are
         * most of a big call's memory, and are not needed again. */
        if (r == 0 && kind != TRANSFER_LIST)
                json_object_del(call->parameters, kind == TRANSFER_COPY ? "copies" : "files");
        if (r < 0 || (r = batch_new(&d->engine, kind, call, &req, &b)) < 0) {
                fds_request_done(&req);
                log_error("session %" PRIu64 ": cannot start call: %s", s->id, strerror(-r));
                session_close(s);
                return;
        }
        /* The batch holds the peer's share until it is freed (daemon.c
         * drops the reference then), since it may outlive the session. */
        if (s->peer)
                s->peer->refs++;
        if (batch_set_peer(b, s->peer ? &s->peer->share : NULL, s->peer_uid, s->peer_gid, s->peer_groups,
                           s->n_peer_groups) < 0) {
                batch_free(b);
                session_close(s);
                return;
        }
        b->peer_pid = s->peer_pid;
        s->batch = b;
        batch_start(b, &session_owner, s);
}

static void get_info(session *s, fds_call *call) {
        reply(s, json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "vendor", "fds", "product", "fdsd", "version",
                           FDS_VERSION, "url", "https://github.com/fds/fds", "interfaces", "org.varlink.service",
                           FDS_INTERFACE),
              false);
}

static void get_interface_description(session *s, fds_call *call) {
        json_t *iface = json_object_get(call->parameters, "interface");
        if (!json_is_string(iface))
                reply_error(s, VARLINK_ERROR_INVALID_PARAMETER, json_pack("{s:s}", "parameter", "interface"));
        else if (strcmp(json_string_value(iface), FDS_INTERFACE) != 0)
                reply_error(s, VARLINK_ERROR_INTERFACE_NOT_FOUND, json_pack("{s:O}", "interface", iface));
        else
                reply(s, json_pack("{s:s}", "description", fds_interface_description), false);
}

static void copy_call(session *s, fds_call *call) {
        transfer_call(s, call, TRANSFER_COPY);
}

static void size_call(session *s, fds_call *call) {
        transfer_call(s, call, TRANSFER_SIZE);
}

static void read_call(session *s, fds_call *call) {
        transfer_call(s, call, TRANSFER_READ);
}

static void list_call(session *s, fds_call *call) {
        transfer_call(s, call, TRANSFER_LIST);
}

static void status_method(session *s, fds_call *call) {
        status_call(s, call);
}

static void calls_list_method(session *s, fds_call *call) {
        calls_method(s, call, CALLS_LIST);
}

static void cancel_method(session *s, fds_call *call) {
        calls_method(s, call, CALLS_CANCEL);
}

static void set_bandwidth_method(session *s, fds_call *call) {
        calls_method(s, call, CALLS_SET_BANDWIDTH);
}

typedef struct method {
        const char *name;
        void (*handler)(session *s, fds_call *call);
} method;

static const method methods[] = {
        { "org.varlink.service.GetInfo", get_info },
        { "org.varlink.service.GetInterfaceDescription", get_interface_description },
        { FDS_INTERFACE ".Copy", copy_call },
        { FDS_INTERFACE ".Size", size_call },
        { FDS_INTERFACE ".Read", read_call },
        { FDS_INTERFACE ".List", list_call },
        { FDS_INTERFACE ".Status", status_method },
        { FDS_INTERFACE ".Calls", calls_list_method },
        { FDS_INTERFACE ".Cancel", cancel_method },
        { FDS_INTERFACE ".SetBandwidth", set_bandwidth_method },
};

static const method *method_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (strcmp(methods[i].name, name) == 0)
                        return &methods[i];
        return NULL;
}

/* varlink: an unknown method of a known interface is MethodNotFound,
 * anything else InterfaceNotFound. */
static bool interface_known(const char *name) {
        static const char *const interfaces[] = { "org.varlink.service.", FDS_INTERFACE "." };
        for (size_t i = 0; i < ELEMENTSOF(interfaces); i++)
                if (strncmp(name, interfaces[i], strlen(interfaces[i])) == 0)
                        return true;
        return false;
}

void method_dispatch(session *s, const char *msg, size_t len) {
        fds_call call;
        const char *reason = NULL;
        int r = fds_call_parse(msg, len, &call, &reason);
        if (r == -ENOMEM) {
                session_close(s);
                return;
        }
        if (r < 0) {
                log_debug("session %" PRIu64 ": invalid message: %s", s->id, reason);
                reply_error(s, FDS_ERROR_INVALID_MESSAGE, json_pack("{s:s}", "reason", reason));
                return;
        }
        const method *m = method_find(call.method);
        if (m)
                m->handler(s, &call);
        else if (interface_known(call.method))
                reply_error(s, VARLINK_ERROR_METHOD_NOT_FOUND, json_pack("{s:s}", "method", call.method));
        else
                reply_error(s, VARLINK_ERROR_INTERFACE_NOT_FOUND, json_pack("{s:s}", "interface", call.method));
        fds_call_done(&call); /* a no-op when a batch took it over */
}
