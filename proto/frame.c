/* SPDX-License-Identifier: MIT */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void fds_frame_init(fds_frame *f, size_t max_message) {
        *f = (fds_frame){ .max = max_message };
}

void fds_frame_done(fds_frame *f) {
        free(f->buf);
        *f = (fds_frame){ .max = f->max };
}

size_t fds_frame_pending(const fds_frame *f) {
        return f->len - f->start;
}

/* Drop what was handed out so the buffer never holds more than one
 * message's limit plus one read. */
static void frame_compact(fds_frame *f) {
        if (f->start == 0)
                return;
        memmove(f->buf, f->buf + f->start, f->len - f->start);
        f->len -= f->start;
        f->start = 0;
}

int fds_frame_reserve(fds_frame *f, size_t want, char **ret_ptr, size_t *ret_len) {
        frame_compact(f);
        /* A message of max bytes plus its NUL; anything past that which has
         * no NUL yet can never become a valid message. */
        size_t limit = f->max + 1;
        if (f->scanned >= limit)
                return -EMSGSIZE;
        if (f->cap - f->len < want) {
                size_t cap = f->cap ? f->cap : 4096;
                while (cap - f->len < want)
                        cap *= 2;
                /* Room for one full message plus the next read. */
                if (cap > limit + want)
                        cap = limit + want;
                if (cap > f->cap) {
                        char *p = realloc(f->buf, cap);
                        if (!p)
                                return -ENOMEM;
                        f->buf = p;
                        f->cap = cap;
                }
        }
        if (f->cap == f->len)
                return -EMSGSIZE;
        *ret_ptr = f->buf + f->len;
        *ret_len = f->cap - f->len;
        return 0;
}

void fds_frame_commit(fds_frame *f, size_t n) {
        f->len += n;
}

int fds_frame_feed(fds_frame *f, const void *data, size_t n) {
        while (n > 0) {
                char *p;
                size_t room;
                int r = fds_frame_reserve(f, n, &p, &room);
                if (r < 0)
                        return r;
                size_t k = n < room ? n : room;
                memcpy(p, data, k);
                fds_frame_commit(f, k);
                data = (const char *) data + k;
                n -= k;
        }
        return 0;
}

size_t fds_frame_shrink(fds_frame *f) {
        enum { KEEP = 64 * 1024 };
        frame_compact(f);
        if (f->cap > KEEP && f->len <= KEEP / 2) {
                char *p = realloc(f->buf, KEEP);
                if (p) {
                        f->buf = p;
                        f->cap = KEEP;
                }
        }
        return f->cap;
}

int fds_frame_next(fds_frame *f, const char **ret_msg, size_t *ret_len) {
        const char *from = f->buf + f->start + f->scanned;
        size_t avail = f->len - f->start - f->scanned;
        const char *nul = avail ? memchr(from, '\0', avail) : NULL;
        if (!nul) {
                f->scanned += avail;
                return f->scanned > f->max ? -EMSGSIZE : 0;
        }
        size_t n = (size_t) (nul - (f->buf + f->start));
        if (n > f->max)
                return -EMSGSIZE;
        *ret_msg = f->buf + f->start;
        *ret_len = n;
        f->start += n + 1;
        f->scanned = 0;
        return 1;
}
