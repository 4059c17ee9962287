/* SPDX-License-Identifier: MIT */
#include "credproc.h"

#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xstr.h"

/*
 * One run at a time (creds.c asks for one fetch at a time): a process with
 * its stdout and stderr on pipes and a timer. The run's outcome is decided
 * when the process has exited and both pipes reached EOF, or when the
 * timer fires; its handles are freed in their close callbacks, and a
 * source being closed frees itself once the last one is.
 */

extern char **environ;

typedef struct credproc credproc;
typedef struct run run;

struct credproc {
        creds *k;
        uv_loop_t *loop;
        char **argv;
        char *name; /* "credential_process of profile 'x'" */
        bool set_user;
        uid_t uid;
        gid_t gid;
        unsigned timeout_ms;
        run *run;
        bool closing;
};

struct run {
        credproc *p;
        uv_process_t proc;
        uv_pipe_t out, err;
        uv_timer_t timer;
        unsigned open; /* handles not yet closed */
        bool spawned, exited, out_eof, err_eof, timed_out, too_big, decided, closing;
        int error;     /* the outcome, told once every handle is closed */
        char *message;
        int64_t exit_status;
        int term_signal;
        char *out_buf;
        size_t out_len;
        char err_buf[CREDPROC_STDERR_MAX + 1];
        size_t err_len;
        char read_buf[16384];
        char **env;
};

/* ---- splitting, as shlex.split ---- */

void credproc_argv_free(char **argv) {
        if (!argv)
                return;
        for (char **a = argv; *a; a++)
                free(*a);
        free(argv);
}

static bool blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One word from *c into word (room for all of it): its length, and *c past
 * it; -EINVAL for an unclosed quote or a trailing backslash. */
static ssize_t split_word(const char **cp, char *word) {
        const char *c = *cp;
        size_t w = 0;

        while (*c && !blank(*c)) {
                if (*c == '\'') {
                        const char *e = strchr(c + 1, '\'');
                        if (!e)
                                return -EINVAL;
                        memcpy(word + w, c + 1, (size_t) (e - c - 1));
                        w += (size_t) (e - c - 1);
                        c = e + 1;
                } else if (*c == '"') {
                        for (c++; *c && *c != '"'; c++) {
                                if (*c == '\\' && (c[1] == '"' || c[1] == '\\'))
                                        c++;
                                word[w++] = *c;
                        }
                        if (!*c)
                                return -EINVAL;
                        c++;
                } else if (*c == '\\') {
                        if (!c[1])
                                return -EINVAL;
                        word[w++] = c[1];
                        c += 2;
                } else
                        word[w++] = *c++;
        }
        *cp = c;
        return (ssize_t) w;
}

int credproc_split(const char *s, char ***ret) {
        size_t n = 0, cap = 4;
        char **argv = calloc(cap + 1, sizeof(char *));
        char *word = malloc(strlen(s) + 1);
        int r = 0;

        if (!argv || !word)
                r = -ENOMEM;
        for (const char *c = s; r == 0;) {
                while (blank(*c))
                        c++;
                if (!*c)
                        break;
                ssize_t w = split_word(&c, word);
                if (w < 0) {
                        r = (int) w;
                        break;
                }
                if (n == cap) {
                        char **a = realloc(argv, (cap * 2 + 1) * sizeof(char *));
                        if (!a) {
                                r = -ENOMEM;
                                break;
                        }
                        argv = a;
                        cap *= 2;
                }
                argv[n] = strndup(word, (size_t) w);
                if (!argv[n])
                        r = -ENOMEM;
                else
                        argv[++n] = NULL;
        }
        if (r == 0 && n == 0)
                r = -EINVAL;
        free(word);
        if (r < 0) {
                credproc_argv_free(argv);
                return r;
        }
        *ret = argv;
        return 0;
}

/* ---- the environment of a run ---- */

static void env_free(char **env) {
        credproc_argv_free(env);
}

/* The daemon's secrets the caller must not see in its helper's
 * environment (it could read /proc/PID/environ). */
