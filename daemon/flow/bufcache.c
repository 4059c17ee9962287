/* SPDX-License-Identifier: MIT */
#include "bufcache.h"

#include <stdlib.h>

/* Kept buffers carry their own bookkeeping in their first bytes. */
typedef struct kept_buf {
        list_node link;
        size_t size;
} kept_buf;

void bufcache_init(bufcache *c, const budget *b) {
        *c = (bufcache){ .budget = b };
        list_init(&c->kept);
}

static void drop(bufcache *c, kept_buf *k) {
        list_del(&k->link);
        c->bytes -= k->size;
        free(k);
}

void bufcache_done(bufcache *c) {
        while (!list_empty(&c->kept))
                drop(c, list_entry(c->kept.next, kept_buf, link));
}

void *bufcache_get(bufcache *c, size_t size) {
        list_node *n, *tmp;

        list_for_each_safe(n, tmp, &c->kept) {
                kept_buf *k = list_entry(n, kept_buf, link);
                if (k->size == size) {
                        list_del(&k->link);
                        c->bytes -= size;
                        c->hits++;
                        return k;
                }
        }
        /* The new buffer is granted already: keep only what fits beside
         * it, the least recently kept going first. */
        while (!list_empty(&c->kept) && c->budget->used + c->bytes > c->budget->limit)
                drop(c, list_entry(c->kept.prev, kept_buf, link));
        c->misses++;
        return malloc(size ? size : 1);
}

void bufcache_put(bufcache *c, void *buf, size_t size) {
        if (!buf)
                return;
        /* Its grant is still held (used counts it): keeping it leaves in
         * use plus kept as it was. */
        if (size < sizeof(kept_buf) || c->budget->used + c->bytes > c->budget->limit) {
                free(buf);
                return;
        }
        kept_buf *k = buf;
        k->size = size;
        /* Most recent first: the next get takes the one warmest in cache. */
        list_add_head(&c->kept, &k->link);
        c->bytes += size;
}
