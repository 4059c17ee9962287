/* SPDX-License-Identifier: MIT */
/* Weighted max-min shares of a bandwidth cap (bwshare_fill): by weight
 * when everyone wants more, what a modest claim leaves goes to the
 * others, and the shares always add up to the cap. */

#include <check.h>
#include <math.h>

#include "bwshare.h"
#include "fixture.h"

#define EPS 1e-6

static double sum(const double *v, size_t n) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
                s += v[i];
        return s;
}

START_TEST(test_by_weight_when_all_want_more) {
        double w[] = { 30, 10 }, d[] = { INFINITY, INFINITY }, o[2];
        bwshare_fill(w, d, 2, 4000, o);
        ck_assert_double_eq_tol(o[0], 3000, EPS);
        ck_assert_double_eq_tol(o[1], 1000, EPS);
}
END_TEST

START_TEST(test_a_modest_claim_leaves_the_rest) {
        /* The heavy one wants 500 of its 3,000; the light one gets 3,500. */
        double w[] = { 30, 10 }, d[] = { 500, INFINITY }, o[2];
        bwshare_fill(w, d, 2, 4000, o);
        ck_assert_double_eq_tol(o[0], 500, EPS);
        ck_assert_double_eq_tol(o[1], 3500, EPS);
}
END_TEST

START_TEST(test_rounds_until_nobody_is_below) {
        /* 100 each at first: c wants 50 and b 80 of theirs, so a takes
         * the other 170. */
        double w[] = { 1, 1, 1 }, d[] = { INFINITY, 80, 50 }, o[3];
        bwshare_fill(w, d, 3, 300, o);
        ck_assert_double_eq_tol(o[2], 50, EPS);
        ck_assert_double_eq_tol(o[1], 80, EPS);
        ck_assert_double_eq_tol(o[0], 170, EPS);
}
END_TEST

START_TEST(test_spare_goes_round_by_weight) {
        /* Both content with less: the spare 700 is spread 3:1 on top. */
        double w[] = { 3, 1 }, d[] = { 200, 100 }, o[2];
        bwshare_fill(w, d, 2, 1000, o);
        ck_assert_double_eq_tol(o[0], 200 + 525, EPS);
        ck_assert_double_eq_tol(o[1], 100 + 175, EPS);
        ck_assert_double_eq_tol(sum(o, 2), 1000, EPS);
}
END_TEST

START_TEST(test_edges) {
        double w[] = { 5 }, d[] = { INFINITY }, o[1];
        bwshare_fill(w, d, 1, 1234, o);
        ck_assert_double_eq_tol(o[0], 1234, EPS);
        bwshare_fill(w, d, 0, 1234, o); /* no claims: nothing written, no crash */
}
END_TEST

int main(void) {
        Suite *s = suite_create("bwshare");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_by_weight_when_all_want_more);
        tcase_add_test(tc, test_a_modest_claim_leaves_the_rest);
        tcase_add_test(tc, test_rounds_until_nobody_is_below);
        tcase_add_test(tc, test_spare_goes_round_by_weight);
        tcase_add_test(tc, test_edges);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
