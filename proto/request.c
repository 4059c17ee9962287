/* SPDX-License-Identifier: MIT */
#include "request.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fds_echo(const char *s) {
        size_t n = strlen(s);
        char *out;
        if (n <= FDS_ECHO_MAX)
                return strdup(s);
        /* Cut at a character boundary: never inside a UTF-8 sequence. */
        size_t k = FDS_ECHO_MAX;
        while (k > 0 && ((unsigned char) s[k] & 0xC0) == 0x80)
                k--;
        if (asprintf(&out, "%.*s...(%zu bytes)", (int) k, s, n) < 0)
                return NULL;
        return out;
}

static int bad_param(char **ret_param, const char *name) {
        *ret_param = fds_echo(name);
        return *ret_param ? -EINVAL : -ENOMEM;
}

static int bad_param2(char **ret_param, const char *prefix, const char *name) {
        char *e = fds_echo(name);
        int r = e ? asprintf(ret_param, "%s.%s", prefix, e) : -1;
        free(e);
        if (r < 0) {
                *ret_param = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static const char *const s3_fields[] = {
        "endpoint_url", "region", "addressing_style", "profile",
        "access_key_id", "secret_access_key", "session_token", NULL,
};

static bool in_list(const char *k, const char *const *list) {
        for (; *list; list++)
                if (strcmp(k, *list) == 0)
                        return true;
        return false;
}

static int s3_options_check(json_t *s3, char **ret_param) {
        const char *k;
        json_t *v;

        if (!json_is_object(s3))
                return bad_param(ret_param, "options.s3");
        json_object_foreach(s3, k, v) {
                if (json_is_null(v) && in_list(k, s3_fields))
                        continue; /* ?string: null means absent */
                if (!in_list(k, s3_fields) || !json_is_string(v))
                        return bad_param2(ret_param, "options.s3", k);
        }
        json_t *style = json_object_get(s3, "addressing_style");
        if (json_is_string(style) && strcmp(json_string_value(style), "path") != 0 &&
            strcmp(json_string_value(style), "virtual") != 0)
                return bad_param(ret_param, "options.s3.addressing_style");
        return 0;
}

/* S3's limits: parts of 5 MiB to 5 GiB, at most 10,000 of them. */
#define PART_MIN (5ULL * 1024 * 1024)
#define PART_MAX (5ULL * 1024 * 1024 * 1024)

static int int_field(json_t *v, long long min, long long max, long long *ret) {
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return -EINVAL;
        *ret = json_integer_value(v);
        return 0;
}

static int transfer_options_parse(json_t *t, fds_options *o, char **ret_param) {
        const char *k;
        json_t *v;
        long long n = 0;

        if (!json_is_object(t))
                return bad_param(ret_param, "options.transfer");
        json_object_foreach(t, k, v) {
                int r = 0;
                if (json_is_null(v))
                        continue; /* every field is ?type */
                if (strcmp(k, "max_attempts") == 0) {
                        r = int_field(v, 1, 100, &n);
                        o->max_attempts = (unsigned) n;
                } else if (strcmp(k, "retry_time_budget") == 0) {
                        r = int_field(v, 0, 86400, &n);
                        o->has_retry_time_budget = true;
                        o->retry_time_budget = (unsigned) n;
                } else if (strcmp(k, "multipart") == 0) {
                        r = json_is_boolean(v) ? 0 : -EINVAL;
                        o->has_multipart = true;
                        o->multipart = json_is_true(v);
                } else if (strcmp(k, "multipart_threshold") == 0) {
                        r = int_field(v, 1, (long long) 1 << 50, &n);
                        o->multipart_threshold = (uint64_t) n;
                } else if (strcmp(k, "copy_cutoff") == 0) {
                        /* CopyObject takes at most 5 GiB. */
                        r = int_field(v, (long long) PART_MIN, (long long) PART_MAX, &n);
                        o->copy_cutoff = (uint64_t) n;
                } else if (strcmp(k, "multipart_chunksize") == 0) {
                        r = int_field(v, (long long) PART_MIN, (long long) PART_MAX, &n);
                        o->multipart_chunksize = (uint64_t) n;
                } else if (strcmp(k, "max_concurrency") == 0) {
                        r = int_field(v, 1, 1000, &n);
                        o->max_concurrency = (unsigned) n;
                } else if (strcmp(k, "max_bandwidth") == 0) {
                        r = int_field(v, 1024, (long long) 1 << 50, &n);
                        o->max_bandwidth = (uint64_t) n;
                } else
                        return bad_param2(ret_param, "options.transfer", k);
                if (r < 0)
                        return bad_param2(ret_param, "options.transfer", k);
        }
        return 0;
}

int fds_options_parse(json_t *options, fds_options *ret, char **ret_param) {
        fds_options o = { 0 };
        const char *k;
        json_t *v;

        if (!options || json_is_null(options)) {
                *ret = o;
                return 0;
        }
        if (!json_is_object(options))
                return bad_param(ret_param, "options");
        json_object_foreach(options, k, v) {
                /* Every option is nullable (?type): null means absent. */
                if (json_is_null(v) && (strcmp(k, "parallelism") == 0 || strcmp(k, "max_bytes") == 0 ||
                                        strcmp(k, "priority") == 0 ||
                                        strcmp(k, "s3") == 0 || strcmp(k, "transfer") == 0 ||
                                        strcmp(k, "validate") == 0 || strcmp(k, "verify") == 0 ||
                                        strcmp(k, "dry_run") == 0 || strcmp(k, "no_clobber") == 0))
                        continue;
                if (strcmp(k, "verify") == 0 || strcmp(k, "dry_run") == 0 || strcmp(k, "no_clobber") == 0) {
                        if (!json_is_boolean(v))
                                return bad_param2(ret_param, "options", k);
                        *(k[0] == 'v' ? &o.verify : k[0] == 'd' ? &o.dry_run : &o.no_clobber) = json_is_true(v);
                        continue;
                }
                if (strcmp(k, "validate") == 0) {
                        if (!json_is_boolean(v))
                                return bad_param(ret_param, "options.validate");
                        o.no_validate = json_is_false(v);
                } else if (strcmp(k, "parallelism") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                            json_integer_value(v) > 1000000)
                                return bad_param(ret_param, "options.parallelism");
                        o.parallelism = (unsigned) json_integer_value(v);
                } else if (strcmp(k, "priority") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                            json_integer_value(v) > FDS_PRIORITY_MAX)
                                return bad_param(ret_param, "options.priority");
                        o.priority = (unsigned) json_integer_value(v);
                } else if (strcmp(k, "max_bytes") == 0) {
                        if (!json_is_integer(v) || json_integer_value(v) < 1)
                                return bad_param(ret_param, "options.max_bytes");
                        o.max_bytes = (uint64_t) json_integer_value(v);
                } else if (strcmp(k, "transfer") == 0) {
                        int r = transfer_options_parse(v, &o, ret_param);
                        if (r < 0)
                                return r;
                } else if (strcmp(k, "s3") == 0) {
                        int r = s3_options_check(v, ret_param);
                        if (r < 0)
                                return r;
                        o.s3 = v;
                } else
                        return bad_param2(ret_param, "options", k);
        }
        /* What a dry run reports is what validation found. */
        if (o.dry_run)
                o.no_validate = false;
        *ret = o;
        return 0;
}

