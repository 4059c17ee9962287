/* SPDX-License-Identifier: MIT */
/* md5mb's lanes: which job each holds, how far it got, its padding, and
 * whether a step runs the vector code over all lanes or the scalar code over
 * the few busy ones. The block functions are in md5mb_{scalar,avx2,avx512}.c. */

#include "md5mb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "md5mb_kernel.h"

struct md5mb_impl {
        const char *name;
        unsigned lanes;
        /* The measured crossover (tests/bench/md5mb_bench.c): with this many busy
         * lanes or fewer, hashing them one by one beats a vector step. */
        unsigned scalar_max;
        md5mb_blocks_fn *blocks;
        bool (*supported)(void);
};

struct md5mb {
        const struct md5mb_impl *impl;
        unsigned scalar_max;
        unsigned active;
        md5mb_job *lane[MD5MB_MAX_LANES];
        /* The last 1-2 blocks of each lane's message: its final partial block,
         * 0x80, zeros and the 64-bit little-endian bit length (RFC 1321, 3.1-3.2). */
        uint8_t tail[MD5MB_MAX_LANES][128];
};

#if MD5MB_X86
static bool has_avx512(void) {
        return __builtin_cpu_supports("avx512f");
}

static bool has_avx2(void) {
        return __builtin_cpu_supports("avx2");
}
#endif

/* Fastest first. The crossovers come from tests/bench/md5mb_bench.c on a
 * Xeon VM with AVX-512: the scalar code does ~450 MB/s, and a vector step
 * costs the same however many lanes are busy: ~6,000 MB/s over 16 lanes with
 * AVX-512 (1 busy lane: ~450), ~3,100 with AVX2 (1: ~220, 2: ~460). On a tie,
 * scalar, which leaves the vector units alone. */
static const struct md5mb_impl impls[] = {
#if MD5MB_X86
        { "avx512", 16, 1, md5mb_blocks_avx512, has_avx512 },
        { "avx2", 16, 2, md5mb_blocks_avx2, has_avx2 },
#endif
        { "scalar", 1, 1, md5mb_blocks_scalar, NULL },
};

static const uint32_t md5_iv[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };

int md5mb_new_impl(const char *impl, md5mb **ret) {
        const struct md5mb_impl *found = NULL;
        for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]) && !found; i++) {
                if (impl && strcmp(impl, impls[i].name) != 0)
                        continue;
                if (impls[i].supported && !impls[i].supported()) {
                        if (impl)
                                return -ENOTSUP;
                        continue;
                }
                found = &impls[i];
        }
        /* The vector names are known on CPUs other than x86-64 too, and not supported there. */
        if (!found && impl && (strcmp(impl, "avx512") == 0 || strcmp(impl, "avx2") == 0))
                return -ENOTSUP;
        if (!found)
                return -EINVAL;

        md5mb *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->impl = found;
        m->scalar_max = found->scalar_max;
        *ret = m;
        return 0;
}

int md5mb_new(md5mb **ret) {
        return md5mb_new_impl(NULL, ret);
}

md5mb *md5mb_free(md5mb *m) {
        free(m);
        return NULL;
}

unsigned md5mb_lanes(const md5mb *m) {
        return m->impl->lanes;
}

unsigned md5mb_active(const md5mb *m) {
        return m->active;
}

const char *md5mb_impl(const md5mb *m) {
        return m->impl->name;
}

void md5mb_set_scalar_max(md5mb *m, unsigned n) {
        m->scalar_max = n < m->impl->lanes ? n : m->impl->lanes;
}

/* The message is hashed as its whole 64-byte blocks, read in place, then the
 * tail blocks; off runs over both. */
static size_t body_len(size_t len) {
        return len & ~(size_t) 63;
}

static size_t padded_len(size_t len) {
        return body_len(len) + (len % 64 < 56 ? 64 : 128);
}

static bool job_done(const md5mb_job *j) {
        return j->off == padded_len(j->len);
}

bool md5mb_job_done(const md5mb_job *j) {
        return job_done(j);
}

static size_t job_avail(const md5mb_job *j) {
        return j->avail && j->avail < j->len ? j->avail : j->len;
}

/* Where the blocks read in place end for now: all of them once every byte
 * is there, else the whole blocks of what is. */
static size_t body_end(const md5mb_job *j) {
        return body_len(job_avail(j));
}

/* Out of bytes before its end: it leaves its lane until more arrive. */
static bool job_starved(const md5mb_job *j) {
        return job_avail(j) < j->len && j->off >= body_end(j);
}

static bool lane_busy(const md5mb *m, unsigned i) {
        return m->lane[i] && !job_done(m->lane[i]) && !job_starved(m->lane[i]);
}

static int job_check(const md5mb_job *j) {
        if (!j || (!j->data && j->len > 0))
                return -EINVAL;
        if (j->len > SIZE_MAX - 128)
                return -EFBIG;
        return 0;
}

