/* SPDX-License-Identifier: MIT */
#pragma once

/* Strings that live and die together, as a call's paths do: copied into
 * large chunks, one after another, and freed all at once. A string costs
 * its bytes and a NUL, against malloc's 16 to 32 bytes of overhead each,
 * and 100,000 paths are a few dozen allocations rather than 100,000. */

#include <stddef.h>

typedef struct fds_strpool_chunk fds_strpool_chunk;

typedef struct fds_strpool {
        fds_strpool_chunk *chunks; /* newest first */
        char *next;                /* free space in the newest chunk */
        size_t left;
        const char *recent;        /* the last of fds_strpool_dupn_repeat() */
} fds_strpool;

#define FDS_STRPOOL_INIT ((fds_strpool){ 0 })

/* A NUL-terminated copy of the n bytes at s, valid until the pool is done;
 * NULL when out of memory. */
char *fds_strpool_dupn(fds_strpool *p, const char *s, size_t n);
char *fds_strpool_dup(fds_strpool *p, const char *s);
/* The same, but the string is shared with the last one this made when
 * they are equal (the bucket of every entry of a call, say). */
char *fds_strpool_dupn_repeat(fds_strpool *p, const char *s, size_t n);
void fds_strpool_done(fds_strpool *p);