int fds_problem_add(json_t *problems, const fds_entry *e, const char *path, const char *reason) {
        /* Echo at most FDS_ECHO_MAX bytes of what the caller sent: a 60 MiB
         * path must not come back whole. */
        char *p_echo = fds_echo(path), *k_echo = e->key ? fds_echo(e->key) : NULL;
        json_t *p = NULL;
        if (p_echo && (!e->key || k_echo))
                p = e->key ? json_pack("{s:s, s:s, s:s}", "key", k_echo, "path", p_echo, "reason", reason)
                           : json_pack("{s:I, s:s, s:s}", "index", (json_int_t) e->index, "path", p_echo,
                                       "reason", reason);
        free(p_echo);
        free(k_echo);
        if (!p)
                return -ENOMEM;
        return json_array_append_new(problems, p) < 0 ? -ENOMEM : 0;
}

/* A JSON string with "\u0000" in it: the C string ends early. */
static bool has_nul(json_t *v) {
        return json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v);
}

/* Parse one side of an entry; a failure is a problem, not an error. */
static int entry_location(fds_request *req, const fds_entry *e, const char *path, json_t *value,
                          const fds_request_limits *lim, fds_location *ret) {
        json_t *problems = req->problems;
        bool prefix_ok = e->recursive;
        const char *reason = NULL;
        if (has_nul(value))
                return fds_problem_add(problems, e, path, "path contains a NUL byte");
        int r = fds_location_parse_in(path, &req->strings, ret, &reason);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return fds_problem_add(problems, e, path, reason);
        if (ret->kind == FDS_LOCATION_S3 && !lim->s3_available)
                return fds_problem_add(problems, e, path, "S3 is not available in this fdsd");
        if (ret->kind == FDS_LOCATION_S3 && ret->key[0] == '\0' && !prefix_ok) {
                fds_location_done(ret);
                return fds_problem_add(problems, e, path, "S3 URL has no key");
        }
        return 0;
}

