/* SPDX-License-Identifier: MIT */
/*
 * credential_process: the command line split as shlex.split() splits it,
 * and real processes (/bin/sh scripts) run on a real loop: their JSON kept
 * until due, their failures (exit status, stderr, timeout, a missing
 * program, output that is no such document) told, and a close while one
 * runs. Every run case ends with no handle left and uv_loop_close() == 0.
 */
#include "credproc.h"

#include <check.h>
#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPIRATION 1893456000 /* 2030-01-01T00:00:00Z */

/* ---- splitting ---- */

static void assert_split(const char *s, const char *const *want) {
        char **argv = NULL;
        size_t i = 0;

        ck_assert_msg(credproc_split(s, &argv) == 0, "%s", s);
        for (; want[i]; i++) {
                ck_assert_msg(argv[i], "%s: word %zu missing", s, i);
                ck_assert_str_eq(argv[i], want[i]);
        }
        ck_assert_msg(!argv[i], "%s: more words than %zu", s, i);
        credproc_argv_free(argv);
}

START_TEST(test_split) {
        char **argv = NULL;

        assert_split("a b\t c\n", (const char *[]){ "a", "b", "c", NULL });
        assert_split("'a b' \"c \\\"d\\\"\" e\\ f", (const char *[]){ "a b", "c \"d\"", "e f", NULL });
        /* In double quotes a backslash escapes only " and \; elsewhere it stays. */
        assert_split("\"a\\$b\\\\c\"", (const char *[]){ "a\\$b\\c", NULL });
        assert_split("x'' \"\"y ''", (const char *[]){ "x", "y", "", NULL });
        assert_split("a#b # c", (const char *[]){ "a#b", "#", "c", NULL });
        assert_split("pre'q u'\"o te\"post", (const char *[]){ "preq uo tepost", NULL });
        ck_assert_int_eq(credproc_split("'open", &argv), -EINVAL);
        ck_assert_int_eq(credproc_split("\"open", &argv), -EINVAL);
        ck_assert_int_eq(credproc_split("trailing\\", &argv), -EINVAL);
        ck_assert_int_eq(credproc_split("  ", &argv), -EINVAL);
}
END_TEST

/* ---- runs ---- */

typedef struct T {
        uv_loop_t loop;
        creds *k;
        int64_t now;
        bool closed;
        char dir[64];
        char counter[96];
} T;

typedef struct got {
        unsigned calls;
        int error;
        char key[64], token[64], message[1024];
        int64_t expiration;
} got;

static int64_t fake_now(void *userdata) {
        return *(int64_t *) userdata;
}

/* A credential_process running script (sh -c) that first counts its runs
 * in the file "$1". */