static bool secret_var(const char *e) {
        static const char *const names[] = { "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
                                             "AWS_SECURITY_TOKEN=", "AWS_CONTAINER_AUTHORIZATION_TOKEN=" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strncmp(e, names[i], strlen(names[i])) == 0)
                        return true;
        return false;
}

/* The daemon's environment; running as another user, without the
 * daemon's keys and with that user's HOME, USER and LOGNAME. -ENOENT when
 * the user database has no such user. */
static int env_build(const credproc *p, char ***ret) {
        static const char *const own[] = { "HOME=", "USER=", "LOGNAME=" };
        char *set[3] = { NULL, NULL, NULL };
        size_t n = 0, k = 0;
        char **env = NULL;

        if (p->set_user) {
                struct passwd pw, *found = NULL;
                long size = sysconf(_SC_GETPW_R_SIZE_MAX);
                size_t cap = size > 0 ? (size_t) size : 4096;
                char *buf = NULL;
                int e;
                do {
                        free(buf);
                        buf = malloc(cap);
                        e = buf ? getpwuid_r(p->uid, &pw, buf, cap, &found) : ENOMEM;
                        cap *= 2;
                } while (e == ERANGE && cap <= (1u << 20));
                if (e == 0 && found) {
                        set[0] = xasprintf("HOME=%s", pw.pw_dir);
                        set[1] = xasprintf("USER=%s", pw.pw_name);
                        set[2] = xasprintf("LOGNAME=%s", pw.pw_name);
                }
                free(buf);
                if (e != 0 || !found)
                        return e == ENOMEM ? -ENOMEM : -ENOENT;
                if (!set[0] || !set[1] || !set[2])
                        goto nomem;
        }
        for (char **e = environ; e && *e; e++)
                n++;
        env = calloc(n + 4, sizeof(char *));
        if (!env)
                goto nomem;
        for (char **e = environ; e && *e; e++) {
                bool skip = p->set_user && secret_var(*e);
                for (size_t i = 0; i < 3; i++)
                        if (set[i] && strncmp(*e, own[i], strlen(own[i])) == 0)
                                skip = true;
                if (skip)
                        continue;
                if (!(env[k++] = strdup(*e)))
                        goto nomem;
        }
        for (size_t i = 0; i < 3; i++)
                if (set[i]) {
                        env[k++] = set[i];
                        set[i] = NULL;
                }
        *ret = env;
        return 0;
nomem:
        env_free(env);
        for (size_t i = 0; i < 3; i++)
                free(set[i]);
        return -ENOMEM;
}

/* ---- a run ---- */

static void source_free(credproc *p) {
        creds *k = p->k;
        credproc_argv_free(p->argv);
        free(p->name);
        free(p);
        creds_source_closed(k);
}

/* The last handle of the run is closed: now its outcome is told, so no
 * second run can start while this one still has handles (creds.c starts a
 * fetch only after the last one ended). */
static void on_run_closed(uv_handle_t *h) {
        run *rn = h->data;
        if (--rn->open > 0)
                return;
        credproc *p = rn->p;
        p->run = NULL;
        if (!p->closing)
                creds_fetch_end(p->k, rn->error, rn->message);
        free(rn->message);
        env_free(rn->env);
        if (rn->out_buf)
                explicit_bzero(rn->out_buf, rn->out_len);
        free(rn->out_buf);
        explicit_bzero(rn->read_buf, sizeof(rn->read_buf));
        free(rn);
        if (p->closing)
                source_free(p);
}

/* A process still running is killed, and its handle closed only once it
 * has exited (on_exit_cb): libuv reaps only children it still watches. */
static void run_close(run *rn) {
        uv_handle_t *hs[] = { (uv_handle_t *) &rn->out, (uv_handle_t *) &rn->err, (uv_handle_t *) &rn->timer };
        rn->closing = true;
        for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
                if (!uv_is_closing(hs[i]))
                        uv_close(hs[i], on_run_closed);
        if (rn->spawned && !rn->exited)
                (void) uv_process_kill(&rn->proc, SIGKILL);
        else if (!uv_is_closing((uv_handle_t *) &rn->proc))
                uv_close((uv_handle_t *) &rn->proc, on_run_closed);
}