static int request_begin(json_t *params, const char *const *allowed, size_t n,
                         const fds_request_limits *lim, fds_request *r, char **ret_param) {
        const char *k;
        json_t *v;

        json_object_foreach(params, k, v) {
                if (!in_list(k, allowed))
                        return bad_param(ret_param, k);
        }
        int q = fds_options_parse(json_object_get(params, "options"), &r->options, ret_param);
        if (q < 0)
                return q;
        r->problems = json_array();
        r->held = json_array();
        if (!r->problems || !r->held || (r->options.s3 && json_array_append(r->held, r->options.s3) < 0))
                return -ENOMEM;
        if (n > lim->max_entries) {
                fds_entry whole = { .index = 0 };
                char what[96];
                snprintf(what, sizeof(what), "%zu files in one call; the limit is %zu", n,
                         lim->max_entries);
                return fds_problem_add(r->problems, &whole, "", what) < 0 ? -ENOMEM : 1;
        }
        r->entries = calloc(n ? n : 1, sizeof(fds_entry));
        return r->entries ? 0 : -ENOMEM;
}

/* filters: absent, null, or at most FDS_FILTERS_MAX objects each with
 * exactly one of "include" and "exclude", a pattern of 1 to 1024 bytes. */
static bool filters_ok(const json_t *filters) {
        size_t i;
        json_t *f;

        if (!filters || json_is_null(filters))
                return true;
        if (!json_is_array(filters) || json_array_size(filters) > FDS_FILTERS_MAX)
                return false;
        json_array_foreach(filters, i, f) {
                json_t *in = json_object_get(f, "include"), *ex = json_object_get(f, "exclude");
                json_t *g = in ? in : ex;
                if (!json_is_object(f) || json_object_size(f) != 1 || !json_is_string(g) ||
                    json_string_length(g) == 0 || json_string_length(g) > 1024 || has_nul(g))
                        return false;
        }
        return true;
}

bool fds_entry_wanted(const fds_entry *e, const char *rel) {
        bool wanted = true;
        size_t i;
        json_t *f;

        /* As aws s3 cp: every file to begin with, and each filter that
         * matches has the say over those before it. */
        json_array_foreach(e->filters, i, f) {
                json_t *in = json_object_get(f, "include");
                const char *g = json_string_value(in ? in : json_object_get(f, "exclude"));
                /* Python's fnmatch, as aws s3 uses it: no escapes. */
                if (fnmatch(g, rel, FNM_NOESCAPE) == 0)
                        wanted = in != NULL;
        }
        return wanted;
}

/* Destinations are compared after lexical normalization, so "/a//b" and
 * "/a/./b" count as the same file. A JSON object serves as the string set. */
static int dst_key(const fds_location *l, char **ret) {
        if (l->kind == FDS_LOCATION_LOCAL)
                *ret = strdup(l->path);
        else if (asprintf(ret, "s3://%s/%s", l->bucket, l->key) < 0)
                *ret = NULL;
        return *ret ? 0 : -ENOMEM;
}

