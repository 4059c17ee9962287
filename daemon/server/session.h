/* SPDX-License-Identifier: MIT */
#pragma once

/* One client connection: reads framed calls, runs them one at a time in
 * order (varlink's rule), and queues replies. Memory is freed only in the
 * handle's close callback. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "delay.h"
#include "frame.h"
#include "list.h"

typedef struct fds_daemon fds_daemon;
typedef struct batch batch;
typedef struct peer peer;
typedef struct reply_tail reply_tail;

typedef struct session session;

/* A complete message arrived (msg is NUL-terminated, borrowed until the
 * handler returns; a call that runs on takes what it needs). */
typedef void (*session_call_fn)(session *s, const char *msg, size_t len);

struct session {
        uv_pipe_t pipe;          /* pipe.data points back here */
        fds_daemon *daemon;
        session_call_fn on_call;
        uint64_t id;
        fds_frame frame;
        batch *batch;            /* the call in progress, if any */
        reply_tail *tail;        /* the last reply of the call that ended, still being encoded */
        size_t write_pending;    /* reply bytes queued, not yet written */
        list_node link;          /* in daemon->sessions */
        pid_t peer_pid;
        uid_t peer_uid;
        gid_t peer_gid;
        gid_t *peer_groups;      /* SO_PEERGROUPS */
        int n_peer_groups;
        peer *peer;              /* per-uid counters */
        size_t accounted;        /* frame bytes counted in peer->buffered */
        uint64_t bytes_written;
        uint64_t stall_mark;     /* bytes_written when the stall check was armed */
        delay_entry stall;       /* drops a client that stops reading */
        bool reading;
        bool eof;                /* the peer shut its sending side */
        bool processing;
        bool close_after_write;
        bool closing;
};

/* Accept a pending connection on `server`; its calls go to on_call. */
int session_accept(fds_daemon *d, uv_stream_t *server, session_call_fn on_call);
void session_close(session *s);

/* Queue a reply; takes ownership of buf (len includes the NUL). */
int session_send(session *s, char *buf, size_t len);
/* The call finished: its batch is freed and the next queued call runs. */
void session_call_done(session *s);
/* The call finished with a long last reply: the session takes t, sends it
 * a piece at a time as the client reads, and then frees it (and so the
 * batch) and runs the next queued call. */
void session_send_tail(session *s, reply_tail *t);
/* Close once everything queued has been written. */
void session_close_after_write(session *s);
