/* SPDX-License-Identifier: MIT */

/* S3 sources that share a bucket and a "directory" are checked together
 * with ListObjectsV2 (1,000 keys a page) instead of a HEAD each. A dataset's
 * files usually sit side by side, so a 1,000-file download asks the server
 * one question before it starts instead of 1,000, and the listing gives what
 * a HEAD would (size and ETag) for the transfer to pin.
 *
 * The listing is an optimisation, never the judge: a file it does not find,
 * a listing refused (no s3:ListBucket) or failed, or a directory with so many
 * other objects that listing costs more than it saves, all leave those files
 * to their HEAD, which gives the precise per-file error as before. */

#include "validate_list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch_input.h"
#include "job_s3.h"
#include "s3_client.h"
#include "validate.h"

/* Fewer files than this in one directory: HEADs are cheaper than a page. */
#define VLIST_MIN_FILES 8
/* Stop listing (and HEAD the rest) once this many entries were read per
 * file still wanted, plus one page: a directory crowded with other
 * objects. */
#define VLIST_ENTRIES_PER_FILE 4
#define VLIST_PAGE 1000

typedef struct vlist {
        batch_input *b;
        job_file **files;     /* sorted by key; all in one bucket and directory */
        size_t n;
        size_t cursor;          /* first file not matched or passed yet */
        uint64_t listed;        /* entries read so far */
        char *prefix;           /* the directory, '/' included ("" at the top) */
        char *start_after;
        char *token;
        s3_call *call;
        void (*done)(batch_input *b);
        list_node link;
} vlist;

static const char *file_key(const job_file *f) {
        return f->entry->src_loc.key;
}

static const char *file_bucket(const job_file *f) {
        return f->entry->src_loc.bucket;
}

/* Length of key's directory part, its last '/' included. */
static size_t dir_len(const char *key) {
        const char *slash = strrchr(key, '/');
        return slash ? (size_t) (slash - key) + 1 : 0;
}

/* By bucket, then directory, then key: a directory's files stay together
 * ("a/b.txt" < "a/b/c" < "a/c" would split "a/"). strcmp and memcmp order
 * bytes as unsigned, as S3 orders UTF-8 keys. */
static int file_cmp(const void *pa, const void *pb) {
        const job_file *a = *(job_file *const *) pa, *b = *(job_file *const *) pb;
        int c = strcmp(file_bucket(a), file_bucket(b));
        if (c)
                return c;
        size_t da = dir_len(file_key(a)), db = dir_len(file_key(b));
        c = memcmp(file_key(a), file_key(b), da < db ? da : db);
        if (c == 0 && da != db)
                c = da < db ? -1 : 1;
        return c ? c : strcmp(file_key(a), file_key(b));
}

static bool same_group(const job_file *a, const job_file *b) {
        size_t n = dir_len(file_key(a));
        return strcmp(file_bucket(a), file_bucket(b)) == 0 && dir_len(file_key(b)) == n &&
               strncmp(file_key(a), file_key(b), n) == 0;
}

/* Validation looks up every S3 source; without it only an S3 -> S3 copy
 * needs its source's size (one CopyObject, or parts). */
static bool wants_check(const batch_input *b, const job_file *f) {
        const fds_entry *e = f->entry;
        return e->src_loc.kind == FDS_LOCATION_S3 && !e->recursive && !f->src_known && e->src_loc.bucket &&
               e->src_loc.key && *e->src_loc.key &&
               (validate_needed(b) || e->dst_loc.kind == FDS_LOCATION_S3);
}

static vlist *validate_list_free(vlist *v) {
        if (!v)
                return NULL;
        list_del(&v->link);
        free(v->files);
        free(v->prefix);
        free(v->start_after);
        free(v->token);
        free(v);
        return NULL;
}

static int validate_list_object(const s3_xml_object *o, void *userdata) {
        vlist *v = userdata;

        v->listed++;
        while (v->cursor < v->n && strcmp(file_key(v->files[v->cursor]), o->key) < 0)
                v->cursor++; /* not there: left to its HEAD */
        while (v->cursor < v->n && strcmp(file_key(v->files[v->cursor]), o->key) == 0) {
                job_file *f = v->files[v->cursor++];
                char *etag = o->etag ? strdup(o->etag) : NULL;
                if (!etag)
                        continue; /* its HEAD will tell */
                free(f->etag);
                f->etag = etag;
                f->src_size = o->size;
                f->src_known = true;
        }
        return 0;
}

