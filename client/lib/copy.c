/* SPDX-License-Identifier: MIT */
/* Copy: one request, one reply per finished file, a summary at the end. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call.h"
#include "file_error.h"
#include "reply.h"
#include "fds/copy.h"

typedef struct copy_state {
        size_t n;
        const fds_copy_pair *pairs;
        bool *seen; /* index of a plain pair already reported */
        size_t n_seen, n_plain;
        fds_copy_summary counted;
        bool have_summary;
        fds_copy_summary summary;
        fds_copy_result_fn on_result;
        void *userdata;
} copy_state;

static double copy_now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Paths that are not UTF-8 cannot travel in JSON: -EINVAL. */
static int copy_build_request(const fds_copy_pair *pairs, size_t n, json_t **ret) {
        json_t *copies = json_array();
        size_t i;

        if (!copies)
                return -ENOMEM;
        for (i = 0; i < n; i++) {
                json_t *entry;

                if (!pairs[i].src || !pairs[i].dst)
                        goto invalid;
                entry = pairs[i].recursive ? json_pack("{s:s, s:s, s:b}", "src", pairs[i].src, "dst",
                                                       pairs[i].dst, "recursive", 1)
                                           : json_pack("{s:s, s:s}", "src", pairs[i].src, "dst", pairs[i].dst);
                if (!entry)
                        goto invalid;
                if (pairs[i].n_filters > 0) {
                        json_t *filters = json_array();
                        for (size_t k = 0; filters && k < pairs[i].n_filters; k++) {
                                const fds_filter *f = &pairs[i].filters[k];
                                json_t *o = f->glob ? json_pack("{s:s}", f->include ? "include" : "exclude", f->glob)
                                                    : NULL;
                                if (!o || json_array_append_new(filters, o) < 0) {
                                        json_decref(filters);
                                        filters = NULL;
                                }
                        }
                        if (!filters || json_object_set_new(entry, "filters", filters) < 0) {
                                json_decref(entry);
                                goto invalid;
                        }
                }
                if (json_array_append_new(copies, entry) < 0) {
                        json_decref(copies);
                        return -ENOMEM;
                }
        }
        *ret = json_pack("{s:o}", "copies", copies);
        return *ret ? 0 : -ENOMEM;
invalid:
        json_decref(copies);
        return -EINVAL;
}

/* Strings are borrowed from obj. */
static int copy_parse_result(json_t *obj, size_t n, fds_copy_result *ret) {
        fds_copy_result res = {.src = NULL};
        json_t *index = json_object_get(obj, "index");
        json_t *ok = json_object_get(obj, "ok");
        int r;

        if (!json_is_object(obj) || !json_is_integer(index) || !json_is_boolean(ok))
                return -EBADMSG;
        if (json_integer_value(index) < 0 || (uint64_t) json_integer_value(index) >= n)
                return -EBADMSG;
        res.index = (size_t) json_integer_value(index);
        res.ok = json_is_true(ok);
        res.src = reply_get_string(obj, "src");
        res.dst = reply_get_string(obj, "dst");
        if (!res.src || !res.dst)
                return -EBADMSG;
        r = reply_get_uint64(obj, "bytes", &res.bytes);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        uint64_t attempts = 0;
        if (reply_get_uint64(obj, "attempts", &attempts) < 0 || attempts > UINT_MAX)
                return -EBADMSG;
        res.attempts = (unsigned) attempts;
        json_t *verified = json_object_get(obj, "verified");
        if (verified && !json_is_boolean(verified))
                return -EBADMSG;
        if (verified)
                res.verified = json_is_true(verified) ? FDS_VERIFIED_YES : FDS_VERIFIED_NO;
        json_t *skipped = json_object_get(obj, "skipped");
        if (skipped && !json_is_boolean(skipped))
                return -EBADMSG;
        res.skipped = json_is_true(skipped);
        if (!res.ok) {
                r = file_error_parse(json_object_get(obj, "error"), &res.error);
                if (r < 0)
                        return r;
        }
        *ret = res;
        return 0;
}

