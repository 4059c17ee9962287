/* SPDX-License-Identifier: MIT */
/*
 * sigv4 against stored cases: tests/data/sigv4/<case>/ holds the request
 * (request.json, context.json) and every stage of the signature
 * (canonical-request.txt, string-to-sign.txt, signature.txt, authorization.txt),
 * so a failing case names the stage that went wrong. The data directory
 * (tests/data) comes from argv[1] or $FDS_TEST_DATA.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "sigv4.h"

static char *sigv4_dir;
static char **cases;
static size_t n_cases;

/* A whole file with one trailing newline dropped, or NULL if there is none. */
static char *slurp(const char *dir, const char *name) {
        char *path;
        size_t len;
        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
        char *buf = fixture_read(path, &len);
        free(path);
        if (buf && len > 0 && buf[len - 1] == '\n')
                buf[len - 1] = '\0';
        return buf;
}

static time_t parse_timestamp(const char *s) {
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

        ck_assert_msg(end && *end == '\0', "bad timestamp %s", s);
        return timegm(&tm);
}

/* [["name", "value" or null], ...] into pairs that borrow the JSON strings. */
static sigv4_pair *pairs_from_json(json_t *a, size_t *ret_n) {
        size_t n = json_is_array(a) ? json_array_size(a) : 0;
        sigv4_pair *p = calloc(n + 1, sizeof(*p));

        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < n; i++) {
                json_t *e = json_array_get(a, i);
                ck_assert(json_is_array(e) && json_array_size(e) == 2);
                p[i].name = json_string_value(json_array_get(e, 0));
                p[i].value = json_string_value(json_array_get(e, 1)); /* NULL for null */
                ck_assert_ptr_nonnull(p[i].name);
        }
        *ret_n = n;
        return p;
}

static json_t *load_json(const char *dir, const char *name) {
        char *path;
        json_error_t err;

        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
        json_t *j = json_load_file(path, 0, &err);
        ck_assert_msg(j, "%s: %s", path, err.text);
        free(path);
        return j;
}

static void expect_stage(const char *dir, const char *stage, const char *got) {
        char *want = slurp(dir, stage);

        ck_assert_msg(want, "%s/%s missing", dir, stage);
        ck_assert_msg(strcmp(got, want) == 0, "%s: %s differs\n--- got:\n%s\n--- want:\n%s", dir, stage, got,
                      want);
        free(want);
}

/* The URL path and query must be exactly what was signed: lines 2 and 3 of the canonical request. */
static void expect_path_query(const sigv4_signed *s) {
        const char *path = strchr(s->canonical_request, '\n') + 1;
        const char *query = strchr(path, '\n') + 1;
        const char *end = strchr(query, '\n');
        char *want;

        if (end == query)
                ck_assert_int_ge(asprintf(&want, "%.*s", (int) (query - 1 - path), path), 0);
        else
                ck_assert_int_ge(asprintf(&want, "%.*s?%.*s", (int) (query - 1 - path), path,
                                          (int) (end - query), query),
                                 0);
        ck_assert_str_eq(s->path_query, want);
        free(want);
}

static void expect_header_lines(const sigv4_signed *s, const sigv4_request *req,
                                const sigv4_credentials *c) {
        size_t n = 0;
        char *line;

        ck_assert_int_ge(asprintf(&line, "Authorization: %s", s->authorization), 0);
        ck_assert_str_eq(s->header_lines[n++], line);
        free(line);
        ck_assert_int_ge(asprintf(&line, "x-amz-date: %s", s->amz_date), 0);
        ck_assert_str_eq(s->header_lines[n++], line);
        free(line);
        if (!req->omit_content_sha256) {
                ck_assert_int_ge(asprintf(&line, "x-amz-content-sha256: %s",
                                          req->payload_hash ? req->payload_hash : SIGV4_EMPTY_SHA256),
                                 0);
                ck_assert_str_eq(s->header_lines[n++], line);
                free(line);
        }
        if (c->session_token) {
                ck_assert_int_ge(asprintf(&line, "x-amz-security-token: %s", c->session_token), 0);
                ck_assert_str_eq(s->header_lines[n++], line);
                free(line);
        }
        ck_assert_uint_eq(s->n_header_lines, n);
        ck_assert_ptr_null(s->header_lines[n]);
}

