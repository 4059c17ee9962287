/* SPDX-License-Identifier: MIT */
/* fdsd's settings: the file (fixtures under tests/data/conf, see its
 * README.md), the flags over it, the checks across keys, and secrets kept
 * out of what is printed. */
#include "conf.h"
#include "peer.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fixture.h"

#define FIXTURE_MAX 1024

static char *fixture_dir(void) {
        const char *base = getenv("FDS_TEST_DATA");
        char *dir;

        ck_assert_msg(base != NULL, "FDS_TEST_DATA is not set");
        ck_assert_int_ge(asprintf(&dir, "%s/conf", base), 0);
        return dir;
}

static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = calloc(1, FIXTURE_MAX + 1);
        size_t n;

        ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
        ck_assert_ptr_nonnull(buf);
        n = fread(buf, 1, FIXTURE_MAX + 1, f);
        fclose(f);
        ck_assert_msg(n <= FIXTURE_MAX, "%s is larger than 1 KiB", path);
        return buf;
}

static char *print_conf(const fdsd_conf *c) {
        char *text = NULL, *body;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(conf_print(c, f), 0);
        fclose(f);
        /* The first line names the file. */
        body = strdup(strchr(text, '\n') + 1);
        free(text);
        return body;
}

/* Every fixture: NAME.conf against NAME.expect. */
static void run_fixture(const char *dir, const char *name) {
        fdsd_conf c;
        char *conf_path, *expect_path, *want, *error = NULL;
        size_t stem = strlen(name) - strlen(".conf");
        int r;

        ck_assert_int_ge(asprintf(&conf_path, "%s/%s", dir, name), 0);
        ck_assert_int_ge(asprintf(&expect_path, "%s/%.*s.expect", dir, (int) stem, name), 0);
        want = read_text(expect_path);
        free(read_text(conf_path)); /* the size check */

        conf_init(&c, 022);
        r = conf_load(&c, conf_path, true, &error);
        if (strncmp(name, "good-", 5) == 0) {
                ck_assert_msg(r == 1, "%s refused (%d): %s", name, r, error);
                char *got = print_conf(&c);
                ck_assert_msg(strcmp(got, want) == 0, "%s printed\n%s\nwant\n%s", name, got, want);
                free(got);
        } else {
                ck_assert_msg(r == -EINVAL, "%s: %d, not -EINVAL", name, r);
                ck_assert_ptr_nonnull(error);
                size_t plen = strlen(conf_path);
                ck_assert_msg(strncmp(error, conf_path, plen) == 0 && error[plen] == ':',
                              "%s: the error does not start with the file: %s", name, error);
                want[strcspn(want, "\n")] = '\0';
                ck_assert_msg(strcmp(error + plen + 1, want) == 0, "%s: error\n%s\nwant\n%s", name,
                              error + plen + 1, want);
        }
        free(error);
        free(want);
        free(conf_path);
        free(expect_path);
        conf_done(&c);
}

START_TEST(test_fixtures) {
        char *dir = fixture_dir();
        DIR *d = opendir(dir);
        struct dirent *e;
        unsigned good = 0, bad = 0;

        ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
        while ((e = readdir(d))) {
                size_t n = strlen(e->d_name);
                if (n < 5 || strcmp(e->d_name + n - 5, ".conf") != 0)
                        continue;
                run_fixture(dir, e->d_name);
                if (strncmp(e->d_name, "good-", 5) == 0)
                        good++;
                else
                        bad++;
        }
        closedir(d);
        free(dir);
        ck_assert_uint_ge(good, 2);
        ck_assert_uint_ge(bad, 20);
}
END_TEST