static int copy_take_result(copy_state *s, json_t *obj) {
        fds_copy_result res;
        int r;

        r = copy_parse_result(obj, s->n, &res);
        if (r < 0)
                return r;
        /* A plain pair has exactly one result; a recursive one, one per file. */
        if (!s->pairs[res.index].recursive) {
                if (s->seen[res.index])
                        return -EBADMSG;
                s->seen[res.index] = true;
                s->n_seen++;
        }
        if (res.ok)
                s->counted.files_ok++;
        if (res.skipped)
                s->counted.files_skipped++;
        if (!res.ok)
                s->counted.files_failed++;
        s->counted.bytes += res.bytes;
        if (s->on_result) {
                r = s->on_result(&res, s->userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int copy_parse_summary(json_t *obj, fds_copy_summary *ret) {
        fds_copy_summary sum = {.bytes = 0};
        json_t *seconds = json_object_get(obj, "seconds");

        if (!json_is_object(obj) || !json_is_number(seconds))
                return -EBADMSG;
        if (reply_get_uint64(obj, "files_ok", &sum.files_ok) <= 0 ||
            reply_get_uint64(obj, "files_failed", &sum.files_failed) <= 0 ||
            reply_get_uint64(obj, "bytes", &sum.bytes) <= 0 ||
            reply_get_uint64(obj, "files_skipped", &sum.files_skipped) < 0)
                return -EBADMSG;
        sum.seconds = json_number_value(seconds);
        *ret = sum;
        return 0;
}

/* One reply: a result, all results (a daemon may send them in one), and or
 * the summary. */
static int copy_take_reply(copy_state *s, json_t *parameters) {
        json_t *result = json_object_get(parameters, "result");
        json_t *results = json_object_get(parameters, "results");
        json_t *summary = json_object_get(parameters, "summary");
        json_t *v;
        size_t i;
        int r;

        if (result && !json_is_null(result)) {
                r = copy_take_result(s, result);
                if (r < 0)
                        return r;
        }
        if (results && !json_is_null(results)) {
                if (!json_is_array(results))
                        return -EBADMSG;
                json_array_foreach(results, i, v) {
                        r = copy_take_result(s, v);
                        if (r < 0)
                                return r;
                }
        }
        if (summary && !json_is_null(summary)) {
                r = copy_parse_summary(summary, &s->summary);
                if (r < 0)
                        return r;
                s->have_summary = true;
        }
        return 0;
}

int fds_client_copy(fds_client *c, const fds_copy_pair *pairs, size_t n, const fds_options *opts,
                    fds_copy_result_fn on_result, void *userdata, fds_copy_summary *ret_summary) {
        copy_state s = {.n = n, .pairs = pairs, .on_result = on_result, .userdata = userdata};
        json_t *request = NULL;
        double started = copy_now();
        bool continues = true;
        int r;

        if (!c || (n > 0 && !pairs))
                return -EINVAL;
        s.seen = calloc(n ? n : 1, sizeof(bool));
        if (!s.seen)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                s.n_plain += !pairs[i].recursive;
        r = copy_build_request(pairs, n, &request);
        if (r < 0)
                goto finish;
        r = call_start(c, "io.fds.Transfer.Copy", request, opts, true);
        if (r < 0)
                goto finish;

        while (continues) {
                json_t *parameters;

                r = call_next(c, &parameters, &continues);
                if (r < 0)
                        goto finish;
                r = copy_take_reply(&s, parameters);
                if (r < 0) {
                        /* A bad reply, or the caller asked to stop: either
                         * way the rest of this call's replies are lost. */
                        conn_close(c);
                        goto finish;
                }
        }
        if (s.n_seen != s.n_plain) {
                conn_close(c);
                r = -EBADMSG;
                goto finish;
        }
        if (!s.have_summary) {
                /* The summary is optional in the interface: count it here. */
                s.summary = s.counted;
                s.summary.seconds = copy_now() - started;
        }
        if (ret_summary)
                *ret_summary = s.summary;
        r = 0;
finish:
        json_decref(request);
        free(s.seen);
        return r;
}

typedef struct copy_collect {
        fds_copy_result *results;
        size_t n, cap;
} copy_collect;

static int copy_collect_one(const fds_copy_result *res, void *userdata) {
        copy_collect *col = userdata;
        fds_copy_result copy = *res;

        if (col->n == col->cap) {
                size_t cap = col->cap ? col->cap * 2 : 16;
                fds_copy_result *p = realloc(col->results, cap * sizeof(fds_copy_result));
                if (!p)
                        return -ENOMEM;
                col->results = p;
                col->cap = cap;
        }
        copy.src = strdup(res->src);
        copy.dst = strdup(res->dst);
        copy.error = (fds_file_error){.code = NULL};
        if (!copy.src || !copy.dst || file_error_dup(&res->error, &copy.error) < 0) {
                free((char *) copy.src);
                free((char *) copy.dst);
                return -ENOMEM;
        }
        col->results[col->n++] = copy;
        return 0;
}

/* Request order; results of one recursive pair keep their finishing order
 * (a stable sort on the index). */
static void copy_sort(fds_copy_result *r, size_t n) {
        for (size_t i = 1; i < n; i++) {
                fds_copy_result v = r[i];
                size_t j = i;
                while (j > 0 && r[j - 1].index > v.index) {
                        r[j] = r[j - 1];
                        j--;
                }
                r[j] = v;
        }
}

int fds_client_copy_all(fds_client *c, const fds_copy_pair *pairs, size_t n, const fds_options *opts,
                        fds_copy_result **ret_results, fds_copy_summary *ret_summary) {
        copy_collect col = {.results = NULL};
        int r;

        if (!ret_results)
                return -EINVAL;
        if (n > INT_MAX)
                return -E2BIG;
        r = fds_client_copy(c, pairs, n, opts, copy_collect_one, &col, ret_summary);
        if (r < 0 || col.n > INT_MAX) {
                fds_copy_results_free(col.results, col.n);
                return r < 0 ? r : -E2BIG;
        }
        if (!col.results && !(col.results = calloc(1, sizeof(fds_copy_result))))
                return -ENOMEM;
        /* Results arrive mostly in order: insertion sort is near linear. */
        copy_sort(col.results, col.n);
        *ret_results = col.results;
        return (int) col.n;
}

fds_copy_result *fds_copy_results_free(fds_copy_result *results, size_t n) {
        size_t i;

        if (!results)
                return NULL;
        for (i = 0; i < n; i++) {
                free((char *) results[i].src);
                free((char *) results[i].dst);
                file_error_done(&results[i].error);
        }
        free(results);
        return NULL;
}
