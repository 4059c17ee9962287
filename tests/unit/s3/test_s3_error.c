/* SPDX-License-Identifier: MIT */
/* What an S3 error reply means: which are retried, which errno a file's
 * result gets, and the words a person reads. */
#include "s3_error.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "fixture.h"

START_TEST(test_server_errors_and_slow_down_are_retried) {
        static const long statuses[] = { 500, 502, 503, 504 };

        for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
                ck_assert(s3_error_is_transient(statuses[i], NULL));
                ck_assert(s3_error_is_transient(statuses[i], "AnythingElse"));
        }
        ck_assert(s3_error_is_transient(503, "SlowDown"));
        ck_assert(s3_error_is_transient(400, "RequestTimeout"));
        /* A body corrupted on the way: sending it again is the cure. */
        ck_assert(s3_error_is_transient(400, "BadDigest"));
        ck_assert(s3_error_is_transient(400, "XAmzContentSHA256Mismatch"));
}
END_TEST

START_TEST(test_client_errors_are_final) {
        ck_assert(!s3_error_is_transient(403, "AccessDenied"));
        ck_assert(!s3_error_is_transient(403, "SignatureDoesNotMatch"));
        ck_assert(!s3_error_is_transient(404, "NoSuchKey"));
        ck_assert(!s3_error_is_transient(400, "InvalidBucketName"));
        ck_assert(!s3_error_is_transient(412, "PreconditionFailed"));
        ck_assert(!s3_error_is_transient(501, NULL));
        ck_assert(!s3_error_is_transient(400, NULL));
        ck_assert(!s3_error_is_transient(200, NULL));
}
END_TEST

START_TEST(test_errno_of_a_reply) {
        ck_assert_int_eq(s3_errno_from_status(404, NULL), -ENOENT);
        ck_assert_int_eq(s3_errno_from_status(404, "NoSuchKey"), -ENOENT);
        /* The code wins over an unusual status. */
        ck_assert_int_eq(s3_errno_from_status(400, "NoSuchBucket"), -ENOENT);
        ck_assert_int_eq(s3_errno_from_status(403, "AccessDenied"), -EACCES);
        ck_assert_int_eq(s3_errno_from_status(401, NULL), -EACCES);
        ck_assert_int_eq(s3_errno_from_status(412, "PreconditionFailed"), -ESTALE);
        ck_assert_int_eq(s3_errno_from_status(500, "InternalError"), -EIO);
        ck_assert_int_eq(s3_errno_from_status(400, "InvalidArgument"), -EIO);
}
END_TEST

START_TEST(test_words_for_common_codes) {
        ck_assert_str_eq(s3_error_words("NoSuchKey", 404), "the object does not exist");
        ck_assert_str_eq(s3_error_words("NoSuchBucket", 404), "the bucket does not exist");
        ck_assert_str_eq(s3_error_words("RequestTimeTooSkewed", 403),
                         "this machine's clock differs too much from the server's");
        /* No code (a HEAD has no body): the status speaks. */
        ck_assert_str_eq(s3_error_words(NULL, 404), "not found");
        ck_assert_str_eq(s3_error_words(NULL, 403), "access denied");
        /* Nothing better than the code itself. */
        ck_assert_ptr_null(s3_error_words("SomethingNew", 400));
        ck_assert_ptr_null(s3_error_words(NULL, 500));
}
END_TEST

static Suite *s3_error_suite(void) {
        Suite *s = suite_create("s3_error");
        TCase *tc = tcase_create("replies");

        tcase_add_test(tc, test_server_errors_and_slow_down_are_retried);
        tcase_add_test(tc, test_client_errors_are_final);
        tcase_add_test(tc, test_errno_of_a_reply);
        tcase_add_test(tc, test_words_for_common_codes);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fixture_run(s3_error_suite());
}