int md5mb_add(md5mb *m, md5mb_job *j) {
        int r = job_check(j);
        if (r < 0)
                return r;
        if (m->active == m->impl->lanes)
                return -EBUSY;
        unsigned i = 0;
        while (m->lane[i])
                i++;

        /* The padding needs the last bytes: built once they are all there
         * (again on each add: a job may come back to another lane). */
        if (job_avail(j) == j->len) {
                size_t body = body_len(j->len), rest = j->len - body, tlen = padded_len(j->len) - body;
                uint8_t *t = m->tail[i];
                if (rest > 0)
                        memcpy(t, j->data + body, rest);
                t[rest] = 0x80;
                memset(t + rest + 1, 0, tlen - rest - 1 - 8);
                uint64_t bits = (uint64_t) j->len * 8;
                for (int b = 0; b < 8; b++)
                        t[tlen - 8 + b] = (uint8_t) (bits >> (8 * b));
        }
        /* A new job (zeroed), or a finished one added again, starts from the
         * IV; one that stopped for want of bytes goes on. */
        if (job_done(j))
                j->off = 0;
        if (j->off == 0)
                memcpy(j->h, md5_iv, sizeof(j->h));
        m->lane[i] = j;
        m->active++;
        return 0;
}

/* Where lane i's next block is, and how many blocks follow it contiguously. */
static size_t lane_run(const md5mb *m, unsigned i, const uint8_t **ret_p) {
        const md5mb_job *j = m->lane[i];
        size_t body = body_len(j->len);
        if (j->off < body) {
                *ret_p = j->data + j->off;
                return (body_end(j) - j->off) / 64;
        }
        *ret_p = m->tail[i] + (j->off - body);
        return (padded_len(j->len) - j->off) / 64;
}

static void lane_scalar(md5mb *m, unsigned i, size_t nblocks) {
        md5mb_job *j = m->lane[i];
        while (nblocks > 0 && !job_done(j) && !job_starved(j)) {
                const uint8_t *p;
                size_t run = lane_run(m, i, &p);
                run = run < nblocks ? run : nblocks;
                md5mb_blocks_scalar(j->h, &p, run);
                j->off += 64 * run;
                nblocks -= run;
        }
}

/* One call of the vector code over every lane, for as many blocks (up to
 * nblocks) as every busy lane has contiguously. Returns that number. */
static size_t vector_run(md5mb *m, size_t nblocks) {
        unsigned lanes = m->impl->lanes;
        uint32_t st[4 * MD5MB_MAX_LANES] = { 0 };
        const uint8_t *p[MD5MB_MAX_LANES] = { NULL };
        const uint8_t *spare = NULL;
        size_t run = nblocks;

        for (unsigned i = 0; i < lanes; i++) {
                if (!lane_busy(m, i))
                        continue;
                size_t n = lane_run(m, i, &p[i]);
                run = n < run ? n : run;
                spare = p[i];
                for (int w = 0; w < 4; w++)
                        st[w * lanes + i] = m->lane[i]->h[w];
        }
        /* Idle lanes hash a busy lane's blocks and the result is dropped: no
         * busy lane's run is shorter than this one, so they read valid memory. */
        for (unsigned i = 0; i < lanes; i++)
                if (!p[i])
                        p[i] = spare;

        m->impl->blocks(st, p, run);

        for (unsigned i = 0; i < lanes; i++) {
                if (!lane_busy(m, i))
                        continue;
                for (int w = 0; w < 4; w++)
                        m->lane[i]->h[w] = st[w * lanes + i];
                m->lane[i]->off += 64 * run;
        }
        return run;
}

static size_t collect(md5mb *m, md5mb_job **ret_done, size_t n) {
        size_t k = 0;
        for (unsigned i = 0; i < m->impl->lanes && k < n; i++) {
                md5mb_job *j = m->lane[i];
                if (!j || (!job_done(j) && !job_starved(j)))
                        continue;
                for (int w = 0; w < 4 && job_done(j); w++)
                        for (int b = 0; b < 4; b++)
                                j->digest[4 * w + b] = (uint8_t) (j->h[w] >> (8 * b));
                ret_done[k++] = j;
                m->lane[i] = NULL;
                m->active--;
        }
        return k;
}

size_t md5mb_step(md5mb *m, size_t max_bytes, md5mb_job **ret_done, size_t n) {
        size_t left = max_bytes >= 64 ? max_bytes / 64 : 1;

        while (left > 0) {
                unsigned busy = 0;
                for (unsigned i = 0; i < m->impl->lanes; i++)
                        busy += lane_busy(m, i);
                if (busy == 0)
                        break;
                if (busy <= m->scalar_max) {
                        for (unsigned i = 0; i < m->impl->lanes; i++)
                                if (lane_busy(m, i))
                                        lane_scalar(m, i, left);
                        break;
                }
                left -= vector_run(m, left);
        }
        return collect(m, ret_done, n);
}

/* Bytes until the first busy lane completes: a step that long lets the
 * caller refill that lane before the next. */
static size_t shortest_left(const md5mb *m) {
        size_t min = SIZE_MAX;
        for (unsigned i = 0; i < m->impl->lanes; i++) {
                const md5mb_job *j = m->lane[i];
                if (j && padded_len(j->len) - j->off < min)
                        min = padded_len(j->len) - j->off;
        }
        return min;
}

int md5mb_digest_all(md5mb *m, md5mb_job **jobs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int r = job_check(jobs[i]);
                if (r < 0)
                        return r;
        }

        md5mb_job *done[MD5MB_MAX_LANES];
        size_t next = 0;
        while (next < n || m->active > 0) {
                while (next < n && md5mb_add(m, jobs[next]) == 0)
                        next++;
                md5mb_step(m, next < n ? shortest_left(m) : SIZE_MAX, done, MD5MB_MAX_LANES);
        }
        return 0;
}
