/* SPDX-License-Identifier: MIT */
#include "expand.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "batch_input.h"
#include "fsq.h"
#include "job_s3.h"
#include "local_walk.h"

typedef struct found {
        char *rel;
        uint64_t size;
        char *etag;
} found;

typedef struct expand_item {
        batch_input *b;
        fds_entry *entry;
        found *files;
        size_t n, cap, max;
        int r;
        const char *reason;     /* static */
        uv_work_t work;
        s3_call *call;
        char *prefix;           /* S3: the listing prefix */
        char *token;            /* S3: where the next page starts */
        size_t page_start;      /* S3: files found before this page */
        struct expand_state *st;
        bool running;
} expand_item;

typedef struct expand_state {
        expand_item *items;
        size_t n;
        unsigned pending;
        bool canceled;
        void (*done)(batch_input *b);
} expand_state;

/* rel ends at rel_len in both callers. Files the entry's filters leave out
 * are not kept, nor counted against the limit. */
static int found_add(expand_item *it, const char *rel, size_t rel_len, uint64_t size, const char *etag) {
        if (it->entry->filters && !fds_entry_wanted(it->entry, rel))
                return 0;
        if (it->n >= it->max)
                return -E2BIG;
        if (it->n == it->cap) {
                size_t cap = it->cap ? it->cap * 2 : 64;
                found *p = realloc(it->files, cap * sizeof(found));
                if (!p)
                        return -ENOMEM;
                it->files = p;
                it->cap = cap;
        }
        found *f = &it->files[it->n];
        *f = (found){ .rel = strndup(rel, rel_len), .size = size, .etag = etag ? strdup(etag) : NULL };
        if (!f->rel || (etag && !f->etag)) {
                free(f->rel);
                free(f->etag);
                return -ENOMEM;
        }
        it->n++;
        return 0;
}

/* Keep the first n files found, free the rest. */
static void found_truncate(expand_item *it, size_t n) {
        for (size_t k = n; k < it->n; k++) {
                free(it->files[k].rel);
                free(it->files[k].etag);
        }
        it->n = n;
}

static int walk_found(const char *rel, size_t rel_len, const struct stat *st, void *userdata) {
        return found_add(userdata, rel, rel_len, (uint64_t) st->st_size, NULL);
}

static int found_cmp(const void *a, const void *b) {
        return strcmp(((const found *) a)->rel, ((const found *) b)->rel);
}

