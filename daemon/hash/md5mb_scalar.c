/* SPDX-License-Identifier: MIT */
/* MD5's compression function, one message at a time (RFC 1321, 3.4). md5mb
 * uses it when only a few lanes are busy, and as the whole implementation on
 * CPUs without AVX2. */

#include "md5mb_kernel.h"

#define F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define H(x, y, z) ((x) ^ (y) ^ (z))
#define I(x, y, z) ((y) ^ ((x) | ~(z)))
#define ROTL(x, s) (((x) << (s)) | ((x) >> (32 - (s))))

#define STEP(f, a, b, c, d, k, s, t)                                                    \
        a += f(b, c, d) + x[k] + (uint32_t) (t);                                        \
        a = ROTL(a, s) + b;

static uint32_t load_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

void md5mb_blocks_scalar(uint32_t *st, const uint8_t *const *p, size_t nblocks) {
        const uint8_t *q = p[0];
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3];

        for (; nblocks > 0; nblocks--, q += 64) {
                uint32_t x[16];
                for (int i = 0; i < 16; i++)
                        x[i] = load_le32(q + 4 * i);
                uint32_t a0 = a, b0 = b, c0 = c, d0 = d;
                MD5MB_STEPS(STEP)
                a += a0, b += b0, c += c0, d += d0;
        }
        st[0] = a, st[1] = b, st[2] = c, st[3] = d;
}
