/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "macro.h"
#include "batch.h"
#include "daemon.h"
#include "log.h"
#include "message.h"
#include "peer.h"
#include "reply_tail.h"
#include "status.h"

#define SESSION_READ_SIZE (64 * 1024)
/* A last reply is encoded on while less than this is waiting to be written. */
#define SESSION_TAIL_LOW_WATER (256 * 1024)

typedef struct session_write {
        uv_write_t req;
        session *session;
        char *buf;
        size_t len;
} session_write;

static void session_process(session *s);

static void account(session *s) {
        if (!s->peer)
                return;
        size_t now = s->frame.cap;
        s->peer->buffered = s->peer->buffered - s->accounted + now;
        s->accounted = now;
}

static void on_close(uv_handle_t *h) {
        session *s = h->data;
        /* Before the peer: the tail's batch holds a reference to its share. */
        s->tail = reply_tail_free(s->tail);
        fds_frame_done(&s->frame);
        account(s);
        if (s->peer) {
                s->peer->connections--;
                peer_unref(s->peer);
        }
        free(s->peer_groups);
        free(s);
}

void session_close(session *s) {
        if (s->closing)
                return;
        s->closing = true;
        list_del(&s->link);
        s->daemon->n_sessions--;
        delay_cancel(&s->daemon->delay, &s->stall);
        if (s->batch) {
                log_info("session %" PRIu64 ": client went away; canceling batch %" PRIu64,
                         s->id, s->batch->id);
                batch *b = s->batch;
                s->batch = NULL;
                batch_detach(b, &status_detached_owner, s->daemon);
        }
        /* Pending writes complete with UV_ECANCELED before on_close. */
        uv_close((uv_handle_t *) &s->pipe, on_close);
}

static void session_pump_tail(session *s);

static void update_backpressure(session *s) {
        if (s->batch)
                batch_set_paused(s->batch, s->write_pending > s->daemon->cfg.max_reply_backlog);
}

/* A client whose replies pile up and that has read nothing for the stall
 * timeout is dropped: one that never reads must not hold its batch and
 * its reply memory forever. */
static void on_stall_check(delay_entry *e) {
        session *s = container_of(e, session, stall);
        if (s->closing || s->write_pending == 0)
                return;
        if (s->bytes_written == s->stall_mark) {
                log_info("session %" PRIu64 ": client (uid %u pid %d) has read nothing for %u ms with %zu bytes "
                         "of replies waiting; disconnecting",
                         s->id, (unsigned) s->peer_uid, (int) s->peer_pid, peer_write_stall_ms(&s->daemon->cfg),
                         s->write_pending);
                session_close(s);
                return;
        }
        s->stall_mark = s->bytes_written;
        delay_add(&s->daemon->delay, &s->stall, peer_write_stall_ms(&s->daemon->cfg), on_stall_check);
}

static void on_write(uv_write_t *req, int status) {
        session_write *w = req->data;
        session *s = w->session;

        s->write_pending -= w->len;
        if (status >= 0)
                s->bytes_written += w->len;
        free(w->buf);
        free(w);
        if (s->closing)
                return;
        if (status < 0) {
                log_debug("session %" PRIu64 ": write failed: %s", s->id, uv_strerror(status));
                session_close(s);
                return;
        }
        if (s->close_after_write && s->write_pending == 0 && !s->tail) {
                session_close(s);
                return;
        }
        if (s->tail) {
                session_pump_tail(s);
                return;
        }
        update_backpressure(s);
}

int session_send(session *s, char *buf, size_t len) {
        if (s->closing) {
                free(buf);
                return -ECONNRESET;
        }
        session_write *w = malloc(sizeof(*w));
        if (!w) {
                free(buf);
                return -ENOMEM;
        }
        *w = (session_write){ .session = s, .buf = buf, .len = len };
        w->req.data = w;
        uv_buf_t b = uv_buf_init(buf, (unsigned) len);
        int r = uv_write(&w->req, (uv_stream_t *) &s->pipe, &b, 1, on_write);
        if (r < 0) {
                free(buf);
                free(w);
                session_close(s);
                return r;
        }
        s->write_pending += len;
        if (!list_linked(&s->stall.link)) {
                s->stall_mark = s->bytes_written;
                delay_add(&s->daemon->delay, &s->stall, peer_write_stall_ms(&s->daemon->cfg), on_stall_check);
        }
        update_backpressure(s);
        return 0;
}

/* Encode the tail while the client keeps up; once it is all queued, the
 * call is done. */