/* The first line of what the process wrote to stderr, or "". */
static const char *err_line(run *rn) {
        rn->err_buf[rn->err_len] = '\0';
        char *s = rn->err_buf;
        while (*s == '\n' || *s == '\r' || *s == ' ')
                s++;
        s[strcspn(s, "\r\n")] = '\0';
        return s;
}

static int run_keep(run *rn, const char **ret_why) {
        json_t *j = json_loadb(rn->out_buf ? rn->out_buf : "", rn->out_len, JSON_REJECT_DUPLICATES, NULL);
        int r;

        if (!j)
                return (*ret_why = "wrote output that is not JSON", -EBADMSG);
        json_t *v = json_object_get(j, "Version");
        if (!json_is_integer(v) || json_integer_value(v) != 1)
                r = (*ret_why = "wrote a document without \"Version\": 1", -EBADMSG);
        else
                r = creds_keep_json(rn->p->k, j, "SessionToken", false, NULL, ret_why);
        json_decref(j);
        return r;
}

static void run_fail(run *rn, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void run_fail(run *rn, int error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        rn->error = error;
        rn->message = xvasprintf(fmt, ap);
        va_end(ap);
}

/* The outcome, once (told when the handles are closed). */
static void run_decide(run *rn) {
        credproc *p = rn->p;
        const char *why = NULL, *line;
        int r;

        if (rn->decided)
                return;
        rn->decided = true;
        if (p->closing)
                ; /* creds_close() answered the waiters */
        else if (rn->timed_out)
                run_fail(rn, -ETIMEDOUT, "%s did not finish in %u s and was killed", p->name,
                         (p->timeout_ms + 999) / 1000);
        else if (rn->too_big)
                run_fail(rn, -EFBIG, "%s wrote more than %u bytes", p->name, CREDPROC_STDOUT_MAX);
        else if (rn->term_signal || rn->exit_status != 0) {
                line = err_line(rn);
                if (rn->term_signal)
                        run_fail(rn, -EPERM, "%s was killed by signal %d%s%s", p->name, rn->term_signal,
                                 *line ? ": " : "", line);
                else
                        run_fail(rn, -EPERM, "%s exited with status %lld%s%s", p->name, (long long) rn->exit_status,
                                 *line ? ": " : "", line);
        } else if ((r = run_keep(rn, &why)) < 0 && why)
                run_fail(rn, r, "%s %s", p->name, why);
        else
                rn->error = r;
        run_close(rn);
}

static void maybe_decide(run *rn) {
        if (rn->exited && rn->out_eof && rn->err_eof)
                run_decide(rn);
}

static void on_exit_cb(uv_process_t *proc, int64_t status, int signal) {
        run *rn = proc->data;
        rn->exited = true;
        rn->exit_status = status;
        rn->term_signal = signal;
        if (rn->closing)
                uv_close((uv_handle_t *) proc, on_run_closed);
        else
                maybe_decide(rn);
}

static void on_timeout(uv_timer_t *t) {
        run *rn = t->data;
        rn->timed_out = true;
        run_decide(rn); /* kills it, if it still runs */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
        run *rn = h->data;
        *buf = uv_buf_init(rn->read_buf, sizeof(rn->read_buf));
}

static void on_out(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
        run *rn = s->data;
        if (n < 0) {
                rn->out_eof = true;
                uv_read_stop(s);
                maybe_decide(rn);
                return;
        }
        if ((size_t) n > CREDPROC_STDOUT_MAX - rn->out_len) {
                rn->too_big = true;
                run_decide(rn);
                return;
        }
        char *b = realloc(rn->out_buf, rn->out_len + (size_t) n);
        if (!b) {
                rn->too_big = true; /* cannot keep it: as good as too big */
                run_decide(rn);
                return;
        }
        memcpy(b + rn->out_len, buf->base, (size_t) n);
        rn->out_buf = b;
        rn->out_len += (size_t) n;
}

static void on_err(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
        run *rn = s->data;
        if (n < 0) {
                rn->err_eof = true;
                uv_read_stop(s);
                maybe_decide(rn);
                return;
        }
        size_t keep = CREDPROC_STDERR_MAX - rn->err_len;
        if ((size_t) n < keep)
                keep = (size_t) n;
        memcpy(rn->err_buf + rn->err_len, buf->base, keep);
        rn->err_len += keep;
}

static void credproc_fetch(creds *k, void *source) {
        credproc *p = source;
        run *rn = calloc(1, sizeof(*rn));
        int r;

        if (!rn) {
                creds_fetch_end(k, -ENOMEM, NULL);
                return;
        }
        rn->p = p;
        r = env_build(p, &rn->env);
        if (r < 0) {
                free(rn);
                if (r == -ENOENT)
                        creds_fetch_fail(k, r, "%s: uid %u is not in the user database, so it cannot run as that user",
                                         p->name, (unsigned) p->uid);
                else
                        creds_fetch_end(k, r, NULL);
                return;
        }
        p->run = rn;
        (void) uv_pipe_init(p->loop, &rn->out, 0);
        (void) uv_pipe_init(p->loop, &rn->err, 0);
        (void) uv_timer_init(p->loop, &rn->timer);
        rn->out.data = rn->err.data = rn->timer.data = rn->proc.data = rn;
        rn->open = 4;
        uv_stdio_container_t stdio[3] = {
                { .flags = UV_IGNORE },
                { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *) &rn->out },
                { .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *) &rn->err },
        };
        uv_process_options_t o = {
                .exit_cb = on_exit_cb,
                .file = p->argv[0],
                .args = p->argv,
                .env = rn->env,
                .stdio_count = 3,
                .stdio = stdio,
                .flags = p->set_user ? UV_PROCESS_SETUID | UV_PROCESS_SETGID : 0,
                .uid = p->uid,
                .gid = p->gid,
        };
        r = uv_spawn(p->loop, &rn->proc, &o);
        if (r < 0) {
                rn->decided = true;
                run_fail(rn, r, "%s could not be started ('%s'): %s", p->name, p->argv[0], uv_strerror(r));
                run_close(rn); /* the handle is initialized even when spawning failed */
                return;
        }
        rn->spawned = true;
        (void) uv_read_start((uv_stream_t *) &rn->out, on_alloc, on_out);
        (void) uv_read_start((uv_stream_t *) &rn->err, on_alloc, on_err);
        (void) uv_timer_start(&rn->timer, on_timeout, p->timeout_ms, 0);
}

