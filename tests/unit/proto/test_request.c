/* SPDX-License-Identifier: MIT */
/* The parameters of Copy, Size and Read: shape errors, problems, options.
 * Most cases are fixture files under tests/data/proto (see its README.md);
 * the rest check what a fixture cannot see. */
#include "frame.h"
#include "message.h"
#include "request.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE_MAX 1024

static const fds_request_limits default_limits = { .max_entries = 1000, .s3_available = true };

static json_t *json(const char *text) {
        json_error_t err;
        json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);

        ck_assert_msg(v != NULL, "test JSON %s: %s", text, err.text);
        return v;
}

/* A location as the fixtures write it. */
static char *location_string(const fds_location *l) {
        char *s = NULL;

        if (l->path)
                s = strdup(l->path);
        else if (l->bucket)
                ck_assert_int_ge(asprintf(&s, "s3://%s/%s", l->bucket, l->key), 0);
        else
                s = strdup("(not parsed)");
        ck_assert_ptr_nonnull(s);
        return s;
}

static void expect_problems(const char *what, const fds_request *req, const char *want_text) {
        json_t *want = json(want_text);

        if (!json_equal(req->problems, want)) {
                char *got = json_dumps(req->problems, JSON_INDENT(1));
                ck_abort_msg("%s: problems\n%s\nwant\n%s", what, got, want_text);
        }
        json_decref(want);
}

/* Copy with params, expecting success. */
static void copy_ok(json_t *params, const fds_request_limits *lim, fds_request *ret) {
        char *param = NULL;

        int r = fds_request_parse_copy(params, lim, ret, &param);
        ck_assert_msg(r == 0, "refused: %d, parameter %s", r, param);
        ck_assert(json_is_array(ret->problems));
}

/* -EINVAL naming `name`, for Copy (copy) or Size/Read. */
static void expect_invalid_parameter(bool copy, const char *params_text, const char *name) {
        json_t *params = json(params_text);
        fds_request req = { .n_entries = 12345 };
        char *param = NULL;

        int r = copy ? fds_request_parse_copy(params, &default_limits, &req, &param)
                     : fds_request_parse_files(params, &default_limits, &req, &param);
        ck_assert_msg(r == -EINVAL, "%s: %d, want -EINVAL", params_text, r);
        ck_assert_ptr_nonnull(param);
        ck_assert_str_eq(param, name);
        /* Nothing handed out on failure. */
        ck_assert_uint_eq(req.n_entries, 12345);
        free(param);
        json_decref(params);
}

START_TEST(test_copy_entries_are_copied_and_parsed) {
        json_t *params = json("{\"copies\": [{\"src\": \"/in//a\", \"dst\": \"s3://bkt/a b\"},"
                              " {\"dst\": \"/out/./b/\", \"src\": \"s3://bkt/x/\"},"
                              " {\"src\": \"/in/c\", \"dst\": \"s3://bkt/c\"}]}");
        static const char *const given[][2] = { { "/in//a", "s3://bkt/a b" },
                                                 { "s3://bkt/x/", "/out/./b/" },
                                                 { "/in/c", "s3://bkt/c" } };
        fds_request req;

        copy_ok(params, &default_limits, &req);
        /* The request keeps what it needs: the message may go at once. */
        json_decref(params);
        ck_assert_uint_eq(json_array_size(req.problems), 0);
        ck_assert_uint_eq(req.n_entries, 3);
        for (size_t i = 0; i < 3; i++) {
                const fds_entry *e = &req.entries[i];
                ck_assert_uint_eq(e->index, i);
                ck_assert_ptr_null(e->key);
                ck_assert_str_eq(e->src, given[i][0]);
                ck_assert_str_eq(e->dst, given[i][1]);
        }
        ck_assert_int_eq(req.entries[0].src_loc.kind, FDS_LOCATION_LOCAL);
        ck_assert_str_eq(req.entries[0].src_loc.path, "/in/a");
        ck_assert_int_eq(req.entries[0].dst_loc.kind, FDS_LOCATION_S3);
        ck_assert_str_eq(req.entries[0].dst_loc.bucket, "bkt");
        ck_assert_str_eq(req.entries[0].dst_loc.key, "a b");
        ck_assert_str_eq(req.entries[1].src_loc.key, "x/");
        ck_assert_str_eq(req.entries[1].dst_loc.path, "/out/b");
        /* No second copy where none is needed: a normal path is the string
         * as given, a key its tail, and a repeated bucket is shared. */
        ck_assert_ptr_eq(req.entries[2].src_loc.path, req.entries[2].src);
        ck_assert_ptr_eq(req.entries[2].dst_loc.key, req.entries[2].dst + strlen("s3://bkt/"));
        ck_assert_ptr_eq(req.entries[1].src_loc.bucket, req.entries[0].dst_loc.bucket);
        ck_assert_ptr_eq(req.entries[2].dst_loc.bucket, req.entries[0].dst_loc.bucket);
        /* no options: the daemon's defaults */
        ck_assert_uint_eq(req.options.parallelism, 0);
        ck_assert_uint_eq(req.options.max_bytes, 0);
        ck_assert_ptr_null(req.options.s3);
        fds_request_done(&req);
        ck_assert_ptr_null(req.entries);
}
END_TEST

