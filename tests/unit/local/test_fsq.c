/* SPDX-License-Identifier: MIT */
/* The filesystem queue takes its owners (calls) in turn: a call's one
 * request waits for one request of each other call, not for all a big
 * batch queued before it; cancel takes a request out wherever it waits. */

#include <check.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <uv.h>

#include "fixture.h"
#include "fsq.h"
#include "macro.h"

typedef struct req {
        uv_work_t work;
        char tag;
        int status;
} req;

static char order[64];
static atomic_int n_order;
static sem_t gate;
static int n_after;

static void work(uv_work_t *w) {
        req *r = container_of(w, req, work);
        order[atomic_fetch_add(&n_order, 1)] = r->tag;
        if (r->tag == 'a' && n_order == 1)
                sem_wait(&gate); /* the first holds the only thread until all are queued */
}

static void after(uv_work_t *w, int status) {
        req *r = container_of(w, req, work);
        r->status = status;
        n_after++;
}

static void on_closed(void *userdata) {
        *(bool *) userdata = true;
}

START_TEST(test_owners_take_turns) {
        uv_loop_t loop;
        fsq *q;
        int big, small; /* the owners: only their addresses count */
        req a[10], b = { .tag = 'b' };
        bool closed = false;

        ck_assert_int_eq(uv_loop_init(&loop), 0);
        ck_assert_int_eq(sem_init(&gate, 0, 0), 0);
        memset(order, 0, sizeof(order));
        n_order = 0;
        n_after = 0;
        ck_assert_int_eq(fsq_new(&loop, 1, &q), 0);
        for (int i = 0; i < 10; i++) {
                a[i] = (req){ .tag = 'a' };
                ck_assert_int_eq(fsq_queue(q, &big, NULL, &a[i].work, work, after), 0);
        }
        ck_assert_int_eq(fsq_queue(q, &small, NULL, &b.work, work, after), 0);
        /* One waiting in the middle of the big owner's line goes too. */
        ck_assert_int_eq(fsq_cancel(q, &a[5].work), 0);
        sem_post(&gate);
        while (n_after < 11)
                uv_run(&loop, UV_RUN_ONCE);
        /* FIFO would have run b 11th. */
        ck_assert_msg(strchr(order, 'b') - order <= 2, "order %s", order);
        ck_assert_int_eq(n_order, 10);
        ck_assert_int_eq(a[5].status, UV_ECANCELED);
        ck_assert_int_eq(b.status, 0);
        fsq_close(q, on_closed, &closed);
        uv_run(&loop, UV_RUN_DEFAULT);
        ck_assert(closed);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
        sem_destroy(&gate);
}
END_TEST

int main(void) {
        Suite *s = suite_create("fsq");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_owners_take_turns);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
