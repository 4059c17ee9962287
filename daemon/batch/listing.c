/* SPDX-License-Identifier: MIT */
#include "listing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "batch_input.h"
#include "creds.h"
#include "delay.h"
#include "fsq.h"
#include "job_s3.h"
#include "local_walk.h"
#include "macro.h"

typedef struct listing {
        batch_input *in;
        const listing_ops *ops;
        listing_entry *items; /* the page being filled (streaming), or all */
        size_t n, cap, max;
        size_t sent;          /* local: entries handed out; S3: entries before this page (0 when streaming) */
        bool stream, paused, canceled, delivering, ended;
        delay_entry later;    /* a cancel while nothing runs ends from the loop */
        /* S3 */
        s3_call *call;
        char *token;          /* where the next page starts; NULL: none */
        bool next_due;        /* a page is to be asked for once resumed */
        /* local */
        uv_work_t work;
        bool working, walked;
        int r;
        char *base;           /* the directory with its '/', or "" for a file */
} listing;

static listing *of(const batch_input *in) {
        return in->listing;
}

/* Keep the first n entries, free the rest. */
static void entries_truncate(listing *l, size_t n) {
        for (size_t i = n; i < l->n; i++) {
                free(l->items[i].path);
                free(l->items[i].etag);
        }
        l->n = n;
}

/* path is taken over. */
static int entry_add(listing *l, char *path, uint64_t size, int64_t mtime_ms, const char *etag, bool dir) {
        if (!path)
                return -ENOMEM;
        if (l->n >= l->max) {
                free(path);
                return -E2BIG;
        }
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                listing_entry *p = realloc(l->items, cap * sizeof(*p));
                if (!p) {
                        free(path);
                        return -ENOMEM;
                }
                l->items = p;
                l->cap = cap;
        }
        listing_entry *e = &l->items[l->n];
        *e = (listing_entry){ .path = path, .size = size, .mtime_ms = mtime_ms, .dir = dir };
        if (etag) {
                size_t n = strlen(etag);
                /* S3 sends it quoted. */
                if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
                        e->etag = strndup(etag + 1, n - 2);
                else
                        e->etag = strdup(etag);
                if (!e->etag) {
                        free(path);
                        return -ENOMEM;
                }
        }
        l->n++;
        return 0;
}

static void listing_end(listing *l, int r) {
        l->ended = true;
        /* May free the batch, and this with it. */
        l->ops->done(l->in, l->canceled ? -ECANCELED : r);
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const listing_entry *) a)->path, ((const listing_entry *) b)->path);
}

/* ---- S3 ---- */

/* "2026-12-07T15:04:05.123Z" in ms; LISTING_NO_TIME when it cannot be read. */
static int64_t s3_time_ms(const char *s) {
        int64_t t;
        if (!s || creds_parse_time(s, &t) < 0)
                return LISTING_NO_TIME;
        const char *dot = strchr(s, '.');
        int64_t ms = 0;
        if (dot)
                for (int i = 1, scale = 100; i <= 3 && dot[i] >= '0' && dot[i] <= '9'; i++, scale /= 10)
                        ms += (dot[i] - '0') * scale;
        return t * 1000 + ms;
}

static char *s3_path(const listing *l, const char *key) {
        char *p;
        return asprintf(&p, "s3://%s/%s", l->in->req.entries[0].src_loc.bucket, key) < 0 ? NULL : p;
}

static int s3_object(const s3_xml_object *o, void *userdata) {
        listing *l = userdata;
        size_t kl = strlen(o->key);
        if (kl > 0 && o->key[kl - 1] == '/')
                return 0; /* a "folder" marker, or the prefix itself */
        return entry_add(l, s3_path(l, o->key), o->size, s3_time_ms(o->last_modified), o->etag, false);
}

static int s3_prefix(const char *prefix, void *userdata) {
        listing *l = userdata;
        return entry_add(l, s3_path(l, prefix), 0, LISTING_NO_TIME, NULL, true);
}

/* A retry parses the page again from its start: drop what the cut-off
 * attempt added (sent is where the page starts, 0 when streaming). */
static int s3_page_retry(s3_call *c, void *userdata) {
        listing *l = userdata;
        entries_truncate(l, l->sent);
        return 0;
}

static int s3_page(listing *l);

