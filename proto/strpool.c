/* SPDX-License-Identifier: MIT */
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

/* Big enough that a chunk holds hundreds of paths, small enough that a
 * call with a few files does not hold much it does not use. */
#define STRPOOL_CHUNK (64 * 1024 - 64)

struct fds_strpool_chunk {
        fds_strpool_chunk *older;
        char data[];
};

/* Room for need bytes: a new chunk, or for a string bigger than a chunk
 * one of its own, kept behind the newest so that its free space stays. */
static char *strpool_room(fds_strpool *p, size_t need) {
        if (need <= p->left) {
                char *s = p->next;
                p->next += need;
                p->left -= need;
                return s;
        }
        size_t size = need > STRPOOL_CHUNK ? need : STRPOOL_CHUNK;
        fds_strpool_chunk *c = malloc(sizeof(*c) + size);
        if (!c)
                return NULL;
        if (size > STRPOOL_CHUNK && p->chunks) {
                c->older = p->chunks->older;
                p->chunks->older = c;
                return c->data;
        }
        c->older = p->chunks;
        p->chunks = c;
        p->next = c->data + need;
        p->left = size - need;
        return c->data;
}

char *fds_strpool_dupn(fds_strpool *p, const char *s, size_t n) {
        char *d = strpool_room(p, n + 1);
        if (!d)
                return NULL;
        memcpy(d, s, n);
        d[n] = '\0';
        return d;
}

char *fds_strpool_dup(fds_strpool *p, const char *s) {
        return fds_strpool_dupn(p, s, strlen(s));
}

char *fds_strpool_dupn_repeat(fds_strpool *p, const char *s, size_t n) {
        if (p->recent && strncmp(p->recent, s, n) == 0 && p->recent[n] == '\0')
                return (char *) p->recent;
        char *d = fds_strpool_dupn(p, s, n);
        if (d)
                p->recent = d;
        return d;
}

void fds_strpool_done(fds_strpool *p) {
        fds_strpool_chunk *c = p->chunks;
        while (c) {
                fds_strpool_chunk *older = c->older;
                free(c);
                c = older;
        }
        *p = FDS_STRPOOL_INIT;
}
