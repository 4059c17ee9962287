/* SPDX-License-Identifier: MIT */
/*
 * s3_xml against stored bodies: tests/data/s3_xml/<name>.xml is parsed with the
 * default limits and the outcome, written out as text (entries as the callbacks
 * saw them, then the result fields, or "error=ENAME"), must equal <name>.expect.
 * Every body is also fed one byte at a time and in 7-byte pieces, which must
 * not change anything. The expectations of the well-formed bodies were written
 * from Python's xml.etree, not from this parser. The data directory
 * (tests/data) comes from argv[1] or $FDS_TEST_DATA.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "s3_xml.h"

static char *xml_dir;
static char **fixtures; /* names without ".xml" */
static size_t n_fixtures;

static char *slurp(const char *name, const char *suffix, size_t *ret_len) {
        char *path;
        ck_assert_int_ge(asprintf(&path, "%s/%s%s", xml_dir, name, suffix), 0);
        char *buf = fixture_read(path, ret_len);
        ck_assert_msg(buf, "cannot read %s", path);
        free(path);
        return buf;
}

static const char *errno_name(int r) {
        switch (-r) {
        case EBADMSG:
                return "EBADMSG";
        case EMSGSIZE:
                return "EMSGSIZE";
        case ENODATA:
                return "ENODATA";
        case ENOMEM:
                return "ENOMEM";
        case ECANCELED:
                return "ECANCELED";
        case EINVAL:
                return "EINVAL";
        default:
                return "other";
        }
}

static const char *kind_name(s3_xml_kind k) {
        switch (k) {
        case S3_XML_ERROR:
                return "error";
        case S3_XML_LIST_BUCKET:
                return "list-bucket";
        case S3_XML_INITIATE_MULTIPART:
                return "initiate-multipart";
        case S3_XML_COMPLETE_MULTIPART:
                return "complete-multipart";
        case S3_XML_COPY_OBJECT:
                return "copy-object";
        case S3_XML_COPY_PART:
                return "copy-part";
        case S3_XML_LIST_MULTIPART_UPLOADS:
                return "list-multipart-uploads";
        default:
                return "unknown";
        }
}

/* The text form of one parse; callbacks write into it as they run. */
typedef struct dump {
        FILE *f;
        char *text;
        size_t len;
        int cancel_after; /* > 0: the object callback fails with -ECANCELED at this entry */
        int objects;
} dump;

static int on_object(const s3_xml_object *o, void *userdata) {
        dump *d = userdata;

        if (++d->objects == d->cancel_after)
                return -ECANCELED;
        fprintf(d->f, "object [%s] size=%" PRIu64, o->key, o->size);
        if (o->etag)
                fprintf(d->f, " etag=[%s]", o->etag);
        if (o->last_modified)
                fprintf(d->f, " last_modified=[%s]", o->last_modified);
        fputc('\n', d->f);
        return 0;
}

static int on_prefix(const char *prefix, void *userdata) {
        dump *d = userdata;
        fprintf(d->f, "prefix [%s]\n", prefix);
        return 0;
}

static int on_upload(const char *key, const char *upload_id, void *userdata) {
        dump *d = userdata;
        fprintf(d->f, "upload [%s] upload_id=[%s]\n", key, upload_id);
        return 0;
}

static void dump_field(FILE *f, const char *name, const char *value) {
        if (value)
                fprintf(f, "%s=[%s]\n", name, value);
}

static void dump_result(FILE *f, const s3_xml_result *r) {
        fprintf(f, "kind=%s\n", kind_name(r->kind));
        dump_field(f, "code", r->code);
        dump_field(f, "message", r->message);
        dump_field(f, "request_id", r->request_id);
        dump_field(f, "region", r->region);
        dump_field(f, "endpoint", r->endpoint);
        dump_field(f, "bucket", r->bucket);
        dump_field(f, "key", r->key);
        dump_field(f, "upload_id", r->upload_id);
        dump_field(f, "location", r->location);
        dump_field(f, "etag", r->etag);
        dump_field(f, "last_modified", r->last_modified);
        dump_field(f, "next_continuation_token", r->next_continuation_token);
        dump_field(f, "next_key_marker", r->next_key_marker);
        dump_field(f, "next_upload_id_marker", r->next_upload_id_marker);
        if (r->is_truncated)
                fprintf(f, "is_truncated=true\n");
        if (r->has_key_count)
                fprintf(f, "key_count=%" PRIu64 "\n", r->key_count);
        fprintf(f, "n_objects=%" PRIu64 " n_prefixes=%" PRIu64 " n_uploads=%" PRIu64 "\n", r->n_objects,
                r->n_prefixes, r->n_uploads);
}

/* Parse body fed in pieces of `piece` bytes (0: whole); returns the parse's result code
 * and leaves its text form in d->text. */