/* Worker thread: every file below the directory (local_walk.h). */
static void walk_work(uv_work_t *w) {
        expand_item *it = w->data;
        int fd = open(it->entry->src_loc.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        it->r = fd < 0 ? -errno : local_walk(fd, true, walk_found, it);
        /* Results in a stable order, whatever readdir gave. */
        if (it->r >= 0 && it->n > 1)
                qsort(it->files, it->n, sizeof(found), found_cmp);
}

static void item_done(expand_item *it) {
        expand_state *st = it->st;
        it->running = false;
        batch_input *b = it->b;
        if (--st->pending == 0)
                st->done(b);
}

static void walk_after(uv_work_t *w, int status) {
        expand_item *it = w->data;
        if (status < 0)
                it->r = status; /* canceled, or the peer's identity could not be taken */
        item_done(it);
}

static int list_object(const s3_xml_object *o, void *userdata) {
        expand_item *it = userdata;
        size_t pl = strlen(it->prefix);
        size_t kl = strlen(o->key);
        /* The prefix itself and "folder" markers are not files. */
        if (kl <= pl || o->key[kl - 1] == '/')
                return 0;
        return found_add(it, o->key + pl, kl - pl, o->size, o->etag);
}

static int list_page(expand_item *it);

/* A retry parses the page again from its start: drop what the cut-off
 * attempt found, or its files would come twice. */
static int list_retry(s3_call *c, void *userdata) {
        expand_item *it = userdata;
        found_truncate(it, it->page_start);
        return 0;
}

static void list_done(s3_call *c, const s3_result *r, void *userdata) {
        expand_item *it = userdata;
        it->call = NULL;
        if (r->error < 0) {
                it->r = r->error;
                it->reason = r->http_status == 404 ? "the bucket does not exist (HTTP 404)"
                             : r->http_status == 403 ? "listing the prefix was refused (HTTP 403)"
                                                     : "listing the prefix failed";
                item_done(it);
                return;
        }
        free(it->token);
        it->token = NULL;
        if (!it->st->canceled && r->xml && r->xml->is_truncated && r->xml->next_continuation_token) {
                it->token = strdup(r->xml->next_continuation_token);
                int q = it->token ? list_page(it) : -ENOMEM;
                if (q >= 0)
                        return;
                it->r = q;
        }
        item_done(it);
}

static int list_page(expand_item *it) {
        batch_input *b = it->b;
        s3_xml_callbacks cbs = { .object = list_object, .userdata = it };
        sigv4_pair q[3] = { { "list-type", "2" }, { "prefix", it->prefix } };
        size_t nq = 2;
        if (it->token)
                q[nq++] = (sigv4_pair){ "continuation-token", it->token };
        s3_call_opts o = job_s3_list_opts(&b->env, it->entry->src_loc.bucket, q, nq, &cbs);
        o.on_done = list_done;
        o.on_retry = list_retry;
        o.userdata = it;
        it->page_start = it->n;
        return s3_call_start(b->engine->s3, &o, &it->call);
}

/* s3://b/data, s3://b/data/ and s3://b/ list "data/", "data/" and all. */
static char *dir_prefix(const char *key) {
        size_t n = strlen(key);
        char *p = malloc(n + 2);
        if (!p)
                return NULL;
        memcpy(p, key, n + 1);
        if (n > 0 && key[n - 1] != '/')
                strcpy(p + n, "/");
        return p;
}

/* Both sides parsed: an entry with a bad source or destination is already a
 * problem of the request, and has nothing to join its files to. */
static bool expandable(const fds_entry *e) {
        return e->recursive && (e->src_loc.path || e->src_loc.bucket) && (e->dst_loc.path || e->dst_loc.bucket);
}

int expand_start(batch_input *b, void (*done)(batch_input *b)) {
        size_t n = 0;
        for (size_t i = 0; i < b->req.n_entries; i++)
                n += expandable(&b->req.entries[i]);
        if (n == 0)
                return 0;
        expand_state *st = calloc(1, sizeof(*st));
        if (!st || !(st->items = calloc(n, sizeof(expand_item)))) {
                free(st);
                return -ENOMEM;
        }
        st->done = done;
        b->expand = st;
        for (size_t i = 0; i < b->req.n_entries; i++) {
                fds_entry *e = &b->req.entries[i];
                if (!expandable(e))
                        continue;
                expand_item *it = &st->items[st->n++];
                *it = (expand_item){ .b = b, .entry = e, .st = st, .max = b->engine->defaults.max_entries };
                int r;
                if (e->src_loc.kind == FDS_LOCATION_LOCAL) {
                        it->work.data = it;
                        r = fsq_queue(b->engine->shared.fsq, &b->env, batch_input_creds(b), &it->work, walk_work, walk_after);
                } else if (!b->env.site)
                        r = -ENOKEY, it->reason = "cannot list without S3 settings";
                else {
                        it->prefix = dir_prefix(e->src_loc.key);
                        r = it->prefix ? list_page(it) : -ENOMEM;
                }
                if (r < 0)
                        it->r = r;
                else {
                        it->running = true;
                        st->pending++;
                }
        }
        if (st->pending == 0) {
                /* Nothing started: report through the caller's normal path. */
                st->pending = 1;
                item_done(&st->items[0]);
                return 1;
        }
        return 1;
}

void expand_cancel(batch_input *b) {
        expand_state *st = b->expand;
        if (!st)
                return;
        st->canceled = true;
        for (size_t i = 0; i < st->n; i++) {
                expand_item *it = &st->items[i];
                if (!it->running)
                        continue;
                if (it->call)
                        s3_call_cancel(it->call);
                else if (it->entry->src_loc.kind == FDS_LOCATION_LOCAL)
                        fsq_cancel(b->engine->shared.fsq, &it->work);
        }
}

static void state_free(expand_state *st) {
        for (size_t i = 0; i < st->n; i++) {
                expand_item *it = &st->items[i];
                found_truncate(it, 0);
                free(it->files);
                free(it->prefix);
                free(it->token);
        }
        free(st->items);
        free(st);
}

static expand_item *item_of(expand_state *st, const fds_entry *e) {
        for (size_t i = 0; i < st->n; i++)
                if (st->items[i].entry == e)
                        return &st->items[i];
        return NULL;
}

static const char *walk_reason(int r) {
        switch (-r) {
        case ENOENT:
                return "source directory does not exist";
        case ENOTDIR:
                return "not a directory (a recursive copy needs a directory or an S3 prefix)";
        case EACCES:
        case EPERM:
                return "source directory is not readable (permission denied)";
        case E2BIG:
                return "expands to more files than one call may hold";
        case ELOOP:
                return "directories nested too deeply";
        case ECANCELED:
                return "canceled";
        default:
                return strerror(-r);
        }
}

/* "<root>/<rel>" for a local directory, "s3://bucket/<prefix><rel>" for S3. */
static int join(const fds_location *root, const char *rel, char **ret) {
        int n;
        if (root->kind == FDS_LOCATION_LOCAL)
                n = asprintf(ret, "%s%s%s", root->path, strcmp(root->path, "/") == 0 ? "" : "/", rel);
        else {
                size_t kl = strlen(root->key);
                n = asprintf(ret, "s3://%s/%s%s%s", root->bucket, root->key,
                             kl > 0 && root->key[kl - 1] != '/' ? "/" : "", rel);
        }
        return n < 0 ? -ENOMEM : 0;
}

static int dst_key(const fds_entry *e, char **ret) {
        if (e->dst_loc.kind == FDS_LOCATION_LOCAL)
                *ret = strdup(e->dst_loc.path);
        else if (asprintf(ret, "s3://%s/%s", e->dst_loc.bucket, e->dst_loc.key) < 0)
                *ret = NULL;
        return *ret ? 0 : -ENOMEM;
}

/* A file of a recursive entry may land where another entry's file does. */
static int check_clashes(batch_input *b, fds_entry *entries, size_t n) {
        json_t *seen = json_object();
        int r = 0;
        if (!seen)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                fds_entry *e = &entries[i];
                char *key;
                if (!e->dst_loc.path && !e->dst_loc.bucket)
                        continue;
                if ((r = dst_key(e, &key)) < 0)
                        break;
                json_t *prev = json_object_get(seen, key);
                /* Two plain entries were compared already, when the request
                 * was parsed; any pair with an expanded file is new. */
                if (prev) {
                        if (e->expanded || json_is_true(prev))
                                r = fds_problem_add(b->req.problems, e, e->dst,
                                                    "duplicate destination (another entry writes it too)");
                } else if (json_object_set_new(seen, key, json_boolean(e->expanded)) < 0)
                        r = -ENOMEM;
                free(key);
        }
        json_decref(seen);
        return r;
}