START_TEST(test_files_entries_follow_the_object_order) {
        json_t *params = json("{\"files\": {\"zeta\": \"/z\", \"alpha\": \"/a\", \"mid\": \"s3://bkt/m\"}}");
        static const char *const keys[] = { "zeta", "alpha", "mid" };
        fds_request req;
        char *param = NULL;

        ck_assert_int_eq(fds_request_parse_files(params, &default_limits, &req, &param), 0);
        ck_assert_uint_eq(req.n_entries, 3);
        for (size_t i = 0; i < 3; i++) {
                ck_assert_uint_eq(req.entries[i].index, i);
                ck_assert_str_eq(req.entries[i].key, keys[i]);
                ck_assert_ptr_null(req.entries[i].dst);
                ck_assert_str_eq(req.entries[i].src,
                                 json_string_value(json_object_get(json_object_get(params, "files"), keys[i])));
        }
        json_decref(params);
        ck_assert_str_eq(req.entries[2].src_loc.key, "m");
        fds_request_done(&req);
}
END_TEST

/* aws s3 cp --exclude/--include: all unless a filter says otherwise, the
 * last matching filter decides, '*' matches '/' too. */
START_TEST(test_filters) {
        json_t *params = json("{\"copies\": [{\"src\": \"/in\", \"dst\": \"/out\", \"recursive\": true,"
                              " \"filters\": [{\"exclude\": \"*\"}, {\"include\": \"*.csv\"},"
                              " {\"exclude\": \"tmp/*\"}, {\"include\": \"tmp/keep?.csv\"}]},"
                              " {\"src\": \"/a\", \"dst\": \"/b\", \"recursive\": true, \"filters\": []},"
                              " {\"src\": \"/c\", \"dst\": \"/d\", \"filters\": [{\"exclude\": \"x\"}]}]}");
        static const struct {
                const char *rel;
                bool wanted;
        } cases[] = {
                { "a.csv", true },          { "deep/er/b.csv", true }, { "a.txt", false },
                { "tmp/c.csv", false },     { "tmp/keep1.csv", true }, { "tmp/keep12.csv", false },
                { "csv", false },           { "tmp/deep/x.csv", false },
        };
        fds_request req;

        copy_ok(params, &default_limits, &req);
        ck_assert_ptr_nonnull(req.entries[0].filters);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                ck_assert_msg(fds_entry_wanted(&req.entries[0], cases[i].rel) == cases[i].wanted, "%s",
                              cases[i].rel);
        /* A backslash is a character, as in Python's fnmatch (aws s3), not an escape. */
        const json_t *saved = req.entries[0].filters;
        json_t *bs = json("[{\"exclude\": \"win\\\\*\"}]");
        req.entries[0].filters = bs;
        ck_assert(!fds_entry_wanted(&req.entries[0], "win\\path"));
        ck_assert(fds_entry_wanted(&req.entries[0], "win*"));
        req.entries[0].filters = saved;
        json_decref(bs);
        /* No filters: everything. Filters on a plain copy: a problem of that entry. */
        ck_assert_ptr_null(req.entries[1].filters);
        ck_assert(fds_entry_wanted(&req.entries[1], "anything"));
        expect_problems("plain", &req, "[{\"index\": 2, \"path\": \"/c\", \"reason\": \"filters apply to "
                                       "recursive copies only\"}]");
        fds_request_done(&req);
        json_decref(params);

        /* Malformed filters are the caller's mistake, named. */
        expect_invalid_parameter(true, "{\"copies\": [{\"src\": \"/a\", \"dst\": \"/b\", \"filters\": {}}]}",
                                 "copies[0].filters");
        expect_invalid_parameter(true,
                                 "{\"copies\": [{\"src\": \"/a\", \"dst\": \"/b\", \"filters\": "
                                 "[{\"include\": \"x\", \"exclude\": \"y\"}]}]}",
                                 "copies[0].filters");
        expect_invalid_parameter(true,
                                 "{\"copies\": [{\"src\": \"/a\", \"dst\": \"/b\", \"filters\": [{\"only\": \"x\"}]}]}",
                                 "copies[0].filters");
        expect_invalid_parameter(true,
                                 "{\"copies\": [{\"src\": \"/a\", \"dst\": \"/b\", \"filters\": [{\"include\": \"\"}]}]}",
                                 "copies[0].filters");
}
END_TEST

