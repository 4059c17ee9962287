/* SPDX-License-Identifier: MIT */
/*
 * IMDSv2 credentials against a fake metadata service on 127.0.0.1 (port 0),
 * served from the same libuv loop. The fake answers one request per
 * connection, then closes it:
 *
 *   PUT /latest/api/token                         a new token, if the TTL header is there (else 400)
 *   GET /latest/meta-data/iam/security-credentials/       the role, or 404 without one
 *   GET /latest/meta-data/iam/security-credentials/ROLE   JSON credentials numbered by the count
 *                                                          of such GETs, or fail_status while fails > 0
 *
 *   GET /container/creds                           the container endpoint: JSON credentials
 *                                                  (no Code), if Authorization is auth (else 401)
 *
 * Every other GET must carry the current token (else 401). With stall set it reads
 * requests and never answers. The clock of the imds under test is a variable
 * of the test. Every test ends with the imds and the server closed, no
 * handle left, and uv_loop_close() == 0.
 */
#include "imds.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define EXPIRATION_TEXT "2030-01-01T00:00:00Z"
#define EXPIRATION 1893456000 /* EXPIRATION_TEXT */

typedef struct fake_imds fake_imds;

typedef struct fake_conn {
        uv_tcp_t tcp;
        fake_imds *srv;
        struct fake_conn *prev, *next;
        char in[8192];
        size_t len;
        bool answered, closing;
} fake_conn;

struct fake_imds {
        uv_loop_t *loop;
        uv_tcp_t listener;
        int port;
        char endpoint[64];
        fake_conn *conns;
        bool closing;

        /* behaviour */
        const char *role; /* NULL: no role */
        const char *body; /* the credentials document instead of the built one */
        const char *expiration;
        bool stall;
        const char *auth; /* what the container endpoint wants in Authorization; NULL: none */
        int fail_status; /* answer credential GETs with this ... */
        unsigned fails;  /* ... this many times */

        /* what it saw */
        char token[32];
        unsigned token_seq;
        unsigned puts, role_gets, creds_gets, container_gets, unauthorized, missing_ttl, requests;
};

static void on_conn_closed(uv_handle_t *h) {
        free(h->data);
}

static void conn_close(fake_conn *c) {
        if (c->closing)
                return;
        c->closing = true;
        if (c->prev)
                c->prev->next = c->next;
        else
                c->srv->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
}

typedef struct fake_write {
        uv_write_t w;
        fake_conn *conn;
        char data[2048];
} fake_write;

static void on_written(uv_write_t *w, int status) {
        fake_write *fw = (fake_write *) w;
        (void) status;
        conn_close(fw->conn);
        free(fw);
}

static void respond(fake_conn *c, int status, const char *body) {
        fake_write *w = malloc(sizeof(*w));
        int n;

        ck_assert_ptr_nonnull(w);
        w->conn = c;
        n = snprintf(w->data, sizeof(w->data),
                     "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
                     strlen(body), body);
        ck_assert(n > 0 && (size_t) n < sizeof(w->data));
        uv_buf_t b = uv_buf_init(w->data, (unsigned) n);
        c->answered = true;
        ck_assert_int_eq(uv_write(&w->w, (uv_stream_t *) &c->tcp, &b, 1, on_written), 0);
}

/* The value of header name in the request head, or NULL. */
static const char *header(const char *head, const char *name, char *buf, size_t size) {
        size_t n = strlen(name);

        for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
                const char *h = l + 2;
                if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
                        h += n + 1;
                        while (*h == ' ')
                                h++;
                        snprintf(buf, size, "%.*s", (int) strcspn(h, "\r\n"), h);
                        return buf;
                }
        }
        return NULL;
}

