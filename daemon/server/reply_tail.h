/* SPDX-License-Identifier: MIT */
#pragma once

/* The last reply of a Copy, Size or Read, encoded a chunk at a time as the
 * client reads it: the daemon never holds the whole reply, as a tree or as
 * text (for 100,000 files that was tens of MiB at the end of the call). */

#include <stddef.h>

typedef struct batch batch;
typedef struct reply_tail reply_tail;

/* Takes b, which has ended; reply_tail_free frees it. 0 or -ENOMEM (b is
 * then still the caller's). */
int reply_tail_new(batch *b, reply_tail **ret);
/* The next piece of the message: 1 and a malloc'd buf (the last piece ends
 * with the message's NUL), 0 when all of it has been handed out, -ENOMEM. */
int reply_tail_next(reply_tail *t, char **ret_buf, size_t *ret_len);
reply_tail *reply_tail_free(reply_tail *t);