static void session_pump_tail(session *s) {
        while (s->tail && !s->closing && s->write_pending < SESSION_TAIL_LOW_WATER) {
                char *buf;
                size_t len;
                int r = reply_tail_next(s->tail, &buf, &len);
                if (r < 0) {
                        log_error("session %" PRIu64 ": cannot encode a reply: %s", s->id, strerror(-r));
                        session_close(s);
                        return;
                }
                if (r == 0) {
                        s->tail = reply_tail_free(s->tail);
                        session_call_done(s);
                        return;
                }
                if (session_send(s, buf, len) < 0)
                        return;
        }
}

void session_send_tail(session *s, reply_tail *t) {
        s->batch = NULL;
        s->tail = t;
        /* Read on once it is all out (session_process decides then). */
        if (s->reading) {
                uv_read_stop((uv_stream_t *) &s->pipe);
                s->reading = false;
        }
        session_pump_tail(s);
}

void session_close_after_write(session *s) {
        s->close_after_write = true;
        if (s->write_pending == 0)
                session_close(s);
}

static void send_error(session *s, const char *name, json_t *params) {
        char *buf;
        size_t len;
        if (fds_error_encode(name, params, &buf, &len) >= 0)
                session_send(s, buf, len);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        session *s = h->data;
        char *p;
        size_t n;
        if (fds_frame_reserve(&s->frame, SESSION_READ_SIZE, &p, &n) < 0) {
                *buf = uv_buf_init(NULL, 0); /* read_cb sees UV_ENOBUFS */
                return;
        }
        account(s);
        *buf = uv_buf_init(p, (unsigned) n);
}

/* One user's half-sent messages may hold at most so much memory: past it,
 * its connections are read no further until some of it is freed. */
static bool over_input_budget(const session *s) {
        return s->peer && s->peer->buffered > peer_max_buffered(&s->daemon->cfg) &&
               s->frame.cap - fds_frame_pending(&s->frame) < SESSION_READ_SIZE;
}

static void too_large(session *s) {
        log_info("session %" PRIu64 ": message larger than %zu bytes; closing", s->id,
                 s->daemon->cfg.max_message);
        uv_read_stop((uv_stream_t *) &s->pipe);
        s->reading = false;
        send_error(s, FDS_ERROR_TOO_LARGE,
                   json_pack("{s:I}", "limit", (json_int_t) s->daemon->cfg.max_message));
        session_close_after_write(s);
}

/* EOF means either a peer gone (both directions) or one that shut only its
 * sending side; the socket reports a full hang-up as POLLHUP. */
static bool session_half_closed(session *s) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *) &s->pipe, &fd) < 0)
                return false;
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        return poll(&p, 1, 0) == 1 && !(p.revents & (POLLHUP | POLLERR));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
        session *s = stream->data;

        if (nread == UV_ENOBUFS) {
                too_large(s);
                return;
        }
        if (nread < 0) {
                if (nread == UV_EOF && session_half_closed(s)) {
                        /* The client only shut its sending side (socat, shell
                         * pipes): it still reads, so its call runs and the
                         * connection closes once the replies are written. */
                        uv_read_stop(stream);
                        s->reading = false;
                        s->eof = true;
                        if (!s->batch && !s->tail)
                                session_close_after_write(s);
                        return;
                }
                if (nread != UV_EOF)
                        log_debug("session %" PRIu64 ": read: %s", s->id, uv_strerror((int) nread));
                session_close(s);
                return;
        }
        fds_frame_commit(&s->frame, (size_t) nread);
        session_process(s);
}

/* Run queued calls, one at a time. Iterative rather than recursive: a call
 * that ends at once comes back here through session_call_done. */
static void session_process(session *s) {
        if (s->processing)
                return;
        s->processing = true;
        while (!s->closing && !s->batch && !s->tail && !s->close_after_write) {
                const char *msg;
                size_t len;
                int r = fds_frame_next(&s->frame, &msg, &len);
                if (r == -EMSGSIZE) {
                        too_large(s);
                        break;
                }
                if (r <= 0)
                        break;
                s->on_call(s, msg, len);
        }
        if (!s->closing) {
                fds_frame_shrink(&s->frame);
                account(s);
        }
        /* Stop reading while a call runs and more than a message is queued,
         * so a pipelining client cannot make us buffer without bound. */
        if (!s->closing && !s->close_after_write && !s->eof) {
                /* Not at all while a last reply goes out in pieces: an error
                 * about the next message must not land between two of them. */
                bool want = !s->tail &&
                            (!s->batch || fds_frame_pending(&s->frame) <= s->daemon->cfg.max_message) &&
                            !over_input_budget(s);
                if (want && !s->reading) {
                        if (uv_read_start((uv_stream_t *) &s->pipe, on_alloc, on_read) == 0)
                                s->reading = true;
                } else if (!want && s->reading) {
                        uv_read_stop((uv_stream_t *) &s->pipe);
                        s->reading = false;
                }
        }
        s->processing = false;
}

