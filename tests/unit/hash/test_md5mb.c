/* SPDX-License-Identifier: MIT */
/* Multi-buffer MD5 against OpenSSL's MD5, for every implementation this CPU
 * runs, each both with its scalar crossover and with vector steps forced. */

#include <check.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "md5mb.h"

#define MIB (1024 * 1024)

/* Loop index i: implementation i % 3; i / 3 == 1 forces vector steps even
 * with one busy lane (the idle lanes then hash a busy lane's blocks). */
static const char *const impl_names[] = { "scalar", "avx2", "avx512" };
#define N_MODES 6

static md5mb *open_mode(int i) {
        md5mb *m = NULL;
        int r = md5mb_new_impl(impl_names[i % 3], &m);
        if (r == -ENOTSUP) {
                fprintf(stderr, "md5mb: %s not supported by this CPU, skipped\n", impl_names[i % 3]);
                return NULL;
        }
        ck_assert_int_eq(r, 0);
        ck_assert_str_eq(md5mb_impl(m), impl_names[i % 3]);
        if (i / 3 == 1)
                md5mb_set_scalar_max(m, 0);
        return m;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void) {
        return fixture_rng(&rng_state);
}

static uint8_t *random_bytes(size_t n) {
        uint8_t *p = malloc(n ? n : 1);
        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (rng() >> 32);
        return p;
}

static void openssl_md5(const void *data, size_t len, uint8_t out[16]) {
        unsigned n = 0;
        ck_assert_int_eq(EVP_Digest(data, len, out, &n, EVP_md5(), NULL), 1);
        ck_assert_uint_eq(n, 16);
}