START_TEST(test_shape_errors_name_the_parameter) {
        expect_invalid_parameter(true, "{}", "copies");
        expect_invalid_parameter(true, "{\"copies\": [{\"src\": \"/a\", \"dst\": \"/b\"}, 3]}", "copies[1]");
        expect_invalid_parameter(true, "{\"copies\": [], \"verbose\": true}", "verbose");
        expect_invalid_parameter(true, "{\"copies\": [], \"options\": {\"s3\": {\"region\": []}}}",
                                 "options.s3.region");
        expect_invalid_parameter(false, "{\"files\": {\"k\": false}}", "files.k");
        expect_invalid_parameter(false, "{\"files\": {}, \"options\": \"fast\"}", "options");
}
END_TEST

START_TEST(test_shape_error_after_problems_is_still_an_error) {
        /* Entry 0 is a problem (collected), entry 2 is a shape error (fatal):
         * the caller gets the shape error and nothing leaks. */
        expect_invalid_parameter(true,
                                 "{\"copies\": [{\"src\": \"rel\", \"dst\": \"/d0\"},"
                                 " {\"src\": \"/s1\", \"dst\": \"/d1\"},"
                                 " {\"src\": \"/s2\", \"dst\": [\"/d2\"]}]}",
                                 "copies[2]");
        expect_invalid_parameter(false, "{\"files\": {\"a\": \"rel\", \"b\": \"/b\", \"c\": null}}", "files.c");
}
END_TEST

static const struct {
        const char *options;
        const char *bad_param; /* NULL: accepted */
        unsigned parallelism;
        uint64_t max_bytes;
} option_cases[] = {
        { "null", NULL, 0, 0 },
        { "{}", NULL, 0, 0 },
        { "{\"parallelism\": 1}", NULL, 1, 0 },
        { "{\"parallelism\": 1000000}", NULL, 1000000, 0 },
        { "{\"max_bytes\": 1}", NULL, 0, 1 },
        { "{\"max_bytes\": 9223372036854775807}", NULL, 0, 9223372036854775807ull },
        { "{\"parallelism\": 0}", "options.parallelism", 0, 0 },
        { "{\"parallelism\": -1}", "options.parallelism", 0, 0 },
        { "{\"parallelism\": 1000001}", "options.parallelism", 0, 0 },
        { "{\"parallelism\": 4294967297}", "options.parallelism", 0, 0 },
        { "{\"parallelism\": \"8\"}", "options.parallelism", 0, 0 },
        { "{\"parallelism\": 8.0}", "options.parallelism", 0, 0 },
        { "{\"max_bytes\": 0}", "options.max_bytes", 0, 0 },
        { "{\"max_bytes\": -1}", "options.max_bytes", 0, 0 },
        { "{\"max_bytes\": 1e6}", "options.max_bytes", 0, 0 },
        { "{\"parallel\": 2}", "options.parallel", 0, 0 },
        { "{\"s3\": []}", "options.s3", 0, 0 },
        { "{\"s3\": {\"secret\": \"x\"}}", "options.s3.secret", 0, 0 },
        { "{\"s3\": {\"addressing_style\": \"virtual-hosted\"}}", "options.s3.addressing_style", 0, 0 },
        { "[]", "options", 0, 0 },
        { "4", "options", 0, 0 },
        /* varlink: a ?type field may be null, meaning absent */
        { "{\"parallelism\": null}", NULL, 0, 0 },
        { "{\"max_bytes\": null}", NULL, 0, 0 },
        { "{\"s3\": null}", NULL, 0, 0 },
        { "{\"s3\": {\"session_token\": null}}", NULL, 0, 0 },
};

