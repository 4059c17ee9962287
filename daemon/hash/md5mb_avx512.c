/* SPDX-License-Identifier: MIT */
/* Sixteen MD5 lanes in the sixteen 32-bit elements of AVX-512 registers: like
 * md5mb_avx2.c, with each of F, G, H and I one vpternlogd and the rotation
 * one vprold. Uses AVX-512F only; md5mb.c calls it only when the CPU has it. */

#include "md5mb_kernel.h"

#if MD5MB_X86
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

/* vpternlogd's immediate is the truth table of f(x, y, z) indexed by
 * z<<2 | x<<1 | y. z goes first because vpternlogd overwrites its first
 * operand, which therefore needs a copy: z is the oldest of the three, so
 * that copy is off the critical path through x (the B just computed). */
#define F(x, y, z) _mm512_ternarylogic_epi32(z, x, y, 0xb8) /* x ? y : z */
#define G(x, y, z) _mm512_ternarylogic_epi32(z, x, y, 0xca) /* z ? x : y */
#define H(x, y, z) _mm512_ternarylogic_epi32(z, x, y, 0x96) /* x ^ y ^ z */
#define I(x, y, z) _mm512_ternarylogic_epi32(z, x, y, 0x65) /* y ^ (x | ~z) */

/* a + X[k] + t does not depend on b: the empty asm stops the compiler from
 * re-associating the sum and adding f(b, c, d), the critical path, first. */
#define STEP(f, a, b, c, d, k, s, t)                                                    \
        a = _mm512_add_epi32(a, _mm512_add_epi32(x[k], _mm512_set1_epi32((int) (t))));  \
        __asm__("" : "+v"(a));                                                          \
        a = _mm512_add_epi32(a, f(b, c, d));                                            \
        a = _mm512_add_epi32(_mm512_rol_epi32(a, s), b);

#define SEL(a, b, c, d) (((d) << 6) | ((c) << 4) | ((b) << 2) | (a))

/* Loads block `off` of the 16 lanes and transposes it: x[w] = message word w
 * of every lane. Two rounds of unpacks transpose 4x4 words inside each 128-bit
 * chunk, two rounds of chunk shuffles transpose the 4x4 chunks. Written out,
 * not looped, so that GCC -O2 keeps everything in registers. */
#define LOAD2(i)                                                                        \
        r0 = _mm512_loadu_si512(p[i] + off), r1 = _mm512_loadu_si512(p[i + 1] + off);   \
        t[i] = _mm512_unpacklo_epi32(r0, r1), t[i + 1] = _mm512_unpackhi_epi32(r0, r1);
/* u[4g + j]: 128-bit chunk c holds word 4c + j of lanes 4g..4g+3. */
#define UNPACK64(g)                                                                     \
        u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g + 0], t[4 * g + 2]);               \
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g + 0], t[4 * g + 2]);               \
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);               \
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
#define CHUNKS(j)                                                                       \
        e0 = _mm512_shuffle_i32x4(u[j], u[4 + j], SEL(0, 2, 0, 2));                     \
        o0 = _mm512_shuffle_i32x4(u[j], u[4 + j], SEL(1, 3, 1, 3));                     \
        e1 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], SEL(0, 2, 0, 2));                \
        o1 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], SEL(1, 3, 1, 3));                \
        x[j] = _mm512_shuffle_i32x4(e0, e1, SEL(0, 2, 0, 2));                           \
        x[8 + j] = _mm512_shuffle_i32x4(e0, e1, SEL(1, 3, 1, 3));                       \
        x[4 + j] = _mm512_shuffle_i32x4(o0, o1, SEL(0, 2, 0, 2));                       \
        x[12 + j] = _mm512_shuffle_i32x4(o0, o1, SEL(1, 3, 1, 3));

AVX512 static inline void load16(const uint8_t *const *p, size_t off, __m512i x[16]) {
        __m512i r0, r1, t[16], u[16], e0, o0, e1, o1;
        /* clang-format off */
        LOAD2(0) LOAD2(2) LOAD2(4) LOAD2(6) LOAD2(8) LOAD2(10) LOAD2(12) LOAD2(14)
        UNPACK64(0) UNPACK64(1) UNPACK64(2) UNPACK64(3)
        CHUNKS(0) CHUNKS(1) CHUNKS(2) CHUNKS(3)
        /* clang-format on */
}

AVX512 void md5mb_blocks_avx512(uint32_t *st, const uint8_t *const *p, size_t nblocks) {
        __m512i a = _mm512_loadu_si512(st + 0);
        __m512i b = _mm512_loadu_si512(st + 16);
        __m512i c = _mm512_loadu_si512(st + 32);
        __m512i d = _mm512_loadu_si512(st + 48);

        for (size_t off = 0; off < 64 * nblocks; off += 64) {
                __m512i x[16];
                load16(p, off, x);

                __m512i a0 = a, b0 = b, c0 = c, d0 = d;
                MD5MB_STEPS(STEP)
                a = _mm512_add_epi32(a, a0);
                b = _mm512_add_epi32(b, b0);
                c = _mm512_add_epi32(c, c0);
                d = _mm512_add_epi32(d, d0);
        }
        _mm512_storeu_si512(st + 0, a);
        _mm512_storeu_si512(st + 16, b);
        _mm512_storeu_si512(st + 32, c);
        _mm512_storeu_si512(st + 48, d);
}
#endif
