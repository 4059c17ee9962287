/* SPDX-License-Identifier: MIT */

/* fdsd: start-up, options and configuration, signals, and an orderly
 * shutdown that ends with every handle closed and uv_loop_close() == 0. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sys/stat.h>

#include "abort_left.h"
#include "journal.h"
#include "macro.h"
#include "batch.h"
#include "conf.h"
#include "config.h"
#include "http.h"
#include "s3_client.h"
#include "s3_settings.h"
#include "daemon.h"
#include "log.h"
#include "metrics_http.h"
#include "notify.h"
#include "server.h"
#include "session.h"
#include "socket_path.h"
#include "status.h"

#define SHUTDOWN_TIMEOUT_MS 10000

/* A flag that sets a configuration key, in command-line order. */
typedef struct flag_arg {
        const char *name;
        const char *value;
} flag_arg;

typedef struct args {
        const char *config; /* --config; NULL: FDS_CONFIG_FILE if it exists */
        bool check_config;
        flag_arg *flags;
        size_t n_flags;
} args;

/* One generation of settings. A reload makes a new one; the old ones stay
 * until exit, since the running daemon may still point at their strings. */
typedef struct conf_gen {
        fdsd_conf conf;
        char *default_socket;
        struct conf_gen *older;
} conf_gen;

typedef struct fdsd {
        fds_daemon d;
        uv_loop_t loop;
        server srv;
        metrics_http metrics;   /* --metrics-listen */
        notify notify;
        status_meter meter;
        uv_signal_t sigint, sigterm, sighup;
        uv_timer_t shutdown_timer;
        args args;
        mode_t umask;
        conf_gen *conf;         /* the newest */
        const conf_gen *started; /* the one the daemon started with */
        uploads_left left;      /* multipart uploads no abort got through */
        abort_left *aborts;     /* of those, at start */
        int exit_code;
} fdsd;

static void on_upload_left(fds_daemon *d, const char *endpoint, const char *bucket, const char *key,
                           const char *upload_id, const char *why) {
        fdsd *f = container_of(d, fdsd, d);
        int r = uploads_left_add(&f->left, endpoint, bucket, key, upload_id);
        log_warning("multipart upload left open, its parts still stored: s3://%s/%s upload id %s on %s (%s); %s",
                    bucket, key, upload_id, endpoint, why,
                    r < 0 ? "cannot keep it for the next start" : "the next start aborts it");
}

static void on_left_aborted(const char *endpoint, const char *bucket, const char *key, const char *upload_id,
                            int r, const char *why, void *userdata) {
        if (r >= 0)
                log_info("aborted the multipart upload an earlier run left open: s3://%s/%s upload id %s", bucket,
                         key, upload_id);
        else
                log_warning("multipart upload still left open: s3://%s/%s upload id %s on %s: %s; kept for the "
                            "next start",
                            bucket, key, upload_id, endpoint, why);
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: fdsd [OPTIONS]\n"
                "Serve batch file transfers over a varlink Unix socket.\n\n"
                "  -c, --config PATH          settings file (default " FDS_CONFIG_FILE ", if it exists)\n"
                "      --check-config         check the settings, print them (secrets masked) and exit\n"
                "  -s, --socket PATH          listen here (default: $FDS_SOCKET, else\n"
                "                             $XDG_RUNTIME_DIR/fds/fdsd.sock, root: /run/fds/fdsd.sock);\n"
                "                             unused when systemd passes the socket\n"
                "      --socket-mode MODE     permissions of the socket fdsd creates (root 0660, else 0600)\n"
                "      --socket-group GROUP   group of the socket fdsd creates\n"
                "      --parallelism N        files in flight per call by default (16)\n"
                "      --max-inflight N       files in flight in the whole daemon (64)\n"
                "      --max-connections N    client connections (1024)\n"
                "      --max-message-size B   largest request in bytes, K/M/G suffixes (64M)\n"
                "      --max-files N          files in one call (1000000)\n"
                "      --max-read-bytes B     bytes one Read call may return (64M)\n"
                "      --buffer-memory B      transfer buffers, daemon-wide (64M)\n"
                "      --max-bandwidth B      bytes per second, daemon-wide; 0: no cap (0)\n"
                "      --max-attempts N       tries per S3 request (5)\n"
                "      --allow-user LIST      users who may connect (names or uids, commas); with\n"
                "      --allow-group LIST     groups, they replace the default: the daemon's user\n"
                "                             and root, and for a root fdsd the socket's group\n"
                "      --max-connections-per-user N   (default: three quarters of the daemon's)\n"
                "      --max-inflight-per-user N      files in flight (three quarters of the daemon's)\n"
                "      --max-buffered-per-user B      memory of half-read messages (2 messages)\n"
                "      --write-stall-timeout S        drop a client that reads nothing this long (60)\n"
                "      --metrics-listen IP:PORT       serve Prometheus metrics over HTTP at /metrics\n"
                "                             (127.0.0.1:9464, [::1]:9464; default: off)\n"
                "      --s3-endpoint URL      default S3 endpoint\n"
                "      --s3-region REGION     default S3 region\n"
                "      --s3-profile NAME      default AWS profile\n"
                "      --s3-addressing-style  path, virtual or auto\n"
                "      --log-level LEVEL      error, warning, info or debug (info)\n"
                "      --log-target TARGET    auto, console or journal (auto: the journal when\n"
                "                             systemd connected stderr to it)\n"
                "  -h, --help                 this help\n"
                "      --version              print the version\n"
                "\nFlags override the settings file; see fdsd(8) and fdsd.conf(5).\n");
}