START_TEST(test_options) {
        json_t *options = json(option_cases[_i].options);
        fds_options o = { .parallelism = 77, .max_bytes = 77 };
        char *param = NULL;
        int r = fds_options_parse(options, &o, &param);

        if (option_cases[_i].bad_param) {
                ck_assert_msg(r == -EINVAL, "options %s: %d, want -EINVAL", option_cases[_i].options, r);
                ck_assert_str_eq(param, option_cases[_i].bad_param);
                ck_assert_uint_eq(o.parallelism, 77);
        } else {
                ck_assert_msg(r == 0, "options %s refused: %d, parameter %s", option_cases[_i].options, r,
                              param);
                ck_assert_uint_eq(o.parallelism, option_cases[_i].parallelism);
                ck_assert_uint_eq(o.max_bytes, option_cases[_i].max_bytes);
        }
        free(param);
        json_decref(options);
}
END_TEST

/* options.transfer: the sizes S3 bounds, refused outside them by name. */
static const struct {
        const char *transfer;
        const char *bad_param;
        uint64_t copy_cutoff, chunksize;
} transfer_cases[] = {
        { "{\"copy_cutoff\": 5242880}", NULL, 5242880, 0 },
        { "{\"copy_cutoff\": 5368709120}", NULL, 5368709120ull, 0 },
        { "{\"copy_cutoff\": null, \"multipart_chunksize\": 8388608}", NULL, 0, 8388608 },
        { "{\"copy_cutoff\": 5242879}", "options.transfer.copy_cutoff", 0, 0 },
        { "{\"copy_cutoff\": 5368709121}", "options.transfer.copy_cutoff", 0, 0 },
        { "{\"copy_cutoff\": \"4G\"}", "options.transfer.copy_cutoff", 0, 0 },
        { "{\"multipart_chunksize\": 1048576}", "options.transfer.multipart_chunksize", 0, 0 },
        { "{\"copy_cut_off\": 5242880}", "options.transfer.copy_cut_off", 0, 0 },
};

START_TEST(test_transfer_options) {
        json_t *options = json_pack("{s:o}", "transfer", json(transfer_cases[_i].transfer));
        fds_options o = { 0 };
        char *param = NULL;
        int r = fds_options_parse(options, &o, &param);

        if (transfer_cases[_i].bad_param) {
                ck_assert_msg(r == -EINVAL, "transfer %s: %d, want -EINVAL", transfer_cases[_i].transfer, r);
                ck_assert_str_eq(param, transfer_cases[_i].bad_param);
        } else {
                ck_assert_msg(r == 0, "transfer %s refused: %d, parameter %s", transfer_cases[_i].transfer, r,
                              param);
                ck_assert_uint_eq(o.copy_cutoff, transfer_cases[_i].copy_cutoff);
                ck_assert_uint_eq(o.multipart_chunksize, transfer_cases[_i].chunksize);
        }
        free(param);
        json_decref(options);
}
END_TEST

START_TEST(test_absent_options_are_the_defaults) {
        fds_options o = { .parallelism = 77, .max_bytes = 77, .s3 = (json_t *) &o };

        ck_assert_int_eq(fds_options_parse(NULL, &o, NULL), 0);
        ck_assert_uint_eq(o.parallelism, 0);
        ck_assert_uint_eq(o.max_bytes, 0);
        ck_assert_ptr_null(o.s3);
}
END_TEST

