/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * varlink framing: every message is one JSON object followed by a NUL byte.
 * fds_frame accumulates bytes from a stream and hands out whole messages.
 * It does no I/O and never grows past its limit.
 */

#include <stddef.h>

typedef struct fds_frame {
        char *buf;
        size_t len;      /* bytes held */
        size_t cap;      /* bytes allocated */
        size_t start;    /* first byte not yet handed out */
        size_t scanned;  /* bytes after start already known to hold no NUL */
        size_t max;      /* largest message accepted, NUL excluded */
} fds_frame;

void fds_frame_init(fds_frame *f, size_t max_message);
void fds_frame_done(fds_frame *f);

/* Where the next bytes may be written: at least `want` bytes unless the
 * limit forbids it. Returns -ENOMEM or -EMSGSIZE (the message being
 * assembled is already larger than the limit). */
int fds_frame_reserve(fds_frame *f, size_t want, char **ret_ptr, size_t *ret_len);
/* Record that `n` bytes were written at the pointer given by reserve. */
void fds_frame_commit(fds_frame *f, size_t n);
/* Copy bytes in (reserve + commit). */
int fds_frame_feed(fds_frame *f, const void *data, size_t n);

/* The next whole message, NUL-terminated, valid until the next call on f.
 * Returns 1 and sets ret_msg and ret_len when one is ready, 0 when more bytes
 * are needed, -EMSGSIZE when the message being assembled exceeds the limit. */
int fds_frame_next(fds_frame *f, const char **ret_msg, size_t *ret_len);

/* Bytes held that belong to messages not yet handed out. */
size_t fds_frame_pending(const fds_frame *f);

/* Give back memory a large message left behind once little is pending;
 * returns the bytes allocated now. */
size_t fds_frame_shrink(fds_frame *f);
