/* SPDX-License-Identifier: MIT */
#include "reply_tail.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "batch.h"
#include "result_json.h"

/* A piece is handed out once it holds this much (or more: one Read's
 * contents are never split). */
#define REPLY_TAIL_PIECE (64 * 1024)

typedef enum tail_phase {
        TAIL_HEAD,
        TAIL_RESULTS, /* Copy: every file; Size, Read: the files that are ok */
        TAIL_ERRORS,  /* Size, Read: the files that failed */
        TAIL_END,
        TAIL_DONE,
} tail_phase;

struct reply_tail {
        batch *b;
        tail_phase phase;
        size_t next; /* the file the current phase looks at next */
        bool first;  /* nothing written yet in the current list */
        char *buf;
        size_t len, cap;
};

int reply_tail_new(batch *b, reply_tail **ret) {
        reply_tail *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->b = b;
        *ret = t;
        return 0;
}

reply_tail *reply_tail_free(reply_tail *t) {
        if (!t)
                return NULL;
        batch_free(t->b);
        free(t->buf);
        free(t);
        return NULL;
}

static int reserve(reply_tail *t, size_t n) {
        if (t->cap - t->len >= n)
                return 0;
        size_t cap = t->cap ? t->cap : REPLY_TAIL_PIECE + 4096;
        while (cap - t->len < n)
                cap *= 2;
        char *p = realloc(t->buf, cap);
        if (!p)
                return -ENOMEM;
        t->buf = p;
        t->cap = cap;
        return 0;
}

static int put(reply_tail *t, const char *s, size_t n) {
        if (reserve(t, n) < 0)
                return -ENOMEM;
        memcpy(t->buf + t->len, s, n);
        t->len += n;
        return 0;
}

#define PUT_LITERAL(t, s) put(t, s, sizeof(s) - 1)

/* Takes v. */
static int put_json(reply_tail *t, json_t *v) {
        const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
        if (!v)
                return -ENOMEM;
        size_t n = json_dumpb(v, t->buf ? t->buf + t->len : NULL, t->cap - t->len, flags);
        if (n > t->cap - t->len) {
                if (reserve(t, n) < 0) {
                        json_decref(v);
                        return -ENOMEM;
                }
                n = json_dumpb(v, t->buf + t->len, n, flags);
        }
        json_decref(v);
        if (n == 0)
                return -ENOMEM;
        t->len += n;
        return 0;
}

static int put_separator(reply_tail *t) {
        if (t->first) {
                t->first = false;
                return 0;
        }
        return PUT_LITERAL(t, ",");
}

static int put_head(reply_tail *t) {
        const batch *b = t->b;
        t->first = true;
        if (b->in.kind != TRANSFER_COPY)
                return b->in.kind == TRANSFER_SIZE ? PUT_LITERAL(t, "{\"parameters\":{\"sizes\":{")
                                                   : PUT_LITERAL(t, "{\"parameters\":{\"contents\":{");
        if (PUT_LITERAL(t, "{\"parameters\":{\"summary\":") < 0 || put_json(t, result_summary_json(b)) < 0)
                return -ENOMEM;
        return PUT_LITERAL(t, ",\"results\":[");
}

static int put_keyed(reply_tail *t, const job_file *f) {
        if (put_separator(t) < 0 || put_json(t, json_string(f->entry->key)) < 0 || PUT_LITERAL(t, ":") < 0)
                return -ENOMEM;
        if (f->err.code != FDS_CODE_OK)
                return put_json(t, result_error_json(&f->err));
        if (t->b->in.kind == TRANSFER_SIZE)
                return put_json(t, json_integer((json_int_t) f->bytes));
        /* base64 needs no escaping. */
        char *enc = base64_encode(f->data, f->bytes);
        int r = -ENOMEM;
        if (enc && PUT_LITERAL(t, "\"") == 0 && put(t, enc, strlen(enc)) == 0)
                r = PUT_LITERAL(t, "\"");
        free(enc);
        return r;
}

/* One file of the current phase, or none when it does not belong there. */
static int put_file(reply_tail *t, const job_file *f) {
        bool ok = f->err.code == FDS_CODE_OK;
        if (t->b->in.kind == TRANSFER_COPY)
                return put_separator(t) < 0 ? -ENOMEM : put_json(t, result_copy_json(f));
        if (ok != (t->phase == TAIL_RESULTS))
                return 0;
        return put_keyed(t, f);
}

static int step(reply_tail *t) {
        const batch *b = t->b;
        switch (t->phase) {
        case TAIL_HEAD:
                t->phase = TAIL_RESULTS;
                return put_head(t);
        case TAIL_RESULTS:
        case TAIL_ERRORS:
                if (t->next < b->in.n_files)
                        return put_file(t, &b->in.files[t->next++]);
                t->next = 0;
                t->first = true;
                if (t->phase == TAIL_RESULTS && b->in.kind != TRANSFER_COPY) {
                        t->phase = TAIL_ERRORS;
                        return PUT_LITERAL(t, "},\"errors\":{");
                }
                t->phase = TAIL_END;
                return 0;
        case TAIL_END:
                t->phase = TAIL_DONE;
                /* The NUL ends the varlink message. */
                return b->in.kind == TRANSFER_COPY ? put(t, "]}}", sizeof("]}}"))
                                                   : put(t, "}}}", sizeof("}}}"));
        case TAIL_DONE:
                return 0;
        }
        return -EINVAL;
}

int reply_tail_next(reply_tail *t, char **ret_buf, size_t *ret_len) {
        while (t->phase != TAIL_DONE && t->len < REPLY_TAIL_PIECE)
                if (step(t) < 0)
                        return -ENOMEM;
        if (t->len == 0)
                return 0;
        *ret_buf = t->buf;
        *ret_len = t->len;
        t->buf = NULL;
        t->len = t->cap = 0;
        return 1;
}
