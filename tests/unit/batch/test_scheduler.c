/* SPDX-License-Identifier: MIT */
/* The scheduler's fair share: users first, then their calls by priority;
 * equal weights are round-robin; a newcomer starts next. Fake clients
 * that start a file whenever asked, one slot, files finishing in turn. */

#include <check.h>
#include <string.h>

#include "fixture.h"
#include "scheduler.h"

typedef struct fake {
        sched_client c;
        char tag;
        unsigned left;
} fake;

static char order[512];
static size_t n_order;

static int fake_start(sched_client *c) {
        fake *f = (fake *) c;
        if (!f->left)
                return 0;
        f->left--;
        order[n_order++] = f->tag;
        return 1;
}

static bool fake_runnable(const sched_client *c) {
        return ((const fake *) c)->left > 0;
}

static void fake_idle(sched_client *c) {
}

static const sched_ops fake_ops = { .start_one = fake_start, .runnable = fake_runnable, .idle = fake_idle };

static void fake_add(scheduler *s, fake *f, char tag, unsigned files, sched_group *g, unsigned weight) {
        f->tag = tag;
        f->left = files;
        sched_client_init(&f->c, &fake_ops);
        sched_client_set(&f->c, g, weight);
        scheduler_add(s, &f->c);
}

/* n more starts, one slot: each file ends before the next starts. */
static void run(scheduler *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                scheduler_pump(s);
                scheduler_release(s);
        }
}

static size_t count(char tag, size_t from, size_t to) {
        size_t k = 0;
        for (size_t i = from; i < to && i < n_order; i++)
                k += order[i] == tag;
        return k;
}

static void reset(scheduler *s) {
        memset(order, 0, sizeof(order));
        n_order = 0;
        scheduler_init(s, 1);
}

START_TEST(test_equal_weights_round_robin) {
        scheduler s;
        fake a, b;

        reset(&s);
        fake_add(&s, &a, 'a', 100, NULL, 10);
        run(&s, 3);
        fake_add(&s, &b, 'b', 3, NULL, 10);
        run(&s, 10);
        /* b starts at once, then they alternate until b is done. */
        ck_assert_str_eq(order, "aaabababaaaaa");
}
END_TEST

START_TEST(test_users_before_calls) {
        scheduler s;
        sched_group ga, gb;
        fake a1, a2, a3, b1;

        reset(&s);
        sched_group_init(&ga);
        sched_group_init(&gb);
        fake_add(&s, &a1, '1', 100, &ga, 10);
        fake_add(&s, &a2, '2', 100, &ga, 10);
        fake_add(&s, &a3, '3', 100, &ga, 10);
        fake_add(&s, &b1, 'b', 100, &gb, 10);
        run(&s, 60);
        /* One user's three calls share half the slots; the other's one call
         * has the other half. */
        ck_assert_uint_eq(count('b', 0, 60), 30);
        ck_assert_uint_eq(count('1', 0, 60), 10);
        ck_assert_uint_eq(count('2', 0, 60), 10);
        ck_assert_uint_eq(count('3', 0, 60), 10);
}
END_TEST

START_TEST(test_priority_weights_starts) {
        scheduler s;
        sched_group g, h;
        fake lo, hi, other_lo, other_hi;

        /* Within one user: 40 against 10 is 4 to 1. */
        reset(&s);
        sched_group_init(&g);
        fake_add(&s, &lo, 'l', 100, &g, 10);
        fake_add(&s, &hi, 'h', 100, &g, 40);
        run(&s, 50);
        ck_assert_uint_eq(count('h', 0, 50), 40);
        ck_assert_uint_eq(count('l', 0, 50), 10);

        /* Between users: a user's weight is its heaviest waiting call's. */
        reset(&s);
        sched_group_init(&g);
        sched_group_init(&h);
        fake_add(&s, &other_lo, 'o', 100, &h, 10);
        fake_add(&s, &other_hi, 'p', 12, &g, 30);
        run(&s, 16);
        ck_assert_uint_eq(count('p', 0, 16), 12);
        ck_assert_uint_eq(count('o', 0, 16), 4);
        /* Once it is done, the other has every slot. */
        run(&s, 10);
        ck_assert_uint_eq(count('o', 16, 26), 10);
}
END_TEST

START_TEST(test_no_credit_for_time_away) {
        scheduler s;
        sched_group g, h;
        fake a, b;

        reset(&s);
        sched_group_init(&g);
        sched_group_init(&h);
        fake_add(&s, &a, 'a', 200, &g, 10);
        fake_add(&s, &b, 'b', 2, &h, 10);
        run(&s, 100);
        /* b was away for 96 starts of a: it comes back first, and then
         * shares, rather than taking 96 starts in a row. */
        b.left = 10;
        scheduler_add(&s, &b.c);
        run(&s, 6);
        ck_assert_int_eq(strncmp(order + 100, "bababa", 6), 0);
}
END_TEST

START_TEST(test_removed_client_and_group_leave) {
        scheduler s;
        sched_group g;
        fake a, b;

        reset(&s);
        sched_group_init(&g);
        fake_add(&s, &a, 'a', 5, &g, 10);
        fake_add(&s, &b, 'b', 5, &g, 10);
        scheduler_remove(&s, &a.c);
        scheduler_remove(&s, &a.c); /* twice is harmless */
        run(&s, 5);
        ck_assert_str_eq(order, "bbbbb");
        ck_assert(list_empty(&s.groups));
        ck_assert(list_empty(&g.clients));
}
END_TEST

int main(void) {
        Suite *s = suite_create("scheduler");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_equal_weights_round_robin);
        tcase_add_test(tc, test_users_before_calls);
        tcase_add_test(tc, test_priority_weights_starts);
        tcase_add_test(tc, test_no_credit_for_time_away);
        tcase_add_test(tc, test_removed_client_and_group_leave);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
