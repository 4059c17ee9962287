/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's MD5 service: whole buffers to hash (a downloaded object to
 * check against its ETag, a body to send with Content-MD5) are hashed
 * together on one worker of libuv's pool, each in a lane of the
 * multi-buffer MD5 (md5mb), so twenty 1 MiB files cost about what two did
 * one by one. A request joins the lanes as soon as one is free, even while
 * others are half done, and its callback runs on the loop when its digest
 * is ready. A download can be hashed as it arrives: each push hashes the
 * bytes there so far, and the last one gives the digest.
 */

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "list.h"
#include "md5mb.h"

typedef struct md5q md5q;
typedef struct md5q_req md5q_req;

struct md5q_req {
        md5mb_job job;              /* .digest holds the result in done */
        void (*done)(md5q_req *r);  /* on the loop */
        void *userdata;
        /* The digest is in no hurry: a last push waits for company like
         * an early one (md5q_req_init clears it). */
        bool lazy;
        list_node link;             /* private */
};

int md5q_new(uv_loop_t *loop, md5q **ret);
/* With a named md5mb implementation (tests): -ENOTSUP if the CPU lacks it. */
int md5q_new_impl(uv_loop_t *loop, const char *impl, md5q **ret);
/* After the last request reported: closes the handle, frees in its close
 * callback. */
void md5q_close(md5q *q);

/* Hash len bytes at data (kept valid and unchanged until done runs).
 * 0, or a negative errno (then done never runs). */
int md5q_submit(md5q *q, md5q_req *r, const void *data, size_t len, void (*done)(md5q_req *r),
                void *userdata);

/* A message of len bytes at data whose bytes arrive over time: nothing is
 * hashed until pushed. -EINVAL for a NULL data with len > 0, or no done. */
int md5q_req_init(md5q_req *r, const void *data, size_t len, void (*done)(md5q_req *r), void *userdata);
/* Hash the first avail bytes, avail > 0 (unchanged from now on; len: all,
 * and the digest follows). done runs once they are hashed; then
 * md5mb_job_done(&r->job) says whether the digest is ready. One push at a
 * time per request. An early push (avail < len), or any push of a lazy
 * request, may wait for others to share the lanes with: until enough wait,
 * a digest is awaited, md5q_kick, or at most a few milliseconds (so push
 * in steps of many KiB, not a few bytes). */
int md5q_push(md5q *q, md5q_req *r, size_t avail);
/* Hash what waits now: a caller needs its early push back (to free or
 * reuse the buffer). */
void md5q_kick(md5q *q);