static void serve(fake_conn *c) {
        fake_imds *s = c->srv;
        char method[8], target[256], buf[128], body[1024];
        const char *prefix = "/latest/meta-data/iam/security-credentials/";

        ck_assert_int_eq(sscanf(c->in, "%7s %255s", method, target), 2);
        s->requests++;
        if (s->stall)
                return;
        if (strcmp(method, "PUT") == 0 && strcmp(target, "/latest/api/token") == 0) {
                s->puts++;
                if (!header(c->in, "X-aws-ec2-metadata-token-ttl-seconds", buf, sizeof(buf)) ||
                    strcmp(buf, "21600") != 0) {
                        s->missing_ttl++;
                        return respond(c, 400, "");
                }
                snprintf(s->token, sizeof(s->token), "TOKEN-%u", ++s->token_seq);
                return respond(c, 200, s->token);
        }
        if (strcmp(method, "GET") == 0 && strcmp(target, "/container/creds") == 0) {
                const char *a = header(c->in, "Authorization", buf, sizeof(buf));
                s->container_gets++;
                if (s->auth ? !a || strcmp(a, s->auth) != 0 : a != NULL) {
                        s->unauthorized++;
                        return respond(c, 401, "");
                }
                snprintf(body, sizeof(body),
                         "{\"AccessKeyId\": \"ASIACONT%04u\", \"SecretAccessKey\": \"secret%u\", "
                         "\"Token\": \"token%u\", \"AccountId\": \"123456789012\", \"Expiration\": \"%s\"}",
                         s->container_gets, s->container_gets, s->container_gets, s->expiration);
                return respond(c, 200, body);
        }
        if (!header(c->in, "X-aws-ec2-metadata-token", buf, sizeof(buf)) || strcmp(buf, s->token) != 0 ||
            !s->token[0]) {
                s->unauthorized++;
                return respond(c, 401, "");
        }
        if (strcmp(target, prefix) == 0) {
                s->role_gets++;
                return s->role ? respond(c, 200, s->role) : respond(c, 404, "");
        }
        if (strncmp(target, prefix, strlen(prefix)) == 0 && s->role &&
            strncmp(target + strlen(prefix), s->role, strcspn(s->role, "\n")) == 0) {
                s->creds_gets++;
                if (s->fails > 0) {
                        s->fails--;
                        return respond(c, s->fail_status, "");
                }
                snprintf(body, sizeof(body),
                         "{\"Code\": \"Success\", \"LastUpdated\": \"2029-12-31T23:00:00Z\", \"Type\": "
                         "\"AWS-HMAC\", \"AccessKeyId\": \"ASIAFAKE%04u\", \"SecretAccessKey\": "
                         "\"secret%u\", "
                         "\"Token\": \"token%u\", \"Expiration\": \"%s\"}",
                         s->creds_gets, s->creds_gets, s->creds_gets, s->expiration);
                return respond(c, 200, s->body ? s->body : body);
        }
        respond(c, 404, "");
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        fake_conn *c = h->data;
        (void) suggested;
        *buf = uv_buf_init(c->in + c->len, (unsigned) (sizeof(c->in) - 1 - c->len));
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf) {
        fake_conn *c = stream->data;
        (void) buf;
        if (n < 0) {
                conn_close(c);
                return;
        }
        c->len += (size_t) n;
        c->in[c->len] = '\0';
        if (!c->answered && strstr(c->in, "\r\n\r\n")) {
                c->answered = true; /* one request per connection; a stalled one stays unanswered */
                serve(c);
        }
}

static void on_connection(uv_stream_t *listener, int status) {
        fake_imds *s = listener->data;
        fake_conn *c;

        ck_assert_int_eq(status, 0);
        c = calloc(1, sizeof(*c));
        ck_assert_ptr_nonnull(c);
        c->srv = s;
        c->tcp.data = c;
        ck_assert_int_eq(uv_tcp_init(s->loop, &c->tcp), 0);
        ck_assert_int_eq(uv_accept(listener, (uv_stream_t *) &c->tcp), 0);
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        ck_assert_int_eq(uv_read_start((uv_stream_t *) &c->tcp, on_alloc, on_read), 0);
}

