/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's MD5 service: whole buffers to hash (a downloaded object to
 * check against its ETag, a body to send with Content-MD5) are hashed
 * together on one worker of libuv's pool, each in a lane of the
 * multi-buffer MD5 (md5mb), so twenty 1 MiB files cost about what two did
 * one by one. A request joins the lanes as soon as one is free, even while
 * others are half done, and its callback runs on the loop when its digest
 * is ready.
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
        list_node link;             /* private */
};

int md5q_new(uv_loop_t *loop, md5q **ret);
/* After the last request reported: closes the handle, frees in its close
 * callback. */
void md5q_close(md5q *q);

/* Hash len bytes at data (kept valid and unchanged until done runs).
 * 0, or a negative errno (then done never runs). */
int md5q_submit(md5q *q, md5q_req *r, const void *data, size_t len, void (*done)(md5q_req *r),
                void *userdata);
