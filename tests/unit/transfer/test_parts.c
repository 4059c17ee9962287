/* SPDX-License-Identifier: MIT */
/* How large objects are cut into parts: S3's 10,000-part and 5 MiB..5 GiB
 * rules, tested on the arithmetic rather than on an 80 GiB file. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "parts.h"
#include "fixture.h"

#define MIB (1024ULL * 1024)
#define GIB (1024ULL * MIB)

static void plan(uint64_t size, uint64_t chunksize, uint64_t want_chunk, unsigned want_n) {
        uint64_t chunk;
        unsigned n;
        ck_assert_int_eq(parts_plan(size, chunksize, &chunk, &n), 0);
        ck_assert_uint_eq(chunk, want_chunk);
        ck_assert_uint_eq(n, want_n);
        /* The parts cover the object exactly, each within S3's sizes. */
        uint64_t total = 0;
        for (unsigned i = 0; i < n; i++) {
                uint64_t off, len;
                parts_range(size, chunk, i, &off, &len);
                ck_assert_uint_eq(off, total);
                ck_assert(len <= PARTS_MAX_SIZE);
                ck_assert(i + 1 == n || len >= PARTS_MIN_SIZE);
                total += len;
        }
        ck_assert_uint_eq(total, size);
        ck_assert(n <= PARTS_MAX);
}

START_TEST(test_default_chunks) {
        plan(50000000, 8 * MIB, 8 * MIB, 6);
        plan(16 * MIB, 8 * MIB, 8 * MIB, 2);
        plan(16 * MIB + 1, 8 * MIB, 8 * MIB, 3);
        plan(1 * GIB, 8 * MIB, 8 * MIB, 128);
}
END_TEST

START_TEST(test_chunk_below_minimum_is_raised) {
        plan(20 * MIB, 1 * MIB, 5 * MIB, 4);
}
END_TEST

/* 80 GiB at 8 MiB would need 10,240 parts: the part grows to 9 MiB. */
START_TEST(test_grows_to_stay_within_10000_parts) {
        plan(80 * GIB, 8 * MIB, 9 * MIB, 9103);
        plan(10000 * 8 * MIB, 8 * MIB, 8 * MIB, 10000);
        plan(10000 * 8 * MIB + 1, 8 * MIB, 9 * MIB, 8889);
}
END_TEST

START_TEST(test_largest_object) {
        uint64_t chunk;
        unsigned n;
        ck_assert_int_eq(parts_plan(PARTS_MAX_OBJECT, 8 * MIB, &chunk, &n), 0);
        ck_assert(n <= PARTS_MAX);
        ck_assert(chunk <= PARTS_MAX_SIZE);
        ck_assert_int_eq(parts_plan(PARTS_MAX_OBJECT + 1, 8 * MIB, &chunk, &n), -EFBIG);
}
END_TEST

int main(void) {
        Suite *s = suite_create("parts");
        TCase *tc = tcase_create("plan");
        tcase_add_test(tc, test_default_chunks);
        tcase_add_test(tc, test_chunk_below_minimum_is_raised);
        tcase_add_test(tc, test_grows_to_stay_within_10000_parts);
        tcase_add_test(tc, test_largest_object);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
