/* SPDX-License-Identifier: MIT */
/* fds_location: what the protocol accepts as a file's address. */
#include "location.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static void expect_local(const char *in, const char *want) {
        fds_location l = { 0 };
        const char *reason = NULL;

        ck_assert_msg(fds_location_parse(in, &l, &reason) == 0, "\"%s\" refused: %s", in, reason);
        ck_assert_int_eq(l.kind, FDS_LOCATION_LOCAL);
        ck_assert_msg(strcmp(l.path, want) == 0, "\"%s\" became \"%s\", want \"%s\"", in, l.path, want);
        ck_assert_ptr_null(l.bucket);
        ck_assert_ptr_null(l.key);
        fds_location_done(&l);
}

static void expect_s3(const char *in, const char *bucket, const char *key) {
        fds_location l = { 0 };
        const char *reason = NULL;

        ck_assert_msg(fds_location_parse(in, &l, &reason) == 0, "\"%s\" refused: %s", in, reason);
        ck_assert_int_eq(l.kind, FDS_LOCATION_S3);
        ck_assert_str_eq(l.bucket, bucket);
        ck_assert_msg(strcmp(l.key, key) == 0, "\"%s\": key \"%s\", want \"%s\"", in, l.key, key);
        ck_assert_ptr_null(l.path);
        fds_location_done(&l);
}

/* Refused with err, and a reason that mentions `about`. */
static void expect_refused(const char *in, int err, const char *about) {
        fds_location l = { 0 };
        const char *reason = NULL;

        int r = fds_location_parse(in, &l, &reason);
        ck_assert_msg(r == err, "\"%.60s\": %d, want %d", in, r, err);
        ck_assert_msg(reason && strstr(reason, about), "\"%.60s\": reason \"%s\" does not mention \"%s\"",
                      in, reason, about);
        ck_assert_ptr_null(l.path);
        ck_assert_ptr_null(l.bucket);
        ck_assert_ptr_null(l.key);
}

static char *repeat(const char *prefix, const char *unit, size_t times) {
        size_t p = strlen(prefix), u = strlen(unit);
        char *s = malloc(p + u * times + 1);

        ck_assert_ptr_nonnull(s);
        memcpy(s, prefix, p);
        for (size_t i = 0; i < times; i++)
                memcpy(s + p + i * u, unit, u);
        s[p + u * times] = '\0';
        return s;
}

/* Local paths: absolute, normalized lexically. */

static const struct {
        const char *in, *want;
} normalized[] = {
        { "/", "/" },
        { "/data/a.bin", "/data/a.bin" },
        /* repeated slashes are one */
        { "//", "/" },
        { "/a//b", "/a/b" },
        { "///a///b", "/a/b" },
        /* "." components go */
        { "/./", "/" },
        { "/a/./b", "/a/b" },
        { "/./a/./././b/.", "/a/b" },
        /* a trailing slash goes */
        { "/a/", "/a" },
        { "/a/b//", "/a/b" },
        /* ".." stays: the file system decides where it leads */
        { "/a/../b", "/a/../b" },
        { "/..", "/.." },
        { "/a/b/..", "/a/b/.." },
        { "/a/./../b/", "/a/../b" },
        /* names that only look like "." or ".." */
        { "/a/.b/..c/.../c.", "/a/.b/..c/.../c." },
        /* anything else is kept byte for byte */
        { "/d\xc3\xa9j\xc3\xa0/\xe6\x97\xa5\xe6\x9c\xac/ spaced name ", "/d\xc3\xa9j\xc3\xa0/\xe6\x97\xa5\xe6\x9c\xac/ spaced name " },
        { "/a\\b/c?d#e%20f+g", "/a\\b/c?d#e%20f+g" },
};

START_TEST(test_local_path_is_normalized) {
        expect_local(normalized[_i].in, normalized[_i].want);
}
END_TEST

START_TEST(test_absolute_path_containing_scheme_separator_is_local) {
        /* "http:" is a directory name here; the path is absolute. */
        expect_local("/srv/http://host/x", "/srv/http:/host/x");
        expect_local("/mnt/s3://bucket", "/mnt/s3:/bucket");
}
END_TEST

