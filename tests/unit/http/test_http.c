/* SPDX-License-Identifier: MIT */
/*
 * The HTTP engine against a fake HTTP/1.1 server that runs on the same libuv
 * loop (127.0.0.1, port 0). The server's behaviour is chosen by the request
 * target:
 *
 *   /bytes/N        200 with N bytes of pattern() and an ETag
 *   /head           200 to HEAD, Content-Length: 12345, no body
 *   /small          200 "hello"
 *   /upload         checks the request body against pattern(), 200 + ETag
 *   /delete         204
 *   /stall-headers  reads the request, never answers
 *   /stall-body     headers for 100000 bytes, sends 1000, then nothing
 *   /cut-body       headers for 100000 bytes, sends 1000, then FIN
 *   /cut-headers    FIN without a byte of response
 *   /die            like /upload, but if srv.die_next is set and the
 *                   connection is a reused one, closes it unanswered
 *   http://...      a proxy request (absolute form): 200 "proxied"
 *   CONNECT         a proxy tunnel request: 403
 *
 * Every test ends with the client and the server closed, no handle left
 * (uv_walk), and uv_loop_close() == 0.
 */
#include "http.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX (8u << 20)

static uint8_t pattern(uint64_t i) {
        return (uint8_t) (i * 131u + (i >> 9) * 7u + 1u);
}

/* ---- the fake server ---- */

typedef struct fake_server fake_server;

typedef struct fake_conn {
        uv_tcp_t tcp;
        uv_shutdown_t shutdown;
        fake_server *srv;
        struct fake_conn *prev, *next;
        char *in;
        size_t in_len, in_cap;
        char rbuf[65536];

        /* the request being read */
        bool have_head;
        char method[16];
        char target[512];
        long content_length;
        bool chunked, expect_continue, has_content_type;
        char content_type[128];
        uint8_t *body;
        size_t body_len;

        unsigned served; /* requests answered on this connection */
        bool closing;
} fake_conn;

struct fake_server {
        uv_loop_t *loop;
        uv_tcp_t listener;
        int port;
        fake_conn *conns;
        unsigned accepted, open, max_open, requests;
        bool die_next;
        unsigned died;

        /* the last request seen, for the tests to inspect */
        char last_method[16];
        char last_target[512];
        long last_content_length;
        bool last_chunked, last_expect, last_has_content_type, last_body_ok;
        char last_content_type[128];
        size_t last_body_len;
        unsigned uploads_ok;
};

typedef struct fake_write {
        uv_write_t w;
        char data[];
} fake_write;

static void on_fake_written(uv_write_t *w, int status) {
        (void) status;
        free(w);
}

static void fake_send(fake_conn *conn, const void *data, size_t len) {
        if (conn->closing)
                return;
        fake_write *w = malloc(sizeof(*w) + len);
        ck_assert_ptr_nonnull(w);
        memcpy(w->data, data, len);
        uv_buf_t b = uv_buf_init(w->data, (unsigned) len);
        if (uv_write(&w->w, (uv_stream_t *) &conn->tcp, &b, 1, on_fake_written) < 0)
                free(w);
}

static void fake_sendf(fake_conn *conn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fake_sendf(fake_conn *conn, const char *fmt, ...) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        ck_assert(n > 0 && (size_t) n < sizeof(buf));
        fake_send(conn, buf, (size_t) n);
}

static void on_fake_conn_closed(uv_handle_t *h) {
        fake_conn *conn = h->data;
        free(conn->in);
        free(conn->body);
        free(conn);
}

static void fake_conn_close(fake_conn *conn) {
        if (conn->closing)
                return;
        conn->closing = true;
        conn->srv->open--;
        if (conn->prev)
                conn->prev->next = conn->next;
        else
                conn->srv->conns = conn->next;
        if (conn->next)
                conn->next->prev = conn->prev;
        uv_close((uv_handle_t *) &conn->tcp, on_fake_conn_closed);
}

static void on_fake_shutdown(uv_shutdown_t *req, int status) {
        (void) status;
        fake_conn_close(req->data);
}

/* FIN after the queued writes went out. */
static void fake_conn_finish(fake_conn *conn) {
        if (conn->closing)
                return;
        conn->shutdown.data = conn;
        if (uv_shutdown(&conn->shutdown, (uv_stream_t *) &conn->tcp, on_fake_shutdown) < 0)
                fake_conn_close(conn);
}

static void fake_send_pattern(fake_conn *conn, uint64_t n) {
        uint8_t *p = malloc(n ? n : 1);
        ck_assert_ptr_nonnull(p);
        for (uint64_t i = 0; i < n; i++)
                p[i] = pattern(i);
        fake_send(conn, p, n);
        free(p);
}

static bool body_is_pattern(const uint8_t *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (b[i] != pattern(i))
                        return false;
        return true;
}

