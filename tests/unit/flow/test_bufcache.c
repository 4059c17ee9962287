/* SPDX-License-Identifier: MIT */
/* Kept transfer buffers: reused for the same size, and what is kept plus
 * what the budget granted never over the budget's limit. */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bufcache.h"
#include "budget.h"
#include "fixture.h"

#define KIB 1024u

typedef struct world {
        budget b;
        bufcache c;
        budget_waiter w[8];
} world;

static void never(budget_waiter *w) {
        ck_abort_msg("no grant waits in these tests");
}

static void world_init(world *t, uint64_t limit) {
        memset(t, 0, sizeof(*t));
        budget_init(&t->b, limit, NULL);
        bufcache_init(&t->c, &t->b);
}

/* A granted buffer, as a part takes one: the grant, then the memory. */
static void *take(world *t, unsigned i, size_t size) {
        ck_assert_int_eq(budget_acquire(&t->b, &t->w[i], size, never), 1);
        void *p = bufcache_get(&t->c, size);
        ck_assert_ptr_nonnull(p);
        memset(p, 0xa5, size); /* the whole buffer is ours (ASan checks) */
        return p;
}

/* And back: the memory, then the grant. */
static void give(world *t, unsigned i, void *p, size_t size) {
        bufcache_put(&t->c, p, size);
        budget_release(&t->b, &t->w[i]);
        ck_assert_uint_le(t->b.used + t->c.bytes, t->b.limit);
}

START_TEST(test_same_size_is_reused) {
        world t;
        world_init(&t, 64 * KIB);
        void *a = take(&t, 0, 16 * KIB);
        give(&t, 0, a, 16 * KIB);
        ck_assert_uint_eq(t.c.bytes, 16 * KIB);
        void *b = take(&t, 0, 16 * KIB);
        ck_assert_ptr_eq(a, b);
        ck_assert_uint_eq(t.c.hits, 1);
        ck_assert_uint_eq(t.c.bytes, 0);
        give(&t, 0, b, 16 * KIB);
        /* Another size is a new buffer; the kept one stays while it fits. */
        void *c = take(&t, 1, 8 * KIB);
        ck_assert_ptr_ne(c, b);
        ck_assert_uint_eq(t.c.bytes, 16 * KIB);
        give(&t, 1, c, 8 * KIB);
        bufcache_done(&t.c);
        ck_assert_uint_eq(t.c.bytes, 0);
}
END_TEST

/* The most recently kept buffer goes out first (it is the warmest). */
START_TEST(test_most_recent_first) {
        world t;
        world_init(&t, 64 * KIB);
        void *a = take(&t, 0, 8 * KIB), *b = take(&t, 1, 8 * KIB);
        give(&t, 0, a, 8 * KIB);
        give(&t, 1, b, 8 * KIB);
        void *x = take(&t, 0, 8 * KIB);
        ck_assert_ptr_eq(x, b);
        give(&t, 0, x, 8 * KIB);
        bufcache_done(&t.c);
}
END_TEST

/* A grant that needs the room kept buffers take: they are freed, oldest
 * first, before the new buffer is made. */
START_TEST(test_kept_give_way_to_grants) {
        world t;
        world_init(&t, 32 * KIB);
        void *p[4];
        for (unsigned i = 0; i < 4; i++)
                p[i] = take(&t, i, 8 * KIB);
        for (unsigned i = 0; i < 4; i++)
                give(&t, i, p[i], 8 * KIB);
        ck_assert_uint_eq(t.c.bytes, 32 * KIB);
        void *big = take(&t, 0, 16 * KIB);
        ck_assert_uint_eq(t.c.bytes, 16 * KIB);
        ck_assert_uint_le(t.b.used + t.c.bytes, t.b.limit);
        /* The two kept are the most recent ones. */
        void *q = take(&t, 1, 8 * KIB);
        ck_assert_ptr_eq(q, p[3]);
        give(&t, 1, q, 8 * KIB);
        give(&t, 0, big, 16 * KIB);
        bufcache_done(&t.c);
}
END_TEST

/* Tiny buffers (no room for the bookkeeping) and NULL are simply freed. */
START_TEST(test_small_and_null) {
        world t;
        world_init(&t, 64 * KIB);
        void *s = take(&t, 0, 4);
        give(&t, 0, s, 4);
        ck_assert_uint_eq(t.c.bytes, 0);
        bufcache_put(&t.c, NULL, 100);
        ck_assert_uint_eq(t.c.bytes, 0);
        bufcache_done(&t.c);
}
END_TEST

int main(void) {
        Suite *s = suite_create("bufcache");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_same_size_is_reused);
        tcase_add_test(tc, test_most_recent_first);
        tcase_add_test(tc, test_kept_give_way_to_grants);
        tcase_add_test(tc, test_small_and_null);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