static const struct {
        const char *in;
        int err;
        const char *about;
} refused[] = {
        { "", -EINVAL, "empty" },
        { "a/b", -EINVAL, "relative" },
        { "./a", -EINVAL, "relative" },
        { "../a", -EINVAL, "relative" },
        { "~/a", -EINVAL, "relative" },
        { " /a", -EINVAL, "relative" },
        { "s3:/bucket/key", -EINVAL, "relative" },
        { "http://example.com/a", -EINVAL, "scheme" },
        { "https://bucket.s3.amazonaws.com/key", -EINVAL, "scheme" },
        { "file:///etc/passwd", -EINVAL, "scheme" },
        { "S3://bucket/key", -EINVAL, "scheme" },
        { "gs://bucket/key", -EINVAL, "scheme" },
};

START_TEST(test_not_an_absolute_path_or_s3_url_is_refused) {
        expect_refused(refused[_i].in, refused[_i].err, refused[_i].about);
}
END_TEST

START_TEST(test_null_is_refused_and_reason_is_optional) {
        fds_location l = { 0 };
        const char *reason = NULL;

        ck_assert_int_eq(fds_location_parse(NULL, &l, &reason), -EINVAL);
        ck_assert_ptr_nonnull(reason);
        ck_assert_int_eq(fds_location_parse("relative", &l, NULL), -EINVAL);
        ck_assert_int_eq(fds_location_parse("s3://Bad/key", &l, NULL), -EINVAL);
}
END_TEST

START_TEST(test_local_path_up_to_path_max) {
        /* PATH_MAX counts the NUL: PATH_MAX - 1 bytes is the longest path. */
        char *longest = repeat("/", "a", PATH_MAX - 2);
        char *too_long = repeat("/", "a", PATH_MAX - 1);

        ck_assert_uint_eq(strlen(longest), PATH_MAX - 1);
        expect_local(longest, longest);
        expect_refused(too_long, -ENAMETOOLONG, "PATH_MAX");
        free(longest);
        free(too_long);
}
END_TEST

/* S3 URLs: s3://bucket/key, the key exactly as given. */

static const struct {
        const char *in, *bucket, *key;
} s3_urls[] = {
        { "s3://my-bucket/a/b.txt", "my-bucket", "a/b.txt" },
        { "s3://bkt/my key with  spaces ", "bkt", "my key with  spaces " },
        { "s3://bkt/d\xc3\xa9j\xc3\xa0/\xe6\x97\xa5\xe6\x9c\xac.txt", "bkt", "d\xc3\xa9j\xc3\xa0/\xe6\x97\xa5\xe6\x9c\xac.txt" },
        { "s3://bkt/q?x=1&y=2#frag%20+plus", "bkt", "q?x=1&y=2#frag%20+plus" },
        { "s3://bkt/a//b///c/", "bkt", "a//b///c/" },
        { "s3://bkt//leading", "bkt", "/leading" },
        { "s3://bkt/./a/../b", "bkt", "./a/../b" },
        { "s3://bkt/s3://nested", "bkt", "s3://nested" },
        { "s3://my.dotted.bucket/k", "my.dotted.bucket", "k" },
        /* No key: a prefix, which the caller may or may not accept. */
        { "s3://bkt/", "bkt", "" },
        { "s3://bkt", "bkt", "" },
};

START_TEST(test_s3_url_keeps_key_exactly) {
        expect_s3(s3_urls[_i].in, s3_urls[_i].bucket, s3_urls[_i].key);
}
END_TEST

START_TEST(test_s3_url_without_bucket_is_refused) {
        expect_refused("s3://", -EINVAL, "no bucket");
        expect_refused("s3:///key", -EINVAL, "no bucket");
        expect_refused("s3:////", -EINVAL, "no bucket");
}
END_TEST

START_TEST(test_s3_key_up_to_1024_bytes) {
        char *longest = repeat("s3://bkt/", "k", FDS_S3_KEY_MAX);
        char *too_long = repeat("s3://bkt/", "k", FDS_S3_KEY_MAX + 1);
        /* Bytes, not characters: 342 three-byte characters are 1026 bytes. */
        char *wide_ok = repeat("s3://bkt/", "\xe6\x97\xa5", 341);
        char *wide_too_long = repeat("s3://bkt/", "\xe6\x97\xa5", 342);

        expect_s3(longest, "bkt", longest + strlen("s3://bkt/"));
        expect_refused(too_long, -ENAMETOOLONG, "1024");
        expect_s3(wide_ok, "bkt", wide_ok + strlen("s3://bkt/"));
        expect_refused(wide_too_long, -ENAMETOOLONG, "1024");
        free(longest);
        free(too_long);
        free(wide_ok);
        free(wide_too_long);
}
END_TEST

/* Bucket names: 3-63 of [a-z0-9.-], starting and ending with a letter or
 * digit, no "..", not shaped like an IPv4 address. */