static void t_start(T *t, const char *script, unsigned timeout_ms) {
        char cmd[4096];

        memset(t, 0, sizeof(*t));
        snprintf(t->dir, sizeof(t->dir), "/tmp/fds-credproc-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->dir));
        snprintf(t->counter, sizeof(t->counter), "%s/runs", t->dir);
        snprintf(cmd, sizeof(cmd), "/bin/sh -c 'echo run >> \"$1\"; %s' sh %s", script, t->counter);
        ck_assert_int_eq(uv_loop_init(&t->loop), 0);
        t->now = EXPIRATION - 3600;
        credproc_config c = {
                .command = cmd, .profile = "p", .timeout_ms = timeout_ms, .now = fake_now, .now_userdata = &t->now
        };
        ck_assert_int_eq(credproc_new(&t->loop, &c, &t->k), 0);
}

static unsigned runs(const T *t) {
        FILE *f = fopen(t->counter, "r");
        char line[16];
        unsigned n = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                n++;
        fclose(f);
        return n;
}

static void on_closed(void *userdata) {
        *(bool *) userdata = true;
}

static void on_walk(uv_handle_t *h, void *arg) {
        (*(unsigned *) arg)++;
}

static void t_finish(T *t) {
        unsigned left = 0;

        if (!t->closed) {
                creds_close(t->k, on_closed, &t->closed);
                while (!t->closed)
                        if (uv_run(&t->loop, UV_RUN_ONCE) == 0 && !t->closed)
                                ck_abort_msg("the loop ran dry before the close");
        }
        ck_assert_int_eq(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
        uv_walk(&t->loop, on_walk, &left);
        ck_assert_uint_eq(left, 0);
        ck_assert_int_eq(uv_loop_close(&t->loop), 0);
        unlink(t->counter);
        rmdir(t->dir);
}

static void on_creds(int error, const creds_value *v, const char *message, void *userdata) {
        got *g = userdata;

        g->calls++;
        g->error = error;
        if (error == 0) {
                snprintf(g->key, sizeof(g->key), "%s", v->access_key_id);
                snprintf(g->token, sizeof(g->token), "%s", v->session_token ? v->session_token : "(none)");
                g->expiration = v->expiration;
        } else
                snprintf(g->message, sizeof(g->message), "%s", message);
}

static void get_and_wait(T *t, got *g) {
        unsigned before = g->calls;

        ck_assert_int_eq(creds_get(t->k, on_creds, g, NULL), 0);
        ck_assert_uint_eq(g->calls, before); /* never from inside the call */
        while (g->calls == before)
                if (uv_run(&t->loop, UV_RUN_ONCE) == 0 && g->calls == before)
                        ck_abort_msg("the loop ran dry before the answer");
        ck_assert_uint_eq(g->calls, before + 1);
}

START_TEST(test_run_and_keep) {
        got g = { 0 };
        T t;
        t_start(&t,
                "echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"AKID$(wc -l < \"$1\")\\\", "
                "\\\"SecretAccessKey\\\": \\\"s\\\", \\\"SessionToken\\\": \\\"tok\\\", "
                "\\\"Expiration\\\": \\\"2030-01-01T00:00:00Z\\\"}\"",
                0);
        get_and_wait(&t, &g);
        ck_assert_msg(g.error == 0, "%s", g.message);
        ck_assert_str_eq(g.key, "AKID1");
        ck_assert_str_eq(g.token, "tok");
        ck_assert_int_eq(g.expiration, EXPIRATION);
        ck_assert_uint_eq(runs(&t), 1);
        /* Kept: no second run until five minutes before the expiration. */
        get_and_wait(&t, &g);
        ck_assert_uint_eq(runs(&t), 1);
        t.now = EXPIRATION - 299;
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, 0);
        ck_assert_str_eq(g.key, "AKID2");
        ck_assert_uint_eq(runs(&t), 2);
        ck_assert_uint_eq(creds_fetches(t.k), 2);
        t_finish(&t);
}
END_TEST

START_TEST(test_no_expiration_is_kept) {
        got g = { 0 };
        T t;
        t_start(&t,
                "echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"AKIDSTATIC\\\", "
                "\\\"SecretAccessKey\\\": \\\"s\\\"}\"",
                0);
        get_and_wait(&t, &g);
        ck_assert_msg(g.error == 0, "%s", g.message);
        ck_assert_str_eq(g.key, "AKIDSTATIC");
        ck_assert_str_eq(g.token, "(none)");
        ck_assert_int_eq(g.expiration, 0);
        t.now += 10 * 365 * 86400;
        get_and_wait(&t, &g);
        ck_assert_uint_eq(runs(&t), 1);
        t_finish(&t);
}
END_TEST

START_TEST(test_failure_says_why) {
        got g = { 0 };
        T t;
        t_start(&t, "echo \"token expired, run: aws sso login\" >&2; echo more >&2; exit 3", 0);
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -EPERM);
        ck_assert_str_eq(g.message,
                         "credential_process of profile 'p' exited with status 3: token expired, run: aws sso login");
        /* A failure is not kept: the next call runs it again. */
        get_and_wait(&t, &g);
        ck_assert_uint_eq(runs(&t), 2);
        t_finish(&t);
}
END_TEST

START_TEST(test_bad_documents) {
        static const struct {
                const char *script;
                const char *why;
        } cases[] = {
                { "echo not json", "wrote output that is not JSON" },
                { "echo \"{\\\"Version\\\": 2, \\\"AccessKeyId\\\": \\\"A\\\", \\\"SecretAccessKey\\\": \\\"s\\\"}\"",
                  "without \"Version\": 1" },
                { "echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"A\\\"}\"", "without AccessKeyId or SecretAccessKey" },
                { "echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"A\\\", \\\"SecretAccessKey\\\": \\\"s\\\", "
                  "\\\"Expiration\\\": \\\"soon\\\"}\"",
                  "ISO 8601 Expiration" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                got g = { 0 };
                T t;
                t_start(&t, cases[i].script, 0);
                get_and_wait(&t, &g);
                ck_assert_int_eq(g.error, -EBADMSG);
                ck_assert_msg(strstr(g.message, cases[i].why), "%s", g.message);
                ck_assert_msg(strstr(g.message, "credential_process of profile 'p' ") == g.message, "%s", g.message);
                t_finish(&t);
        }
}
END_TEST

START_TEST(test_too_much_output) {
        got g = { 0 };
        T t;
        t_start(&t, "head -c 200000 /dev/zero", 0);
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -EFBIG);
        t_finish(&t);
}
END_TEST

/* Children of this process that exited and were not reaped. */
static unsigned zombies(void) {
        unsigned n = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        ck_assert_ptr_nonnull(d);
        while ((e = readdir(d))) {
                char path[300], buf[512], state;
                int ppid;
                snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
                FILE *f = fopen(path, "r");
                if (!f)
                        continue;
                if (fgets(buf, sizeof(buf), f)) {
                        char *c = strrchr(buf, ')');
                        if (c && sscanf(c + 1, " %c %d", &state, &ppid) == 2 && ppid == getpid() && state == 'Z')
                                n++;
                }
                fclose(f);
        }
        closedir(d);
        return n;
}

START_TEST(test_timeout_kills) {
        got g = { 0 };
        T t;
        uint64_t t0 = uv_hrtime();
        t_start(&t, "exec sleep 30", 200);
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -ETIMEDOUT);
        ck_assert_str_eq(g.message, "credential_process of profile 'p' did not finish in 1 s and was killed");
        ck_assert_uint_lt(uv_hrtime() - t0, 5000000000ull);
        t_finish(&t);
        /* Killed and reaped: no zombie left behind. */
        ck_assert_uint_eq(zombies(), 0);
}
END_TEST

