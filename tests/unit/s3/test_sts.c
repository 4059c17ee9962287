/* SPDX-License-Identifier: MIT */
/*
 * The AssumeRoleWithWebIdentity request body: form-encoded as botocore
 * sends it (RFC 3986 unreserved characters as they are, the rest %XX), and
 * the configurations sts_web_identity_new() refuses. The exchange with STS
 * itself is tested against a stand-in in tests/integration/s3.
 */
#include "sts.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_body) {
        char *b = sts_web_identity_body("arn:aws:iam::123456789012:role/a b", "s-1_x.y~z", "eyJ+/=.tok");
        ck_assert_ptr_nonnull(b);
        ck_assert_str_eq(b, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                            "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fa%20b"
                            "&RoleSessionName=s-1_x.y~z&WebIdentityToken=eyJ%2B%2F%3D.tok");
        free(b);
        /* Every byte outside the unreserved set is escaped, UTF-8 included. */
        b = sts_web_identity_body("r", "\xc3\xa9&=", "t");
        ck_assert_ptr_nonnull(strstr(b, "&RoleSessionName=%C3%A9%26%3D&"));
        free(b);
}
END_TEST

START_TEST(test_bad_config) {
        uv_loop_t loop;
        creds *k = NULL;
        ck_assert_int_eq(uv_loop_init(&loop), 0);
        ck_assert_int_eq(sts_web_identity_new(&loop, &(sts_config){ .endpoint = "ftp://x", .role_arn = "r",
                                                                     .token_file = "/t" },
                                              &k),
                         -EINVAL);
        ck_assert_int_eq(sts_web_identity_new(&loop, &(sts_config){ .endpoint = "https://sts", .token_file = "/t" },
                                              &k),
                         -EINVAL);
        ck_assert_int_eq(sts_web_identity_new(&loop, &(sts_config){ .endpoint = "https://sts", .role_arn = "r" },
                                              &k),
                         -EINVAL);
        ck_assert_ptr_null(k);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("sts");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_body);
        tcase_add_test(tc, test_bad_config);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