static int parse_dump(const char *body, size_t len, size_t piece, const s3_xml_limits *lim, dump *d) {
        s3_xml_callbacks cb = {.object = on_object, .prefix = on_prefix, .upload = on_upload, .userdata = d};
        s3_xml_parser *p = NULL;
        s3_xml_result *res = NULL;
        int r = 0;

        d->f = open_memstream(&d->text, &d->len);
        ck_assert_ptr_nonnull(d->f);
        ck_assert_int_eq(s3_xml_parser_new(&cb, lim, &p), 0);
        for (size_t off = 0; off < len && r >= 0; off += piece ? piece : len) {
                size_t n = piece && piece < len - off ? piece : len - off;
                r = s3_xml_parser_feed(p, body + off, n);
        }
        if (r >= 0)
                r = s3_xml_parser_finish(p, &res);
        if (r >= 0)
                dump_result(d->f, res);
        else
                fprintf(d->f, "error=%s\n", errno_name(r));
        /* An error sticks. */
        if (r < 0) {
                ck_assert_int_eq(s3_xml_parser_feed(p, "<a/>", 4), r);
                ck_assert_int_eq(s3_xml_parser_finish(p, &res), r);
        }
        s3_xml_result_free(res);
        s3_xml_parser_free(p);
        ck_assert_int_eq(fclose(d->f), 0);
        return r;
}

static void expect_dump(const char *name, const char *expect_name, size_t piece, const s3_xml_limits *lim) {
        size_t len;
        char *body = slurp(name, ".xml", &len), *want = slurp(expect_name, ".expect", NULL);
        dump d = {};

        parse_dump(body, len, piece, lim, &d);
        ck_assert_msg(strcmp(d.text, want) == 0,
                      "%s.xml fed in pieces of %zu:\n--- got:\n%s--- want (%s.expect):\n%s", name, piece,
                      d.text, expect_name, want);
        free(d.text);
        free(body);
        free(want);
}

START_TEST(test_fixture) {
        expect_dump(fixtures[_i], fixtures[_i], 0, NULL);
        expect_dump(fixtures[_i], fixtures[_i], 1, NULL);
        expect_dump(fixtures[_i], fixtures[_i], 7, NULL);
}
END_TEST

/* Result code of parsing a fixture whole with the given limits. */
static int parse_fixture(const char *name, const s3_xml_limits *lim) {
        size_t len;
        char *body = slurp(name, ".xml", &len);
        dump d = {};

        int r = parse_dump(body, len, 0, lim, &d);
        free(d.text);
        free(body);
        return r;
}

START_TEST(test_limits) {
        s3_xml_limits lim = s3_xml_default_limits;

        /* The key in oversize-text.xml is 100 bytes. */
        lim.max_text = 99;
        ck_assert_int_eq(parse_fixture("oversize-text", &lim), -EMSGSIZE);
        lim.max_text = 100;
        ck_assert_int_eq(parse_fixture("oversize-text", &lim), 0);

        /* list-page1.xml has two Contents and one CommonPrefixes. */
        lim = s3_xml_default_limits;
        lim.max_items = 2;
        ck_assert_int_eq(parse_fixture("list-page1", &lim), -EMSGSIZE);
        lim.max_items = 3;
        ck_assert_int_eq(parse_fixture("list-page1", &lim), 0);

        /* deep.xml nests 9 elements. */
        lim = s3_xml_default_limits;
        lim.max_depth = 8;
        ck_assert_int_eq(parse_fixture("deep", &lim), -EMSGSIZE);
        lim.max_depth = 9;
        ck_assert_int_eq(parse_fixture("deep", &lim), 0);

        lim = s3_xml_default_limits;
        lim.max_body = 100;
        ck_assert_int_eq(parse_fixture("copy-object", &lim), -EMSGSIZE);
}
END_TEST

START_TEST(test_url_decode) {
        s3_xml_limits lim = s3_xml_default_limits;
        static const char bad[] =
                "<ListBucketResult><Contents><Key>a%zz</Key><Size>1</Size></Contents></ListBucketResult>";
        s3_xml_result *res = NULL;

        lim.url_decode = true;
        expect_dump("list-url-encoded", "list-url-decoded", 0, &lim);
        expect_dump("list-url-encoded", "list-url-decoded", 1, &lim);
        ck_assert_int_eq(s3_xml_parse(bad, strlen(bad), NULL, &lim, &res), -EBADMSG);
        ck_assert_ptr_null(res);
}
END_TEST

START_TEST(test_callback_error) {
        size_t len;
        char *body = slurp("list-page1", ".xml", &len);
        dump d = {.cancel_after = 2};

        ck_assert_int_eq(parse_dump(body, len, 0, NULL, &d), -ECANCELED);
        ck_assert_ptr_nonnull(strstr(d.text, "object [photos/a.jpg]"));
        ck_assert_ptr_null(strstr(d.text, "photos/b.jpg"));
        ck_assert_ptr_null(strstr(d.text, "prefix"));
        free(d.text);
        free(body);
}
END_TEST

