/* SPDX-License-Identifier: MIT */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "delay.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"

/* After the answer, the client has this long to close its side. */
#define METRICS_HTTP_LINGER_MS 1000

typedef struct metrics_conn {
        uv_tcp_t tcp;           /* tcp.data points back */
        metrics_http *owner;
        list_node link;         /* in owner->conns */
        delay_entry timeout;    /* on the daemon's delay queue */
        uv_write_t write;
        uv_shutdown_t shutdown;
        char *reply;            /* what write sends, freed with the connection */
        size_t len;             /* bytes of head received */
        bool answered;          /* reads after this are thrown away */
        bool closing;
        char head[METRICS_HTTP_HEAD_MAX];
} metrics_conn;

/* ---- the address ---- */

static int parse_port(const char *s, uint16_t *ret) {
        unsigned long v = 0;

        if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
                return -EINVAL;
        v = strtoul(s, NULL, 10);
        if (v < 1 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

int metrics_http_parse_address(const char *s, struct sockaddr_storage *ret) {
        char host[INET6_ADDRSTRLEN];
        const char *end, *port;
        bool v6 = s[0] == '[';
        uint16_t p;

        if (v6) {
                end = strchr(s, ']');
                if (!end || end[1] != ':')
                        return -EINVAL;
                s++;
                port = end + 2;
        } else {
                end = strchr(s, ':');
                if (!end)
                        return -EINVAL;
                port = end + 1;
        }
        if (end == s || (size_t) (end - s) >= sizeof(host) || parse_port(port, &p) < 0)
                return -EINVAL;
        memcpy(host, s, (size_t) (end - s));
        host[end - s] = '\0';

        struct sockaddr_storage ss = { 0 };
        if (v6) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons(p);
                if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
                        return -EINVAL;
        } else {
                struct sockaddr_in *a = (struct sockaddr_in *) &ss;
                a->sin_family = AF_INET;
                a->sin_port = htons(p);
                if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
                        return -EINVAL;
        }
        *ret = ss;
        return 0;
}

/* ---- one connection ---- */

static void on_conn_close(uv_handle_t *h) {
        metrics_conn *c = h->data;
        free(c->reply);
        free(c);
}

static void conn_close(metrics_conn *c) {
        if (c->closing)
                return;
        c->closing = true;
        list_del(&c->link);
        c->owner->n_conns--;
        delay_cancel(&c->owner->daemon->delay, &c->timeout);
        /* A write or shutdown in progress ends with UV_ECANCELED first. */
        uv_close((uv_handle_t *) &c->tcp, on_conn_close);
}

static void on_timeout(delay_entry *e) {
        metrics_conn *c = container_of(e, metrics_conn, timeout);
        if (!c->answered)
                log_debug("metrics: a client sent no whole request in %d ms; closing",
                          METRICS_HTTP_TIMEOUT_MS);
        conn_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
        /* Nothing to do: the client's EOF or the linger timeout closes. */
}

static void on_write(uv_write_t *req, int status) {
        metrics_conn *c = req->data;

        if (c->closing)
                return;
        /* Our side is done. Closing now, with the client's request (or
         * the rest of an oversized one) unread, would reset the connection
         * and could destroy the answer before the client read it; so send
         * FIN, read until the client closes, and give it a moment. */
        if (status < 0 || uv_shutdown(&c->shutdown, (uv_stream_t *) &c->tcp, on_shutdown) < 0) {
                conn_close(c);
                return;
        }
        delay_cancel(&c->owner->daemon->delay, &c->timeout);
        delay_add(&c->owner->daemon->delay, &c->timeout, METRICS_HTTP_LINGER_MS, on_timeout);
}

static const char *status_text(int status) {
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 431:
                return "Request Header Fields Too Large";
        default:
                return "Internal Server Error";
        }
}

/* Send status with body (a malloc'd text of len bytes, taken over; NULL
 * for the status line's words), then close. */
static void conn_answer(metrics_conn *c, int status, bool head_only, char *body, size_t len) {
        const char *type = body ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8";
        char words[64];
        int r;

        c->answered = true;
        if (!body) {
                snprintf(words, sizeof(words), "%d %s\n", status, status_text(status));
                len = strlen(words);
        }
        r = asprintf(&c->reply,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n%.*s",
                     status, status_text(status), type, len, status == 405 ? "Allow: GET, HEAD\r\n" : "",
                     head_only ? 0 : (int) len, body ? body : words);
        free(body);
        if (r < 0) {
                c->reply = NULL;
                conn_close(c);
                return;
        }
        uv_buf_t buf = uv_buf_init(c->reply, (unsigned) r);
        c->write.data = c;
        if (uv_write(&c->write, (uv_stream_t *) &c->tcp, &buf, 1, on_write) < 0)
                conn_close(c);
}

static bool is_tchar(char ch) {
        return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
               (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Each header line a name, a colon and a value of no control characters. */
static bool headers_ok(const char *p, const char *end) {
        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t) (end - p));
                const char *stop = eol && eol > p && eol[-1] == '\r' ? eol - 1 : eol;
                const char *q = p;

                if (!eol)
                        return false;
                if (stop == p) /* the blank line that ends the head */
                        return true;
                while (q < stop && is_tchar(*q))
                        q++;
                if (q == p || q == stop || *q != ':')
                        return false;
                for (; q < stop; q++)
                        if (((unsigned char) *q < 0x20 && *q != '\t') || *q == 0x7f)
                                return false;
                p = eol + 1;
        }
        return true;
}

/* The answer to a whole request head of len bytes (its blank line
 * included): 200, 400, 404 or 405; *ret_head for a HEAD request. */