static void fake_start(fake_imds *s, uv_loop_t *loop) {
        struct sockaddr_in addr;
        struct sockaddr_storage name;
        int len = sizeof(name);

        memset(s, 0, sizeof(*s));
        s->loop = loop;
        s->role = "fds-test-role\n";
        s->expiration = EXPIRATION_TEXT;
        ck_assert_int_eq(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
        ck_assert_int_eq(uv_tcp_init(loop, &s->listener), 0);
        s->listener.data = s;
        ck_assert_int_eq(uv_tcp_bind(&s->listener, (const struct sockaddr *) &addr, 0), 0);
        ck_assert_int_eq(uv_listen((uv_stream_t *) &s->listener, 64, on_connection), 0);
        ck_assert_int_eq(uv_tcp_getsockname(&s->listener, (struct sockaddr *) &name, &len), 0);
        s->port = ntohs(((struct sockaddr_in *) &name)->sin_port);
        snprintf(s->endpoint, sizeof(s->endpoint), "http://127.0.0.1:%d", s->port);
}

static void fake_stop(fake_imds *s) {
        if (s->closing)
                return;
        s->closing = true;
        while (s->conns)
                conn_close(s->conns);
        uv_close((uv_handle_t *) &s->listener, NULL);
}

/* ---- the harness ---- */

typedef struct T {
        uv_loop_t loop;
        fake_imds srv;
        int64_t now;
        creds *m;
        bool closed;
} T;

static int64_t fake_now(void *userdata) {
        return *(int64_t *) userdata;
}

static void t_start(T *t, const imds_config *base) {
        imds_config c = base ? *base : (imds_config){ 0 };

        memset(t, 0, sizeof(*t));
        ck_assert_int_eq(uv_loop_init(&t->loop), 0);
        fake_start(&t->srv, &t->loop);
        t->now = EXPIRATION - 3600;
        if (!c.endpoint)
                c.endpoint = t->srv.endpoint;
        c.now = fake_now;
        c.now_userdata = &t->now;
        ck_assert_int_eq(imds_new(&t->loop, &c, &t->m), 0);
}

static void on_closed(void *userdata) {
        *(bool *) userdata = true;
}

/* Run the loop until cond holds; a loop with nothing left to do before that is a failure. */
#define RUN_UNTIL(t, cond)                                                                                  \
        do {                                                                                                \
                while (!(cond))                                                                             \
                        if (uv_run(&(t)->loop, UV_RUN_ONCE) == 0 && !(cond))                                \
                                ck_abort_msg("the loop ran dry before " #cond);                             \
        } while (0)

static void run_until(T *t, const bool *flag) {
        RUN_UNTIL(t, *flag);
}

static void on_walk(uv_handle_t *h, void *arg) {
        (void) h;
        (*(unsigned *) arg)++;
}

static void t_finish(T *t) {
        unsigned left = 0;

        if (!t->closed) {
                creds_close(t->m, on_closed, &t->closed);
                run_until(t, &t->closed);
        }
        fake_stop(&t->srv);
        ck_assert_int_eq(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
        uv_walk(&t->loop, on_walk, &left);
        ck_assert_uint_eq(left, 0);
        ck_assert_int_eq(uv_loop_close(&t->loop), 0);
}

/* What one callback saw. */
typedef struct got {
        unsigned calls;
        int error;
        char key[64], secret[64], token[64], role[64], message[512];
        int64_t expiration;
        /* optional follow-ups, run inside the callback */
        creds *again; /* ask again */
        struct got *again_got;
        creds *close; /* then close */
        bool *closed;
} got;

static void on_creds(int error, const creds_value *c, const char *message, void *userdata) {
        got *g = userdata;

        g->calls++;
        g->error = error;
        if (error == 0) {
                ck_assert_ptr_nonnull(c);
                ck_assert_ptr_null(message);
                snprintf(g->key, sizeof(g->key), "%s", c->access_key_id);
                snprintf(g->secret, sizeof(g->secret), "%s", c->secret_access_key);
                snprintf(g->token, sizeof(g->token), "%s", c->session_token ? c->session_token : "");
                snprintf(g->role, sizeof(g->role), "%s", c->role ? c->role : "(none)");
                g->expiration = c->expiration;
        } else {
                ck_assert_ptr_null(c);
                ck_assert_ptr_nonnull(message);
                snprintf(g->message, sizeof(g->message), "%s", message);
        }
        if (g->again) {
                ck_assert_int_eq(creds_get(g->again, on_creds, g->again_got, NULL), 0);
                ck_assert_uint_eq(g->again_got->calls, 0); /* never from inside the call */
        }
        if (g->close)
                creds_close(g->close, on_closed, g->closed);
}

/* Ask; the answer never comes from inside the call. */
static void get(T *t, got *g) {
        unsigned before = g->calls;
        ck_assert_int_eq(creds_get(t->m, on_creds, g, NULL), 0);
        ck_assert_uint_eq(g->calls, before);
}

static void get_and_wait(T *t, got *g) {
        unsigned before = g->calls;
        get(t, g);
        RUN_UNTIL(t, g->calls > before);
        ck_assert_uint_eq(g->calls, before + 1);
}

/* ---- tests ---- */

START_TEST(test_fetch) {
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, 0);
        ck_assert_str_eq(g.key, "ASIAFAKE0001");
        ck_assert_str_eq(g.secret, "secret1");
        ck_assert_str_eq(g.token, "token1");
        ck_assert_str_eq(g.role, "fds-test-role");
        ck_assert_int_eq(g.expiration, EXPIRATION);
        /* The token was asked for with its TTL and sent with both GETs. */
        ck_assert_uint_eq(t.srv.puts, 1);
        ck_assert_uint_eq(t.srv.missing_ttl, 0);
        ck_assert_uint_eq(t.srv.role_gets, 1);
        ck_assert_uint_eq(t.srv.creds_gets, 1);
        ck_assert_uint_eq(t.srv.unauthorized, 0);
        ck_assert_uint_eq(creds_fetches(t.m), 1);
        ck_assert_str_eq(creds_endpoint(t.m), t.srv.endpoint);
        t_finish(&t);
}
END_TEST

START_TEST(test_cache_hit) {
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        get_and_wait(&t, &g);
        t.now = EXPIRATION - 301;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, 0);
        ck_assert_str_eq(g.key, "ASIAFAKE0001");
        ck_assert_uint_eq(t.srv.requests, 3);
        ck_assert_uint_eq(creds_fetches(t.m), 1);
        t_finish(&t);
}
END_TEST

START_TEST(test_expiry_refetch) {
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        get_and_wait(&t, &g);
        /* Less than 5 minutes left: fetched again, with the session token kept. */
        t.now = EXPIRATION - 299;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, 0);
        ck_assert_str_eq(g.key, "ASIAFAKE0002");
        ck_assert_uint_eq(t.srv.creds_gets, 2);
        ck_assert_uint_eq(t.srv.puts, 1);
        ck_assert_uint_eq(creds_fetches(t.m), 2);
        /* Credentials that arrive nearly expired are kept for a minute, not fetched per request. */
        get_and_wait(&t, &g);
        ck_assert_uint_eq(t.srv.creds_gets, 2);
        t.now += 61;
        get_and_wait(&t, &g);
        ck_assert_uint_eq(t.srv.creds_gets, 3);
        t_finish(&t);
}
END_TEST