START_TEST(test_case_dir) {
        char *dir;
        sigv4_signed *s = NULL;

        ck_assert_int_ge(asprintf(&dir, "%s/%s", sigv4_dir, cases[_i]), 0);
        json_t *ctx = load_json(dir, "context.json"), *rq = load_json(dir, "request.json");
        json_t *cred = json_object_get(ctx, "credentials");
        sigv4_credentials c = {
                .access_key_id = json_string_value(json_object_get(cred, "access_key_id")),
                .secret_access_key = json_string_value(json_object_get(cred, "secret_access_key")),
                .session_token = json_string_value(json_object_get(cred, "token")),
        };
        sigv4_request req = {
                .method = json_string_value(json_object_get(rq, "method")),
                .host = json_string_value(json_object_get(rq, "host")),
                .path = json_string_value(json_object_get(rq, "path")),
                .payload_hash = json_string_value(json_object_get(rq, "payload_hash")),
                .region = json_string_value(json_object_get(ctx, "region")),
                .service = json_string_value(json_object_get(ctx, "service")),
                .time = parse_timestamp(json_string_value(json_object_get(ctx, "timestamp"))),
                .omit_content_sha256 = json_is_true(json_object_get(ctx, "omit_content_sha256")),
        };
        sigv4_pair *q = pairs_from_json(json_object_get(rq, "query"), &req.n_query);
        sigv4_pair *h = pairs_from_json(json_object_get(rq, "headers"), &req.n_headers);
        req.query = q;
        req.headers = h;

        ck_assert_int_eq(sigv4_sign(&req, &c, &s), 0);
        expect_stage(dir, "canonical-request.txt", s->canonical_request);
        expect_stage(dir, "string-to-sign.txt", s->string_to_sign);
        expect_stage(dir, "signature.txt", s->signature);
        expect_stage(dir, "authorization.txt", s->authorization);
        expect_path_query(s);
        expect_header_lines(s, &req, &c);

        sigv4_signed_free(s);
        free(q);
        free(h);
        json_decref(ctx);
        json_decref(rq);
        free(dir);
}
END_TEST

static void expect_encoded(const char *in, bool keep_slash, const char *want) {
        char *got = NULL;

        ck_assert_int_eq(sigv4_uri_encode(in, keep_slash, &got), 0);
        ck_assert_str_eq(got, want);
        free(got);
}

START_TEST(test_uri_encode) {
        expect_encoded("", true, "");
        expect_encoded("AZaz09-_.~", false, "AZaz09-_.~");
        expect_encoded("a b", true, "a%20b");
        expect_encoded("+%=&?#", true, "%2B%25%3D%26%3F%23");
        expect_encoded("a//b/", true, "a//b/");
        expect_encoded("a//b/", false, "a%2F%2Fb%2F");
        /* ü€: UTF-8 bytes one by one, uppercase hex */
        expect_encoded("\xc3\xbc\xe2\x82\xac", true, "%C3%BC%E2%82%AC");
        /* encoded once, never decoded first */
        expect_encoded("%2F", true, "%252F");
        expect_encoded("\x01\x7f\xff", true, "%01%7F%FF");
}
END_TEST

START_TEST(test_sha256) {
        static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        char hex[SIGV4_SHA256_HEX_SIZE];
        sigv4_sha256 *h = NULL;

        ck_assert_int_eq(sigv4_sha256_hex("", 0, hex), 0);
        ck_assert_str_eq(hex, SIGV4_EMPTY_SHA256);
        ck_assert_int_eq(sigv4_sha256_hex("abc", 3, hex), 0);
        ck_assert_str_eq(hex, abc);

        ck_assert_int_eq(sigv4_sha256_new(&h), 0);
        ck_assert_int_eq(sigv4_sha256_update(h, "a", 1), 0);
        ck_assert_int_eq(sigv4_sha256_update(h, "", 0), 0);
        ck_assert_int_eq(sigv4_sha256_update(h, "bc", 2), 0);
        ck_assert_int_eq(sigv4_sha256_final_hex(h, hex), 0);
        ck_assert_str_eq(hex, abc);
        ck_assert_ptr_null(sigv4_sha256_free(h));
        ck_assert_ptr_null(sigv4_sha256_free(NULL));
}
END_TEST

static const sigv4_credentials good_creds = {
        .access_key_id = "AKIAIOSFODNN7EXAMPLE",
        .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
};

static sigv4_request good_request(void) {
        return (sigv4_request){
                .method = "GET",
                .host = "127.0.0.1:7480",
                .path = "/bucket/key",
                .region = "us-east-1",
                .service = "s3",
                .time = 1369353600, /* 2013-05-24T00:00:00Z */
        };
}

static void expect_sign_error(const sigv4_request *req, const sigv4_credentials *c, int want) {
        sigv4_signed *s = NULL;

        ck_assert_int_eq(sigv4_sign(req, c, &s), want);
        ck_assert_ptr_null(s);
}

