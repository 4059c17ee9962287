/* SPDX-License-Identifier: MIT */
/* Sixteen MD5 lanes as two groups of eight, one lane per 32-bit element of
 * AVX2 registers. Each step of one group waits on the step before (about six
 * cycles of dependent and/xor/add/shift), which leaves most of the vector
 * ports idle; interleaving a second, independent group fills them, and
 * measured 1.35x the throughput of one group (tests/bench/md5mb_bench.c).
 * Compiled for AVX2 through the target attribute; md5mb.c calls it only when
 * the CPU has AVX2. */

#include "md5mb_kernel.h"

#if MD5MB_X86
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

#define F(x, y, z) _mm256_xor_si256(z, _mm256_and_si256(x, _mm256_xor_si256(y, z)))
#define G(x, y, z) _mm256_xor_si256(y, _mm256_and_si256(z, _mm256_xor_si256(x, y)))
#define H(x, y, z) _mm256_xor_si256(_mm256_xor_si256(x, y), z)
#define I(x, y, z) _mm256_xor_si256(y, _mm256_or_si256(x, _mm256_xor_si256(z, ones)))
#define ROTL(x, s) _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))

/* One step of one group. a + X[k] + t does not depend on b: the empty asm
 * stops the compiler from re-associating the sum and adding f(b, c, d), the
 * critical path, first. */
#define STEP1(f, a, b, c, d, x, k, s, t)                                                \
        a = _mm256_add_epi32(a, _mm256_add_epi32(x[k], _mm256_set1_epi32((int) (t))));  \
        __asm__("" : "+x"(a));                                                          \
        a = _mm256_add_epi32(a, f(b, c, d));                                            \
        a = _mm256_add_epi32(ROTL(a, s), b);
/* The same step for both groups: lanes 0-7 in a0..d0 and x0, 8-15 in a1..d1 and x1. */
#define STEP(f, a, b, c, d, k, s, t)                                                    \
        STEP1(f, a##0, b##0, c##0, d##0, x0, k, s, t)                                   \
        STEP1(f, a##1, b##1, c##1, d##1, x1, k, s, t)

/* Loads 32 bytes at `off` of the 8 lanes p[0..7] and transposes them: x[w] =
 * word w of every lane. Written out, not looped, so that GCC -O2 keeps it in
 * registers. */
#define LOAD2(i)                                                                        \
        r0 = _mm256_loadu_si256((const __m256i *) (p[i] + off));                        \
        r1 = _mm256_loadu_si256((const __m256i *) (p[i + 1] + off));                    \
        t[i] = _mm256_unpacklo_epi32(r0, r1), t[i + 1] = _mm256_unpackhi_epi32(r0, r1);
/* u[4h + j]: 128-bit half c holds word 4c + j of lanes 4h..4h+3. */
#define UNPACK64(h)                                                                     \
        u[4 * h + 0] = _mm256_unpacklo_epi64(t[4 * h + 0], t[4 * h + 2]);               \
        u[4 * h + 1] = _mm256_unpackhi_epi64(t[4 * h + 0], t[4 * h + 2]);               \
        u[4 * h + 2] = _mm256_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);               \
        u[4 * h + 3] = _mm256_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
#define HALVES(j)                                                                       \
        x[j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x20);                         \
        x[4 + j] = _mm256_permute2x128_si256(u[j], u[4 + j], 0x31);

AVX2 static inline void load8(const uint8_t *const *p, size_t off, __m256i x[8]) {
        __m256i r0, r1, t[8], u[8];
        /* clang-format off */
        LOAD2(0) LOAD2(2) LOAD2(4) LOAD2(6)
        UNPACK64(0) UNPACK64(1)
        HALVES(0) HALVES(1) HALVES(2) HALVES(3)
        /* clang-format on */
}

AVX2 static inline __m256i load_st(const uint32_t *st, int w, int group) {
        return _mm256_loadu_si256((const __m256i *) (st + 16 * w + 8 * group));
}

AVX2 static inline void store_st(uint32_t *st, int w, int group, __m256i v) {
        _mm256_storeu_si256((__m256i *) (st + 16 * w + 8 * group), v);
}

AVX2 void md5mb_blocks_avx2(uint32_t *st, const uint8_t *const *p, size_t nblocks) {
        const __m256i ones = _mm256_set1_epi32(-1);
        __m256i a0 = load_st(st, 0, 0), b0 = load_st(st, 1, 0);
        __m256i c0 = load_st(st, 2, 0), d0 = load_st(st, 3, 0);
        __m256i a1 = load_st(st, 0, 1), b1 = load_st(st, 1, 1);
        __m256i c1 = load_st(st, 2, 1), d1 = load_st(st, 3, 1);

        for (size_t off = 0; off < 64 * nblocks; off += 64) {
                __m256i x0[16], x1[16];
                load8(p, off, x0);
                load8(p, off + 32, x0 + 8);
                load8(p + 8, off, x1);
                load8(p + 8, off + 32, x1 + 8);

                __m256i sa0 = a0, sb0 = b0, sc0 = c0, sd0 = d0;
                __m256i sa1 = a1, sb1 = b1, sc1 = c1, sd1 = d1;
                MD5MB_STEPS(STEP)
                a0 = _mm256_add_epi32(a0, sa0), b0 = _mm256_add_epi32(b0, sb0);
                c0 = _mm256_add_epi32(c0, sc0), d0 = _mm256_add_epi32(d0, sd0);
                a1 = _mm256_add_epi32(a1, sa1), b1 = _mm256_add_epi32(b1, sb1);
                c1 = _mm256_add_epi32(c1, sc1), d1 = _mm256_add_epi32(d1, sd1);
        }
        store_st(st, 0, 0, a0), store_st(st, 1, 0, b0), store_st(st, 2, 0, c0), store_st(st, 3, 0, d0);
        store_st(st, 0, 1, a1), store_st(st, 1, 1, b1), store_st(st, 2, 1, c1), store_st(st, 3, 1, d1);
}
#endif