START_TEST(test_s3_options_are_borrowed) {
        json_t *options = json("{\"s3\": {\"endpoint_url\": \"http://127.0.0.1:9000\", \"region\": \"us-east-1\","
                               " \"addressing_style\": \"path\", \"profile\": \"p\", \"access_key_id\": \"AK\","
                               " \"secret_access_key\": \"SK\", \"session_token\": \"T\"}}");
        fds_options o;
        char *param = NULL;

        ck_assert_int_eq(fds_options_parse(options, &o, &param), 0);
        ck_assert_ptr_eq(o.s3, json_object_get(options, "s3"));
        json_decref(options);
}
END_TEST

START_TEST(test_duplicate_destination_names_the_first) {
        json_t *params = json("{\"copies\": ["
                              "{\"src\": \"/s0\", \"dst\": \"/x/y\"},"
                              "{\"src\": \"/s1\", \"dst\": \"/other\"},"
                              "{\"src\": \"/s2\", \"dst\": \"/x//y\"},"
                              "{\"src\": \"/s3\", \"dst\": \"/x/./y/\"}]}");
        fds_request req;

        copy_ok(params, &default_limits, &req);
        expect_problems("duplicates", &req,
                        "[{\"index\": 2, \"path\": \"/x//y\", \"reason\": \"duplicate destination (also copies[0])\"},"
                        " {\"index\": 3, \"path\": \"/x/./y/\", \"reason\": \"duplicate destination (also copies[0])\"}]");
        /* Entries with problems are still all there, parsed. */
        ck_assert_uint_eq(req.n_entries, 4);
        ck_assert_str_eq(req.entries[3].dst_loc.path, "/x/y");
        fds_request_done(&req);
        json_decref(params);
}
END_TEST

START_TEST(test_too_many_entries_is_one_problem_of_the_whole_call) {
        fds_request_limits lim = { .max_entries = 1, .s3_available = true };
        json_t *params = json("{\"files\": {\"a\": \"/a\", \"b\": \"relative\"}}");
        fds_request req;
        char *param = NULL;

        ck_assert_int_eq(fds_request_parse_files(params, &lim, &req, &param), 0);
        ck_assert_uint_eq(req.n_entries, 0);
        ck_assert_uint_eq(json_array_size(req.problems), 1);
        json_t *p = json_array_get(req.problems, 0);
        ck_assert_str_eq(json_string_value(json_object_get(p, "path")), "");
        ck_assert_str_eq(json_string_value(json_object_get(p, "reason")), "2 files in one call; the limit is 1");
        fds_request_done(&req);

        /* max_entries itself is allowed */
        lim.max_entries = 2;
        ck_assert_int_eq(fds_request_parse_files(params, &lim, &req, &param), 0);
        ck_assert_uint_eq(req.n_entries, 2);
        ck_assert_uint_eq(json_array_size(req.problems), 1); /* "relative" */
        fds_request_done(&req);
        json_decref(params);
}
END_TEST

START_TEST(test_too_many_entries_are_not_parsed) {
        fds_request_limits lim = { .max_entries = 0, .s3_available = true };
        json_t *params = json("{\"copies\": [{\"src\": \"/a\", \"dst\": \"/b\"}]}");
        fds_request req;

        copy_ok(params, &lim, &req);
        ck_assert_uint_eq(req.n_entries, 0);
        expect_problems("max_entries 0", &req,
                        "[{\"index\": 0, \"path\": \"\", \"reason\": \"1 files in one call; the limit is 0\"}]");
        fds_request_done(&req);
        json_decref(params);
}
END_TEST

START_TEST(test_problem_add_shapes) {
        json_t *problems = json_array();
        fds_entry by_index = { .index = 7 };
        fds_entry by_key = { .index = 7, .key = "my key" };

        ck_assert_int_eq(fds_problem_add(problems, &by_index, "/p", "why"), 0);
        ck_assert_int_eq(fds_problem_add(problems, &by_key, "s3://b/k", "because"), 0);
        json_t *want = json("[{\"index\": 7, \"path\": \"/p\", \"reason\": \"why\"},"
                            " {\"key\": \"my key\", \"path\": \"s3://b/k\", \"reason\": \"because\"}]");
        ck_assert(json_equal(problems, want));
        json_decref(want);
        json_decref(problems);
}
END_TEST