START_TEST(test_token_renewal) {
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        get_and_wait(&t, &g);
        /* The service forgot the token: 401, a new token, the same fetch goes on. */
        snprintf(t.srv.token, sizeof(t.srv.token), "REVOKED");
        t.now = EXPIRATION - 200;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, 0);
        ck_assert_str_eq(g.key, "ASIAFAKE0002");
        ck_assert_uint_eq(t.srv.unauthorized, 1);
        ck_assert_uint_eq(t.srv.puts, 2);
        /* A token past its lifetime is not even tried. */
        t.now += IMDS_TOKEN_TTL_S;
        get_and_wait(&t, &g);
        ck_assert_uint_eq(t.srv.puts, 3);
        ck_assert_uint_eq(t.srv.unauthorized, 1);
        t_finish(&t);
}
END_TEST

START_TEST(test_concurrent_waiters) {
        got g[20];
        T t;
        memset(g, 0, sizeof(g));
        t_start(&t, NULL);
        for (size_t i = 0; i < 20; i++)
                get(&t, &g[i]);
        RUN_UNTIL(&t, g[19].calls > 0);
        for (size_t i = 0; i < 20; i++) {
                ck_assert_uint_eq(g[i].calls, 1);
                ck_assert_int_eq(g[i].error, 0);
                ck_assert_str_eq(g[i].key, "ASIAFAKE0001");
        }
        ck_assert_uint_eq(t.srv.puts, 1);
        ck_assert_uint_eq(t.srv.creds_gets, 1);
        ck_assert_uint_eq(creds_fetches(t.m), 1);
        t_finish(&t);
}
END_TEST