static int validate_list_page(vlist *v);

static void validate_list_end(vlist *v) {
        void (*done)(batch_input *) = v->done;
        batch_input *b = v->b;
        validate_list_free(v);
        done(b);
}

static void validate_list_done(s3_call *c, const s3_result *r, void *userdata) {
        vlist *v = userdata;

        v->call = NULL;
        /* Subdirectories count against the budget like objects. */
        if (r->error == 0 && r->xml)
                v->listed += r->xml->n_prefixes;
        /* Any failure: the files not matched yet get their HEADs. */
        bool more = r->error == 0 && r->xml && r->xml->is_truncated && r->xml->next_continuation_token &&
                    !v->b->canceled && v->cursor < v->n &&
                    v->listed < VLIST_ENTRIES_PER_FILE * (uint64_t) v->n + VLIST_PAGE;
        if (more) {
                free(v->token);
                v->token = strdup(r->xml->next_continuation_token);
                if (v->token && validate_list_page(v) >= 0)
                        return;
        }
        validate_list_end(v);
}

static int validate_list_page(vlist *v) {
        batch_input *b = v->b;
        s3_xml_callbacks cbs = { .object = validate_list_object, .userdata = v };
        sigv4_pair q[5] = {
                { "list-type", "2" },
                { "prefix", v->prefix },
                { "delimiter", "/" },
        };
        size_t nq = 3;
        if (v->token)
                q[nq++] = (sigv4_pair){ "continuation-token", v->token };
        else
                q[nq++] = (sigv4_pair){ "start-after", v->start_after };
        s3_call_opts o = job_s3_list_opts(&b->env, file_bucket(v->files[0]), q, nq, &cbs);
        o.on_done = validate_list_done;
        o.userdata = v;
        return s3_call_start(b->engine->s3, &o, &v->call);
}

/* One listing for files[0..n): 1 started, 0 not worth it or not possible. */
static int validate_list_start(batch_input *b, job_file **files, size_t n, void (*done)(batch_input *b)) {
        if (n < VLIST_MIN_FILES)
                return 0;
        vlist *v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        *v = (vlist){ .b = b, .n = n, .done = done };
        list_init(&v->link);
        const char *first = file_key(files[0]);
        size_t dl = dir_len(first);
        v->files = malloc(n * sizeof(*v->files));
        v->prefix = strndup(first, dl);
        /* Just before the first key wanted: a proper prefix sorts first. Cut
         * at a character boundary, so the query stays valid UTF-8. */
        size_t cut = strlen(first) - 1;
        while (cut > 0 && ((unsigned char) first[cut] & 0xC0) == 0x80)
                cut--;
        v->start_after = strndup(first, cut);
        if (!v->files || !v->prefix || !v->start_after) {
                validate_list_free(v);
                return -ENOMEM;
        }
        memcpy(v->files, files, n * sizeof(*v->files));
        if (validate_list_page(v) < 0) {
                validate_list_free(v);
                return 0; /* the HEADs will do */
        }
        list_add_tail(&b->lists, &v->link);
        return 1;
}

int validate_lists_start(batch_input *b, void (*done)(batch_input *b)) {
        if (!b->env.site || b->kind == TRANSFER_SIZE)
                return 0;
        size_t n = 0;
        for (size_t i = 0; i < b->n_files; i++)
                n += wants_check(b, &b->files[i]);
        if (n < VLIST_MIN_FILES)
                return 0;
        job_file **all = malloc(n * sizeof(*all));
        if (!all)
                return 0;
        n = 0;
        for (size_t i = 0; i < b->n_files; i++)
                if (wants_check(b, &b->files[i]))
                        all[n++] = &b->files[i];
        qsort(all, n, sizeof(*all), file_cmp);
        int started = 0, r = 0;
        /* Out of memory part way: the groups not started get HEADs. */
        for (size_t lo = 0, hi; lo < n && r >= 0; lo = hi) {
                for (hi = lo + 1; hi < n && same_group(all[lo], all[hi]); hi++)
                        ;
                r = validate_list_start(b, all + lo, hi - lo, done);
                started += r > 0;
        }
        free(all);
        return started;
}

void validate_lists_cancel(batch_input *b) {
        list_node *n, *t;
        list_for_each_safe(n, t, &b->lists) {
                vlist *v = list_entry(n, vlist, link);
                if (v->call)
                        s3_call_cancel(v->call);
        }
}
