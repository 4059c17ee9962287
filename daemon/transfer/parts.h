/* SPDX-License-Identifier: MIT */
#pragma once

/* How a large object is cut into parts, by S3's rules: at most 10,000
 * parts of 5 MiB to 5 GiB (the last may be smaller). Pure arithmetic. */

#include <stdint.h>

#define PARTS_MAX 10000
#define PARTS_MIN_SIZE (5ULL * 1024 * 1024)
#define PARTS_MAX_SIZE (5ULL * 1024 * 1024 * 1024)
#define PARTS_MAX_OBJECT (PARTS_MAX_SIZE * 1024) /* 5 TiB */

/* The part size (chunksize, grown in whole MiB until 10,000 parts cover
 * size) and the number of parts. -EFBIG past S3's 5 TiB object limit. */
int parts_plan(uint64_t size, uint64_t chunksize, uint64_t *ret_chunk, unsigned *ret_n);

/* Byte range [*ret_off, *ret_off + *ret_len) of part i (0-based). */
void parts_range(uint64_t size, uint64_t chunk, unsigned i, uint64_t *ret_off, uint64_t *ret_len);