START_TEST(test_server_down) {
        imds_config c = { 0 };
        char endpoint[64];
        got g[3];
        T t;
        uint64_t start;

        memset(g, 0, sizeof(g));
        t_start(&t, NULL);
        /* A port that was just free: refused at once. */
        snprintf(endpoint, sizeof(endpoint), "%s", t.srv.endpoint);
        t_finish(&t);
        c.endpoint = endpoint;
        t_start(&t, &c);
        fake_stop(&t.srv);
        start = uv_hrtime();
        for (size_t i = 0; i < 3; i++)
                get(&t, &g[i]);
        RUN_UNTIL(&t, g[2].calls > 0);
        ck_assert_uint_lt(uv_hrtime() - start, 1500000000u);
        for (size_t i = 0; i < 3; i++) {
                ck_assert_uint_eq(g[i].calls, 1);
                ck_assert_int_eq(g[i].error, -ECONNREFUSED);
                ck_assert_msg(strstr(g[i].message, "the instance metadata service did not answer at ") &&
                                      strstr(g[i].message, endpoint) &&
                                      strstr(g[i].message, "; 2 attempts)"),
                              "%s", g[i].message);
        }
        ck_assert_uint_eq(creds_fetches(t.m), 1);
        t_finish(&t);
}
END_TEST

START_TEST(test_stall_timeout) {
        imds_config c = { .stall_timeout_s = 1, .attempts = 1 };
        got g = { 0 };
        T t;
        uint64_t start;

        t_start(&t, &c);
        t.srv.stall = true;
        start = uv_hrtime();
        get_and_wait(&t, &g);
        ck_assert_uint_lt(uv_hrtime() - start, 3000000000u);
        ck_assert_int_eq(g.error, -ETIMEDOUT);
        ck_assert_msg(strstr(g.message, "did not answer at") && strstr(g.message, "1 attempt)"), "%s",
                      g.message);
        t_finish(&t);
}
END_TEST

static void on_close_timer(uv_timer_t *timer) {
        T *t = timer->data;
        creds_close(t->m, on_closed, &t->closed);
        /* Asking after close is refused, and no callback runs. */
        ck_assert_int_eq(creds_get(t->m, on_creds, NULL, NULL), -ESHUTDOWN);
        uv_close((uv_handle_t *) timer, NULL);
}

START_TEST(test_close_in_flight) {
        uv_timer_t timer;
        got g[5];
        T t;

        memset(g, 0, sizeof(g));
        t_start(&t, NULL);
        t.srv.stall = true;
        for (size_t i = 0; i < 5; i++)
                get(&t, &g[i]);
        ck_assert_int_eq(uv_timer_init(&t.loop, &timer), 0);
        timer.data = &t;
        ck_assert_int_eq(uv_timer_start(&timer, on_close_timer, 100, 0), 0);
        run_until(&t, &t.closed);
        ck_assert_uint_eq(t.srv.requests, 1); /* the token request was in flight */
        for (size_t i = 0; i < 5; i++) {
                ck_assert_uint_eq(g[i].calls, 1);
                ck_assert_int_eq(g[i].error, -ECANCELED);
                ck_assert_msg(strstr(g[i].message, "cancelled"), "%s", g[i].message);
        }
        t_finish(&t);
}
END_TEST