START_TEST(test_lifecycle) {
        s3_xml_parser *p = NULL;
        s3_xml_result *res = NULL;
        static const char body[] = "<CopyObjectResult><ETag>\"x\"</ETag></CopyObjectResult>";

        ck_assert_ptr_null(s3_xml_parser_free(NULL));
        ck_assert_ptr_null(s3_xml_result_free(NULL));

        ck_assert_int_eq(s3_xml_parser_new(NULL, NULL, &p), 0);
        ck_assert_int_eq(s3_xml_parser_feed(p, body, strlen(body)), 0);
        ck_assert_int_eq(s3_xml_parser_finish(p, &res), 0);
        ck_assert_int_eq(res->kind, S3_XML_COPY_OBJECT);
        ck_assert_str_eq(res->etag, "\"x\"");
        /* The result was handed over: the parser may go first. */
        p = s3_xml_parser_free(p);
        res = s3_xml_result_free(res);

        /* A parser left half way frees what it holds. */
        ck_assert_int_eq(s3_xml_parser_new(NULL, NULL, &p), 0);
        ck_assert_int_eq(s3_xml_parser_feed(p, "<ListBucketResult><Contents><Key>k</Key><ETag>e", 47), 0);
        p = s3_xml_parser_free(p);

        /* Nothing more after finish. */
        ck_assert_int_eq(s3_xml_parser_new(NULL, NULL, &p), 0);
        ck_assert_int_eq(s3_xml_parser_feed(p, body, strlen(body)), 0);
        ck_assert_int_eq(s3_xml_parser_finish(p, &res), 0);
        ck_assert_int_eq(s3_xml_parser_feed(p, " ", 1), -EINVAL);
        s3_xml_result_free(res);
        s3_xml_parser_free(p);
}
END_TEST

static int count_object(const s3_xml_object *o, void *userdata) {
        uint64_t *n = userdata;
        (*n)++;
        return o->size == 7 ? 0 : -EIO;
}

/* A listing far larger than any page, fed as it would arrive: entries go to the
 * callback and nothing accumulates. */
START_TEST(test_long_listing) {
        const uint64_t total = 250000;
        s3_xml_limits lim = s3_xml_default_limits;
        s3_xml_callbacks cb = {.object = count_object};
        s3_xml_parser *p = NULL;
        s3_xml_result *res = NULL;
        uint64_t seen = 0;
        char piece[256];

        lim.max_items = total;
        lim.max_body = SIZE_MAX;
        cb.userdata = &seen;
        ck_assert_int_eq(s3_xml_parser_new(&cb, &lim, &p), 0);
        static const char head[] = "<ListBucketResult><IsTruncated>false</IsTruncated>";
        ck_assert_int_eq(s3_xml_parser_feed(p, head, strlen(head)), 0);
        for (uint64_t i = 0; i < total; i++) {
                int n = snprintf(piece, sizeof(piece),
                                 "<Contents><Key>dir/file-%08" PRIu64 "</Key><Size>7</Size></Contents>", i);
                ck_assert_int_eq(s3_xml_parser_feed(p, piece, (size_t) n), 0);
        }
        ck_assert_int_eq(s3_xml_parser_feed(p, "</ListBucketResult>", 19), 0);
        ck_assert_int_eq(s3_xml_parser_finish(p, &res), 0);
        ck_assert_uint_eq(seen, total);
        ck_assert_uint_eq(res->n_objects, total);
        s3_xml_result_free(res);
        s3_xml_parser_free(p);
}
END_TEST

/* Every NAME.xml is a fixture, known by NAME. */
static char *keep_xml(const char *dir, const char *name) {
        size_t len = strlen(name);
        if (len <= 4 || strcmp(name + len - 4, ".xml") != 0)
                return NULL;
        return strndup(name, len - 4);
}

int main(int argc, char *argv[]) {
        const char *data = argc > 1 ? argv[1] : getenv("FDS_TEST_DATA");

        if (!data) {
                fprintf(stderr, "usage: %s TEST_DATA_DIR (or set FDS_TEST_DATA)\n", argv[0]);
                return EXIT_FAILURE;
        }
        if (asprintf(&xml_dir, "%s/s3_xml", data) < 0 || fixture_list(xml_dir, keep_xml, &fixtures, &n_fixtures) < 0 || n_fixtures == 0) {
                fprintf(stderr, "no fixtures found in %s/s3_xml\n", data);
                return EXIT_FAILURE;
        }

        Suite *su = suite_create("s3_xml");
        TCase *tc = tcase_create("fixtures");
        tcase_add_loop_test(tc, test_fixture, 0, (int) n_fixtures);
        suite_add_tcase(su, tc);
        tc = tcase_create("api");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_url_decode);
        tcase_add_test(tc, test_callback_error);
        tcase_add_test(tc, test_lifecycle);
        tcase_add_test(tc, test_long_listing);
        suite_add_tcase(su, tc);

        SRunner *sr = srunner_create(su);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        for (size_t i = 0; i < n_fixtures; i++)
                free(fixtures[i]);
        free(fixtures);
        free(xml_dir);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