START_TEST(test_missing_program) {
        got g = { 0 };
        T t;
        uv_loop_t *loop = &t.loop;
        memset(&t, 0, sizeof(t));
        ck_assert_int_eq(uv_loop_init(loop), 0);
        credproc_config c = { .command = "/nonexistent/fds-helper --profile x", .profile = "p" };
        ck_assert_int_eq(credproc_new(loop, &c, &t.k), 0);
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -ENOENT);
        ck_assert_msg(strstr(g.message, "could not be started ('/nonexistent/fds-helper')"), "%s", g.message);
        creds_close(t.k, on_closed, &t.closed);
        ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
        ck_assert(t.closed);
        ck_assert_int_eq(uv_loop_close(loop), 0);
}
END_TEST

START_TEST(test_close_while_running) {
        got g = { 0 };
        T t;
        t_start(&t, "exec sleep 30", 0);
        ck_assert_int_eq(creds_get(t.k, on_creds, &g, NULL), 0);
        /* Let it start, then close: the waiter is cancelled and the process killed. */
        for (int i = 0; i < 3; i++)
                uv_run(&t.loop, UV_RUN_NOWAIT);
        uint64_t t0 = uv_hrtime();
        creds_close(t.k, on_closed, &t.closed);
        while (!t.closed)
                if (uv_run(&t.loop, UV_RUN_ONCE) == 0 && !t.closed)
                        ck_abort_msg("the loop ran dry before the close");
        ck_assert_uint_eq(g.calls, 1);
        ck_assert_int_eq(g.error, -ECANCELED);
        ck_assert_uint_lt(uv_hrtime() - t0, 5000000000ull);
        t_finish(&t);
}
END_TEST

/* A second run asked for right after a failed one, then a close while it
 * runs: the first run's handles are gone before the second starts, and
 * the close waits for the second's. */
