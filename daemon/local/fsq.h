/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The filesystem queue: dedicated threads that run every path-based file
 * operation done for a peer (open, create, mkdir, stat, rename, unlink of
 * temporaries) with that peer's uid, gid and groups, so a peer can reach
 * exactly what it could reach itself. Linux keeps setfsuid, setfsgid and
 * the raw setgroups syscall per thread; each request switches to its
 * credentials and back. Never on libuv's shared pool, whose other work
 * must not inherit a peer's identity.
 *
 * The interface mirrors uv_queue_work so callers keep their uv_work_t:
 * work runs on a queue thread, after runs on the loop (status 0, or
 * UV_ECANCELED when fsq_cancel() took it out before it started).
 */

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

typedef struct fsq fsq;

typedef struct fs_creds {
        uid_t uid;
        gid_t gid;
        gid_t *groups;          /* supplementary groups */
        int n_groups;
} fs_creds;

/* threads: how many operations run at once. */
int fsq_new(uv_loop_t *loop, unsigned threads, fsq **ret);
/* After the last request has reported: stop the threads, close the async
 * handle; cb (may be NULL) runs after its close callback. */
void fsq_close(fsq *q, void (*cb)(void *userdata), void *userdata);

/* creds NULL: the daemon's own identity. creds must stay valid until after
 * has run. owner (a call's; only its address counts) says whose turn it
 * is: the threads take the owners with requests waiting in turn. */
int fsq_queue(fsq *q, const void *owner, const fs_creds *creds, uv_work_t *req, uv_work_cb work,
              uv_after_work_cb after);
/* 0: taken out before it started, after follows with UV_ECANCELED from the
 * loop; -EBUSY: running or done. */
int fsq_cancel(fsq *q, uv_work_t *req);

/* Whether the running process can act as other users (root). */
bool fsq_can_switch(void);