START_TEST(test_close_at_once) {
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        get(&t, &g);
        creds_close(t.m, on_closed, &t.closed);
        creds_close(t.m, on_closed, &t.closed); /* twice: nothing */
        creds_close(NULL, NULL, NULL);
        ck_assert_uint_eq(g.calls, 0);
        run_until(&t, &t.closed);
        ck_assert_uint_eq(g.calls, 1);
        ck_assert_int_eq(g.error, -ECANCELED);
        t_finish(&t);
}
END_TEST

START_TEST(test_wait_cancel) {
        creds_wait *w = NULL;
        got a = { 0 }, b = { 0 };
        T t;
        t_start(&t, NULL);
        ck_assert_int_eq(creds_get(t.m, on_creds, &a, &w), 0);
        get(&t, &b);
        ck_assert_int_eq(creds_wait_cancel(w), 0);
        ck_assert_int_eq(creds_wait_cancel(w), -EALREADY);
        ck_assert_int_eq(creds_wait_cancel(NULL), 0);
        RUN_UNTIL(&t, b.calls > 0);
        ck_assert_uint_eq(a.calls, 1);
        ck_assert_int_eq(a.error, -ECANCELED);
        ck_assert_int_eq(b.error, 0);
        ck_assert_str_eq(b.key, "ASIAFAKE0001");
        t_finish(&t);
}
END_TEST

START_TEST(test_no_role) {
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        t.srv.role = NULL;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -ENOENT);
        ck_assert_msg(strstr(g.message, "has no IAM role for this instance"), "%s", g.message);
        t.srv.role = "";
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -ENOENT);
        ck_assert_msg(strstr(g.message, "lists no IAM role"), "%s", g.message);
        t.srv.role = "../../etc";
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -EBADMSG);
        ck_assert_msg(strstr(g.message, "role name that is not valid"), "%s", g.message);
        t_finish(&t);
}
END_TEST

START_TEST(test_bad_documents) {
        static const struct {
                const char *body, *why;
        } cases[] = {
                { "{\"AccessKeyId\": \"ASIAX\", \"SecretAccessKey\": \"SECRETVALUE\"", "not JSON" },
                { "[\"SECRETVALUE\"]", "not a JSON object" },
                { "{\"Code\": \"Failure\", \"SecretAccessKey\": \"SECRETVALUE\"}",
                  "Code other than Success" },
                { "{\"AccessKeyId\": \"ASIAX\", \"Expiration\": \"" EXPIRATION_TEXT "\"}",
                  "without AccessKeyId" },
                { "{\"AccessKeyId\": \"ASIAX\", \"SecretAccessKey\": \"SECRETVALUE\", \"Expiration\": "
                  "\"soon\"}",
                  "without an ISO 8601 Expiration" },
        };
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                t.srv.body = cases[i].body;
                get_and_wait(&t, &g);
                ck_assert_int_eq(g.error, -EBADMSG);
                ck_assert_msg(strstr(g.message, cases[i].why) && strstr(g.message, "role 'fds-test-role'"),
                              "%s", g.message);
                ck_assert_msg(!strstr(g.message, "SECRETVALUE"), "%s", g.message);
        }
        ck_assert_uint_eq(t.srv.puts, 1);
        t_finish(&t);
}
END_TEST