START_TEST(test_again_then_close) {
        got g = { 0 }, g2 = { 0 };
        T t;
        t_start(&t, "[ $(wc -l < \"$1\") -gt 1 ] && exec sleep 30; exit 1", 0);
        get_and_wait(&t, &g);
        ck_assert_int_eq(g.error, -EPERM);
        ck_assert_int_eq(creds_get(t.k, on_creds, &g2, NULL), 0);
        for (int i = 0; i < 20 && runs(&t) < 2; i++)
                uv_run(&t.loop, UV_RUN_NOWAIT), usleep(10000);
        ck_assert_uint_eq(runs(&t), 2);
        t_finish(&t);
        ck_assert_uint_eq(g2.calls, 1);
        ck_assert_int_eq(g2.error, -ECANCELED);
        ck_assert_uint_eq(zombies(), 0);
}
END_TEST

/* A root daemon runs a caller's helper as the caller: its uid and the
 * caller's HOME, and none of the daemon's keys in the environment (the
 * caller could read them in /proc). */
START_TEST(test_runs_as_the_caller) {
        char dir[] = "/tmp/fds-credproc-user-XXXXXX", out[128], cmd[512], line[256];
        got g = { 0 };
        uv_loop_t loop;
        creds *k;
        bool closed = false;

        if (geteuid() != 0)
                return; /* only root can run a helper as another user */
        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(chmod(dir, 0777), 0);
        snprintf(out, sizeof(out), "%s/seen", dir);
        ck_assert_int_eq(setenv("AWS_SECRET_ACCESS_KEY", "the-daemons-own-secret", 1), 0);
        snprintf(cmd, sizeof(cmd),
                 "/bin/sh -c 'echo \"$(id -u) $HOME ${AWS_SECRET_ACCESS_KEY:-none}\" > \"$1\"; "
                 "echo \"{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"A\\\", \\\"SecretAccessKey\\\": \\\"s\\\"}\"' sh %s",
                 out);
        ck_assert_int_eq(uv_loop_init(&loop), 0);
        credproc_config c = { .command = cmd, .profile = "p", .set_user = true, .uid = 65534, .gid = 65534 };
        ck_assert_int_eq(credproc_new(&loop, &c, &k), 0);
        ck_assert_int_eq(creds_get(k, on_creds, &g, NULL), 0);
        while (g.calls == 0)
                if (uv_run(&loop, UV_RUN_ONCE) == 0 && g.calls == 0)
                        ck_abort_msg("the loop ran dry");
        ck_assert_msg(g.error == 0, "%s", g.message);
        FILE *f = fopen(out, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
        fclose(f);
        struct passwd *pw = getpwuid(65534);
        char want[256];
        snprintf(want, sizeof(want), "65534 %s none\n", pw ? pw->pw_dir : "?");
        ck_assert_str_eq(line, want);
        creds_close(k, on_closed, &closed);
        ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
        ck_assert(closed);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
        unlink(out);
        rmdir(dir);
        unsetenv("AWS_SECRET_ACCESS_KEY");
}
END_TEST

START_TEST(test_bad_config) {
        uv_loop_t loop;
        creds *k = NULL;
        ck_assert_int_eq(uv_loop_init(&loop), 0);
        ck_assert_int_eq(credproc_new(&loop, &(credproc_config){ .command = "'unclosed", .profile = "p" }, &k),
                         -EINVAL);
        ck_assert_int_eq(credproc_new(&loop, &(credproc_config){ .command = "x" }, &k), -EINVAL);
        ck_assert_int_eq(credproc_new(NULL, &(credproc_config){ .command = "x", .profile = "p" }, &k), -EINVAL);
        ck_assert_ptr_null(k);
        ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("credproc");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_split);
        tcase_add_test(tc, test_run_and_keep);
        tcase_add_test(tc, test_no_expiration_is_kept);
        tcase_add_test(tc, test_failure_says_why);
        tcase_add_test(tc, test_bad_documents);
        tcase_add_test(tc, test_too_much_output);
        tcase_add_test(tc, test_timeout_kills);
        tcase_add_test(tc, test_missing_program);
        tcase_add_test(tc, test_close_while_running);
        tcase_add_test(tc, test_again_then_close);
        tcase_add_test(tc, test_runs_as_the_caller);
        tcase_add_test(tc, test_bad_config);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