START_TEST(test_nul_in_a_path_is_a_problem) {
        fds_request req;
        json_t *p = json_loads("{\"copies\":[{\"src\":\"/a\\u0000b\",\"dst\":\"/c\"},"
                               "{\"src\":\"/d\",\"dst\":\"/e\\u0000\"}]}", JSON_ALLOW_NUL, NULL);
        ck_assert_ptr_nonnull(p);
        copy_ok(p, &default_limits, &req);
        expect_problems("NUL", &req,
                        "[{\"index\":0,\"path\":\"/a\",\"reason\":\"path contains a NUL byte\"},"
                        "{\"index\":1,\"path\":\"/e\",\"reason\":\"path contains a NUL byte\"}]");
        fds_request_done(&req);
        json_decref(p);
}
END_TEST

START_TEST(test_echo_is_bounded) {
        char *big = malloc(70000);
        ck_assert_ptr_nonnull(big);
        memset(big, 'a', 69999);
        big[0] = '/';
        big[69999] = '\0';
        char *e = fds_echo(big);
        ck_assert_str_eq(e + FDS_ECHO_MAX, "...(69999 bytes)");
        ck_assert_int_eq(strncmp(e, big, FDS_ECHO_MAX), 0);
        free(e);
        e = fds_echo("/short");
        ck_assert_str_eq(e, "/short");
        free(e);
        /* Never cut inside a UTF-8 character: "é" is 2 bytes, the 256th is
         * the first of one. */
        memset(big, 'a', 255);
        memcpy(big + 255, "\xc3\xa9", 2);
        big[257] = '\0';
        e = fds_echo(big);
        ck_assert_str_eq(e + 255, "...(257 bytes)");
        free(e);
        /* A problem's path is echoed bounded: a 60 MiB path does not come back whole. */
        json_t *problems = json_array();
        fds_entry ent = { .index = 3 };
        memset(big, 'b', 69999);
        big[0] = '/';
        big[69999] = '\0';
        ck_assert_int_eq(fds_problem_add(problems, &ent, big, "path longer than PATH_MAX"), 0);
        const char *path = json_string_value(json_object_get(json_array_get(problems, 0), "path"));
        ck_assert_uint_eq(strlen(path), FDS_ECHO_MAX + strlen("...(69999 bytes)"));
        json_decref(problems);
        free(big);
}
END_TEST

START_TEST(test_done_accepts_null_and_zeroed) {
        fds_request r = { 0 };

        fds_request_done(NULL);
        fds_request_done(&r);
        fds_request_done(&r);
}
END_TEST

/* Fixtures. */

static char fixture_dir[4096];
static char **fixtures; /* names without ".json", sorted */
static int n_fixtures;

static char *slurp(const char *name, const char *ext, size_t *ret_len) {
        char path[4096 + 256];
        char *buf = malloc(FIXTURE_MAX + 1);
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s%s", fixture_dir, name, ext);
        fp = fopen(path, "re");
        ck_assert_msg(fp != NULL, "%s: %m", path);
        ck_assert_ptr_nonnull(buf);
        size_t n = fread(buf, 1, FIXTURE_MAX + 1, fp);
        ck_assert_int_eq(ferror(fp), 0);
        fclose(fp);
        ck_assert_msg(n < FIXTURE_MAX, "%s: fixtures stay under 1 KiB", path);
        buf[n] = '\0';
        *ret_len = n;
        return buf;
}

static json_t *load_expect(const char *name) {
        static const char *const keys[] = { "reason", "invalid_parameter", "problems", "entries",
                                            "options", "limits", "comment", NULL };
        json_error_t err;
        size_t len;
        char *text = slurp(name, ".expect", &len);
        json_t *e = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        const char *k;
        json_t *v;

        ck_assert_msg(json_is_object(e), "%s.expect: %s", name, err.text);
        json_object_foreach(e, k, v) {
                const char *const *p = keys;
                while (*p && strcmp(*p, k) != 0)
                        p++;
                ck_assert_msg(*p != NULL, "%s.expect: unknown key \"%s\"", name, k);
        }
        free(text);
        return e;
}