static void hex(const uint8_t d[16], char out[33]) {
        for (int i = 0; i < 16; i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void assert_job(const md5mb_job *j) {
        uint8_t want[16];
        char got_hex[33], want_hex[33];
        openssl_md5(j->data, j->len, want);
        hex(j->digest, got_hex);
        hex(want, want_hex);
        ck_assert_msg(memcmp(j->digest, want, 16) == 0, "length %zu: got %s, want %s", j->len, got_hex,
                      want_hex);
}

/* RFC 1321, A.5. */
START_TEST(test_rfc1321_vectors) {
        static const struct {
                const char *msg, *md5;
        } v[] = {
                { "", "d41d8cd98f00b204e9800998ecf8427e" },
                { "a", "0cc175b9c0f1b6a831c399e269772661" },
                { "abc", "900150983cd24fb0d6963f7d28e17f72" },
                { "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
                { "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
                { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                  "d174ab98d277d9f5a5611c2c9f419d9f" },
                { "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                  "57edf4a22be3c955ac49da2e2107b67a" },
        };
        enum { N = sizeof(v) / sizeof(v[0]) };
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        md5mb_job jobs[N], *p[N];
        for (size_t i = 0; i < N; i++) {
                jobs[i] = (md5mb_job) { .data = (const uint8_t *) v[i].msg, .len = strlen(v[i].msg) };
                p[i] = &jobs[i];
        }
        ck_assert_int_eq(md5mb_digest_all(m, p, N), 0);
        for (size_t i = 0; i < N; i++) {
                char got[33];
                hex(jobs[i].digest, got);
                ck_assert_str_eq(got, v[i].md5);
                assert_job(&jobs[i]);
        }
        ck_assert_uint_eq(md5mb_active(m), 0);
        md5mb_free(m);
}
END_TEST

/* Every padding case: one tail block up to 55 bytes past the last whole
 * block, two from 56 to 63, none of the message in the tail at 64. */
START_TEST(test_every_length_to_300) {
        enum { N = 301 };
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        uint8_t *buf = random_bytes(N);
        md5mb_job jobs[N], *p[N];
        for (size_t i = 0; i < N; i++) {
                jobs[i] = (md5mb_job) { .data = buf, .len = i };
                p[i] = &jobs[i];
        }
        ck_assert_int_eq(md5mb_digest_all(m, p, N), 0);
        for (size_t i = 0; i < N; i++)
                assert_job(&jobs[i]);
        free(buf);
        md5mb_free(m);
}
END_TEST

/* Lanes from empty to 3 MiB at odd offsets of one buffer, stepped with
 * budgets from one block to more than the longest, refilled as they free. */
START_TEST(test_random_lengths_and_budgets) {
        enum { N = 40, BUF = 3 * MIB + 64 };
        static const size_t budgets[] = { 1, 64, 100, 4096, 65536, 7 * 64 + 3, SIZE_MAX };
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        uint8_t *buf = random_bytes(BUF);
        md5mb_job jobs[N];
        for (size_t i = 0; i < N; i++) {
                size_t max = i % 4 == 0 ? 3 * MIB : i % 4 == 1 ? 70000 : 300;
                size_t len = (size_t) (rng() % (max + 1));
                size_t off = (size_t) (rng() % (BUF - len + 1));
                jobs[i] = (md5mb_job) { .data = buf + off, .len = len, .userdata = &jobs[i] };
        }
        md5mb_job *done[16];
        size_t next = 0, completed = 0;
        for (size_t s = 0; completed < N; s++) {
                while (next < N && md5mb_add(m, &jobs[next]) == 0)
                        next++;
                ck_assert(md5mb_active(m) == md5mb_lanes(m) || next == N);
                size_t k = md5mb_step(m, budgets[s % 7], done, 16);
                for (size_t i = 0; i < k; i++) {
                        ck_assert_ptr_eq(done[i]->userdata, done[i]);
                        assert_job(done[i]);
                }
                completed += k;
        }
        ck_assert_uint_eq(md5mb_active(m), 0);
        free(buf);
        md5mb_free(m);
}
END_TEST

/* Jobs join while other lanes are half done, including lanes already in
 * their tail blocks. */
START_TEST(test_add_while_others_half_done) {
        enum { N = 32 };
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        uint8_t *buf = random_bytes(20000);
        md5mb_job jobs[N];
        size_t added = 0, completed = 0;
        md5mb_job *done[16];
        while (completed < N) {
                /* One new job per step, for as long as lanes are free. */
                if (added < N) {
                        jobs[added] = (md5mb_job) { .data = buf + added, .len = 500 + 611 * added };
                        if (md5mb_add(m, &jobs[added]) == 0)
                                added++;
                }
                size_t k = md5mb_step(m, 128, done, 16);
                for (size_t i = 0; i < k; i++)
                        assert_job(done[i]);
                completed += k;
        }
        free(buf);
        md5mb_free(m);
}
END_TEST

START_TEST(test_more_jobs_than_lanes) {
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        size_t n = 3 * md5mb_lanes(m) + 5;
        uint8_t *buf = random_bytes(200000);
        md5mb_job *jobs = calloc(n, sizeof(*jobs));
        md5mb_job **p = calloc(n, sizeof(*p));
        ck_assert(jobs && p);
        for (size_t i = 0; i < n; i++) {
                jobs[i] = (md5mb_job) { .data = buf + i, .len = (size_t) (rng() % 150000) };
                p[i] = &jobs[i];
        }
        ck_assert_int_eq(md5mb_digest_all(m, p, n), 0);
        for (size_t i = 0; i < n; i++)
                assert_job(&jobs[i]);
        ck_assert_uint_eq(md5mb_active(m), 0);
        free(p);
        free(jobs);
        free(buf);
        md5mb_free(m);
}
END_TEST

/* Data at every offset modulo 64 from an aligned allocation. */
START_TEST(test_unaligned_data) {
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        uint8_t *buf = aligned_alloc(64, 64 + 4096);
        ck_assert_ptr_nonnull(buf);
        for (size_t i = 0; i < 64 + 4096; i++)
                buf[i] = (uint8_t) (i * 7 + 3);
        md5mb_job jobs[64], *p[64];
        for (size_t i = 0; i < 64; i++) {
                jobs[i] = (md5mb_job) { .data = buf + i, .len = 4096 - 3 * i };
                p[i] = &jobs[i];
        }
        ck_assert_int_eq(md5mb_digest_all(m, p, 64), 0);
        for (size_t i = 0; i < 64; i++)
                assert_job(&jobs[i]);
        free(buf);
        md5mb_free(m);
}
END_TEST

/* A job moves between the scalar and the vector code: alone (scalar), then
 * with every lane busy (vector), then scalar and vector forced in turn. */
START_TEST(test_scalar_vector_handover) {
        md5mb *m = open_mode(_i % 3);
        if (!m)
                return;
        unsigned lanes = md5mb_lanes(m);
        uint8_t *buf = random_bytes(MIB);
        md5mb_job first = { .data = buf + 1, .len = 300000 }, others[16];
        md5mb_job *done[16];
        ck_assert_int_eq(md5mb_add(m, &first), 0);
        ck_assert_uint_eq(md5mb_step(m, 10000, done, 16), 0);
        ck_assert_uint_eq(first.off, 10000 / 64 * 64);
        for (unsigned i = 1; i < lanes; i++) {
                others[i] = (md5mb_job) { .data = buf + 1000 * i, .len = 200000 + 4099 * i };
                ck_assert_int_eq(md5mb_add(m, &others[i]), 0);
        }
        /* A valid job: the lanes are full, not the job wrong. */
        others[0] = (md5mb_job) { .data = buf, .len = 100 };
        ck_assert_int_eq(md5mb_add(m, &others[0]), -EBUSY);
        ck_assert_uint_eq(md5mb_step(m, 20000, done, 16), 0);
        ck_assert_uint_eq(first.off, 30000 / 64 * 64);
        for (unsigned s = 0; md5mb_active(m) > 0; s++) {
                md5mb_set_scalar_max(m, s % 2 ? lanes : 0);
                size_t k = md5mb_step(m, 3000 + 64 * s, done, 16);
                for (size_t i = 0; i < k; i++)
                        assert_job(done[i]);
        }
        free(buf);
        md5mb_free(m);
}
END_TEST

/* The comparison can fail: one changed byte anywhere changes the digest. */
START_TEST(test_one_byte_changes_the_digest) {
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        enum { LEN = 1000 };
        uint8_t *buf = random_bytes(LEN);
        md5mb_job a = { .data = buf, .len = LEN }, *pa = &a;
        ck_assert_int_eq(md5mb_digest_all(m, &pa, 1), 0);
        assert_job(&a);
        for (size_t pos = 0; pos < LEN; pos += 37) {
                uint8_t *copy = malloc(LEN);
                ck_assert_ptr_nonnull(copy);
                memcpy(copy, buf, LEN);
                copy[pos] ^= 1;
                md5mb_job b = { .data = copy, .len = LEN }, *pb = &b;
                ck_assert_int_eq(md5mb_digest_all(m, &pb, 1), 0);
                ck_assert_msg(memcmp(a.digest, b.digest, 16) != 0, "byte %zu", pos);
                free(copy);
        }
        /* So does the length alone (zeros hashed vs one more zero). */
        static const uint8_t zeros[65];
        md5mb_job z1 = { .data = zeros, .len = 64 }, z2 = { .data = zeros, .len = 65 };
        md5mb_job *pz[] = { &z1, &z2 };
        ck_assert_int_eq(md5mb_digest_all(m, pz, 2), 0);
        ck_assert(memcmp(z1.digest, z2.digest, 16) != 0);
        free(buf);
        md5mb_free(m);
}
END_TEST

/* Fewer slots than completed jobs: the rest come out of the next step,
 * and their lanes stay taken until then. */
START_TEST(test_completed_beyond_capacity) {
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        unsigned lanes = md5mb_lanes(m);
        static const uint8_t data[100];
        md5mb_job jobs[16];
        for (unsigned i = 0; i < lanes; i++) {
                jobs[i] = (md5mb_job) { .data = data, .len = 10 + i };
                ck_assert_int_eq(md5mb_add(m, &jobs[i]), 0);
        }
        md5mb_job *done[16];
        ck_assert_uint_eq(md5mb_step(m, SIZE_MAX, done, 0), 0);
        ck_assert_uint_eq(md5mb_active(m), lanes);
        size_t total = 0;
        while (md5mb_active(m) > 0) {
                size_t k = md5mb_step(m, 64, done, 1);
                ck_assert_uint_eq(k, 1);
                assert_job(done[0]);
                total += k;
        }
        ck_assert_uint_eq(total, lanes);
        md5mb_free(m);
}
END_TEST

/* Messages hashed as they arrive: each job's available bytes grow by
 * random amounts (odd ones, below a block, exactly to block edges) while
 * whole jobs share the lanes; a starved job leaves its lane without a
 * digest and comes back, possibly to another lane, until it is done. The
 * bytes past avail are garbage until they "arrive", so a lane that read
 * ahead would get a wrong digest. */
START_TEST(test_partial_jobs_as_bytes_arrive) {
        enum { N = 40 };
        md5mb *m = open_mode(_i);
        if (!m)
                return;
        md5mb_job jobs[N];
        uint8_t *bufs[N], *real[N];
        size_t started = 0, finished = 0, comebacks = 0;
        md5mb_job *done[16];
        for (size_t i = 0; i < N; i++) {
                size_t len = i % 4 == 0 ? rng() % 200 : rng() % (300 * 1024);
                bufs[i] = random_bytes(len);
                real[i] = random_bytes(len);
                /* Every third job is whole from the start. */
                jobs[i] = (md5mb_job){ .data = bufs[i], .len = len, .avail = i % 3 == 0 ? 0 : 1 };
                memcpy(bufs[i], real[i], i % 3 == 0 ? len : len > 0);
        }
        md5mb_job *waiting[N];
        size_t n_waiting = 0;
        while (finished < N) {
                /* Fill free lanes: new jobs first, then those waiting for
                 * bytes, whose avail grows first. */
                while (md5mb_active(m) < md5mb_lanes(m) && (started < N || n_waiting > 0)) {
                        md5mb_job *j;
                        if (n_waiting > 0 && (started == N || rng() % 2)) {
                                size_t k = rng() % n_waiting;
                                j = waiting[k];
                                waiting[k] = waiting[--n_waiting];
                                size_t grow;
                                switch (rng() % 4) {
                                case 0: grow = 1 + rng() % 63; break;                  /* under a block */
                                case 1: grow = 64 - j->avail % 64; break;              /* to a block edge */
                                case 2: grow = j->len; break;                          /* all of it */
                                default: grow = rng() % (64 * 1024); break;
                                }
                                size_t was = j->avail;
                                j->avail = j->avail + grow >= j->len ? j->len : j->avail + grow;
                                size_t i = (size_t) (j - jobs);
                                memcpy(bufs[i] + was, real[i] + was, j->avail - was);
                                comebacks++;
                        } else
                                j = &jobs[started++];
                        ck_assert_int_eq(md5mb_add(m, j), 0);
                }
                size_t k = md5mb_step(m, 64 * (1 + rng() % 512), done, 16);
                for (size_t d = 0; d < k; d++) {
                        if (md5mb_job_done(done[d])) {
                                assert_job(done[d]);
                                finished++;
                        } else {
                                ck_assert_uint_lt(done[d]->avail, done[d]->len);
                                waiting[n_waiting++] = done[d];
                        }
                }
        }
        ck_assert_uint_gt(comebacks, N);
        ck_assert_uint_eq(md5mb_active(m), 0);
        for (size_t i = 0; i < N; i++) {
                free(bufs[i]);
                free(real[i]);
        }
        md5mb_free(m);
}
END_TEST

START_TEST(test_api_errors) {
        md5mb *m = NULL;
        ck_assert_int_eq(md5mb_new_impl("sha1", &m), -EINVAL);
        ck_assert_ptr_null(m);
        ck_assert_ptr_null(md5mb_free(NULL));

        ck_assert_int_eq(md5mb_new(&m), 0);
        const char *best = md5mb_impl(m);
        md5mb *t = NULL;
        /* The default is the fastest supported. */
        if (md5mb_new_impl("avx512", &t) == 0)
                ck_assert_str_eq(best, "avx512");
        else if (md5mb_new_impl("avx2", &t) == 0)
                ck_assert_str_eq(best, "avx2");
        else
                ck_assert_str_eq(best, "scalar");
        t = md5mb_free(t);
        fprintf(stderr, "md5mb: default implementation %s, %u lanes\n", best, md5mb_lanes(m));

        md5mb_job bad = { .data = NULL, .len = 1 }, *pbad = &bad;
        ck_assert_int_eq(md5mb_add(m, &bad), -EINVAL);
        ck_assert_int_eq(md5mb_add(m, NULL), -EINVAL);
        ck_assert_int_eq(md5mb_digest_all(m, &pbad, 1), -EINVAL);
        md5mb_job huge = { .data = (const uint8_t *) "", .len = SIZE_MAX };
        ck_assert_int_eq(md5mb_add(m, &huge), -EFBIG);
        ck_assert_uint_eq(md5mb_active(m), 0);

        /* No data is fine for an empty message. */
        md5mb_job empty = { .data = NULL, .len = 0 }, *pe = &empty;
        ck_assert_int_eq(md5mb_digest_all(m, &pe, 1), 0);
        char got[33];
        hex(empty.digest, got);
        ck_assert_str_eq(got, "d41d8cd98f00b204e9800998ecf8427e");

        /* Stepping with nothing to do. */
        md5mb_job *done[16];
        ck_assert_uint_eq(md5mb_step(m, 4096, done, 16), 0);
        ck_assert_ptr_null(md5mb_free(m));
}
END_TEST

int main(void) {
        Suite *s = suite_create("md5mb");
        TCase *tc = tcase_create("md5mb");
        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_rfc1321_vectors, 0, N_MODES);
        tcase_add_loop_test(tc, test_every_length_to_300, 0, N_MODES);
        tcase_add_loop_test(tc, test_random_lengths_and_budgets, 0, N_MODES);
        tcase_add_loop_test(tc, test_add_while_others_half_done, 0, N_MODES);
        tcase_add_loop_test(tc, test_more_jobs_than_lanes, 0, N_MODES);
        tcase_add_loop_test(tc, test_unaligned_data, 0, N_MODES);
        tcase_add_loop_test(tc, test_scalar_vector_handover, 0, 3);
        tcase_add_loop_test(tc, test_one_byte_changes_the_digest, 0, N_MODES);
        tcase_add_loop_test(tc, test_completed_beyond_capacity, 0, N_MODES);
        tcase_add_loop_test(tc, test_partial_jobs_as_bytes_arrive, 0, N_MODES);
        tcase_add_test(tc, test_api_errors);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