static void s3_page_done(s3_call *c, const s3_result *r, void *userdata) {
        listing *l = userdata;
        l->call = NULL;
        if (r->error < 0) {
                /* Whole pages only: the one that failed goes. */
                entries_truncate(l, l->sent);
                const char *what = r->http_status == 404 ? "listing: the bucket does not exist" : "listing";
                if (r->error == -E2BIG)
                        file_error_set(&l->in->files[0].err, FDS_CODE_TOO_LARGE,
                                       "listing: more entries than one reply may hold; stream it (more)");
                else if (job_s3_set_error(&l->in->files[0], r, what) < 0)
                        file_error_set_errno(&l->in->files[0].err, -ENOMEM, "listing");
                listing_end(l, r->error);
                return;
        }
        free(l->token);
        l->token = NULL;
        if (!l->canceled && r->xml && r->xml->is_truncated && r->xml->next_continuation_token &&
            !(l->token = strdup(r->xml->next_continuation_token))) {
                file_error_set_errno(&l->in->files[0].err, -ENOMEM, "listing");
                listing_end(l, -ENOMEM);
                return;
        }
        /* A page holds its objects, then its common prefixes, each in key
         * order; pages follow each other in key order. */
        if (l->n - l->sent > 1)
                qsort(l->items + l->sent, l->n - l->sent, sizeof(*l->items), entry_cmp);
        if (l->stream) {
                l->ops->page(l->in, l->items, l->n);
                entries_truncate(l, 0);
        }
        l->sent = l->n;
        if (!l->token || l->canceled) {
                listing_end(l, 0);
                return;
        }
        l->next_due = true;
        if (l->paused)
                return;
        int q = s3_page(l);
        if (q < 0) {
                file_error_set_errno(&l->in->files[0].err, q, "listing");
                listing_end(l, q);
        }
}

static int s3_page(listing *l) {
        batch_input *in = l->in;
        const fds_entry *e = &in->req.entries[0];
        s3_xml_callbacks cbs = { .object = s3_object, .prefix = s3_prefix, .userdata = l };
        sigv4_pair q[4] = { { "list-type", "2" }, { "prefix", e->src_loc.key } };
        size_t nq = 2;
        if (!e->recursive)
                q[nq++] = (sigv4_pair){ "delimiter", "/" };
        if (l->token)
                q[nq++] = (sigv4_pair){ "continuation-token", l->token };
        s3_call_opts o = job_s3_list_opts(&in->env, e->src_loc.bucket, q, nq, &cbs);
        o.on_done = s3_page_done;
        o.on_retry = s3_page_retry;
        o.userdata = l;
        l->next_due = false;
        return s3_call_start(in->engine->s3, &o, &l->call);
}

/* ---- local ---- */