static void check_entries(const char *name, const fds_request *req, json_t *want, bool copy) {
        ck_assert_msg(json_array_size(want) == req->n_entries, "%s: %zu entries, want %zu", name,
                      req->n_entries, json_array_size(want));
        for (size_t i = 0; i < req->n_entries; i++) {
                const fds_entry *e = &req->entries[i];
                json_t *w = json_array_get(want, i);
                char *src = location_string(&e->src_loc);

                ck_assert_uint_eq(e->index, i);
                ck_assert_msg(strcmp(src, json_string_value(json_object_get(w, "src"))) == 0,
                              "%s: entry %zu src %s", name, i, src);
                if (copy) {
                        char *dst = location_string(&e->dst_loc);
                        ck_assert_msg(strcmp(dst, json_string_value(json_object_get(w, "dst"))) == 0,
                                      "%s: entry %zu dst %s", name, i, dst);
                        free(dst);
                } else
                        ck_assert_str_eq(e->key, json_string_value(json_object_get(w, "key")));
                free(src);
        }
}

static void check_options(const char *name, const fds_options *o, json_t *want) {
        json_t *s3 = json_object_get(want, "s3");

        ck_assert_msg(o->parallelism == (unsigned) json_integer_value(json_object_get(want, "parallelism")),
                      "%s: parallelism %u", name, o->parallelism);
        ck_assert_msg(o->max_bytes == (uint64_t) json_integer_value(json_object_get(want, "max_bytes")),
                      "%s: max_bytes %llu", name, (unsigned long long) o->max_bytes);
        if (s3)
                ck_assert_msg(o->s3 && json_equal(o->s3, s3), "%s: options.s3 differs", name);
        else
                ck_assert_msg(!o->s3, "%s: options.s3 set", name);
}

/* The Copy/Size/Read parser's outcome for a decoded fixture call. */
static void check_request(const char *name, json_t *expect, const fds_call *call) {
        json_t *want_param = json_object_get(expect, "invalid_parameter");
        json_t *want_problems = json_object_get(expect, "problems");
        json_t *limits = json_object_get(expect, "limits");
        fds_request_limits lim = default_limits;
        fds_request req = { 0 };
        char *param = NULL;
        json_t *v;
        int r;

        if ((v = json_object_get(limits, "max_entries")))
                lim.max_entries = (size_t) json_integer_value(v);
        if ((v = json_object_get(limits, "s3_available")))
                lim.s3_available = json_is_true(v);

        bool copy = strcmp(call->method, "io.fds.Transfer.Copy") == 0;
        ck_assert_msg(copy || strcmp(call->method, "io.fds.Transfer.Size") == 0 ||
                              strcmp(call->method, "io.fds.Transfer.Read") == 0,
                      "%s: method %s", name, call->method);
        r = copy ? fds_request_parse_copy(call->parameters, &lim, &req, &param)
                 : fds_request_parse_files(call->parameters, &lim, &req, &param);
        if (want_param) {
                ck_assert_msg(r == -EINVAL, "%s: %d, want -EINVAL", name, r);
                ck_assert_msg(param && strcmp(param, json_string_value(want_param)) == 0,
                              "%s: invalid parameter \"%s\", want \"%s\"", name, param,
                              json_string_value(want_param));
                free(param);
                return;
        }
        ck_assert_msg(r == 0, "%s: refused (%d), parameter \"%s\"", name, r, param);
        if (want_problems ? !json_equal(req.problems, want_problems) : json_array_size(req.problems) > 0) {
                char *got = json_dumps(req.problems, JSON_INDENT(1));
                ck_abort_msg("%s: problems\n%s", name, got);
        }
        if ((v = json_object_get(expect, "entries")))
                check_entries(name, &req, v, copy);
        if ((v = json_object_get(expect, "options")))
                check_options(name, &req.options, v);
        fds_request_done(&req);
}

