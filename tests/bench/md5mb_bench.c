/* SPDX-License-Identifier: MIT */
/* MD5 throughput: OpenSSL's one-message MD5 against md5mb's implementations,
 * on batches of messages and with 1..16 busy lanes, the table behind the
 * scalar crossover in daemon/hash/md5mb.c. Not a test: run it by hand on an idle
 * machine, `md5mb_bench [seconds per cell]`. Each cell is the fastest of the
 * rounds run in that time, so another busy process skews it less. */

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "md5mb.h"

#define MIB (1024 * 1024)
#define MAX_JOBS 1024

static double cell_seconds = 0.3;
static uint8_t *buf;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* n messages of len bytes each, back to back in buf. */
static double openssl_mbs(size_t n, size_t len) {
        uint8_t d[16];
        double best = 1e9, start = now(), t0;
        do {
                t0 = now();
                for (size_t i = 0; i < n; i++)
                        if (EVP_Digest(buf + i * len, len, d, NULL, EVP_md5(), NULL) != 1)
                                exit(EXIT_FAILURE);
                double t = now() - t0;
                best = t < best ? t : best;
        } while (t0 - start < cell_seconds);
        return (double) (n * len) / best / 1e6;
}

/* A fast wrong answer is no result. */
static void check(md5mb_job *jobs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                uint8_t d[16];
                if (EVP_Digest(jobs[i].data, jobs[i].len, d, NULL, EVP_md5(), NULL) != 1 ||
                    memcmp(d, jobs[i].digest, 16) != 0) {
                        fprintf(stderr, "md5mb_bench: wrong digest\n");
                        exit(EXIT_FAILURE);
                }
        }
}

/* scalar_max < 0: md5mb's own crossover. 0 when the implementation is not
 * supported. */
static double md5mb_mbs(const char *impl, int scalar_max, size_t n, size_t len) {
        static md5mb_job jobs[MAX_JOBS];
        md5mb_job *p[MAX_JOBS];
        md5mb *m = NULL;
        if (md5mb_new_impl(impl, &m) < 0)
                return 0;
        if (scalar_max >= 0)
                md5mb_set_scalar_max(m, (unsigned) scalar_max);
        double best = 1e9, start = now(), t0;
        do {
                t0 = now();
                for (size_t i = 0; i < n; i++) {
                        jobs[i] = (md5mb_job) { .data = buf + i * len, .len = len };
                        p[i] = &jobs[i];
                }
                if (md5mb_digest_all(m, p, n) < 0)
                        exit(EXIT_FAILURE);
                double t = now() - t0;
                best = t < best ? t : best;
        } while (t0 - start < cell_seconds);
        check(jobs, n);
        md5mb_free(m);
        return (double) (n * len) / best / 1e6;
}

static void batch_row(const char *what, size_t n, size_t len) {
        printf("| %-14s | %7.0f | %7.0f | %7.0f | %7.0f |\n", what, openssl_mbs(n, len),
               md5mb_mbs("scalar", -1, n, len), md5mb_mbs("avx2", -1, n, len),
               md5mb_mbs("avx512", -1, n, len));
}

int main(int argc, char **argv) {
        if (argc > 1)
                cell_seconds = atof(argv[1]);
        buf = malloc(16 * MIB);
        if (!buf)
                return EXIT_FAILURE;
        for (size_t i = 0; i < 16 * MIB; i++)
                buf[i] = (uint8_t) (i * 2654435761u >> 13);

        md5mb *m = NULL;
        if (md5mb_new(&m) < 0)
                return EXIT_FAILURE;
        printf("md5mb default: %s, %u lanes; MB/s (10^6 bytes/s) of all messages together, "
               "%.1f s a cell\n\n",
               md5mb_impl(m), md5mb_lanes(m), cell_seconds);
        m = md5mb_free(m);

        printf("| batch          | openssl |  scalar |    avx2 |  avx512 |\n");
        printf("|----------------|---------|---------|---------|---------|\n");
        batch_row("16 x 1 MiB", 16, MIB);
        batch_row("100 x 64 KiB", 100, 64 * 1024);
        batch_row("1000 x 4 KiB", 1000, 4096);
        batch_row("1000 x 1 KiB", 1000, 1024);

        /* k messages of 1 MiB, so k busy lanes: the scalar code, the vector
         * code forced (scalar max 0) and md5mb's choice with its crossover. */
        printf("\n| busy lanes | openssl | scalar | avx2 vector | avx512 vector "
               "| avx2 as set | avx512 as set |\n");
        printf("|------------|---------|--------|-------------|---------------"
               "|-------------|---------------|\n");
        for (unsigned k = 1; k <= 16; k++)
                printf("| %10u | %7.0f | %6.0f | %11.0f | %13.0f | %11.0f | %13.0f |\n", k,
                       openssl_mbs(k, MIB), md5mb_mbs("scalar", -1, k, MIB), md5mb_mbs("avx2", 0, k, MIB),
                       md5mb_mbs("avx512", 0, k, MIB), md5mb_mbs("avx2", -1, k, MIB),
                       md5mb_mbs("avx512", -1, k, MIB));
        free(buf);
        return EXIT_SUCCESS;
}