START_TEST(test_missing_file) {
        fdsd_conf c;
        char *error = NULL;

        conf_init(&c, 022);
        /* The default file is optional... */
        ck_assert_int_eq(conf_load(&c, "/nonexistent/fdsd.conf", false, &error), 0);
        ck_assert_ptr_null(error);
        ck_assert_ptr_null(c.source);
        /* ...one named with --config is not. */
        ck_assert_int_eq(conf_load(&c, "/nonexistent/fdsd.conf", true, &error), -ENOENT);
        ck_assert_str_eq(error, "/nonexistent/fdsd.conf: No such file or directory");
        free(error);
        error = NULL;
        ck_assert_int_eq(conf_load(&c, "/", true, &error), -EISDIR);
        ck_assert_str_eq(error, "/: is a directory");
        free(error);
        /* /dev/null is "no settings". */
        ck_assert_int_eq(conf_load(&c, "/dev/null", true, &error), 1);
        conf_done(&c);
}
END_TEST

START_TEST(test_defaults) {
        fdsd_conf c;

        conf_init(&c, 027);
        ck_assert_uint_eq(c.d.parallelism, 16);
        ck_assert_uint_eq(c.d.max_inflight, 64);
        ck_assert_uint_eq(c.d.max_message, 64 << 20);
        ck_assert_uint_eq(c.d.max_entries, 1000000);
        ck_assert_uint_eq(c.d.max_connections, 1024);
        ck_assert_uint_eq(c.d.file_mode, 0640);
        ck_assert_uint_eq(c.socket_mode, geteuid() == 0 ? 0660 : 0600);
        ck_assert_uint_eq(c.socket_gid, (gid_t) -1);
        ck_assert_ptr_null(c.d.socket_path);
        ck_assert_ptr_null(c.d.s3_endpoint);
        ck_assert(c.d.multipart);
        ck_assert_int_eq(c.log_level, LOG_LEVEL_INFO);
        ck_assert_int_eq(c.log_target, LOG_TARGET_AUTO);
        ck_assert_int_eq(conf_check(&c, NULL), 0);
        conf_done(&c);
}
END_TEST

/* A user's default share leaves another user room however small the
 * daemon's limits. */
START_TEST(test_per_user_defaults) {
        static const struct {
                unsigned all, per_user;
        } cases[] = { { 1, 1 }, { 2, 1 }, { 3, 2 }, { 4, 3 }, { 7, 6 }, { 8, 6 }, { 64, 48 }, { 1024, 768 } };
        daemon_config c = { 0 };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                c.max_inflight = c.max_connections = cases[i].all;
                ck_assert_uint_eq(peer_max_inflight(&c), cases[i].per_user);
                ck_assert_uint_eq(peer_max_connections(&c), cases[i].per_user);
        }
        c.max_inflight_per_uid = c.max_connections_per_uid = 5;
        ck_assert_uint_eq(peer_max_inflight(&c), 5);
        ck_assert_uint_eq(peer_max_connections(&c), 5);
}
END_TEST

START_TEST(test_flags_override_file) {
        char *dir = fixture_dir(), *path, *error = NULL;
        fdsd_conf c;

        ck_assert_int_ge(asprintf(&path, "%s/good-full.conf", dir), 0);
        conf_init(&c, 022);
        ck_assert_int_eq(conf_load(&c, path, true, &error), 1);
        ck_assert_str_eq(c.source, path);
        ck_assert_uint_eq(c.d.max_inflight, 32);
        ck_assert_int_eq(conf_set_flag(&c, "max-inflight", "3", &error), 0);
        ck_assert_uint_eq(c.d.max_inflight, 3);
        ck_assert_int_eq(conf_set_flag(&c, "socket", "/tmp/x.sock", &error), 0);
        ck_assert_str_eq(c.d.socket_path, "/tmp/x.sock");
        ck_assert_int_eq(conf_set_flag(&c, "s3-endpoint", "https://s3.example.com", &error), 0);
        ck_assert_str_eq(c.d.s3_endpoint, "https://s3.example.com");
        ck_assert_int_eq(conf_set_flag(&c, "log-level", "warning", &error), 0);
        ck_assert_int_eq(c.log_level, LOG_LEVEL_WARNING);
        ck_assert_int_eq(conf_set_flag(&c, "max-message-size", "2K", &error), 0);
        ck_assert_uint_eq(c.d.max_message, 2048);
        ck_assert_int_eq(conf_set_flag(&c, "socket-group", "0", &error), 0);
        ck_assert_uint_eq(c.socket_gid, 0);

        /* A bad value names the flag; the setting is left alone. */
        ck_assert_int_eq(conf_set_flag(&c, "max-inflight", "0", &error), -EINVAL);
        ck_assert_str_eq(error, "invalid value for --max-inflight: '0' (expected an integer from 1 to 100000)");
        ck_assert_uint_eq(c.d.max_inflight, 3);
        free(error);
        error = NULL;
        ck_assert_int_eq(conf_set_flag(&c, "max-message-size", "10", &error), -EINVAL);
        free(error);
        error = NULL;
        /* Secrets have no flags: a command line is visible to every user. */
        ck_assert_int_eq(conf_set_flag(&c, "secret-access-key", "x", &error), -ENOENT);
        ck_assert_ptr_null(error);
        conf_done(&c);
        free(path);
        free(dir);
}
END_TEST