static void fake_dispatch(fake_conn *conn) {
        fake_server *srv = conn->srv;
        const char *t = conn->target;
        bool reused = conn->served > 0;

        srv->requests++;
        snprintf(srv->last_method, sizeof(srv->last_method), "%s", conn->method);
        snprintf(srv->last_target, sizeof(srv->last_target), "%s", conn->target);
        srv->last_content_length = conn->content_length;
        srv->last_chunked = conn->chunked;
        srv->last_expect = conn->expect_continue;
        srv->last_has_content_type = conn->has_content_type;
        snprintf(srv->last_content_type, sizeof(srv->last_content_type), "%s", conn->content_type);
        srv->last_body_len = conn->body_len;
        srv->last_body_ok = body_is_pattern(conn->body, conn->body_len);
        conn->served++;

        if (conn->chunked) {
                fake_sendf(conn, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n");
                fake_conn_finish(conn);
        } else if (strcmp(conn->method, "CONNECT") == 0) {
                fake_sendf(conn, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                fake_conn_finish(conn);
        } else if (strncmp(t, "http://", 7) == 0) {
                fake_sendf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied");
        } else if (strncmp(t, "/bytes/", 7) == 0) {
                unsigned long n = strtoul(t + 7, NULL, 10);
                fake_sendf(conn, "HTTP/1.1 200 OK\r\nETag: \"e-%lu\"\r\nContent-Length: %lu\r\n\r\n", n, n);
                if (strcmp(conn->method, "HEAD") != 0)
                        fake_send_pattern(conn, n);
        } else if (strcmp(t, "/head") == 0) {
                fake_sendf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 12345\r\nx-amz-meta-k:  v  \r\n\r\n");
        } else if (strcmp(t, "/small") == 0) {
                fake_sendf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        } else if (strcmp(t, "/upload") == 0 || strcmp(t, "/die") == 0) {
                if (strcmp(t, "/die") == 0 && srv->die_next && reused) {
                        srv->die_next = false;
                        srv->died++;
                        fake_conn_close(conn);
                        return;
                }
                if (srv->last_body_ok && (long) conn->body_len == conn->content_length)
                        srv->uploads_ok++;
                fake_sendf(conn, "HTTP/1.1 200 OK\r\nETag: \"up-%zu\"\r\nContent-Length: 0\r\n\r\n",
                           conn->body_len);
        } else if (strcmp(t, "/delete") == 0) {
                fake_sendf(conn, "HTTP/1.1 204 No Content\r\n\r\n");
        } else if (strcmp(t, "/stall-headers") == 0) {
                /* nothing */
        } else if (strcmp(t, "/stall-body") == 0 || strcmp(t, "/cut-body") == 0) {
                fake_sendf(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                fake_send_pattern(conn, 1000);
                if (strcmp(t, "/cut-body") == 0)
                        fake_conn_finish(conn);
        } else if (strcmp(t, "/cut-headers") == 0) {
                fake_conn_finish(conn);
        } else {
                fake_sendf(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
}

static bool header_is(const char *line, size_t len, const char *name, const char **ret_value) {
        size_t n = strlen(name);
        if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
                return false;
        const char *v = line + n + 1;
        while (*v == ' ')
                v++;
        *ret_value = v;
        return true;
}

/* Parse "METHOD target HTTP/1.1\r\nName: value\r\n...\r\n\r\n". */
static void fake_parse_head(fake_conn *conn, char *head) {
        char *save = NULL;
        char *line = strtok_r(head, "\r\n", &save);
        ck_assert_ptr_nonnull(line);
        ck_assert_int_eq(sscanf(line, "%15s %511s", conn->method, conn->target), 2);
        conn->content_length = -1;
        conn->chunked = conn->expect_continue = conn->has_content_type = false;
        conn->content_type[0] = '\0';
        while ((line = strtok_r(NULL, "\r\n", &save))) {
                const char *v;
                size_t len = strlen(line);
                if (header_is(line, len, "Content-Length", &v))
                        conn->content_length = strtol(v, NULL, 10);
                else if (header_is(line, len, "Transfer-Encoding", &v))
                        conn->chunked = true;
                else if (header_is(line, len, "Expect", &v))
                        conn->expect_continue = strcasecmp(v, "100-continue") == 0;
                else if (header_is(line, len, "Content-Type", &v)) {
                        conn->has_content_type = true;
                        snprintf(conn->content_type, sizeof(conn->content_type), "%s", v);
                }
        }
}

static void fake_process(fake_conn *conn) {
        while (!conn->closing) {
                if (!conn->have_head) {
                        char *end = memmem(conn->in, conn->in_len, "\r\n\r\n", 4);
                        if (!end)
                                return;
                        size_t head_len = (size_t) (end - conn->in) + 4;
                        end[2] = '\0';
                        fake_parse_head(conn, conn->in);
                        memmove(conn->in, conn->in + head_len, conn->in_len - head_len);
                        conn->in_len -= head_len;
                        conn->have_head = true;
                        conn->body_len = 0;
                        ck_assert(conn->content_length <= (long) BODY_MAX);
                        if (conn->expect_continue && conn->content_length > 0)
                                fake_sendf(conn, "HTTP/1.1 100 Continue\r\n\r\n");
                }
                size_t want = conn->content_length > 0 ? (size_t) conn->content_length : 0;
                size_t take = want - conn->body_len;
                if (take > conn->in_len)
                        take = conn->in_len;
                if (take > 0) {
                        if (!conn->body) {
                                conn->body = malloc(BODY_MAX);
                                ck_assert_ptr_nonnull(conn->body);
                        }
                        memcpy(conn->body + conn->body_len, conn->in, take);
                        conn->body_len += take;
                        memmove(conn->in, conn->in + take, conn->in_len - take);
                        conn->in_len -= take;
                }
                if (conn->body_len < want && !conn->chunked)
                        return;
                conn->have_head = false;
                fake_dispatch(conn);
        }
}

static void on_fake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        fake_conn *conn = h->data;
        (void) suggested;
        *buf = uv_buf_init(conn->rbuf, sizeof(conn->rbuf));
}

static void on_fake_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
        fake_conn *conn = s->data;
        (void) buf;
        if (nread < 0) {
                fake_conn_close(conn);
                return;
        }
        if (conn->closing)
                return;
        if (conn->in_len + (size_t) nread > conn->in_cap) {
                conn->in_cap = (conn->in_len + (size_t) nread) * 2;
                conn->in = realloc(conn->in, conn->in_cap);
                ck_assert_ptr_nonnull(conn->in);
        }
        memcpy(conn->in + conn->in_len, conn->rbuf, (size_t) nread);
        conn->in_len += (size_t) nread;
        fake_process(conn);
}

static void on_fake_connection(uv_stream_t *listener, int status) {
        fake_server *srv = listener->data;
        ck_assert_int_eq(status, 0);
        fake_conn *conn = calloc(1, sizeof(*conn));
        ck_assert_ptr_nonnull(conn);
        conn->srv = srv;
        ck_assert_int_eq(uv_tcp_init(srv->loop, &conn->tcp), 0);
        conn->tcp.data = conn;
        ck_assert_int_eq(uv_accept(listener, (uv_stream_t *) &conn->tcp), 0);
        conn->next = srv->conns;
        if (srv->conns)
                srv->conns->prev = conn;
        srv->conns = conn;
        srv->accepted++;
        srv->open++;
        if (srv->open > srv->max_open)
                srv->max_open = srv->open;
        ck_assert_int_eq(uv_read_start((uv_stream_t *) &conn->tcp, on_fake_alloc, on_fake_read), 0);
}

static void fake_server_start(fake_server *srv, uv_loop_t *loop) {
        struct sockaddr_in addr;
        struct sockaddr_storage name;
        int len = sizeof(name);

        *srv = (fake_server){ .loop = loop };
        ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
        ck_assert_int_eq(uv_tcp_init(loop, &srv->listener), 0);
        srv->listener.data = srv;
        ck_assert_int_eq(uv_tcp_bind(&srv->listener, (const struct sockaddr *) &addr, 0), 0);
        ck_assert_int_eq(uv_listen((uv_stream_t *) &srv->listener, 256, on_fake_connection), 0);
        ck_assert_int_eq(uv_tcp_getsockname(&srv->listener, (struct sockaddr *) &name, &len), 0);
        srv->port = ntohs(((struct sockaddr_in *) &name)->sin_port);
}

static void fake_server_close(fake_server *srv) {
        uv_close((uv_handle_t *) &srv->listener, NULL);
        while (srv->conns)
                fake_conn_close(srv->conns);
}

/* ---- per-test harness ---- */

typedef struct ctx {
        uv_loop_t loop;
        fake_server srv;
        http_client *client;
        uv_timer_t watchdog;
        uv_timer_t aux; /* for the tests' own delays */
        struct xfer *aux_x; /* the transfer the aux timer acts on */
        unsigned expected, completed;
        unsigned done_at_close;
        unsigned client_closed;
        bool shut;
        bool in_api; /* inside an http_* call made by the test: no callback may run */
} ctx;

static void on_watchdog(uv_timer_t *t) {
        (void) t;
        ck_abort_msg("test did not finish in time");
}

static void ctx_setup(ctx *t, const http_client_config *cfg) {
        memset(t, 0, sizeof(*t));
        ck_assert_int_eq(uv_loop_init(&t->loop), 0);
        fake_server_start(&t->srv, &t->loop);
        ck_assert_int_eq(http_client_new(&t->loop, cfg, &t->client), 0);
        ck_assert_int_eq(uv_timer_init(&t->loop, &t->watchdog), 0);
        ck_assert_int_eq(uv_timer_start(&t->watchdog, on_watchdog, 20000, 0), 0);
        ck_assert_int_eq(uv_timer_init(&t->loop, &t->aux), 0);
        t->aux.data = t;
}

static void on_client_closed(void *userdata) {
        ctx *t = userdata;
        t->client_closed++;
        t->done_at_close = t->completed;
}

static void ctx_shutdown(ctx *t) {
        if (t->shut)
                return;
        t->shut = true;
        t->in_api = true;
        http_client_close(t->client, on_client_closed, t);
        t->in_api = false;
        fake_server_close(&t->srv);
        uv_close((uv_handle_t *) &t->watchdog, NULL);
        uv_close((uv_handle_t *) &t->aux, NULL);
}

static void on_walk(uv_handle_t *h, void *arg) {
        unsigned *n = arg;
        fprintf(stderr, "left open: %s handle %p%s\n", uv_handle_type_name(uv_handle_get_type(h)),
                (void *) h, uv_is_closing(h) ? " (closing)" : "");
        (*n)++;
}

static void ctx_run(ctx *t) {
        unsigned left = 0;

        ck_assert_int_eq(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
        ck_assert(t->shut);
        ck_assert_uint_eq(t->client_closed, 1);
        uv_walk(&t->loop, on_walk, &left);
        ck_assert_uint_eq(left, 0);
        ck_assert_int_eq(uv_loop_close(&t->loop), 0);
}

static void ctx_url(const ctx *t, const char *path, char *buf, size_t size) {
        int n = snprintf(buf, size, "http://127.0.0.1:%d%s", t->srv.port, path);
        ck_assert(n > 0 && (size_t) n < size);
}

/* ---- one transfer as the tests see it ---- */

typedef struct xfer xfer;
struct xfer {
        ctx *t;
        http_request *req;
        char url[256];

        unsigned done;
        int error;
        CURLcode code;
        long status;
        bool transient;
        char message[CURL_ERROR_SIZE];
        http_stats stats;

        uint64_t body_len;
        unsigned body_calls;
        bool body_bad;
        long status_in_body;
        char etag[64];
        char content_length[32];
        char meta[32];
        unsigned headers;

        /* knobs */
        int body_error, header_error;
        bool pause_in_body;       /* return HTTP_PAUSE on the first chunk, unpause after pause_ms */
        unsigned pause_ms;
        bool pause_on_header;     /* http_request_pause() from on_header, unpause after 100 ms */
        bool cancel_in_body;      /* cancel itself from its first body callback */
        bool cancel_after_body;   /* cancel from a timer after the first body chunk */
        bool close_in_body;       /* close the whole client from the first body callback */
        bool paused_now;
        unsigned calls_while_paused;
        unsigned body_calls_at_cancel;

        /* upload through the read callback */
        uint64_t up_len, up_off;
        size_t up_chunk;
        unsigned read_calls, rewinds;
        bool read_pause, read_short;
        bool read_paused_now;

        void (*then)(xfer *x);
};

static void on_done(http_request *req, const http_result *res, void *userdata) {
        xfer *x = userdata;
        ctx *t = x->t;

        ck_assert(!t->in_api); /* never from inside a call the test made */
        ck_assert_ptr_eq(req, x->req);
        ck_assert_ptr_eq(http_request_userdata(req), x);
        x->done++;
        x->error = res->error;
        x->code = res->code;
        x->status = res->status;
        x->transient = res->transient;
        x->stats = res->stats;
        ck_assert_ptr_nonnull(res->message);
        snprintf(x->message, sizeof(x->message), "%s", res->message);
        x->req = NULL;
        t->completed++;
        if (x->then)
                x->then(x);
        if (t->completed == t->expected)
                ctx_shutdown(t);
}

static int on_header(http_request *req, const char *name, const char *value, void *userdata) {
        xfer *x = userdata;

        ck_assert(!x->t->in_api);
        ck_assert_ptr_eq(req, x->req);
        x->headers++;
        if (strcasecmp(name, "ETag") == 0)
                snprintf(x->etag, sizeof(x->etag), "%s", value);
        else if (strcasecmp(name, "Content-Length") == 0)
                snprintf(x->content_length, sizeof(x->content_length), "%s", value);
        else if (strcasecmp(name, "x-amz-meta-k") == 0)
                snprintf(x->meta, sizeof(x->meta), "[%s]", value);
        if (x->pause_on_header && strcasecmp(name, "Content-Length") == 0) {
                http_request_pause(req);
                ck_assert(http_request_is_paused(req));
                x->paused_now = true;
        }
        return x->header_error;
}

static void on_aux_unpause(uv_timer_t *timer) {
        ctx *t = timer->data;
        xfer *x = t->aux_x;

        ck_assert(http_request_is_paused(x->req));
        x->paused_now = false;
        x->read_paused_now = false;
        t->in_api = true;
        http_request_unpause(x->req);
        t->in_api = false;
        ck_assert(!http_request_is_paused(x->req));
}

static void on_aux_cancel(uv_timer_t *timer) {
        ctx *t = timer->data;
        xfer *x = t->aux_x;

        x->body_calls_at_cancel = x->body_calls;
        t->in_api = true;
        ck_assert_int_eq(http_request_cancel(x->req), 0);
        ck_assert_int_eq(http_request_cancel(x->req), -EALREADY);
        t->in_api = false;
        ck_assert_uint_eq(x->done, 0);
}

static int on_body(http_request *req, const void *data, size_t len, void *userdata) {
        xfer *x = userdata;
        const uint8_t *p = data;

        ck_assert(!x->t->in_api);
        ck_assert_ptr_eq(req, x->req);
        ck_assert(len > 0);
        if (x->paused_now)
                x->calls_while_paused++;
        x->status_in_body = http_request_status(req);

        if (x->pause_in_body && x->body_calls == 0 && !x->paused_now) {
                x->pause_in_body = false;
                x->paused_now = true;
                x->t->aux_x = x;
                ck_assert_int_eq(uv_timer_start(&x->t->aux, on_aux_unpause, x->pause_ms, 0), 0);
                return HTTP_PAUSE; /* these bytes come again */
        }
        for (size_t i = 0; i < len; i++)
                if (p[i] != pattern(x->body_len + i))
                        x->body_bad = true;
        x->body_len += len;
        x->body_calls++;

        if (x->cancel_in_body) {
                x->cancel_in_body = false;
                x->body_calls_at_cancel = x->body_calls;
                ck_assert_int_eq(http_request_cancel(req), 0);
                return 0;
        }
        if (x->close_in_body) {
                x->close_in_body = false;
                ctx_shutdown(x->t); /* the client, from inside its own callback */
                return 0;
        }
        if (x->cancel_after_body && x->body_calls == 1) {
                x->t->aux_x = x;
                ck_assert_int_eq(uv_timer_start(&x->t->aux, on_aux_cancel, 20, 0), 0);
        }
        if (x->pause_on_header && x->body_calls == 1) {
                /* The first body bytes after an external pause: unpause must have run. */
                ck_assert(!x->paused_now);
        }
        return x->body_error;
}

static ssize_t on_read(http_request *req, void *buf, size_t len, void *userdata) {
        xfer *x = userdata;
        uint8_t *p = buf;

        ck_assert(!x->t->in_api);
        ck_assert_ptr_eq(req, x->req);
        ck_assert(!x->read_paused_now);
        ck_assert(len > 0);
        ck_assert(x->up_off + len <= x->up_len); /* never asked past Content-Length */
        x->read_calls++;
        if (x->read_short && x->up_off >= x->up_len / 2)
                return 0;
        if (x->read_pause && x->read_calls % 2 == 1) {
                /* As if the bytes came from an asynchronous file read. */
                x->read_paused_now = true;
                x->t->aux_x = x;
                ck_assert_int_eq(uv_timer_start(&x->t->aux, on_aux_unpause, 1, 0), 0);
                return HTTP_PAUSE;
        }
        if (len > x->up_chunk)
                len = x->up_chunk;
        for (size_t i = 0; i < len; i++)
                p[i] = pattern(x->up_off + i);
        x->up_off += len;
        return (ssize_t) len;
}

static int on_rewind(http_request *req, void *userdata) {
        xfer *x = userdata;
        (void) req;
        x->rewinds++;
        x->up_off = 0;
        return 0;
}

static void xfer_start_full(xfer *x, ctx *t, http_method m, const char *path, const char *const *headers,
                            const void *body, uint64_t body_length, bool stream) {
        http_request_opts o = {
                .method = m,
                .url = x->url,
                .headers = headers,
                .body = stream ? NULL : body,
                .body_length = body_length,
                .read = stream ? on_read : NULL,
                .on_header = on_header,
                .on_body = on_body,
                .on_done = on_done,
                .userdata = x,
        };
        x->t = t;
        if (path[0] == '/')
                ctx_url(t, path, x->url, sizeof(x->url));
        else
                snprintf(x->url, sizeof(x->url), "%s", path);
        if (stream) {
                x->up_len = body_length;
                if (!x->up_chunk)
                        x->up_chunk = 1000;
        }
        t->in_api = true;
        int r = http_request_start(t->client, &o, &x->req);
        t->in_api = false;
        ck_assert_int_eq(r, 0);
        ck_assert_ptr_nonnull(x->req);
}

static void xfer_start(xfer *x, ctx *t, http_method m, const char *path) {
        xfer_start_full(x, t, m, path, NULL, NULL, 0, false);
}

/* ---- tests ---- */

START_TEST(test_get_body_in_many_callbacks) {
        ctx t;
        xfer x = { 0 };

        ctx_setup(&t, NULL);
        t.expected = 1;
        xfer_start(&x, &t, HTTP_GET, "/bytes/1048576");
        ck_assert_uint_eq(http_client_requests(t.client), 1);
        ctx_run(&t);

        ck_assert_uint_eq(x.done, 1);
        ck_assert_int_eq(x.error, 0);
        ck_assert_int_eq(x.code, CURLE_OK);
        ck_assert_int_eq(x.status, 200);
        ck_assert(!x.transient);
        ck_assert_uint_eq(x.body_len, 1048576);
        ck_assert(!x.body_bad);
        ck_assert_uint_gt(x.body_calls, 8);
        ck_assert_int_eq(x.status_in_body, 200);
        ck_assert_str_eq(x.etag, "\"e-1048576\"");
        ck_assert_str_eq(x.content_length, "1048576");
        ck_assert_uint_eq(x.stats.bytes_down, 1048576);
        ck_assert_uint_gt(x.stats.total_us, 0);
        ck_assert_str_eq(t.srv.last_method, "GET");
}
END_TEST

START_TEST(test_head) {
        ctx t;
        xfer x = { 0 };

        ctx_setup(&t, NULL);
        t.expected = 1;
        xfer_start(&x, &t, HTTP_HEAD, "/head");
        ctx_run(&t);

        ck_assert_uint_eq(x.done, 1);
        ck_assert_int_eq(x.error, 0);
        ck_assert_int_eq(x.status, 200);
        ck_assert_uint_eq(x.body_calls, 0);
        ck_assert_str_eq(x.content_length, "12345");
        ck_assert_str_eq(x.meta, "[v]"); /* value trimmed */
        ck_assert_str_eq(t.srv.last_method, "HEAD");
}
END_TEST

START_TEST(test_put_from_read_callback) {
        ctx t;
        xfer x = { .up_chunk = 1000 };

        ctx_setup(&t, NULL);
        t.expected = 1;
        xfer_start_full(&x, &t, HTTP_PUT, "/upload", NULL, NULL, 300000, true);
        ctx_run(&t);

        ck_assert_uint_eq(x.done, 1);
        ck_assert_int_eq(x.error, 0);
        ck_assert_int_eq(x.status, 200);
        ck_assert_str_eq(x.etag, "\"up-300000\"");
        ck_assert_uint_ge(x.read_calls, 300);
        ck_assert_uint_eq(x.stats.bytes_up, 300000);
        ck_assert_str_eq(t.srv.last_method, "PUT");
        ck_assert_int_eq(t.srv.last_content_length, 300000);
        ck_assert(!t.srv.last_chunked);
        ck_assert(!t.srv.last_expect); /* no 100-continue round trip for a small body */
        ck_assert(t.srv.last_body_ok);
        ck_assert_uint_eq(t.srv.uploads_ok, 1);
}
END_TEST

START_TEST(test_put_post_delete_from_memory) {
        static const char *const post_headers[] = { "x-amz-test: 1", NULL };
        static const char *const typed_headers[] = { "Content-Type: application/xml", NULL };
        ctx t;
        xfer big = { 0 }, post = { 0 }, typed = { 0 }, del = { 0 }, empty = { 0 };
        size_t n = 2u << 20; /* over libcurl's 1 MiB threshold for Expect: 100-continue */
        uint8_t *body = malloc(n);

        ck_assert_ptr_nonnull(body);
        for (size_t i = 0; i < n; i++)
                body[i] = pattern(i);
        ctx_setup(&t, NULL);
        t.expected = 5;
        /* One at a time, so the server's "last request" is the one we check. */
        xfer_start_full(&big, &t, HTTP_PUT, "/upload", NULL, body, n, false);
        while (big.done == 0)
                uv_run(&t.loop, UV_RUN_ONCE);
        ck_assert_int_eq(big.error, 0);
        ck_assert_int_eq(big.status, 200); /* the 100 Continue is not the status */
        ck_assert(t.srv.last_expect);
        ck_assert_int_eq(t.srv.last_content_length, (long) n);
        ck_assert(t.srv.last_body_ok);
        ck_assert_uint_eq(big.stats.bytes_up, n);

        xfer_start_full(&post, &t, HTTP_POST, "/upload", post_headers, body, 1000, false);
        while (post.done == 0)
                uv_run(&t.loop, UV_RUN_ONCE);
        ck_assert_int_eq(post.error, 0);
        ck_assert_str_eq(t.srv.last_method, "POST");
        ck_assert_int_eq(t.srv.last_content_length, 1000);
        ck_assert(!t.srv.last_has_content_type); /* not libcurl's form type */
        ck_assert(t.srv.last_body_ok);

        xfer_start_full(&typed, &t, HTTP_POST, "/upload", typed_headers, body, 10, false);
        while (typed.done == 0)
                uv_run(&t.loop, UV_RUN_ONCE);
        ck_assert_str_eq(t.srv.last_content_type, "application/xml");

        xfer_start_full(&empty, &t, HTTP_PUT, "/upload", NULL, NULL, 0, false);
        while (empty.done == 0)
                uv_run(&t.loop, UV_RUN_ONCE);
        ck_assert_int_eq(empty.error, 0);
        ck_assert_int_eq(t.srv.last_content_length, 0); /* S3 wants Content-Length: 0 */

        xfer_start(&del, &t, HTTP_DELETE, "/delete");
        ctx_run(&t);
        ck_assert_int_eq(del.error, 0);
        ck_assert_int_eq(del.status, 204);
        ck_assert_str_eq(t.srv.last_method, "DELETE");
        ck_assert_uint_eq(t.srv.accepted, 1); /* all on one connection */
        free(body);
}
END_TEST

static unsigned seq_count;
static xfer seq_x;

static void seq_next(xfer *x) {
        ck_assert_int_eq(x->error, 0);
        ck_assert_int_eq(x->status, 200);
        ck_assert_uint_eq(x->body_len, 5);
        if (++seq_count < 100) {
                ctx *t = x->t;
                seq_x = (xfer){ .then = seq_next };
                xfer_start(&seq_x, t, HTTP_GET, "/small");
        }
}

START_TEST(test_sequential_gets_reuse_one_connection) {
        ctx t;

        ctx_setup(&t, NULL);
        t.expected = 100;
        seq_count = 0;
        seq_x = (xfer){ .then = seq_next };
        xfer_start(&seq_x, &t, HTTP_GET, "/small");
        ctx_run(&t);

        ck_assert_uint_eq(seq_count, 100);
        ck_assert_uint_eq(t.srv.requests, 100);
        ck_assert_uint_eq(t.srv.accepted, 1);
}
END_TEST

START_TEST(test_concurrent_gets_respect_connection_limit) {
        http_client_config cfg = { .max_total_connections = 16 };
        ctx t;
        xfer *xs = calloc(200, sizeof(*xs));

        ck_assert_ptr_nonnull(xs);
        ctx_setup(&t, &cfg);
        t.expected = 200;
        for (unsigned i = 0; i < 200; i++)
                xfer_start(&xs[i], &t, HTTP_GET, "/bytes/20000");
        ck_assert_uint_eq(http_client_requests(t.client), 200);
        ctx_run(&t);

        for (unsigned i = 0; i < 200; i++) {
                ck_assert_uint_eq(xs[i].done, 1);
                ck_assert_int_eq(xs[i].error, 0);
                ck_assert_uint_eq(xs[i].body_len, 20000);
                ck_assert(!xs[i].body_bad);
        }
        ck_assert_uint_eq(t.srv.requests, 200);
        ck_assert_uint_le(t.srv.max_open, 16);
        ck_assert_uint_le(t.srv.accepted, 16);
        ck_assert_uint_gt(t.srv.accepted, 1);
        free(xs);
}
END_TEST

static int free_port(void) {
        uv_loop_t loop;
        uv_tcp_t tcp;
        struct sockaddr_in addr;
        struct sockaddr_storage name;
        int len = sizeof(name);

        ck_assert_int_eq(uv_loop_init(&loop), 0);
        ck_assert_int_eq(uv_tcp_init(&loop, &tcp), 0);
        ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
        ck_assert_int_eq(uv_tcp_bind(&tcp, (const struct sockaddr *) &addr, 0), 0);
        ck_assert_int_eq(uv_tcp_getsockname(&tcp, (struct sockaddr *) &name, &len), 0);
        uv_close((uv_handle_t *) &tcp, NULL);
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
        return ntohs(((struct sockaddr_in *) &name)->sin_port);
}

START_TEST(test_connection_refused_is_transient) {
        ctx t;
        xfer x = { 0 };
        char url[64];

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", free_port());
        ctx_setup(&t, NULL);
        t.expected = 1;
        xfer_start(&x, &t, HTTP_GET, url);
        ctx_run(&t);

        ck_assert_uint_eq(x.done, 1);
        ck_assert_int_eq(x.error, -ECONNREFUSED);
        ck_assert_int_eq(x.code, CURLE_COULDNT_CONNECT);
        ck_assert(x.transient);
        ck_assert_int_eq(x.status, 0);
        ck_assert(x.message[0] != '\0');
}
END_TEST

START_TEST(test_stall_hits_low_speed_limit) {
        http_client_config cfg = { .low_speed_limit = 1000, .low_speed_time = 1 };
        ctx t;
        xfer head = { 0 }, body = { 0 };

        ctx_setup(&t, &cfg);
        t.expected = 2;
        uint64_t start = uv_now(&t.loop);
        xfer_start(&head, &t, HTTP_GET, "/stall-headers");
        xfer_start(&body, &t, HTTP_GET, "/stall-body");
        ctx_run(&t);

        ck_assert_int_eq(head.error, -ETIMEDOUT);
        ck_assert_int_eq(head.code, CURLE_OPERATION_TIMEDOUT);
        ck_assert(head.transient);
        ck_assert_int_eq(head.status, 0);
        ck_assert_int_eq(body.error, -ETIMEDOUT);
        ck_assert_int_eq(body.code, CURLE_OPERATION_TIMEDOUT);
        ck_assert(body.transient);
        ck_assert_int_eq(body.status, 200);
        ck_assert_uint_eq(body.body_len, 1000);
        uv_update_time(&t.loop);
        ck_assert_uint_ge(uv_now(&t.loop) - start, 900);
}
END_TEST

START_TEST(test_server_closes_early) {
        ctx t;
        xfer body = { 0 }, nothing = { 0 };

        ctx_setup(&t, NULL);
        t.expected = 2;
        xfer_start(&body, &t, HTTP_GET, "/cut-body");
        xfer_start(&nothing, &t, HTTP_GET, "/cut-headers");
        ctx_run(&t);

        ck_assert_int_eq(body.code, CURLE_PARTIAL_FILE);
        ck_assert_int_eq(body.error, -EPIPE);
        ck_assert(body.transient);
        ck_assert_uint_eq(body.body_len, 1000);
        ck_assert_int_eq(nothing.code, CURLE_GOT_NOTHING);
        ck_assert_int_eq(nothing.error, -ECONNRESET);
        ck_assert(nothing.transient);
}
END_TEST

START_TEST(test_cancel_in_flight) {
        ctx t;
        xfer timer = { .cancel_after_body = true }, self = { .cancel_in_body = true };

        ctx_setup(&t, NULL);
        t.expected = 2;
        xfer_start(&timer, &t, HTTP_GET, "/stall-body");
        xfer_start(&self, &t, HTTP_GET, "/bytes/1048576");
        ctx_run(&t);

        ck_assert_uint_eq(timer.done, 1);
        ck_assert_int_eq(timer.error, -ECANCELED);
        ck_assert_int_eq(timer.code, CURLE_ABORTED_BY_CALLBACK);
        ck_assert(!timer.transient);
        ck_assert_str_eq(timer.message, "cancelled");
        ck_assert_uint_eq(timer.body_calls, timer.body_calls_at_cancel);

        ck_assert_uint_eq(self.done, 1);
        ck_assert_int_eq(self.error, -ECANCELED);
        ck_assert_uint_eq(self.body_calls, 1); /* nothing after the cancel */
        ck_assert_uint_lt(self.body_len, 1048576);
}
END_TEST

START_TEST(test_cancel_before_start) {
        ctx t;
        xfer x = { 0 };

        ctx_setup(&t, NULL);
        t.expected = 1;
        xfer_start(&x, &t, HTTP_GET, "/small");
        t.in_api = true;
        ck_assert_int_eq(http_request_cancel(x.req), 0);
        ck_assert_int_eq(http_request_cancel(x.req), -EALREADY);
        t.in_api = false;
        ck_assert_uint_eq(x.done, 0);
        ctx_run(&t);

        ck_assert_uint_eq(x.done, 1);
        ck_assert_int_eq(x.error, -ECANCELED);
        ck_assert_uint_eq(t.srv.requests, 0);
        ck_assert_int_eq(http_request_cancel(NULL), 0);
}
END_TEST

START_TEST(test_pause_then_resume_download) {
        ctx t;
        xfer x = { .pause_in_body = true, .pause_ms = 100 };
        uint64_t start;

        ctx_setup(&t, NULL);
        t.expected = 1;
        start = uv_now(&t.loop);
        xfer_start(&x, &t, HTTP_GET, "/bytes/262144");
        ctx_run(&t);

        ck_assert_int_eq(x.error, 0);
        ck_assert_uint_eq(x.calls_while_paused, 0);
        ck_assert_uint_eq(x.body_len, 262144); /* the refused bytes came again, once */
        ck_assert(!x.body_bad);
        ck_assert_uint_ge(uv_now(&t.loop) - start, 90);
}
END_TEST

START_TEST(test_pause_from_outside_callbacks) {
        ctx t;
        xfer x = { .pause_on_header = true };

        ctx_setup(&t, NULL);
        t.expected = 1;
        xfer_start(&x, &t, HTTP_GET, "/bytes/100000");
        t.aux_x = &x;
        ck_assert_int_eq(uv_timer_start(&t.aux, on_aux_unpause, 100, 0), 0);
        ctx_run(&t);

        ck_assert_int_eq(x.error, 0);
        ck_assert_uint_eq(x.calls_while_paused, 0);
        ck_assert_uint_eq(x.body_len, 100000);
        ck_assert(!x.body_bad);
}
END_TEST

START_TEST(test_upload_pauses_like_async_reads) {
        ctx t;
        xfer x = { .read_pause = true, .up_chunk = 16384 };

        ctx_setup(&t, NULL);
        t.expected = 1;
        xfer_start_full(&x, &t, HTTP_PUT, "/upload", NULL, NULL, 300000, true);
        ctx_run(&t);

        ck_assert_int_eq(x.error, 0);
        ck_assert_int_eq(x.status, 200);
        ck_assert_uint_eq(t.srv.uploads_ok, 1);
        ck_assert_uint_eq(x.stats.bytes_up, 300000);
}
END_TEST

/* Bandwidth limiting will pause downloads for long stretches: libcurl must not
 * take that for a stall. (It does for a paused upload, see http.h.) */
START_TEST(test_paused_download_is_not_a_stall) {
        http_client_config cfg = { .low_speed_limit = 1000, .low_speed_time = 1 };
        ctx t;
        xfer x = { .pause_in_body = true, .pause_ms = 1500 };

        ctx_setup(&t, &cfg);
        t.expected = 1;
        xfer_start(&x, &t, HTTP_GET, "/bytes/262144");
        ctx_run(&t);

        ck_assert_int_eq(x.error, 0);
        ck_assert_uint_eq(x.body_len, 262144);
        ck_assert(!x.body_bad);
}
END_TEST

static xfer close_xs[20];

static void on_aux_close(uv_timer_t *timer) {
        ctx *t = timer->data;

        if (t->srv.requests < 20)
                return; /* not all in flight yet: the repeating timer comes back */
        ctx_shutdown(t);
        for (unsigned i = 0; i < 20; i++)
                ck_assert_uint_eq(close_xs[i].done, 0); /* not from inside close */

        http_request_opts o = { .method = HTTP_GET, .url = "http://127.0.0.1:1/", .on_done = on_done };
        http_request *req = NULL;
        ck_assert_int_eq(http_request_start(t->client, &o, &req), -ESHUTDOWN);
        ck_assert_ptr_null(req);
}

START_TEST(test_close_with_requests_in_flight) {
        ctx t;

        ctx_setup(&t, NULL);
        t.expected = 1000; /* never reached: the timer closes */
        for (unsigned i = 0; i < 20; i++)
                xfer_start(&close_xs[i], &t, HTTP_GET, i % 2 ? "/stall-body" : "/stall-headers");
        ck_assert_int_eq(uv_timer_start(&t.aux, on_aux_close, 10, 10), 0);
        ctx_run(&t);

        for (unsigned i = 0; i < 20; i++) {
                ck_assert_uint_eq(close_xs[i].done, 1);
                ck_assert_int_eq(close_xs[i].error, -ECANCELED);
        }
        ck_assert_uint_eq(t.done_at_close, 20); /* close callback after every completion */
}
END_TEST

START_TEST(test_close_from_inside_a_callback) {
        ctx t;
        xfer closer = { .close_in_body = true }, other = { 0 }, queued = { 0 };

        ctx_setup(&t, NULL);
        t.expected = 1000; /* never reached: the body callback closes */
        xfer_start(&other, &t, HTTP_GET, "/stall-headers");
        xfer_start(&closer, &t, HTTP_GET, "/bytes/1048576");
        while (t.srv.requests < 2)
                ck_assert_int_ne(uv_run(&t.loop, UV_RUN_ONCE), 0);
        xfer_start(&queued, &t, HTTP_GET, "/small");
        ctx_run(&t);

        ck_assert_uint_eq(closer.done, 1);
        ck_assert_int_eq(closer.error, -ECANCELED);
        ck_assert_uint_eq(closer.body_calls, 1);
        ck_assert_uint_eq(other.done, 1);
        ck_assert_int_eq(other.error, -ECANCELED);
        ck_assert_uint_eq(queued.done, 1); /* cancelled, or done first: either way once */
        ck_assert_uint_eq(t.done_at_close, 3);
}
END_TEST

static xfer proxy_direct, proxy_tunnel;
static char proxy_direct_target[512];

static void proxy_then(xfer *x) {
        ctx *t = x->t;
        char proxy[64];

        ck_assert_int_eq(x->error, 0);
        if (x != &proxy_direct) {
                /* A proxy that refuses, and no_proxy sending 127.0.0.1 around it. */
                snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", free_port());
                ck_assert_int_eq(setenv("http_proxy", proxy, 1), 0);
                ck_assert_int_eq(setenv("no_proxy", "127.0.0.1", 1), 0);
                proxy_direct.then = proxy_then;
                xfer_start(&proxy_direct, t, HTTP_GET, "/small");
                return;
        }
        /* https_proxy: a CONNECT tunnel through the fake server. */
        snprintf(proxy_direct_target, sizeof(proxy_direct_target), "%s", t->srv.last_target);
        snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", t->srv.port);
        ck_assert_int_eq(setenv("https_proxy", proxy, 1), 0);
        xfer_start(&proxy_tunnel, t, HTTP_GET, "https://fds-proxy-test.invalid/obj");
}

START_TEST(test_proxy_from_environment) {
        ctx t;
        xfer via = { .then = proxy_then };
        char proxy[64];

        ctx_setup(&t, NULL);
        t.expected = 3;
        snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", t.srv.port);
        ck_assert_int_eq(setenv("http_proxy", proxy, 1), 0);
        /* .invalid never resolves: only a proxy can make this work. */
        xfer_start(&via, &t, HTTP_GET, "http://fds-proxy-test.invalid/obj");
        ctx_run(&t);

        ck_assert_int_eq(via.error, 0);
        ck_assert_int_eq(via.status, 200);
        ck_assert_uint_eq(via.body_calls, 1);
        ck_assert_int_eq(proxy_direct.error, 0);
        ck_assert_uint_eq(proxy_direct.body_len, 5);
        ck_assert_str_eq(proxy_direct_target, "/small");
        ck_assert_str_eq(t.srv.last_method, "CONNECT");
        ck_assert_str_eq(t.srv.last_target, "fds-proxy-test.invalid:443");
        ck_assert_int_lt(proxy_tunnel.error, 0); /* the proxy said 403 */
        ck_assert_uint_eq(proxy_tunnel.headers, 0); /* the CONNECT reply is not the response */
        ck_assert_uint_eq(t.srv.requests, 3);
        unsetenv("http_proxy");
        unsetenv("https_proxy");
        unsetenv("no_proxy");
}
END_TEST

static xfer rw_first, rw_mem, rw_stream, rw_norewind;

/* A reused connection that dies after the request was sent: libcurl resends on
 * a fresh connection, which needs the body from byte 0 again. */
static void rewind_chain(xfer *x);

static uint8_t rw_body[5000];

static void rewind_chain(xfer *x) {
        ctx *t = x->t;

        t->srv.die_next = true;
        if (x == &rw_first) {
                rw_mem.then = rewind_chain;
                xfer_start_full(&rw_mem, t, HTTP_PUT, "/die", NULL, rw_body, sizeof(rw_body), false);
        } else if (x == &rw_mem) {
                http_request_opts o = {
                        .method = HTTP_PUT,
                        .body_length = sizeof(rw_body),
                        .read = on_read,
                        .rewind = on_rewind,
                        .on_header = on_header,
                        .on_body = on_body,
                        .on_done = on_done,
                        .userdata = &rw_stream,
                };
                rw_stream.t = t;
                rw_stream.up_len = sizeof(rw_body);
                rw_stream.up_chunk = 1000;
                rw_stream.then = rewind_chain;
                ctx_url(t, "/die", rw_stream.url, sizeof(rw_stream.url));
                o.url = rw_stream.url;
                ck_assert_int_eq(http_request_start(t->client, &o, &rw_stream.req), 0);
        } else if (x == &rw_stream) {
                rw_norewind.up_chunk = 1000;
                xfer_start_full(&rw_norewind, t, HTTP_PUT, "/die", NULL, NULL, sizeof(rw_body), true);
        }
}

START_TEST(test_resend_after_dead_connection_rewinds_body) {
        ctx t;

        for (size_t i = 0; i < sizeof(rw_body); i++)
                rw_body[i] = pattern(i);
        ctx_setup(&t, NULL);
        t.expected = 4;
        rw_first.then = rewind_chain;
        xfer_start(&rw_first, &t, HTTP_GET, "/small");
        ctx_run(&t);

        ck_assert_int_eq(rw_first.error, 0);
        ck_assert_int_eq(rw_mem.error, 0);
        ck_assert_int_eq(rw_mem.status, 200);
        ck_assert_int_eq(rw_stream.error, 0);
        ck_assert_int_eq(rw_stream.status, 200);
        ck_assert_uint_eq(rw_stream.rewinds, 1);
        /* Without a rewind callback the resend is impossible: transient. */
        ck_assert_int_eq(rw_norewind.code, CURLE_SEND_FAIL_REWIND);
        ck_assert_int_eq(rw_norewind.error, -ESPIPE);
        ck_assert(rw_norewind.transient);
        ck_assert_uint_eq(t.srv.died, 3);
        ck_assert_uint_eq(t.srv.uploads_ok, 2);
}
END_TEST

START_TEST(test_callback_errors_fail_the_request) {
        ctx t;
        xfer body = { .body_error = -ENOSPC }, header = { .header_error = -EBADMSG },
             shortread = { .read_short = true, .up_chunk = 1000 }, proto = { 0 };

        ctx_setup(&t, NULL);
        t.expected = 4;
        xfer_start(&body, &t, HTTP_GET, "/bytes/100000");
        xfer_start(&header, &t, HTTP_GET, "/bytes/100");
        xfer_start_full(&shortread, &t, HTTP_PUT, "/upload", NULL, NULL, 10000, true);
        xfer_start(&proto, &t, HTTP_GET, "ftp://127.0.0.1/x");
        ctx_run(&t);

        ck_assert_int_eq(body.error, -ENOSPC);
        ck_assert_int_eq(body.code, CURLE_WRITE_ERROR);
        ck_assert(!body.transient);
        ck_assert_uint_eq(body.body_calls, 1);
        ck_assert_int_eq(header.error, -EBADMSG);
        ck_assert(!header.transient);
        ck_assert_int_eq(shortread.error, -ENODATA);
        ck_assert_int_eq(shortread.code, CURLE_ABORTED_BY_CALLBACK);
        ck_assert(!shortread.transient);
        ck_assert_int_eq(proto.error, -EPROTONOSUPPORT);
        ck_assert_int_eq(proto.code, CURLE_UNSUPPORTED_PROTOCOL);
}
END_TEST

START_TEST(test_bad_ca_bundle) {
        http_client_config cfg = { .ca_bundle = "/nonexistent/fds-test-ca.pem" };
        ctx t;
        xfer x = { 0 };
        char url[64];

        ctx_setup(&t, &cfg);
        t.expected = 1;
        snprintf(url, sizeof(url), "https://127.0.0.1:%d/x", t.srv.port);
        xfer_start(&x, &t, HTTP_GET, url);
        ctx_run(&t);

        ck_assert_int_eq(x.code, CURLE_SSL_CACERT_BADFILE);
        ck_assert_int_eq(x.error, -ENOKEY);
        ck_assert(!x.transient);
}
END_TEST

START_TEST(test_start_rejects_bad_options) {
        static const char *const bad_header[] = { "x-a: 1\r\nx-b: 2", NULL };
        ctx t;
        http_request *req = NULL;
        char url[64];
        uint8_t b[4] = { 0 };

        ctx_setup(&t, NULL);
        ctx_url(&t, "/small", url, sizeof(url));
        http_request_opts ok = { .method = HTTP_GET, .url = url, .on_done = on_done };
        http_request_opts o;

        o = ok, o.url = NULL;
        ck_assert_int_eq(http_request_start(t.client, &o, &req), -EINVAL);
        o = ok, o.on_done = NULL;
        ck_assert_int_eq(http_request_start(t.client, &o, &req), -EINVAL);
        o = ok, o.method = _HTTP_METHOD_MAX;
        ck_assert_int_eq(http_request_start(t.client, &o, &req), -EINVAL);
        o = ok, o.body = b, o.body_length = sizeof(b);
        ck_assert_int_eq(http_request_start(t.client, &o, &req), -EINVAL); /* GET with a body */
        o = ok, o.method = HTTP_PUT, o.body_length = 10;
        ck_assert_int_eq(http_request_start(t.client, &o, &req), -EINVAL); /* length, no source */
        o = ok, o.method = HTTP_PUT, o.body = b, o.read = on_read, o.body_length = 4;
        ck_assert_int_eq(http_request_start(t.client, &o, &req), -EINVAL); /* two sources */
        o = ok, o.headers = bad_header;
        ck_assert_int_eq(http_request_start(t.client, &o, &req), -EINVAL);
        ck_assert_ptr_null(req);
        ck_assert_uint_eq(http_client_requests(t.client), 0);
        ck_assert_int_eq(http_client_new(NULL, NULL, &t.client), -EINVAL);
        http_client_close(NULL, NULL, NULL);

        ctx_shutdown(&t);
        http_client_close(t.client, on_client_closed, &t); /* twice: ignored */
        ctx_run(&t);
}
END_TEST

START_TEST(test_error_mapping) {
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_OK), 0);
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_COULDNT_CONNECT), -ECONNREFUSED);
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_OPERATION_TIMEDOUT), -ETIMEDOUT);
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_PARTIAL_FILE), -EPIPE);
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_RECV_ERROR), -ECONNRESET);
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_OUT_OF_MEMORY), -ENOMEM);
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_COULDNT_RESOLVE_HOST), -EHOSTUNREACH);
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_PEER_FAILED_VERIFICATION), -EKEYREJECTED);
        ck_assert_int_eq(http_errno_from_curlcode(CURLE_FTP_WEIRD_PASS_REPLY), -EIO);

        const CURLcode transient[] = {
                CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT,
                CURLE_PARTIAL_FILE,    CURLE_RECV_ERROR,           CURLE_SEND_ERROR,
                CURLE_GOT_NOTHING,     CURLE_SSL_CONNECT_ERROR,
        };
        for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
                ck_assert(http_curlcode_is_transient(transient[i]));
        const CURLcode permanent[] = {
                CURLE_OK,           CURLE_WRITE_ERROR,   CURLE_ABORTED_BY_CALLBACK,
                CURLE_URL_MALFORMAT, CURLE_OUT_OF_MEMORY, CURLE_PEER_FAILED_VERIFICATION,
        };
        for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
                ck_assert(!http_curlcode_is_transient(permanent[i]));

        ck_assert_int_eq(http_errno_from_curlmcode(CURLM_OK), 0);
        ck_assert_int_eq(http_errno_from_curlmcode(CURLM_OUT_OF_MEMORY), -ENOMEM);
        ck_assert_str_eq(http_method_to_string(HTTP_DELETE), "DELETE");
        ck_assert_ptr_null(http_method_to_string(_HTTP_METHOD_MAX));
}
END_TEST

