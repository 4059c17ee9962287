/* SPDX-License-Identifier: MIT */
#include "parts.h"

#include <errno.h>

#define MIB (1024ULL * 1024)

int parts_plan(uint64_t size, uint64_t chunksize, uint64_t *ret_chunk, unsigned *ret_n) {
        if (size > PARTS_MAX_OBJECT)
                return -EFBIG;
        uint64_t chunk = chunksize < PARTS_MIN_SIZE ? PARTS_MIN_SIZE : chunksize;
        if (chunk > PARTS_MAX_SIZE)
                chunk = PARTS_MAX_SIZE;
        if ((size + chunk - 1) / chunk > PARTS_MAX) {
                /* The smallest whole-MiB size that fits in 10,000 parts. */
                uint64_t need = (size + PARTS_MAX - 1) / PARTS_MAX;
                chunk = (need + MIB - 1) / MIB * MIB;
        }
        uint64_t n = size == 0 ? 1 : (size + chunk - 1) / chunk;
        *ret_chunk = chunk;
        *ret_n = (unsigned) n;
        return 0;
}

void parts_range(uint64_t size, uint64_t chunk, unsigned i, uint64_t *ret_off, uint64_t *ret_len) {
        uint64_t off = (uint64_t) i * chunk;
        *ret_off = off;
        *ret_len = off >= size ? 0 : (size - off < chunk ? size - off : chunk);
}