static const char *const good_buckets[] = {
        "abc",
        "a1b",
        "123",
        "my-bucket",
        "my.bucket.name",
        "a-b.c-d",
        "a--b",
        "1.2.3",
        "192.168.5.4x",
        "123456789012345678901234567890123456789012345678901234567890123", /* 63 */
};

static const char *const bad_buckets[] = {
        "ab",                   /* too short */
        "a",
        "1234567890123456789012345678901234567890123456789012345678901234", /* 64 */
        "MyBucket",             /* uppercase */
        "mybuckeT",
        "my_bucket",            /* underscore */
        "-bucket",              /* leading / trailing '-' or '.' */
        "bucket-",
        ".bucket",
        "bucket.",
        "my..bucket",           /* ".." */
        "192.168.5.4",          /* IP-shaped */
        "10.0.0.1",
        "my bucket",
        "my/bucket",
        "bucke\xc3\xa9",
        "buc:ket",
};

START_TEST(test_good_bucket_name) {
        const char *b = good_buckets[_i];
        char url[128];

        ck_assert_msg(fds_s3_bucket_name_valid(b, strlen(b)), "\"%s\" refused", b);
        snprintf(url, sizeof(url), "s3://%s/key", b);
        expect_s3(url, b, "key");
}
END_TEST

START_TEST(test_bad_bucket_name) {
        const char *b = bad_buckets[_i];
        char url[128];

        ck_assert_msg(!fds_s3_bucket_name_valid(b, strlen(b)), "\"%s\" accepted", b);
        snprintf(url, sizeof(url), "s3://%s/key", b);
        expect_refused(url, -EINVAL, "bucket");
}
END_TEST

START_TEST(test_bucket_name_is_checked_up_to_its_length_only) {
        /* As parse_s3 calls it: the name is followed by the key. */
        ck_assert(fds_s3_bucket_name_valid("abc/..", 3));
        ck_assert(fds_s3_bucket_name_valid("a.bc..", 4));
        ck_assert(!fds_s3_bucket_name_valid("abc-/x", 4));
        ck_assert(!fds_s3_bucket_name_valid("abc", 0));
}
END_TEST

START_TEST(test_is_s3) {
        ck_assert(fds_location_is_s3("s3://bucket/key"));
        ck_assert(fds_location_is_s3("s3://"));
        ck_assert(!fds_location_is_s3("s3:/bucket"));
        ck_assert(!fds_location_is_s3("S3://bucket/key"));
        ck_assert(!fds_location_is_s3("/s3://bucket"));
        ck_assert(!fds_location_is_s3(""));
}
END_TEST

START_TEST(test_done_accepts_null_and_zeroed) {
        fds_location l = { 0 };

        fds_location_done(NULL);
        fds_location_done(&l);
        ck_assert_int_eq(fds_location_parse("s3://bkt/k", &l, NULL), 0);
        fds_location_done(&l);
        ck_assert_ptr_null(l.bucket);
        fds_location_done(&l);
}
END_TEST

#define N(a) ((int) (sizeof(a) / sizeof((a)[0])))

static Suite *location_suite(void) {
        Suite *s = suite_create("location");
        TCase *local = tcase_create("local");
        TCase *s3 = tcase_create("s3");
        TCase *bucket = tcase_create("bucket");

        tcase_add_loop_test(local, test_local_path_is_normalized, 0, N(normalized));
        tcase_add_test(local, test_absolute_path_containing_scheme_separator_is_local);
        tcase_add_loop_test(local, test_not_an_absolute_path_or_s3_url_is_refused, 0, N(refused));
        tcase_add_test(local, test_null_is_refused_and_reason_is_optional);
        tcase_add_test(local, test_local_path_up_to_path_max);
        tcase_add_test(local, test_done_accepts_null_and_zeroed);
        suite_add_tcase(s, local);

        tcase_add_loop_test(s3, test_s3_url_keeps_key_exactly, 0, N(s3_urls));
        tcase_add_test(s3, test_s3_url_without_bucket_is_refused);
        tcase_add_test(s3, test_s3_key_up_to_1024_bytes);
        tcase_add_test(s3, test_is_s3);
        suite_add_tcase(s, s3);

        tcase_add_loop_test(bucket, test_good_bucket_name, 0, N(good_buckets));
        tcase_add_loop_test(bucket, test_bad_bucket_name, 0, N(bad_buckets));
        tcase_add_test(bucket, test_bucket_name_is_checked_up_to_its_length_only);
        suite_add_tcase(s, bucket);
        return s;
}

int main(void) {
        return fixture_run(location_suite());
}