static void credproc_close_source(creds *k, void *source) {
        credproc *p = source;
        p->closing = true;
        if (p->run) {
                p->run->decided = true;
                run_close(p->run); /* the last close callback frees p */
        } else
                source_free(p);
}

static const creds_ops credproc_ops = {
        .fetch = credproc_fetch,
        .close = credproc_close_source,
};

int credproc_new(uv_loop_t *loop, const credproc_config *config, creds **ret) {
        credproc *p;
        int r;

        if (!loop || !config || !config->command || !config->profile)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        r = credproc_split(config->command, &p->argv);
        if (r < 0) {
                free(p);
                return r;
        }
        p->loop = loop;
        p->set_user = config->set_user;
        p->uid = config->uid;
        p->gid = config->gid;
        p->timeout_ms = config->timeout_ms ? config->timeout_ms : CREDPROC_TIMEOUT_MS;
        p->name = xasprintf("credential_process of profile '%s'", config->profile);
        creds_config kc = { .endpoint = config->command,
                            .name = "credential_process",
                            .now = config->now,
                            .now_userdata = config->now_userdata };
        r = p->name ? creds_new(loop, &kc, &credproc_ops, p, &p->k) : -ENOMEM;
        if (r < 0) {
                credproc_argv_free(p->argv);
                free(p->name);
                free(p);
                return r;
        }
        *ret = p->k;
        return 0;
}