enum {
        OPT_CONFIG = 'c',
        OPT_VERSION = 0x100,
        OPT_CHECK_CONFIG,
        OPT_CONF, /* sets the configuration key whose flag is the option's name */
};

/* clang-format off */
/* Every OPT_CONF option is a setting of fdsd.conf by the same name (conf.c),
 * given on the command line. */
static const struct option longopts[] = {
        { "config", required_argument, NULL, OPT_CONFIG },
        { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { "socket", required_argument, NULL, 's' },
        { "socket-mode", required_argument, NULL, OPT_CONF },
        { "socket-group", required_argument, NULL, OPT_CONF },
        { "parallelism", required_argument, NULL, OPT_CONF },
        { "max-inflight", required_argument, NULL, OPT_CONF },
        { "max-connections", required_argument, NULL, OPT_CONF },
        { "max-message-size", required_argument, NULL, OPT_CONF },
        { "max-files", required_argument, NULL, OPT_CONF },
        { "max-read-bytes", required_argument, NULL, OPT_CONF },
        { "buffer-memory", required_argument, NULL, OPT_CONF },
        { "max-bandwidth", required_argument, NULL, OPT_CONF },
        { "max-attempts", required_argument, NULL, OPT_CONF },
        { "allow-user", required_argument, NULL, OPT_CONF },
        { "allow-group", required_argument, NULL, OPT_CONF },
        { "max-connections-per-user", required_argument, NULL, OPT_CONF },
        { "max-inflight-per-user", required_argument, NULL, OPT_CONF },
        { "max-buffered-per-user", required_argument, NULL, OPT_CONF },
        { "write-stall-timeout", required_argument, NULL, OPT_CONF },
        { "metrics-listen", required_argument, NULL, OPT_CONF },
        { "s3-endpoint", required_argument, NULL, OPT_CONF },
        { "s3-region", required_argument, NULL, OPT_CONF },
        { "s3-profile", required_argument, NULL, OPT_CONF },
        { "s3-addressing-style", required_argument, NULL, OPT_CONF },
        { "log-level", required_argument, NULL, OPT_CONF },
        { "log-target", required_argument, NULL, OPT_CONF },
        {},
};
/* clang-format on */

/* 0 to run, 1 to exit successfully (help, version), negative on error. */
static int parse_args(int argc, char **argv, args *a) {
        int c, idx;

        a->flags = calloc((size_t) argc, sizeof(*a->flags));
        if (!a->flags)
                return -ENOMEM;
        while ((c = getopt_long(argc, argv, "c:s:h", longopts, &idx)) >= 0) {
                switch (c) {
                case OPT_CONFIG:
                        a->config = optarg;
                        break;
                case OPT_CHECK_CONFIG:
                        a->check_config = true;
                        break;
                case 's':
                        a->flags[a->n_flags++] = (flag_arg){ "socket", optarg };
                        break;
                case OPT_CONF:
                        a->flags[a->n_flags++] = (flag_arg){ longopts[idx].name, optarg };
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                case OPT_VERSION:
                        printf("fdsd %s\n", FDS_VERSION);
                        return 1;
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "fdsd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static conf_gen *conf_gen_free(conf_gen *g) {
        while (g) {
                conf_gen *older = g->older;
                conf_done(&g->conf);
                free(g->default_socket);
                free(g);
                g = older;
        }
        return NULL;
}

/* The S3 defaults as the engine will judge them (endpoint URL well formed,
 * ...), so that a mistake stops fdsd at start rather than failing calls. */
static int conf_check_s3(const fdsd_conf *c, char **ret_error) {
        const s3_settings_defaults s3 = daemon_s3_defaults(&c->d);
        char *why = NULL;
        int r = s3_settings_check_defaults(&s3, &why);

        if (r < 0 && why && asprintf(ret_error, "[s3]: %s", why) < 0)
                *ret_error = NULL;
        free(why);
        return r;
}

/* The settings: built-in defaults, the file, the flags. On failure
 * *ret_error says why (NULL for -ENOMEM). */
static int conf_build(const args *a, mode_t mask, conf_gen **ret, char **ret_error) {
        conf_gen *g = calloc(1, sizeof(*g));
        int r;

        *ret_error = NULL;
        if (!g)
                return -ENOMEM;
        conf_init(&g->conf, mask);
        r = conf_load(&g->conf, a->config ? a->config : FDS_CONFIG_FILE, a->config != NULL, ret_error);
        for (size_t i = 0; r >= 0 && i < a->n_flags; i++)
                r = conf_set_flag(&g->conf, a->flags[i].name, a->flags[i].value, ret_error);
        if (r >= 0)
                r = conf_check(&g->conf, ret_error);
        if (r >= 0)
                r = conf_check_s3(&g->conf, ret_error);
        if (r >= 0 && !g->conf.d.socket_path) {
                r = fds_socket_path_default(&g->default_socket);
                g->conf.d.socket_path = g->default_socket;
        }
        if (r < 0) {
                conf_gen_free(g);
                return r;
        }
        *ret = g;
        return 0;
}

/* Credentials in a file others may read are worth a word. */
static void conf_warn_secrets(const fdsd_conf *c) {
        struct stat st;

        if (!c->source || !(c->d.s3_secret_access_key || c->d.s3_session_token))
                return;
        if (stat(c->source, &st) == 0 && (st.st_mode & 0077))
                log_warning("\"%s\" holds S3 credentials and others may read it (mode %04o); chmod 600 it",
                            c->source, (unsigned) (st.st_mode & 07777));
}

static bool str_differs(const char *a, const char *b) {
        return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Settings the running daemon cannot take over, compared with those it
 * started with: said at every reload until the file agrees again. */
static void conf_warn_restart(const fdsd_conf *old, const fdsd_conf *new) {
        const daemon_config *o = &old->d, *n = &new->d;
        const char *changed[16];
        size_t k = 0;

        if (str_differs(o->socket_path, n->socket_path))
                changed[k++] = "socket.path";
        if (old->socket_mode != new->socket_mode)
                changed[k++] = "socket.mode";
        if (old->socket_gid != new->socket_gid)
                changed[k++] = "socket.group";
        if (o->buffer_memory != n->buffer_memory)
                changed[k++] = "limits.buffer_memory";
        if (str_differs(o->metrics_listen, n->metrics_listen))
                changed[k++] = "metrics.listen";
        if (str_differs(o->s3_endpoint, n->s3_endpoint) || str_differs(o->s3_region, n->s3_region) ||
            str_differs(o->s3_profile, n->s3_profile) ||
            str_differs(o->s3_addressing_style, n->s3_addressing_style) ||
            str_differs(o->s3_access_key_id, n->s3_access_key_id) ||
            str_differs(o->s3_secret_access_key, n->s3_secret_access_key) ||
            str_differs(o->s3_session_token, n->s3_session_token))
                changed[k++] = "[s3]";
        for (size_t i = 0; i < k; i++)
                log_warning("reload: %s changed; it takes effect when fdsd restarts", changed[i]);
}

static void fdsd_reload(fdsd *f) {
        conf_gen *g = NULL;
        char *err = NULL;
        int r;

        notify_reloading(&f->notify);
        r = conf_build(&f->args, f->umask, &g, &err);
        if (r < 0) {
                log_error("reload: %s; the settings stay as they were", err ? err : strerror(-r));
                free(err);
                notify_ready(&f->notify);
                return;
        }
        conf_warn_restart(&f->started->conf, &g->conf);
        daemon_apply(&f->d, &g->conf.d);
        log_set_level(g->conf.log_level);
        log_open(g->conf.log_target);
        conf_warn_secrets(&g->conf);
        g->older = f->conf;
        f->conf = g;
        log_info("reloaded the settings%s%s%s", g->conf.source ? " from \"" : " (no settings file)",
                 g->conf.source ? g->conf.source : "", g->conf.source ? "\"" : "");
        notify_ready(&f->notify);
}

static void on_shutdown_timeout(uv_timer_t *t) {
        log_error("work still running %d s after the stop request; exiting anyway",
                  SHUTDOWN_TIMEOUT_MS / 1000);
        exit(1);
}

/* The last batch is gone: the HTTP engine and the retry timer can close. */
static void on_drained(fds_daemon *d) {
        daemon_shutdown(d);
}

static void fdsd_stop(fdsd *f) {
        list_node *n, *t;

        if (f->d.stopping)
                return;
        f->d.stopping = true;
        log_info("stopping");
        abort_left_stop(f->aborts);
        notify_stopping(&f->notify);
        notify_close(&f->notify);
        status_meter_close(&f->meter);
        server_close(&f->srv);
        metrics_http_close(&f->metrics);
        uv_close((uv_handle_t *) &f->sigint, NULL);
        uv_close((uv_handle_t *) &f->sigterm, NULL);
        uv_close((uv_handle_t *) &f->sighup, NULL);
        /* Closing a session cancels its batch; worker jobs stop at their next
         * chunk, and the loop ends when the last one has reported back. */
        list_for_each_safe(n, t, &f->d.sessions)
                session_close(list_entry(n, session, link));
        if (f->d.engine.n_batches == 0)
                on_drained(&f->d);
        uv_timer_start(&f->shutdown_timer, on_shutdown_timeout, SHUTDOWN_TIMEOUT_MS, 0);
        uv_unref((uv_handle_t *) &f->shutdown_timer);
}

static void on_signal(uv_signal_t *s, int signum) {
        if (signum == SIGHUP)
                fdsd_reload(s->data);
        else
                fdsd_stop(s->data);
}

static void close_walk(uv_handle_t *h, void *arg) {
        unsigned *n = arg;
        if (!uv_is_closing(h)) {
                (*n)++;
                uv_close(h, NULL);
        }
}

/* systemd's socket when it passed one, else one we bind. */
static int fdsd_listen(fdsd *f) {
        const fdsd_conf *c = &f->conf->conf;
        int fd, r;

        r = server_activation_fd(&fd);
        if (r == 0) {
                r = server_adopt(&f->srv, &f->d, fd);
                if (r < 0)
                        log_error("cannot serve on the socket systemd passed: %s", strerror(-r));
                else
                        log_info("listening on \"%s\" (socket activation)", f->srv.path);
                return r;
        }
        if (r != -ENOENT) {
                log_error("socket activation: %s",
                          r == -EBADF      ? "several sockets passed and none is named \"" SERVER_FD_NAME "\""
                          : r == -ENOTSOCK ? "the socket passed is not a listening Unix stream socket"
                                           : strerror(-r));
                return r;
        }
        r = server_listen(&f->srv, &f->d, c->d.socket_path, c->socket_mode, c->socket_gid);
        if (r < 0)
                log_error("cannot listen on \"%s\": %s%s", c->d.socket_path, strerror(-r),
                          r == -EADDRINUSE ? " (another fdsd is serving it)" : "");
        else
                log_info("listening on \"%s\"", c->d.socket_path);
        return r;
}

/* The metrics endpoint, when asked for. */
static int fdsd_listen_metrics(fdsd *f) {
        const char *addr = f->conf->conf.d.metrics_listen;
        int r;

        if (!addr)
                return 0;
        r = metrics_http_listen(&f->metrics, &f->d, addr);
        if (r < 0)
                log_error("cannot serve metrics on %s: %s", addr, uv_strerror(r));
        else
                log_info("serving metrics on http://%s/metrics", addr);
        return r;
}

static int fdsd_check_config(fdsd *f) {
        int r = conf_print(&f->conf->conf, stdout);
        if (r < 0) {
                fprintf(stderr, "fdsd: cannot print the settings: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

/* Options and settings. Returns -1 to go on, or the exit code. */
static int fdsd_configure(fdsd *f, int argc, char **argv) {
        char *err = NULL;
        int r;

        /* Read once, before any thread exists: umask() is process-wide. */
        f->umask = umask(0022);
        umask(f->umask);
        r = parse_args(argc, argv, &f->args);
        if (r != 0)
                return r > 0 ? 0 : 2;
        r = conf_build(&f->args, f->umask, &f->conf, &err);
        if (r < 0) {
                fprintf(stderr, "fdsd: %s\n", err ? err : strerror(-r));
                free(err);
                return r == -ENOMEM ? 1 : 2;
        }
        f->started = f->conf;
        log_set_level(f->conf->conf.log_level);
        log_open(f->conf->conf.log_target);
        conf_warn_secrets(&f->conf->conf);
        if (f->args.check_config)
                return fdsd_check_config(f);
        f->d.cfg = f->conf->conf.d;
        return -1;
}

/* Only what fdsd names its temporaries: ".<name>.fds-<16 hex>". */
static bool is_fds_temporary(const char *path) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        /* The tag is the name's end: the name itself may hold ".fds-" too. */
        if (base[0] != '.' || n < 1 + 5 + 16)
                return false;
        const char *tag = base + n - (5 + 16);
        return strncmp(tag, ".fds-", 5) == 0 && strspn(tag + 5, "0123456789abcdef") == 16;
}

typedef struct found_ctx {
        fdsd *f;
        unsigned removed, uploads;
} found_ctx;

static void found_tmp(const char *path, void *userdata) {
        found_ctx *c = userdata;
        if (!is_fds_temporary(path) || unlink(path) < 0)
                return;
        log_debug("removed \"%s\", a temporary file of a run that did not end", path);
        c->removed++;
}

static void found_upload(const char *endpoint, const char *bucket, const char *key, const char *upload_id,
                         void *userdata) {
        found_ctx *c = userdata;
        if (uploads_left_add(&c->f->left, endpoint, bucket, key, upload_id) == 0)
                c->uploads++;
}

/* What a killed run left (the crash journal): its temporaries go now, its
 * open multipart uploads join the ones to abort. */
static void fdsd_journal(fdsd *f, const char *state_dir) {
        found_ctx c = { .f = f };
        journal_found found = { .tmp = found_tmp, .upload = found_upload, .userdata = &c };
        int r = state_dir ? journal_open(state_dir, &found) : -ENOENT;
        if (r == -EBUSY)
                log_warning("another fdsd keeps its journal in \"%s\"; running without one (what a crash "
                            "leaves is not cleaned up)", state_dir);
        else if (r < 0)
                log_warning("cannot keep a journal in \"%s\": %s; what a crash leaves is not cleaned up",
                            state_dir ? state_dir : "(no state directory)", strerror(-r));
        if (c.removed || c.uploads)
                log_info("an earlier run did not end: removed %u temporary files, %u multipart uploads to abort",
                         c.removed, c.uploads);
}

/* Multipart uploads an earlier run could not abort: try again now. */
static void fdsd_abort_left(fdsd *f) {
        char *state_dir = uploads_left_dir();
        int r = uploads_left_load(&f->left, state_dir);
        if (r < 0)
                log_warning("cannot read the multipart uploads left open from \"%s\": %s", f->left.path,
                            strerror(-r));
        fdsd_journal(f, state_dir);
        free(state_dir);
        f->d.upload_left = on_upload_left;
        if (f->left.n == 0)
                return;
        log_info("%zu multipart uploads left open by an earlier run: aborting them", f->left.n);
        abort_left_with w = { .s3 = f->d.s3, .sites = &f->d.sites, .max_attempts = f->d.cfg.max_attempts,
                              .retry_budget_s = f->d.cfg.retry_budget_s };
        if (abort_left_start(&w, &f->left, on_left_aborted, f, &f->aborts) < 0)
                log_warning("cannot abort them now: out of memory");
}

/* The loop and everything on it, up to listening. 0, or the exit code. */
static int fdsd_start(fdsd *f) {
        const char *what;
        int r;

        signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("curl_global_init failed");
                return 1;
        }
        if ((r = uv_loop_init(&f->loop)) < 0) {
                log_error("uv_loop_init: %s", uv_strerror(r));
                return 1;
        }
        f->d.loop = &f->loop;
        uv_timer_init(&f->loop, &f->shutdown_timer);
        f->d.on_drained = on_drained;
        if ((r = daemon_init(&f->d, &what)) < 0) {
                log_error("cannot set up the %s: %s", what, strerror(-r));
                return 1;
        }
        fdsd_abort_left(f);
        if ((r = status_meter_start(&f->meter, &f->d)) < 0 || (r = notify_init(&f->notify, &f->d)) < 0) {
                log_error("timer: %s", uv_strerror(r));
                return 1;
        }
        uv_signal_init(&f->loop, &f->sigint);
        uv_signal_init(&f->loop, &f->sigterm);
        uv_signal_init(&f->loop, &f->sighup);
        f->sigint.data = f->sigterm.data = f->sighup.data = f;
        uv_signal_start(&f->sigint, on_signal, SIGINT);
        uv_signal_start(&f->sigterm, on_signal, SIGTERM);
        uv_signal_start(&f->sighup, on_signal, SIGHUP);

        r = fdsd_listen(f);
        if (r >= 0)
                r = fdsd_listen_metrics(f);
        if (r < 0) {
                notify_failed(&f->notify, r, "cannot listen");
                f->exit_code = 1;
                fdsd_stop(f);
        } else
                notify_ready(&f->notify);
        return 0;
}

/* After the loop stopped: close what is left, and the loop itself. */
static void fdsd_finish(fdsd *f) {
        unsigned leftover = 0;
        uv_walk(&f->loop, close_walk, &leftover);
        uv_run(&f->loop, UV_RUN_DEFAULT);
        int r = uv_loop_close(&f->loop);
        if (r != 0) {
                log_error("event loop still busy at exit: %s", uv_strerror(r));
                f->exit_code = 1;
        }
        if (leftover > 1) /* the shutdown timer is expected */
                log_warning("%u handles were still open at exit", leftover - 1);
        log_info("stopped: %" PRIu64 " connections, %" PRIu64 " files ok, %" PRIu64 " failed, %" PRIu64 " bytes",
                 f->d.stats.connections_total, f->d.engine.stats.files_ok, f->d.engine.stats.files_failed,
                 f->d.engine.stats.bytes);
        s3_ctx_free(f->d.s3);
        abort_left_free(f->aborts);
        uploads_left_free(&f->left);
        journal_close();
        curl_global_cleanup();
}

int main(int argc, char **argv) {
        static fdsd f;

        int r = fdsd_configure(&f, argc, argv);
        if (r < 0) {
                r = fdsd_start(&f);
                if (r == 0) {
                        uv_run(&f.loop, UV_RUN_DEFAULT);
                        fdsd_finish(&f);
                        r = f.exit_code;
                }
        }
        conf_gen_free(f.conf);
        free(f.args.flags);
        return r;
}
