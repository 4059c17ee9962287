/* SPDX-License-Identifier: MIT */
#pragma once

/* Multi-buffer MD5: many independent messages hashed at once, one per SIMD
 * lane (16 with AVX-512 or AVX2, 1 without either). MD5 is serial within
 * a message, but fdsd always has many files and parts to check, so lanes give
 * several times the throughput of one-at-a-time MD5. Pure computation: no
 * I/O, no threads, no allocation after md5mb_new; not thread-safe (use one
 * md5mb per thread). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One message to hash. The caller owns it, sets data, len and userdata, and
 * keeps data valid and unchanged until the job completes.
 *
 * A message can also be hashed as it arrives: avail says how many of its len
 * bytes are there (0: all). A job that has hashed every whole block of what
 * is there leaves its lane through md5mb_step before it is done
 * (md5mb_job_done() false); the caller adds it again once avail has grown,
 * and it goes on where it stopped. */
typedef struct md5mb_job {
        const uint8_t *data;
        size_t len;
        size_t avail;
        uint8_t digest[16]; /* out: valid once the job completed */
        void *userdata;
        /* private: zero for a new message (a finished job added again starts over) */
        size_t off; /* bytes of the padded message hashed so far */
        uint32_t h[4];
} md5mb_job;

typedef struct md5mb md5mb; /* a set of lanes */

/* The fastest implementation this CPU runs: "avx512", "avx2" or "scalar". */
int md5mb_new(md5mb **ret);
/* A named implementation (tests and benchmarks): -ENOTSUP if the CPU lacks
 * it, -EINVAL if there is no such name. */
int md5mb_new_impl(const char *impl, md5mb **ret);
md5mb *md5mb_free(md5mb *m);

unsigned md5mb_lanes(const md5mb *m);
unsigned md5mb_active(const md5mb *m); /* lanes holding a job, done or not */
const char *md5mb_impl(const md5mb *m);

/* While at most n lanes are busy, md5mb_step hashes them one by one with the
 * scalar code, which is then cheaper than a vector step with idle lanes.
 * md5mb_new sets the measured crossover; tests and benchmarks change it (0:
 * always vector; md5mb_lanes(m): always scalar). */
void md5mb_set_scalar_max(md5mb *m, unsigned n);

/* The digest is ready (not just the bytes available so far hashed). */
bool md5mb_job_done(const md5mb_job *j);

/* Puts j in a free lane, initializing its private fields unless it is a job
 * coming back with more bytes available: 0, -EBUSY when
 * every lane is taken, -EINVAL for a job without data, -EFBIG for a length
 * within 128 of SIZE_MAX. */
int md5mb_add(md5mb *m, md5mb_job *j);

/* Advances every busy lane by up to max_bytes (whole 64-byte blocks, at least
 * one). A lane that reaches its end hashes its padding and completes, one
 * that reaches the end of its available bytes stops: up to n such jobs go to
 * ret_done, their lanes freed. Returns how many it
 * stored; completed jobs beyond n are returned by the next call. */
size_t md5mb_step(md5mb *m, size_t max_bytes, md5mb_job **ret_done, size_t n);

/* Hashes jobs[0..n) to completion, refilling lanes as they finish; jobs
 * already in lanes complete too, and every lane is free on return. 0, or
 * -EINVAL/-EFBIG (before hashing anything) when md5mb_add would refuse a job. */
int md5mb_digest_all(md5mb *m, md5mb_job **jobs, size_t n);