int fds_request_parse_copy(json_t *params, const fds_request_limits *lim, fds_request *ret,
                           char **ret_param) {
        static const char *const allowed[] = { "copies", "options", NULL };
        fds_request r = { 0 };
        json_t *seen = NULL;
        json_t *copies = json_object_get(params, "copies");
        int q;

        if (!json_is_array(copies))
                return bad_param(ret_param, "copies");
        q = request_begin(params, allowed, json_array_size(copies), lim, &r, ret_param);
        if (q != 0)
                goto out;
        seen = json_object();
        if (!seen) {
                q = -ENOMEM;
                goto out;
        }
        size_t i;
        json_t *c;
        json_array_foreach(copies, i, c) {
                const char *src, *dst;
                json_t *rec = NULL, *filters = NULL;
                if (!json_is_object(c) ||
                    json_unpack(c, "{s:s, s:s, s?o, s?o}", "src", &src, "dst", &dst, "recursive", &rec, "filters",
                                &filters) < 0 ||
                    json_object_size(c) != (size_t) 2 + (json_object_get(c, "recursive") != NULL) +
                                                   (json_object_get(c, "filters") != NULL) ||
                    (rec && !json_is_boolean(rec) && !json_is_null(rec)) || !filters_ok(filters)) {
                        char name[48];
                        snprintf(name, sizeof(name), "copies[%zu]%s", i, filters_ok(filters) ? "" : ".filters");
                        q = bad_param(ret_param, name);
                        goto out;
                }
                fds_entry *e = &r.entries[r.n_entries++];
                *e = (fds_entry){ .index = (uint32_t) i, .src = fds_strpool_dup(&r.strings, src),
                                  .dst = fds_strpool_dup(&r.strings, dst), .recursive = json_is_true(rec) };
                if (!e->src || !e->dst) {
                        q = -ENOMEM;
                        goto out;
                }
                if (json_array_size(filters) > 0) {
                        if (json_array_append(r.held, filters) < 0) {
                                q = -ENOMEM;
                                goto out;
                        }
                        e->filters = filters;
                        if (!e->recursive && (q = fds_problem_add(r.problems, e, e->src,
                                                                  "filters apply to recursive copies only")) < 0)
                                goto out;
                }
                if ((q = entry_location(&r, e, e->src, json_object_get(c, "src"), lim, &e->src_loc)) < 0 ||
                    (q = entry_location(&r, e, e->dst, json_object_get(c, "dst"), lim, &e->dst_loc)) < 0)
                        goto out;
                /* A recursive entry's destination is a directory; its files
                 * are checked for clashes once the daemon has expanded it. */
                if (e->recursive || (!e->dst_loc.path && !e->dst_loc.key))
                        continue;
                char *key;
                if ((q = dst_key(&e->dst_loc, &key)) < 0)
                        goto out;
                json_t *prev = json_object_get(seen, key);
                if (prev) {
                        char why[64];
                        snprintf(why, sizeof(why), "duplicate destination (also copies[%" JSON_INTEGER_FORMAT "])",
                                 json_integer_value(prev));
                        q = fds_problem_add(r.problems, e, e->dst, why);
                } else
                        q = json_object_set_new(seen, key, json_integer((json_int_t) i)) < 0 ? -ENOMEM : 0;
                free(key);
                if (q < 0)
                        goto out;
        }
        q = 0;
out:
        json_decref(seen);
        if (q < 0) {
                fds_request_done(&r);
                return q;
        }
        *ret = r;
        return 0;
}

int fds_request_parse_files(json_t *params, const fds_request_limits *lim, fds_request *ret,
                            char **ret_param) {
        static const char *const allowed[] = { "files", "options", NULL };
        fds_request r = { 0 };
        json_t *files = json_object_get(params, "files");
        const char *k;
        json_t *v;
        int q;

        if (!json_is_object(files))
                return bad_param(ret_param, "files");
        q = request_begin(params, allowed, json_object_size(files), lim, &r, ret_param);
        if (q != 0)
                goto out;
        json_object_foreach(files, k, v) {
                if (!json_is_string(v)) {
                        q = bad_param2(ret_param, "files", k);
                        goto out;
                }
                fds_entry *e = &r.entries[r.n_entries];
                *e = (fds_entry){ .index = (uint32_t) r.n_entries, .key = fds_strpool_dup(&r.strings, k),
                                  .src = fds_strpool_dup(&r.strings, json_string_value(v)) };
                r.n_entries++;
                if (!e->key || !e->src) {
                        q = -ENOMEM;
                        goto out;
                }
                if ((q = entry_location(&r, e, e->src, v, lim, &e->src_loc)) < 0)
                        goto out;
        }
        q = 0;
out:
        if (q < 0) {
                fds_request_done(&r);
                return q;
        }
        *ret = r;
        return 0;
}

int fds_request_parse_list(json_t *params, const fds_request_limits *lim, fds_request *ret,
                           char **ret_param) {
        static const char *const allowed[] = { "path", "recursive", "options", NULL };
        fds_request r = { 0 };
        json_t *path = json_object_get(params, "path"), *rec = json_object_get(params, "recursive");
        int q;

        if (!json_is_string(path))
                return bad_param(ret_param, "path");
        if (rec && !json_is_boolean(rec) && !json_is_null(rec))
                return bad_param(ret_param, "recursive");
        q = request_begin(params, allowed, 1, lim, &r, ret_param);
        if (q == 0) {
                /* recursive here lets an S3 URL name a bucket or prefix ("s3://b/"). */
                fds_entry *e = &r.entries[r.n_entries++];
                *e = (fds_entry){ .src = fds_strpool_dup(&r.strings, json_string_value(path)), .recursive = true };
                q = e->src ? entry_location(&r, e, e->src, path, lim, &e->src_loc) : -ENOMEM;
                e->recursive = json_is_true(rec);
        }
        if (q < 0) {
                fds_request_done(&r);
                return q;
        }
        *ret = r;
        return 0;
}

void fds_request_done(fds_request *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_entries; i++) {
                fds_location_done(&r->entries[i].src_loc);
                fds_location_done(&r->entries[i].dst_loc);
        }
        free(r->entries);
        json_decref(r->problems);
        json_decref(r->held);
        fds_strpool_done(&r->strings);
        *r = (fds_request){ 0 };
}
