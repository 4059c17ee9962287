/* SPDX-License-Identifier: MIT */
/* Where fdsd listens and fdsctl connects. Each test runs in its own process
 * (Check's fork mode), so changing the environment stays local to it. */
#include "socket_path.h"

#include <check.h>
#include <stdlib.h>
#include <unistd.h>

static void expect_path(const char *want) {
        char *p = NULL;

        ck_assert_int_eq(fds_socket_path_default(&p), 0);
        ck_assert_str_eq(p, want);
        free(p);
}

START_TEST(test_fds_socket_wins) {
        setenv("FDS_SOCKET", "/tmp/my fdsd.sock", 1);
        setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
        expect_path("/tmp/my fdsd.sock");
}
END_TEST

START_TEST(test_empty_fds_socket_is_ignored) {
        setenv("FDS_SOCKET", "", 1);
        unsetenv("XDG_RUNTIME_DIR");
        expect_path("/run/fds/fdsd.sock");
}
END_TEST

START_TEST(test_user_gets_xdg_runtime_dir_and_root_gets_run) {
        unsetenv("FDS_SOCKET");
        setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
        expect_path(geteuid() == 0 ? "/run/fds/fdsd.sock" : "/run/user/1000/fds/fdsd.sock");
}
END_TEST

START_TEST(test_relative_xdg_runtime_dir_is_ignored) {
        unsetenv("FDS_SOCKET");
        setenv("XDG_RUNTIME_DIR", "run/user/1000", 1);
        expect_path("/run/fds/fdsd.sock");
        unsetenv("XDG_RUNTIME_DIR");
        expect_path("/run/fds/fdsd.sock");
}
END_TEST

int main(void) {
        Suite *s = suite_create("socket_path");
        TCase *tc = tcase_create("default");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_fds_socket_wins);
        tcase_add_test(tc, test_empty_fds_socket_is_ignored);
        tcase_add_test(tc, test_user_gets_xdg_runtime_dir_and_root_gets_run);
        tcase_add_test(tc, test_relative_xdg_runtime_dir_is_ignored);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        /* The environment changes above must not leak between tests. */
        srunner_set_fork_status(sr, CK_FORK);
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