static Suite *http_suite(void) {
        Suite *s = suite_create("http");
        TCase *tc = tcase_create("engine");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_error_mapping);
        tcase_add_test(tc, test_start_rejects_bad_options);
        tcase_add_test(tc, test_get_body_in_many_callbacks);
        tcase_add_test(tc, test_head);
        tcase_add_test(tc, test_put_from_read_callback);
        tcase_add_test(tc, test_put_post_delete_from_memory);
        tcase_add_test(tc, test_sequential_gets_reuse_one_connection);
        tcase_add_test(tc, test_concurrent_gets_respect_connection_limit);
        tcase_add_test(tc, test_connection_refused_is_transient);
        tcase_add_test(tc, test_stall_hits_low_speed_limit);
        tcase_add_test(tc, test_server_closes_early);
        tcase_add_test(tc, test_cancel_in_flight);
        tcase_add_test(tc, test_cancel_before_start);
        tcase_add_test(tc, test_pause_then_resume_download);
        tcase_add_test(tc, test_pause_from_outside_callbacks);
        tcase_add_test(tc, test_paused_download_is_not_a_stall);
        tcase_add_test(tc, test_upload_pauses_like_async_reads);
        tcase_add_test(tc, test_close_with_requests_in_flight);
        tcase_add_test(tc, test_close_from_inside_a_callback);
        tcase_add_test(tc, test_proxy_from_environment);
        tcase_add_test(tc, test_resend_after_dead_connection_rewinds_body);
        tcase_add_test(tc, test_callback_errors_fail_the_request);
        tcase_add_test(tc, test_bad_ca_bundle);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        static const char *const proxy_vars[] = { "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy",
                                                  "ALL_PROXY",  "no_proxy",    "NO_PROXY" };
        int failed;

        /* The tests talk to 127.0.0.1 directly; a proxy from the caller's
         * environment would reroute them. */
        for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
                unsetenv(proxy_vars[i]);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return EXIT_FAILURE;

        SRunner *sr = srunner_create(http_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        curl_global_cleanup();
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