START_TEST(test_expiration_formats) {
        static const struct {
                const char *text;
                int64_t value;
        } cases[] = {
                { "2030-01-01T00:00:00Z", EXPIRATION },
                { "2030-01-01T00:00:00.123456Z", EXPIRATION },
                { "2030-01-01T02:00:00+02:00", EXPIRATION },
                { "2029-12-31T23:30:00-0030", EXPIRATION },
        };
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                t.srv.expiration = cases[i].text;
                t.now = EXPIRATION + 1000 + 100 * (int64_t) i; /* past the last ones: fetched each time */
                get_and_wait(&t, &g);
                ck_assert_int_eq(g.error, 0);
                ck_assert_int_eq(g.expiration, cases[i].value);
        }
        t_finish(&t);
}
END_TEST

START_TEST(test_retry_and_stale) {
        got g = { 0 };
        T t;
        t_start(&t, NULL);
        /* A 503 is asked again. */
        t.srv.fail_status = 503;
        t.srv.fails = 1;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, 0);
        ck_assert_str_eq(g.key, "ASIAFAKE0002");
        ck_assert_uint_eq(t.srv.creds_gets, 2);
        /* Due for refresh, the service failing: the kept credentials still serve... */
        t.srv.fails = 100;
        t.now = EXPIRATION - 10;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, 0);
        ck_assert_str_eq(g.key, "ASIAFAKE0002");
        ck_assert_uint_eq(t.srv.creds_gets, 4);
        /* ...until they expire. */
        t.now = EXPIRATION;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -EPROTO);
        ck_assert_msg(strstr(g.message,
                             "answered HTTP 503 to GET /latest/meta-data/iam/security-credentials/"
                             "fds-test-role"),
                      "%s", g.message);
        t_finish(&t);
}
END_TEST

START_TEST(test_callbacks_reenter) {
        got inner = { 0 }, outer = { 0 };
        T t;
        t_start(&t, NULL);
        /* The first callback asks again (a cache hit, answered later), whose callback closes. */
        outer.again = t.m;
        outer.again_got = &inner;
        inner.close = t.m;
        inner.closed = &t.closed;
        get(&t, &outer);
        run_until(&t, &t.closed);
        ck_assert_uint_eq(outer.calls, 1);
        ck_assert_uint_eq(inner.calls, 1);
        ck_assert_int_eq(inner.error, 0);
        t_finish(&t);
}
END_TEST

