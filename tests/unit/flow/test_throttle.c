/* SPDX-License-Identifier: MIT */
/* A bandwidth cap changed while transfers wait on it: a waiter is woken by
 * the new rate, not by the wake-up the old one timed; bytes are counted
 * capped or not; and the loop ends with every handle closed. */

#include <check.h>
#include <stdlib.h>
#include <uv.h>

#include "delay.h"
#include "fixture.h"
#include "pace.h"
#include "throttle.h"

typedef struct world {
        uv_loop_t loop;
        delay_queue dq;
        throttle t;
        throttle_waiter w;
        uv_timer_t change;  /* changes the rate while w waits */
        uint64_t new_rate;
        uint64_t woken_ms;  /* uv_now() when w ran; 0: not yet */
        uint64_t started_ms;
} world;

static void on_woken(throttle_waiter *w) {
        world *x = (world *) ((char *) w - offsetof(world, w));
        x->woken_ms = uv_now(&x->loop);
        delay_close(&x->dq);
        uv_close((uv_handle_t *) &x->change, NULL);
}

static void on_change(uv_timer_t *h) {
        world *x = h->data;
        throttle_set_rate(&x->t, x->new_rate);
}

/* Capped at `rate`, `taken` bytes over the bucket; the rate becomes
 * new_rate 50 ms later. Returns the milliseconds until the waiter ran. */
static uint64_t wait_through_change(uint64_t rate, uint64_t taken, uint64_t new_rate) {
        world x = { .new_rate = new_rate };

        ck_assert_int_eq(uv_loop_init(&x.loop), 0);
        ck_assert_int_eq(delay_init(&x.dq, &x.loop), 0);
        throttle_init(&x.t, rate, &x.dq, &x.loop);
        throttle_take(&x.t, taken);
        ck_assert(!throttle_ready(&x.t));
        x.started_ms = uv_now(&x.loop);
        throttle_wait(&x.t, &x.w, on_woken);
        ck_assert_int_eq(uv_timer_init(&x.loop, &x.change), 0);
        x.change.data = &x;
        ck_assert_int_eq(uv_timer_start(&x.change, on_change, 50, 0), 0);
        ck_assert_int_eq(uv_run(&x.loop, UV_RUN_DEFAULT), 0);
        ck_assert_uint_gt(x.woken_ms, 0);
        ck_assert_uint_eq(x.t.moved, taken);
        throttle_done(&x.t);
        ck_assert_int_eq(uv_loop_close(&x.loop), 0);
        return x.woken_ms - x.started_ms;
}

START_TEST(test_uncapping_wakes_at_once) {
        /* At 1 KiB/s the bytes taken would hold it for ~16 minutes. */
        uint64_t ms = wait_through_change(1024, 1u << 20, 0);
        ck_assert_uint_ge(ms, 40);
        ck_assert_uint_lt(ms, 500);
}
END_TEST

START_TEST(test_raising_wakes_at_the_new_rate) {
        /* 64 KiB over the bucket: 64 s at 1 KiB/s, 62 ms at 1 MiB/s. */
        uint64_t ms = wait_through_change(1024, (64u << 10) * 2, 1u << 20);
        ck_assert_uint_ge(ms, 40);
        ck_assert_uint_lt(ms, 800);
}
END_TEST

START_TEST(test_capping_an_uncapped_bucket) {
        uv_loop_t loop;
        delay_queue dq;
        throttle t;

        ck_assert_int_eq(uv_loop_init(&loop), 0);
        ck_assert_int_eq(delay_init(&dq, &loop), 0);
        throttle_init(&t, 0, &dq, &loop);
        throttle_take(&t, 10u << 20);
        ck_assert(throttle_ready(&t)); /* no cap: always */
        ck_assert_uint_eq(t.moved, 10u << 20);
        throttle_set_rate(&t, 1u << 20);
        /* A full bucket (50 ms worth) to start from, then empty. */
        ck_assert(throttle_ready(&t));
        throttle_take(&t, 1u << 20);
        ck_assert(!throttle_ready(&t));
        ck_assert_uint_eq(t.moved, 11u << 20);
        throttle_done(&t);
        delay_close(&dq);
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(test_pace_rate_change) {
        pace p;

        pace_init(&p, 0);
        ck_assert_uint_eq(pace_reserve(&p, 1u << 20), 0);
        pace_set_rate(&p, 1u << 20);
        uint64_t a = pace_reserve(&p, 1u << 20), b = pace_reserve(&p, 1u << 20);
        /* The second MiB starts a second after the first. */
        ck_assert_uint_ge(b - a, 999000000u);
        ck_assert_uint_le(b - a, 1001000000u);
        pace_set_rate(&p, 0);
        ck_assert_uint_eq(pace_reserve(&p, 1u << 20), 0);
        pace_done(&p);
}
END_TEST

int main(void) {
        Suite *s = suite_create("throttle");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_uncapping_wakes_at_once);
        tcase_add_test(tc, test_raising_wakes_at_the_new_rate);
        tcase_add_test(tc, test_capping_an_uncapped_bucket);
        tcase_add_test(tc, test_pace_rate_change);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