static int64_t stat_ms(const struct stat *st) {
        return (int64_t) st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

static int local_found(const char *rel, size_t rel_len, const struct stat *st, void *userdata) {
        listing *l = userdata;
        bool dir = S_ISDIR(st->st_mode);
        char *p;
        if (asprintf(&p, "%s%.*s%s", l->base, (int) rel_len, rel, dir ? "/" : "") < 0)
                p = NULL;
        return entry_add(l, p, dir ? 0 : (uint64_t) st->st_size, stat_ms(st), NULL, dir);
}

/* Worker thread, as the caller. */
static void local_work(uv_work_t *w) {
        listing *l = w->data;
        const char *path = l->in->req.entries[0].src_loc.path;
        struct stat st;

        if (stat(path, &st) < 0) {
                l->r = -errno;
                return;
        }
        if (S_ISREG(st.st_mode)) {
                l->base = strdup("");
                l->r = l->base ? local_found(path, strlen(path), &st, l) : -ENOMEM;
                return;
        }
        if (!S_ISDIR(st.st_mode)) {
                l->r = -EBADFD;
                return;
        }
        if (asprintf(&l->base, "%s%s", path, strcmp(path, "/") == 0 ? "" : "/") < 0) {
                l->base = NULL;
                l->r = -ENOMEM;
                return;
        }
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        l->r = fd < 0 ? -errno : local_walk(fd, l->in->req.entries[0].recursive, local_found, l);
        if (l->r >= 0 && l->n > 1)
                qsort(l->items, l->n, sizeof(*l->items), entry_cmp);
}

static const char *local_reason(int r) {
        switch (-r) {
        case ENOENT:
                return "no such file or directory";
        case EACCES:
        case EPERM:
                return "permission denied";
        case EBADFD:
                return "not a file or directory";
        case E2BIG:
                return "more entries than one call may list";
        case ELOOP:
                return "directories nested too deeply";
        default:
                return NULL;
        }
}

/* Hand out the walk's entries a page at a time while the owner takes them. */
static void local_deliver(listing *l) {
        if (l->delivering || l->ended)
                return;
        l->delivering = true;
        while (l->stream && !l->paused && !l->canceled && l->sent < l->n) {
                size_t k = l->n - l->sent < LISTING_PAGE ? l->n - l->sent : LISTING_PAGE;
                l->ops->page(l->in, l->items + l->sent, k);
                l->sent += k;
        }
        l->delivering = false;
        if (!l->stream || l->canceled || l->sent == l->n)
                listing_end(l, 0);
}

static void local_after(uv_work_t *w, int status) {
        listing *l = w->data;
        l->working = false;
        l->walked = true;
        if (status < 0 && l->r >= 0)
                l->r = status;
        if (l->r < 0) {
                /* The walk failed as a whole: nothing of it goes out. */
                entries_truncate(l, 0);
                const char *why = local_reason(l->r);
                fds_code code = l->r == -E2BIG ? FDS_CODE_TOO_LARGE : fds_code_from_errno(l->r);
                char msg[96];
                snprintf(msg, sizeof(msg), "listing: %s", why ? why : strerror(-l->r));
                if (file_error_set(&l->in->files[0].err, code, msg) < 0)
                        file_error_set_errno(&l->in->files[0].err, -ENOMEM, "listing");
                listing_end(l, l->r);
                return;
        }
        local_deliver(l);
}

/* ---- the listing ---- */

int listing_start(batch_input *in, bool stream, bool paused, const listing_ops *ops) {
        listing *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        *l = (listing){ .in = in, .ops = ops, .stream = stream, .paused = paused,
                        .max = in->engine->defaults.max_entries };
        list_init(&l->later.link);
        in->listing = l;
        const fds_entry *e = &in->req.entries[0];
        int r;
        if (e->src_loc.kind == FDS_LOCATION_S3) {
                /* Streaming holds one page at a time, whatever the prefix holds. */
                if (stream)
                        l->max = SIZE_MAX;
                r = s3_page(l);
        } else {
                l->work.data = l;
                r = fsq_queue(in->engine->shared.fsq, &in->env, batch_input_creds(in), &l->work, local_work, local_after);
                l->working = r >= 0;
        }
        return r < 0 ? r : 0;
}

void listing_set_paused(batch_input *in, bool paused) {
        listing *l = of(in);
        if (!l || l->ended || l->paused == paused)
                return;
        l->paused = paused;
        if (paused || l->delivering)
                return;
        if (l->next_due) {
                int q = s3_page(l);
                if (q < 0) {
                        file_error_set_errno(&in->files[0].err, q, "listing");
                        listing_end(l, q);
                }
        } else if (l->walked)
                local_deliver(l);
}

static void canceled_later(delay_entry *d) {
        listing *l = container_of(d, listing, later);
        listing_end(l, -ECANCELED);
}

void listing_cancel(batch_input *in) {
        listing *l = of(in);
        if (!l || l->ended || l->canceled)
                return;
        l->canceled = true;
        if (l->call)
                s3_call_cancel(l->call);
        else if (l->working)
                fsq_cancel(in->engine->shared.fsq, &l->work);
        else if (l->next_due || (l->walked && !l->delivering))
                /* Waiting on the owner, nothing runs: end from the loop, not
                 * inside the caller's cancel (which goes on using the batch). */
                delay_add(in->engine->delay, &l->later, 0, canceled_later);
}

const listing_entry *listing_entries(const batch_input *in, size_t *ret_n) {
        listing *l = of(in);
        bool whole = l && !l->stream;
        *ret_n = whole ? l->n : 0;
        return whole ? l->items : NULL;
}

void listing_free(batch_input *in) {
        listing *l = of(in);
        if (!l)
                return;
        delay_cancel(in->engine->delay, &l->later);
        entries_truncate(l, 0);
        free(l->items);
        free(l->token);
        free(l->base);
        free(l);
        in->listing = NULL;
}
