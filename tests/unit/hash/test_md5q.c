/* SPDX-License-Identifier: MIT */
/* The daemon's MD5 service on a real libuv loop: many buffers submitted at
 * once and while others are being hashed, each digest equal to OpenSSL's,
 * every callback once, and the loop closes clean afterwards. */

#include <check.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "fixture.h"
#include "md5q.h"

#define N_REQ 200

typedef struct item {
        md5q_req req;
        uint8_t *data;
        size_t len;
        int calls;
        struct ctx *ctx;
} item;

typedef struct ctx {
        md5q *q;
        item items[N_REQ];
        size_t next;          /* next item to submit from a callback */
        size_t done;
} ctx;

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void) {
        return fixture_rng(&rng_state);
}

static void expect_digest(const item *it) {
        uint8_t want[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        ck_assert_int_eq(EVP_Digest(it->data, it->len, want, &n, EVP_md5(), NULL), 1);
        ck_assert_mem_eq(it->req.job.digest, want, 16);
}

static void on_done(md5q_req *r) {
        item *it = r->userdata;
        ctx *c = it->ctx;
        it->calls++;
        c->done++;
        expect_digest(it);
        /* Submissions from a callback join the lanes of a run in progress. */
        if (c->next < N_REQ) {
                item *n = &c->items[c->next++];
                ck_assert_int_eq(md5q_submit(c->q, &n->req, n->data, n->len, on_done, n), 0);
        }
        if (c->done == N_REQ)
                md5q_close(c->q);
}

static void walk_count(uv_handle_t *h, void *arg) {
        (void) h;
        ++*(int *) arg;
}

static const char *const impls[] = { "scalar", "avx2", "avx512" };

/* Every implementation this CPU runs (scalar: several runners, one message
 * each; the others: one set of lanes). */
static md5q *open_impl(uv_loop_t *loop, int i) {
        md5q *q = NULL;
        int r = md5q_new_impl(loop, impls[i], &q);
        if (r == -ENOTSUP)
                return NULL;
        ck_assert_int_eq(r, 0);
        return q;
}

START_TEST(test_many_buffers) {
        static ctx c;
        uv_loop_t loop;
        memset(&c, 0, sizeof(c));
        ck_assert_int_eq(uv_loop_init(&loop), 0);
        c.q = open_impl(&loop, _i);
        if (!c.q) {
                ck_assert_int_eq(uv_loop_close(&loop), 0);
                return;
        }
        for (size_t i = 0; i < N_REQ; i++) {
                item *it = &c.items[i];
                /* Empty, tiny, block edges and up to 1 MiB, unaligned. */
                size_t len = i < 3 ? i * 55 : rng() % (i % 10 == 0 ? (1u << 20) : 70000);
                it->data = malloc(len + 1);
                ck_assert_ptr_nonnull(it->data);
                for (size_t k = 0; k < len; k++)
                        it->data[k] = (uint8_t) rng();
                it->len = len;
                it->ctx = &c;
        }
        /* 40 at once, the rest submitted as earlier ones finish. */
        for (c.next = 0; c.next < 40; c.next++) {
                item *it = &c.items[c.next];
                const void *p = it->len ? it->data : NULL;
                ck_assert_int_eq(md5q_submit(c.q, &it->req, p, it->len, on_done, it), 0);
        }
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert_uint_eq(c.done, N_REQ);
        for (size_t i = 0; i < N_REQ; i++) {
                ck_assert_int_eq(c.items[i].calls, 1);
                free(c.items[i].data);
        }
        int open = 0;
        uv_walk(&loop, walk_count, &open);
        ck_assert_int_eq(open, 0);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static void on_one(md5q_req *r) {
        ++*(int *) r->userdata;
}

START_TEST(test_close_while_idle_and_bad_input) {
        uv_loop_t loop;
        md5q *q = NULL;
        md5q_req r;
        int calls = 0;
        ck_assert_int_eq(uv_loop_init(&loop), 0);
        ck_assert_int_eq(md5q_new(&loop, &q), 0);
        ck_assert_int_eq(md5q_submit(q, &r, NULL, 5, on_one, &calls), -EINVAL);
        ck_assert_int_eq(md5q_submit(q, &r, "x", 1, NULL, &calls), -EINVAL);
        /* One real request, then close before the run has reported back. */
        ck_assert_int_eq(md5q_submit(q, &r, "abc", 3, on_one, &calls), 0);
        md5q_close(q);
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert_int_eq(calls, 1);
        static const uint8_t abc[16] = { 0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                                         0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72 };
        ck_assert_mem_eq(r.job.digest, abc, 16);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* Downloads hashed as they arrive: each callback pushes the next chunk
 * until the last gives the digest. Early pushes wait for company (half the
 * lanes) or a kick, so when few streams are left the loop runs dry and
 * the test kicks, as a download does when it needs its buffer back. */
typedef struct stream {
        md5q_req req;
        md5q *q;
        uint8_t *data;
        size_t len, pushed, chunk;
        int partials, finals;
} stream;

static void on_stream(md5q_req *r) {
        stream *s = r->userdata;
        if (!md5mb_job_done(&r->job)) {
                s->partials++;
                s->pushed = s->pushed + s->chunk < s->len ? s->pushed + s->chunk : s->len;
                ck_assert_int_eq(md5q_push(s->q, r, s->pushed), 0);
                return;
        }
        s->finals++;
        uint8_t want[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        ck_assert_int_eq(EVP_Digest(s->data, s->len, want, &n, EVP_md5(), NULL), 1);
        ck_assert_mem_eq(r->job.digest, want, 16);
}

START_TEST(test_pushed_as_bytes_arrive) {
        enum { N = 24 };
        static stream st[N];
        uv_loop_t loop;
        memset(st, 0, sizeof(st));
        ck_assert_int_eq(uv_loop_init(&loop), 0);
        md5q *q = open_impl(&loop, _i);
        if (!q) {
                ck_assert_int_eq(uv_loop_close(&loop), 0);
                return;
        }
        for (size_t i = 0; i < N; i++) {
                stream *s = &st[i];
                s->q = q;
                s->len = 1 + rng() % (2u << 20);
                /* Steps of a few KiB at least: a push alone waits up to
                 * MD5Q_WAIT_MS for company, as callers push in large steps. */
                s->chunk = 4096 + rng() % (300 * 1024);
                s->data = malloc(s->len);
                ck_assert_ptr_nonnull(s->data);
                for (size_t k = 0; k < s->len; k++)
                        s->data[k] = (uint8_t) rng();
                ck_assert_int_eq(md5q_req_init(&s->req, s->data, s->len, on_stream, s), 0);
                s->pushed = s->chunk < s->len ? s->chunk : s->len;
                ck_assert_int_eq(md5q_push(q, &s->req, s->pushed), 0);
        }
        ck_assert_int_eq(md5q_push(q, &st[0].req, 0), -EINVAL);
        ck_assert_int_eq(md5q_push(q, &st[0].req, st[0].len + 1), -EINVAL);
        int finals = 0, kicks = 0;
        for (;;) {
                ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
                finals = 0;
                for (size_t i = 0; i < N; i++)
                        finals += st[i].finals;
                if (finals == N)
                        break;
                ck_assert_int_lt(kicks++, 100000);
                md5q_kick(q);
        }
        int partials = 0;
        for (size_t i = 0; i < N; i++) {
                ck_assert_int_eq(st[i].finals, 1);
                partials += st[i].partials;
                free(st[i].data);
        }
        ck_assert_int_gt(partials, N);
        md5q_close(q);
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* Nobody kicks: a lone lazy request's pushes, its last one included, wait
 * for company only so long, so one run of the loop ends with its digest. */
START_TEST(test_lazy_alone_is_not_forgotten) {
        static stream s;
        uv_loop_t loop;
        memset(&s, 0, sizeof(s));
        ck_assert_int_eq(uv_loop_init(&loop), 0);
        md5q *q = open_impl(&loop, _i);
        if (!q) {
                ck_assert_int_eq(uv_loop_close(&loop), 0);
                return;
        }
        s.q = q;
        s.len = 3 * 65536 + 17;
        s.chunk = 65536;
        s.data = malloc(s.len);
        ck_assert_ptr_nonnull(s.data);
        for (size_t k = 0; k < s.len; k++)
                s.data[k] = (uint8_t) rng();
        ck_assert_int_eq(md5q_req_init(&s.req, s.data, s.len, on_stream, &s), 0);
        ck_assert(!s.req.lazy);
        s.req.lazy = true;
        s.pushed = s.chunk;
        ck_assert_int_eq(md5q_push(q, &s.req, s.pushed), 0);
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert_int_eq(s.finals, 1);
        ck_assert_int_eq(s.partials, 3);
        free(s.data);
        md5q_close(q);
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("md5q");
        TCase *tc = tcase_create("md5q");
        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_many_buffers, 0, 3);
        tcase_add_test(tc, test_close_while_idle_and_bad_input);
        tcase_add_loop_test(tc, test_pushed_as_bytes_arrive, 0, 3);
        tcase_add_loop_test(tc, test_lazy_alone_is_not_forgotten, 0, 3);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
