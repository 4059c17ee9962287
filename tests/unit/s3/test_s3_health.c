/* SPDX-License-Identifier: MIT */
/* The endpoint health state on a real loop, a real http client and a tiny
 * HTTP server of the test's own that answers every request with the status
 * the test sets: when an endpoint is suspect, probed, down, up again; who
 * wakes with what; deadlines; and every handle closed at the end. */

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "delay.h"
#include "http.h"
#include "s3_health.h"

typedef struct srv {
        uv_tcp_t tcp;
        int port;
        int status;        /* what every request gets */
        unsigned requests;
} srv;

typedef struct conn {
        uv_tcp_t tcp;
        srv *s;
        char buf[4096];
        size_t len;
        uv_write_t wr;
        char reply[128];
} conn;

static void on_conn_closed(uv_handle_t *h) {
        free(h->data);
}

static void on_written(uv_write_t *w, int status) {
        conn *c = w->data;
        uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *buf) {
        conn *c = h->data;
        *buf = uv_buf_init(c->buf + c->len, (unsigned) (sizeof(c->buf) - c->len - 1));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
        conn *c = st->data;
        if (n < 0) {
                uv_close((uv_handle_t *) &c->tcp, on_conn_closed);
                return;
        }
        c->len += (size_t) n;
        c->buf[c->len] = '\0';
        if (!strstr(c->buf, "\r\n\r\n"))
                return;
        uv_read_stop(st);
        c->s->requests++;
        int k = snprintf(c->reply, sizeof(c->reply),
                         "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", c->s->status);
        uv_buf_t b = uv_buf_init(c->reply, (unsigned) k);
        c->wr.data = c;
        uv_write(&c->wr, st, &b, 1, on_written);
}

static void on_connection(uv_stream_t *server, int status) {
        srv *s = server->data;
        conn *c = calloc(1, sizeof(*c));
        ck_assert_ptr_nonnull(c);
        c->s = s;
        uv_tcp_init(server->loop, &c->tcp);
        c->tcp.data = c;
        ck_assert_int_eq(uv_accept(server, (uv_stream_t *) &c->tcp), 0);
        uv_read_start((uv_stream_t *) &c->tcp, on_alloc, on_read);
}

typedef struct ctx {
        uv_loop_t loop;
        delay_queue delay;
        http_client *http;
        s3_health *h;
        s3_endpoint *e;
        srv s;
        uv_timer_t timer;
        char endpoint[64];
        /* waiters */
        s3_health_waiter w[3];
        int woke[3];        /* -1: not yet */
        uint64_t woke_at[3];
        unsigned n_woken, want_woken;
        s3_health_stats stats; /* at the end */
} ctx;

static void on_wake(s3_health_waiter *w, s3_health_wake why);
static ctx *cur;

static void setup(ctx *t, int status) {
        memset(t, 0, sizeof(*t));
        cur = t;
        ck_assert_int_eq(uv_loop_init(&t->loop), 0);
        ck_assert_int_eq(delay_init(&t->delay, &t->loop), 0);
        ck_assert_int_eq(http_client_new(&t->loop, NULL, &t->http), 0);
        ck_assert_int_eq(s3_health_new(t->http, &t->delay, &t->h), 0);
        t->s.status = status;
        uv_tcp_init(&t->loop, &t->s.tcp);
        t->s.tcp.data = &t->s;
        struct sockaddr_in a;
        uv_ip4_addr("127.0.0.1", 0, &a);
        ck_assert_int_eq(uv_tcp_bind(&t->s.tcp, (const struct sockaddr *) &a, 0), 0);
        ck_assert_int_eq(uv_listen((uv_stream_t *) &t->s.tcp, 16, on_connection), 0);
        struct sockaddr_storage name;
        int len = sizeof(name);
        uv_tcp_getsockname(&t->s.tcp, (struct sockaddr *) &name, &len);
        t->s.port = ntohs(((struct sockaddr_in *) &name)->sin_port);
        snprintf(t->endpoint, sizeof(t->endpoint), "http://127.0.0.1:%d", t->s.port);
        t->e = s3_health_get(t->h, t->endpoint, NULL);
        ck_assert_ptr_nonnull(t->e);
        ck_assert_ptr_eq(s3_health_get(t->h, t->endpoint, NULL), t->e);
        uv_timer_init(&t->loop, &t->timer);
        t->timer.data = t;
        for (int i = 0; i < 3; i++) {
                t->woke[i] = -1;
                t->w[i].fn = on_wake;
        }
}

static void shutdown_all(ctx *t) {
        http_client_close(t->http, NULL, NULL);
        if (t->s.tcp.data)
                uv_close((uv_handle_t *) &t->s.tcp, NULL);
        uv_close((uv_handle_t *) &t->timer, NULL);
        delay_close(&t->delay);
}


static void on_wake(s3_health_waiter *w, s3_health_wake why) {
        ctx *t = cur;
        int i = (int) (w - t->w);
        ck_assert(i >= 0 && i < 3);
        t->woke[i] = (int) why;
        t->woke_at[i] = uv_now(&t->loop);
        if (++t->n_woken == t->want_woken)
                shutdown_all(t);
}