START_TEST(test_bad_config) {
        imds_config c = { .endpoint = "169.254.169.254" };
        uv_loop_t loop;
        creds *m = NULL;

        ck_assert_int_eq(uv_loop_init(&loop), 0);
        ck_assert_int_eq(imds_new(&loop, &c, &m), -EINVAL);
        ck_assert_int_eq(imds_new(NULL, NULL, &m), -EINVAL);
        ck_assert_ptr_null(m);
        /* The default endpoint, closed before anything ran. */
        ck_assert_int_eq(imds_new(&loop, NULL, &m), 0);
        ck_assert_str_eq(creds_endpoint(m), "http://169.254.169.254");
        creds_close(m, NULL, NULL);
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST


/* ---- the container credentials endpoint ---- */

static void t_start_container(T *t, const char *token, const char *token_file) {
        char url[128];
        /* The URL needs the fake's port: start it first, then the client. */
        memset(t, 0, sizeof(*t));
        ck_assert_int_eq(uv_loop_init(&t->loop), 0);
        fake_start(&t->srv, &t->loop);
        t->now = EXPIRATION - 3600;
        snprintf(url, sizeof(url), "%s/container/creds", t->srv.endpoint);
        imds_config c = { .credentials_url = url,
                          .authorization = token,
                          .authorization_file = token_file,
                          .now = fake_now,
                          .now_userdata = &t->now };
        ck_assert_int_eq(imds_new(&t->loop, &c, &t->m), 0);
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(text, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_container_fetch) {
        got g = { 0 };
        T t;
        t_start_container(&t, "Bearer tok1", NULL);
        t.srv.auth = "Bearer tok1";
        get_and_wait(&t, &g);
        ck_assert_msg(g.error == 0, "%s", g.message);
        ck_assert_str_eq(g.key, "ASIACONT0001");
        ck_assert_str_eq(g.token, "token1");
        ck_assert_str_eq(g.role, "(none)");
        ck_assert_int_eq(g.expiration, EXPIRATION);
        /* One GET, no IMDS session token, and kept like IMDS's. */
        ck_assert_uint_eq(t.srv.puts, 0);
        ck_assert_uint_eq(t.srv.requests, 1);
        get_and_wait(&t, &g);
        ck_assert_uint_eq(t.srv.container_gets, 1);
        t.now = EXPIRATION - 299;
        get_and_wait(&t, &g);
        ck_assert_str_eq(g.key, "ASIACONT0002");
        t_finish(&t);
}
END_TEST

START_TEST(test_container_token_file_is_read_per_fetch) {
        char path[] = "/tmp/fds-test-token-XXXXXX";
        int fd = mkstemp(path);
        got g = { 0 };
        T t;
        ck_assert_int_ge(fd, 0);
        close(fd);
        write_file(path, "first\n");
        t_start_container(&t, "ignored: the file wins", path);
        t.srv.auth = "first";
        get_and_wait(&t, &g);
        ck_assert_msg(g.error == 0, "%s", g.message);
        /* Rotated, as EKS Pod Identity does: the next fetch sends the new one. */
        write_file(path, "second");
        t.srv.auth = "second";
        t.now = EXPIRATION - 299;
        get_and_wait(&t, &g);
        ck_assert_msg(g.error == 0, "%s", g.message);
        ck_assert_str_eq(g.key, "ASIACONT0002");
        /* A line break inside, or no file: the error names the file, nothing is sent. */
        write_file(path, "a\nb");
        t.now += 3600 * 24;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -EBADMSG);
        ck_assert(strstr(g.message, path) && strstr(g.message, "line break"));
        ck_assert_uint_eq(unlink(path), 0);
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -ENOENT);
        ck_assert(strstr(g.message, "the container credentials endpoint at http://127.0.0.1:"));
        ck_assert_uint_eq(t.srv.container_gets, 2);
        t_finish(&t);
}
END_TEST

START_TEST(test_container_refused) {
        got g = { 0 };
        T t;
        t_start_container(&t, "wrong", NULL);
        t.srv.auth = "right";
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -EACCES);
        ck_assert(strstr(g.message, "answered HTTP 401 (check the authorization token)"));
        /* 401 is not an IMDS session token to renew: asked once. */
        ck_assert_uint_eq(t.srv.container_gets, 1);
        t_finish(&t);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("imds");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 20);
        tcase_add_test(tc, test_fetch);
        tcase_add_test(tc, test_cache_hit);
        tcase_add_test(tc, test_expiry_refetch);
        tcase_add_test(tc, test_token_renewal);
        tcase_add_test(tc, test_concurrent_waiters);
        tcase_add_test(tc, test_server_down);
        tcase_add_test(tc, test_stall_timeout);
        tcase_add_test(tc, test_close_in_flight);
        tcase_add_test(tc, test_close_at_once);
        tcase_add_test(tc, test_wait_cancel);
        tcase_add_test(tc, test_no_role);
        tcase_add_test(tc, test_bad_documents);
        tcase_add_test(tc, test_expiration_formats);
        tcase_add_test(tc, test_retry_and_stale);
        tcase_add_test(tc, test_callbacks_reenter);
        tcase_add_test(tc, test_bad_config);
        tcase_add_test(tc, test_container_fetch);
        tcase_add_test(tc, test_container_token_file_is_read_per_fetch);
        tcase_add_test(tc, test_container_refused);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        static const char *const proxy_vars[] = { "http_proxy",  "HTTP_PROXY", "https_proxy",
                                                  "HTTPS_PROXY", "all_proxy",  "ALL_PROXY" };
        SRunner *sr;
        int failed;

        /* The fake service is on loopback: no proxy may stand in between. */
        for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
                unsetenv(proxy_vars[i]);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return EXIT_FAILURE;
        sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        curl_global_cleanup();
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