void session_call_done(session *s) {
        s->batch = NULL;
        /* Calls already queued still run; then the half-closed peer is done. */
        session_process(s);
        if (s->eof && !s->batch && !s->closing)
                session_close_after_write(s);
}

static void session_peer(session *s) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *) &s->pipe, &fd) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
                s->peer_pid = cred.pid;
                s->peer_uid = cred.uid;
                s->peer_gid = cred.gid;
        }
        /* Supplementary groups, so file access through fdsd matches the
         * peer's own. The kernel says how much room it needs. */
        socklen_t glen = 0;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &glen) < 0 && errno == ERANGE && glen > 0) {
                s->peer_groups = malloc(glen);
                if (s->peer_groups && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, s->peer_groups, &glen) == 0)
                        s->n_peer_groups = (int) (glen / sizeof(gid_t));
        }
}

/* The system service's access list is the socket's group, whoever created
 * the socket (we, or systemd): learnt from the first connection. */
static void learn_socket_gid(fds_daemon *d, uv_stream_t *server) {
        uv_os_fd_t lfd;
        struct sockaddr_un sa;
        socklen_t sl = sizeof(sa);
        struct stat st;

        if (d->socket_gid_known)
                return;
        if (uv_fileno((uv_handle_t *) server, &lfd) == 0 && getsockname(lfd, (struct sockaddr *) &sa, &sl) == 0 &&
            sa.sun_path[0] && stat(sa.sun_path, &st) == 0)
                d->socket_gid = st.st_gid;
        d->socket_gid_known = true;
}

/* Whether the peer may not stay: a user not allowed, or over a connection
 * limit. The reply says why; the session closes once it is written. */
static bool session_refused(session *s) {
        fds_daemon *d = s->daemon;
        if (!peer_allowed(&d->cfg, d->socket_gid, s->peer_uid, s->peer_gid, s->peer_groups, s->n_peer_groups)) {
                log_warning("session %" PRIu64 ": uid %u (pid %d) is not allowed to use this fdsd; refused", s->id,
                            (unsigned) s->peer_uid, (int) s->peer_pid);
                send_error(s, FDS_INTERFACE ".PermissionDenied",
                           json_pack("{s:I, s:s}", "uid", (json_int_t) s->peer_uid, "reason",
                                     "this user is not allowed to use this fdsd"));
                return true;
        }
        if (s->peer->connections > peer_max_connections(&d->cfg)) {
                log_info("session %" PRIu64 ": uid %u has %u connections, its limit; refusing pid %d", s->id,
                         (unsigned) s->peer_uid, peer_max_connections(&d->cfg), (int) s->peer_pid);
                send_error(s, FDS_INTERFACE ".TooManyConnections",
                           json_pack("{s:I}", "limit", (json_int_t) peer_max_connections(&d->cfg)));
                return true;
        }
        if (d->n_sessions > d->cfg.max_connections) {
                log_info("session %" PRIu64 ": too many connections (%u); refusing uid %u pid %d",
                         s->id, d->cfg.max_connections, (unsigned) s->peer_uid, (int) s->peer_pid);
                send_error(s, FDS_INTERFACE ".TooManyConnections",
                           json_pack("{s:I}", "limit", (json_int_t) d->cfg.max_connections));
                return true;
        }
        return false;
}

int session_accept(fds_daemon *d, uv_stream_t *server, session_call_fn on_call) {
        session *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        int r = uv_pipe_init(d->loop, &s->pipe, 0);
        if (r < 0) {
                free(s);
                return r;
        }
        s->pipe.data = s;
        s->daemon = d;
        s->on_call = on_call;
        s->id = ++d->next_session_id;
        fds_frame_init(&s->frame, d->cfg.max_message);
        list_init(&s->link);
        r = uv_accept(server, (uv_stream_t *) &s->pipe);
        if (r < 0) {
                s->closing = true;
                uv_close((uv_handle_t *) &s->pipe, on_close);
                return r;
        }
        list_add_tail(&d->sessions, &s->link);
        d->n_sessions++;
        d->stats.connections_total++;
        session_peer(s);
        list_init(&s->stall.link);
        learn_socket_gid(d, server);
        s->peer = peer_get(&d->peers, s->peer_uid);
        if (!s->peer) {
                session_close(s);
                return -ENOMEM;
        }
        s->peer->connections++;
        if (session_refused(s)) {
                session_close_after_write(s);
                return 0;
        }
        log_debug("session %" PRIu64 ": connected uid %u pid %d", s->id, (unsigned) s->peer_uid,
                  (int) s->peer_pid);
        session_process(s);
        return 0;
}