/* One file a recursive entry e found becomes entry x and its file slot;
 * *k counts it once it is filled. 0, or -ENOMEM. */
static int found_to_entry(fds_request *req, const fds_entry *e, found *fd, fds_entry *x, job_file *file,
                          size_t *k) {
        char *src = NULL, *dst = NULL;
        int r = 0;

        *x = (fds_entry){ .index = e->index, .expanded = true };
        if (join(&e->src_loc, fd->rel, &src) == 0 && join(&e->dst_loc, fd->rel, &dst) == 0) {
                x->src = fds_strpool_dup(&req->strings, src);
                x->dst = fds_strpool_dup(&req->strings, dst);
        }
        free(src);
        free(dst);
        if (!x->src || !x->dst)
                return -ENOMEM;
        const char *why = NULL;
        if (fds_location_parse_in(x->src, &req->strings, &x->src_loc, &why) < 0 ||
            fds_location_parse_in(x->dst, &req->strings, &x->dst_loc, &why) < 0)
                r = fds_problem_add(req->problems, x, x->dst, why ? why : "invalid path");
        *file = (job_file){ .entry = x };
        if (e->src_loc.kind == FDS_LOCATION_S3) {
                /* The listing told size and ETag: no HEAD needed. */
                file->src_size = fd->size;
                file->src_known = true;
                file->etag = fd->etag;
                fd->etag = NULL;
        }
        (*k)++;
        return r;
}

int expand_apply(batch_input *b) {
        expand_state *st = b->expand;
        fds_request *req = &b->req;
        size_t total = 0;
        int r = 0;

        b->expand = NULL;
        if (!st)
                return 0;
        for (size_t i = 0; i < req->n_entries; i++) {
                expand_item *it = item_of(st, &req->entries[i]);
                total += it ? (it->r >= 0 ? it->n : 0) : 1;
        }
        fds_entry *entries = calloc(total ? total : 1, sizeof(fds_entry));
        job_file *files = calloc(total ? total : 1, sizeof(job_file));
        if (!entries || !files) {
                free(entries);
                free(files);
                state_free(st);
                return -ENOMEM;
        }
        size_t k = 0;
        for (size_t i = 0; i < req->n_entries && r >= 0; i++) {
                fds_entry *e = &req->entries[i];
                expand_item *it = item_of(st, e);
                if (!it) {
                        entries[k] = *e;
                        files[k] = b->files[i];
                        k++;
                        continue;
                }
                if (it->r < 0)
                        r = fds_problem_add(req->problems, e, e->src, it->reason ? it->reason : walk_reason(it->r));
                for (size_t f = 0; r >= 0 && it->r >= 0 && f < it->n; f++)
                        r = found_to_entry(req, e, &it->files[f], &entries[k], &files[k], &k);
                fds_location_done(&e->src_loc);
                fds_location_done(&e->dst_loc);
        }
        /* Entries past k were never filled (an error stopped us). */
        for (size_t i = 0; i < k; i++)
                files[i].entry = &entries[i];
        free(req->entries);
        free(b->files);
        req->entries = entries;
        req->n_entries = k;
        b->files = files;
        b->n_files = k;
        state_free(st);
        if (r >= 0 && k > b->engine->defaults.max_entries) {
                fds_entry whole = { .index = 0 };
                char what[96];
                snprintf(what, sizeof(what), "recursive copies expand to %zu files; the limit is %zu", k,
                         b->engine->defaults.max_entries);
                r = fds_problem_add(req->problems, &whole, "", what);
        }
        if (r >= 0)
                r = check_clashes(b, entries, k);
        return r < 0 ? r : 0;
}