START_TEST(test_checks_across_keys) {
        fdsd_conf c;
        char *error = NULL;

        conf_init(&c, 022);
        c.d.s3_secret_access_key = "secret";
        ck_assert_int_eq(conf_check(&c, &error), -EINVAL);
        ck_assert_str_eq(error, "[s3] credentials need both access_key_id and secret_access_key");
        free(error);
        error = NULL;
        c.d.s3_access_key_id = "AKIAIOSFODNN7EXAMPLE";
        ck_assert_int_eq(conf_check(&c, &error), 0);
        c.d.s3_secret_access_key = NULL;
        c.d.s3_session_token = "token";
        ck_assert_int_eq(conf_check(&c, &error), -EINVAL);
        free(error);
        error = NULL;
        c.d.s3_access_key_id = c.d.s3_session_token = NULL;

        c.d.multipart_chunksize = 128 << 20;
        ck_assert_int_eq(conf_check(&c, &error), -EINVAL);
        ck_assert_str_eq(error, "[transfer] multipart_chunksize (128M) is larger than [limits] buffer_memory (64M)");
        free(error);
        conf_done(&c);
}
END_TEST

START_TEST(test_mask_key_id) {
        char buf[13];

        ck_assert_str_eq(conf_mask_key_id("AKIAIOSFODNN7EXAMPLE", buf), "AKIA****MPLE");
        ck_assert_str_eq(conf_mask_key_id("ASIA12345678", buf), "ASIA****5678");
        ck_assert_str_eq(conf_mask_key_id("short", buf), "****");
        ck_assert_str_eq(conf_mask_key_id("", buf), "****");
}
END_TEST

/* Secrets never reach the printed settings, whatever they look like. */
START_TEST(test_print_masks_secrets) {
        char *dir = fixture_dir(), *path, *error = NULL, *out;
        fdsd_conf c;

        ck_assert_int_ge(asprintf(&path, "%s/good-full.conf", dir), 0);
        conf_init(&c, 022);
        ck_assert_int_eq(conf_load(&c, path, true, &error), 1);
        out = print_conf(&c);
        ck_assert_ptr_null(strstr(out, "wJalrXUtnFEMI"));
        ck_assert_ptr_null(strstr(out, "token-that-must-not-show"));
        ck_assert_ptr_null(strstr(out, "AKIAIOSFODNN7EXAMPLE"));
        free(out);
        conf_done(&c);
        free(path);
        free(dir);
}
END_TEST

static Suite *conf_suite(void) {
        Suite *s = suite_create("conf");
        TCase *tc = tcase_create("conf");

        tcase_add_test(tc, test_fixtures);
        tcase_add_test(tc, test_missing_file);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_per_user_defaults);
        tcase_add_test(tc, test_flags_override_file);
        tcase_add_test(tc, test_checks_across_keys);
        tcase_add_test(tc, test_mask_key_id);
        tcase_add_test(tc, test_print_masks_secrets);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fixture_run(conf_suite());
}