START_TEST(test_fixture) {
        const char *name = fixtures[_i];
        bool good = strncmp(name, "good-", 5) == 0;
        json_t *expect = load_expect(name);
        json_t *want_reason = json_object_get(expect, "reason");
        json_t *want_param = json_object_get(expect, "invalid_parameter");
        json_t *want_problems = json_object_get(expect, "problems");
        size_t len, msg_len;
        char *text = slurp(name, ".json", &len);
        const char *msg, *reason = NULL;
        fds_frame f;
        fds_call call;
        int r;

        ck_assert_msg(good || strncmp(name, "bad-", 4) == 0, "%s: name must start good- or bad-", name);
        ck_assert_msg(!!want_reason + !!want_param + !!want_problems <= 1, "%s: expect one outcome", name);
        ck_assert_msg(good == (!want_reason && !want_param && json_array_size(want_problems) == 0),
                      "%s: a good- fixture expects no error, a bad- one exactly one kind", name);
        ck_assert_msg(!memchr(text, '\0', len), "%s: the test adds the NUL", name);

        /* One frame in, one message out. */
        fds_frame_init(&f, FIXTURE_MAX);
        ck_assert_int_eq(fds_frame_feed(&f, text, len), 0);
        ck_assert_int_eq(fds_frame_feed(&f, "", 1), 0);
        ck_assert_int_eq(fds_frame_next(&f, &msg, &msg_len), 1);
        ck_assert_uint_eq(msg_len, len);

        r = fds_call_parse(msg, msg_len, &call, &reason);
        if (want_reason) {
                ck_assert_msg(r == -EBADMSG, "%s: message accepted", name);
                ck_assert_str_eq(reason, json_string_value(want_reason));
        } else {
                ck_assert_msg(r == 0, "%s: message refused: %s", name, reason);
                check_request(name, expect, &call);
                fds_call_done(&call);
        }
        fds_frame_done(&f);
        json_decref(expect);
        free(text);
}
END_TEST

START_TEST(test_fixtures_are_there) {
        ck_assert_msg(getenv("FDS_TEST_DATA"), "FDS_TEST_DATA is not set");
        ck_assert_msg(n_fixtures >= 40, "%d fixtures in %s", n_fixtures, fixture_dir);
}
END_TEST

static int is_fixture(const struct dirent *d) {
        size_t n = strlen(d->d_name);
        return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static void find_fixtures(void) {
        const char *data = getenv("FDS_TEST_DATA");
        struct dirent **list;

        if (!data)
                return;
        snprintf(fixture_dir, sizeof(fixture_dir), "%s/proto", data);
        n_fixtures = scandir(fixture_dir, &list, is_fixture, alphasort);
        if (n_fixtures < 0) {
                n_fixtures = 0;
                return;
        }
        fixtures = calloc((size_t) n_fixtures, sizeof(char *));
        for (int i = 0; i < n_fixtures; i++) {
                fixtures[i] = strndup(list[i]->d_name, strlen(list[i]->d_name) - 5);
                free(list[i]);
        }
        free(list);
}

#define N(a) ((int) (sizeof(a) / sizeof((a)[0])))

static Suite *request_suite(void) {
        Suite *s = suite_create("request");
        TCase *entries = tcase_create("entries");
        TCase *options = tcase_create("options");
        TCase *files = tcase_create("fixtures");

        tcase_add_test(entries, test_copy_entries_are_copied_and_parsed);
        tcase_add_test(entries, test_files_entries_follow_the_object_order);
        tcase_add_test(entries, test_shape_errors_name_the_parameter);
        tcase_add_test(entries, test_filters);
        tcase_add_test(entries, test_shape_error_after_problems_is_still_an_error);
        tcase_add_test(entries, test_duplicate_destination_names_the_first);
        tcase_add_test(entries, test_too_many_entries_is_one_problem_of_the_whole_call);
        tcase_add_test(entries, test_too_many_entries_are_not_parsed);
        tcase_add_test(entries, test_problem_add_shapes);
        tcase_add_test(entries, test_done_accepts_null_and_zeroed);
        suite_add_tcase(s, entries);

        tcase_add_loop_test(options, test_options, 0, N(option_cases));
        tcase_add_loop_test(options, test_transfer_options, 0, N(transfer_cases));
        tcase_add_test(options, test_absent_options_are_the_defaults);
        tcase_add_test(options, test_s3_options_are_borrowed);
        tcase_add_test(entries, test_nul_in_a_path_is_a_problem);
        tcase_add_test(entries, test_echo_is_bounded);
        suite_add_tcase(s, options);

        tcase_add_test(files, test_fixtures_are_there);
        tcase_add_loop_test(files, test_fixture, 0, n_fixtures);
        suite_add_tcase(s, files);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        find_fixtures();
        sr = srunner_create(request_suite());
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        for (int i = 0; i < n_fixtures; i++)
                free(fixtures[i]);
        free(fixtures);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
