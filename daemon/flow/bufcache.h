/* SPDX-License-Identifier: MIT */
#pragma once

/* Transfer buffers kept for the next part instead of being freed. A fresh
 * 8 MiB buffer costs a page fault per 4 KiB on first touch (in a VM, the
 * host's too), which measured more than the copy of the bytes themselves;
 * a freed buffer is kept here and handed to the next ask of the same size.
 * What is kept plus what the budget has granted stays within the budget's
 * limit: a get first lets go of kept buffers the limit has no room for.
 * Loop thread only. */

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "list.h"

typedef struct bufcache {
        const budget *budget;
        list_node kept;          /* most recently kept first */
        uint64_t bytes;          /* kept, in all */
        uint64_t hits, misses;
} bufcache;

void bufcache_init(bufcache *c, const budget *b);
/* Frees what is kept. */
void bufcache_done(bufcache *c);

/* A buffer of size bytes (not zeroed), kept or new; NULL when out of
 * memory. Ask after the budget granted them. */
void *bufcache_get(bufcache *c, size_t size);
/* Give back a buffer from bufcache_get (NULL is fine), before its grant. */
void bufcache_put(bufcache *c, void *buf, size_t size);