static int request_status(const char *head, size_t len, bool *ret_head) {
        const char *eol = memchr(head, '\n', len), *end = head + len;
        const char *p = head, *method, *target;
        size_t n_method, n_target, n_path;

        if (!eol || memchr(head, '\0', len))
                return 400;
        method = p;
        while (p < eol && is_tchar(*p))
                p++;
        n_method = (size_t) (p - method);
        if (n_method == 0 || *p++ != ' ')
                return 400;
        target = p;
        while (p < eol && (unsigned char) *p > 0x20 && *p != 0x7f)
                p++;
        n_target = (size_t) (p - target);
        if (n_target == 0 || *p++ != ' ' || target[0] != '/')
                return 400;
        if ((size_t) (eol - p) < 8 || (strncmp(p, "HTTP/1.0", 8) != 0 && strncmp(p, "HTTP/1.1", 8) != 0) ||
            (p + 8 != eol && !(p + 9 == eol && p[8] == '\r')))
                return 400;
        if (!headers_ok(eol + 1, end))
                return 400;
        *ret_head = n_method == 4 && memcmp(method, "HEAD", 4) == 0;
        if (!*ret_head && !(n_method == 3 && memcmp(method, "GET", 3) == 0))
                return 405;
        n_path = strcspn(target, "? ");
        return n_path == 8 && memcmp(target, "/metrics", 8) == 0 ? 200 : 404;
}

/* The blank line that ends a request head: its end, or NULL. */
static const char *head_end(const char *buf, size_t len) {
        for (size_t i = 0; i + 1 < len; i++) {
                if (buf[i] != '\n')
                        continue;
                if (buf[i + 1] == '\n')
                        return buf + i + 2;
                if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
                        return buf + i + 3;
        }
        return NULL;
}

static void conn_request(metrics_conn *c) {
        const char *end = head_end(c->head, c->len);
        bool head_only = false;
        char *text = NULL;
        size_t len = 0;
        int status;

        if (!end) {
                if (c->len == sizeof(c->head))
                        conn_answer(c, 431, false, NULL, 0);
                return;
        }
        status = request_status(c->head, (size_t) (end - c->head), &head_only);
        if (status == 200 && metrics_render(c->owner->daemon, &text, &len) < 0)
                status = 500;
        conn_answer(c, status, head_only, status == 200 ? text : NULL, len);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        metrics_conn *c = h->data;

        /* Once answered, what still comes is read into the head and dropped. */
        if (c->answered)
                *buf = uv_buf_init(c->head, sizeof(c->head));
        else
                *buf = uv_buf_init(c->head + c->len, (unsigned) (sizeof(c->head) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
        metrics_conn *c = s->data;

        if (c->closing)
                return;
        if (nread < 0) {
                conn_close(c);
                return;
        }
        if (nread == 0 || c->answered)
                return;
        c->len += (size_t) nread;
        conn_request(c);
}

/* ---- the listener ---- */

static void on_refused_close(uv_handle_t *h) {
        free(h);
}

/* Beyond the limit a connection is accepted (else libuv would stop
 * accepting) and closed at once. */
static void refuse(metrics_http *m) {
        uv_tcp_t *t = malloc(sizeof(*t));

        if (!t || uv_tcp_init(m->tcp.loop, t) < 0) {
                free(t);
                return;
        }
        if (uv_accept((uv_stream_t *) &m->tcp, (uv_stream_t *) t) == 0)
                log_debug("metrics: %u connections open already; closing a new one", m->n_conns);
        uv_close((uv_handle_t *) t, on_refused_close);
}

static void on_connection(uv_stream_t *server, int status) {
        metrics_http *m = server->data;
        metrics_conn *c;

        if (status < 0) {
                log_warning("metrics: accept: %s", uv_strerror(status));
                return;
        }
        if (m->n_conns >= METRICS_HTTP_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
                refuse(m);
                return;
        }
        if (uv_tcp_init(m->tcp.loop, &c->tcp) < 0) {
                free(c);
                refuse(m);
                return;
        }
        c->tcp.data = c;
        c->owner = m;
        list_add_tail(&m->conns, &c->link);
        m->n_conns++;
        list_init(&c->timeout.link);
        delay_add(&m->daemon->delay, &c->timeout, METRICS_HTTP_TIMEOUT_MS, on_timeout);
        if (uv_accept(server, (uv_stream_t *) &c->tcp) < 0 ||
            uv_read_start((uv_stream_t *) &c->tcp, on_alloc, on_read) < 0)
                conn_close(c);
}

int metrics_http_listen(metrics_http *m, fds_daemon *d, const char *address) {
        struct sockaddr_storage ss;
        int r;

        *m = (metrics_http){ .daemon = d };
        list_init(&m->conns);
        snprintf(m->name, sizeof(m->name), "%s", address);
        r = metrics_http_parse_address(address, &ss);
        if (r < 0)
                return r;
        r = uv_tcp_init(d->loop, &m->tcp);
        if (r < 0)
                return r;
        m->tcp.data = m;
        m->listening = true;
        r = uv_tcp_bind(&m->tcp, (const struct sockaddr *) &ss, 0);
        /* libuv may keep a bind error for listen to report. */
        if (r >= 0)
                r = uv_listen((uv_stream_t *) &m->tcp, 64, on_connection);
        if (r < 0)
                metrics_http_close(m);
        return r;
}

void metrics_http_close(metrics_http *m) {
        list_node *n, *t;

        if (m->listening) {
                m->listening = false;
                uv_close((uv_handle_t *) &m->tcp, NULL);
        }
        if (!m->conns.next)
                return;
        list_for_each_safe(n, t, &m->conns)
                conn_close(list_entry(n, metrics_conn, link));
}