START_TEST(test_invalid) {
        sigv4_request req = good_request();
        sigv4_credentials c = good_creds;
        sigv4_pair h[1];

        req.path = "bucket/key";
        expect_sign_error(&req, &c, -EINVAL);
        req = good_request();
        req.method = "GET /";
        expect_sign_error(&req, &c, -EINVAL);
        req = good_request();
        req.host = NULL;
        expect_sign_error(&req, &c, -EINVAL);
        req = good_request();
        req.region = "us/east";
        expect_sign_error(&req, &c, -EINVAL);
        req = good_request();
        req.time = -1;
        expect_sign_error(&req, &c, -EINVAL);

        /* Header injection through a value, and headers the signer owns. */
        const sigv4_pair bad[] = {
                {"x-amz-meta-a", "1\r\nx-evil: 2"},
                {"Host", "other"},
                {"X-Amz-Date", "x"},
                {"bad name", "v"},
                {"x-amz-security-token", "t"},
                {"x-amz-meta-b", NULL},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                req = good_request();
                h[0] = bad[i];
                req.headers = h;
                req.n_headers = 1;
                expect_sign_error(&req, &c, -EINVAL);
        }

        req = good_request();
        c.session_token = "tok\nen";
        expect_sign_error(&req, &c, -EINVAL);
        c = good_creds;
        c.access_key_id = "AKID/x";
        expect_sign_error(&req, &c, -EINVAL);
        c = good_creds;
        c.secret_access_key = "";
        expect_sign_error(&req, &c, -EINVAL);
}
END_TEST

START_TEST(test_outputs) {
        sigv4_request req = good_request();
        sigv4_credentials c = good_creds;
        sigv4_signed *s = NULL;

        /* An empty session token means none. */
        c.session_token = "";
        ck_assert_int_eq(sigv4_sign(&req, &c, &s), 0);
        ck_assert_str_eq(s->amz_date, "20130524T000000Z");
        ck_assert_str_eq(s->path_query, "/bucket/key");
        ck_assert_uint_eq(s->n_header_lines, 3);
        ck_assert_str_eq(s->header_lines[2], "x-amz-content-sha256: " SIGV4_EMPTY_SHA256);
        ck_assert_ptr_nonnull(strstr(s->canonical_request, "\nhost:127.0.0.1:7480\n"));
        ck_assert_ptr_nonnull(
                strstr(s->authorization, "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "));
        s = sigv4_signed_free(s);
        ck_assert_ptr_null(s);

        /* Without x-amz-content-sha256 (other services) only two lines remain. */
        req.omit_content_sha256 = true;
        ck_assert_int_eq(sigv4_sign(&req, &c, &s), 0);
        ck_assert_uint_eq(s->n_header_lines, 2);
        ck_assert_ptr_null(s->header_lines[2]);
        s = sigv4_signed_free(s);
        ck_assert_ptr_null(sigv4_signed_free(NULL));
}
END_TEST

/* Every subfolder holding a request.json is a case. */
static char *keep_case(const char *dir, const char *name) {
        char *p;
        if (asprintf(&p, "%s/%s/request.json", dir, name) < 0) {
                errno = ENOMEM;
                return NULL;
        }
        bool is_case = access(p, R_OK) == 0;
        free(p);
        return is_case ? strdup(name) : NULL;
}

int main(int argc, char *argv[]) {
        const char *data = argc > 1 ? argv[1] : getenv("FDS_TEST_DATA");

        if (!data) {
                fprintf(stderr, "usage: %s TEST_DATA_DIR (or set FDS_TEST_DATA)\n", argv[0]);
                return EXIT_FAILURE;
        }
        if (asprintf(&sigv4_dir, "%s/sigv4", data) < 0 || fixture_list(sigv4_dir, keep_case, &cases, &n_cases) < 0 || n_cases == 0) {
                fprintf(stderr, "no sigv4 cases found in %s/sigv4\n", data);
                return EXIT_FAILURE;
        }

        Suite *su = suite_create("sigv4");
        TCase *tc = tcase_create("cases");
        tcase_add_loop_test(tc, test_case_dir, 0, (int) n_cases);
        suite_add_tcase(su, tc);
        tc = tcase_create("helpers");
        tcase_add_test(tc, test_uri_encode);
        tcase_add_test(tc, test_sha256);
        tcase_add_test(tc, test_invalid);
        tcase_add_test(tc, test_outputs);
        suite_add_tcase(su, tc);

        SRunner *sr = srunner_create(su);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        for (size_t i = 0; i < n_cases; i++)
                free(cases[i]);
        free(cases);
        free(sigv4_dir);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