static void finish(ctx *t) {
        ck_assert_int_eq(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
        t->stats = *s3_health_stats_get(t->h);
        t->h = s3_health_free(t->h);
        ck_assert_int_eq(uv_loop_close(&t->loop), 0);
}

static void wait_for(ctx *t, int i, uint64_t deadline_ms) {
        t->w[i].deadline = uv_now(&t->loop) + deadline_ms;
        s3_endpoint_wait(t->e, &t->w[i]);
}

START_TEST(test_never_answered_is_not_down) {
        ctx t;
        setup(&t, 200);
        for (int i = 0; i < 10; i++)
                s3_endpoint_failed(t.e);
        ck_assert(!s3_endpoint_waiting(t.e));
        ck_assert_uint_ne(s3_endpoint_failing_since(t.e), 0);
        shutdown_all(&t);
        finish(&t);
        ck_assert_uint_eq(t.s.requests, 0);
}
END_TEST

START_TEST(test_probe_answered_means_own_failures) {
        ctx t;
        setup(&t, 403); /* an unsigned GET / is refused: still an answer */
        s3_endpoint_ok(t.e);
        s3_endpoint_failed(t.e);
        s3_endpoint_failed(t.e);
        ck_assert(!s3_endpoint_waiting(t.e));
        s3_endpoint_failed(t.e);
        ck_assert(s3_endpoint_waiting(t.e));
        t.want_woken = 2;
        wait_for(&t, 0, 10000);
        wait_for(&t, 1, 10000);
        finish(&t);
        ck_assert_int_eq(t.woke[0], S3_HEALTH_OWN);
        ck_assert_int_eq(t.woke[1], S3_HEALTH_OWN);
        ck_assert_uint_eq(t.s.requests, 1); /* one probe for everyone */
        ck_assert_uint_eq(t.stats.probes, 1);
        ck_assert_uint_eq(t.stats.outages, 0);
}
END_TEST

static void on_recover(uv_timer_t *tm) {
        ctx *t = tm->data;
        t->s.status = 200;
}

START_TEST(test_down_until_a_probe_is_answered) {
        ctx t;
        setup(&t, 503);
        s3_endpoint_ok(t.e);
        for (int i = 0; i < 3; i++)
                s3_endpoint_failed(t.e);
        t.want_woken = 2;
        wait_for(&t, 0, 20000);
        wait_for(&t, 1, 20000);
        /* The server comes back after 1.5 s. */
        uv_timer_start(&t.timer, on_recover, 1500, 0);
        uint64_t t0 = uv_now(&t.loop);
        finish(&t);
        ck_assert_int_eq(t.woke[0], S3_HEALTH_UP);
        ck_assert_int_eq(t.woke[1], S3_HEALTH_UP);
        ck_assert_uint_ge(t.woke_at[0] - t0, 1500);
        ck_assert_uint_lt(t.woke_at[0] - t0, 1500 + 4000 + 500); /* within one back-off */
        /* A few probes, one at a time: not one per waiter per try. */
        ck_assert_uint_ge(t.s.requests, 2);
        ck_assert_uint_le(t.s.requests, 12);
        ck_assert_uint_eq(t.stats.outages, 1);
}
END_TEST

START_TEST(test_refused_connections_are_an_outage_and_deadlines_hold) {
        ctx t;
        setup(&t, 200);
        s3_endpoint_ok(t.e);
        /* Nothing listens any more: connections are refused. */
        uv_close((uv_handle_t *) &t.s.tcp, NULL);
        t.s.tcp.data = NULL;
        for (int i = 0; i < 3; i++)
                s3_endpoint_failed(t.e);
        t.want_woken = 2;
        uint64_t t0 = uv_now(&t.loop);
        wait_for(&t, 0, 300);
        wait_for(&t, 1, 900);
        finish(&t);
        ck_assert_int_eq(t.woke[0], S3_HEALTH_EXPIRED);
        ck_assert_int_eq(t.woke[1], S3_HEALTH_EXPIRED);
        ck_assert_uint_ge(t.woke_at[0] - t0, 300);
        ck_assert_uint_ge(t.woke_at[1] - t0, 900);
        ck_assert_uint_lt(t.woke_at[1] - t0, 2000);
        ck_assert_uint_ge(t.stats.outages, 1);
}
END_TEST

START_TEST(test_a_real_answer_wakes_and_cancel_leaves) {
        ctx t;
        setup(&t, 503);
        s3_endpoint_ok(t.e);
        for (int i = 0; i < 3; i++)
                s3_endpoint_failed(t.e);
        t.want_woken = 1;
        wait_for(&t, 0, 20000);
        wait_for(&t, 1, 20000);
        s3_endpoint_cancel_wait(t.e, &t.w[1]);
        /* A request of some call got an answer meanwhile. */
        s3_endpoint_ok(t.e);
        ck_assert(!s3_endpoint_waiting(t.e));
        finish(&t);
        ck_assert_int_eq(t.woke[0], S3_HEALTH_OWN);
        ck_assert_int_eq(t.woke[1], -1);
}
END_TEST

int main(void) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return EXIT_FAILURE;
        Suite *s = suite_create("s3_health");
        TCase *tc = tcase_create("health");
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_never_answered_is_not_down);
        tcase_add_test(tc, test_probe_answered_means_own_failures);
        tcase_add_test(tc, test_down_until_a_probe_is_answered);
        tcase_add_test(tc, test_refused_connections_are_an_outage_and_deadlines_hold);
        tcase_add_test(tc, test_a_real_answer_wakes_and_cancel_leaves);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        curl_global_cleanup();
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
