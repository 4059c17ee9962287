/* SPDX-License-Identifier: MIT */

/* fdsd: start-up, options, signals and an orderly shutdown that ends with
 * every handle closed and uv_loop_close() == 0. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sys/stat.h>

#include "batch.h"
#include "config.h"
#include "http.h"
#include "engine.h"
#include "s3_client.h"
#include "daemon.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "socket_path.h"

#define SHUTDOWN_TIMEOUT_MS 10000

typedef struct fdsd {
        fds_daemon d;
        uv_loop_t loop;
        server srv;
        uv_signal_t sigint, sigterm;
        uv_timer_t shutdown_timer;
        int exit_code;
} fdsd;

static void usage(FILE *f) {
        fprintf(f,
                "Usage: fdsd [OPTIONS]\n"
                "Serve batch file transfers over a varlink Unix socket.\n\n"
                "  -s, --socket PATH          listen here (default: $FDS_SOCKET, else\n"
                "                             $XDG_RUNTIME_DIR/fds/fdsd.sock, root: /run/fds/fdsd.sock)\n"
                "      --parallelism N        files in flight per call by default (16)\n"
                "      --max-inflight N       files in flight in the whole daemon (64)\n"
                "      --max-connections N    client connections (1024)\n"
                "      --max-message-size B   largest request in bytes, K/M/G suffixes (64M)\n"
                "      --max-files N          files in one call (1000000)\n"
                "      --max-read-bytes B     bytes one Read call may return (64M)\n"
                "      --log-level LEVEL      error, warning, info or debug (info)\n"
                "  -h, --help                 this help\n"
                "      --version              print the version\n");
}

static int parse_size(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || s[0] == '-')
                return -EINVAL;
        uint64_t mul = 1;
        if (*end == 'K' || *end == 'k')
                mul = 1024, end++;
        else if (*end == 'M' || *end == 'm')
                mul = 1024 * 1024, end++;
        else if (*end == 'G' || *end == 'g')
                mul = 1024ULL * 1024 * 1024, end++;
        if (*end || (v && mul > UINT64_MAX / v))
                return -EINVAL;
        *ret = v * mul;
        return 0;
}

static int parse_count(const char *s, unsigned max, unsigned *ret) {
        uint64_t v;
        if (parse_size(s, &v) < 0 || v == 0 || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

enum {
        OPT_PARALLELISM = 0x100,
        OPT_MAX_INFLIGHT,
        OPT_MAX_CONNECTIONS,
        OPT_MAX_MESSAGE,
        OPT_MAX_FILES,
        OPT_MAX_READ,
        OPT_LOG_LEVEL,
        OPT_VERSION,
};

/* 0 to run, 1 to exit successfully (help, version), negative on error. */
static int parse_args(int argc, char **argv, daemon_config *cfg) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "parallelism", required_argument, NULL, OPT_PARALLELISM },
                { "max-inflight", required_argument, NULL, OPT_MAX_INFLIGHT },
                { "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
                { "max-message-size", required_argument, NULL, OPT_MAX_MESSAGE },
                { "max-files", required_argument, NULL, OPT_MAX_FILES },
                { "max-read-bytes", required_argument, NULL, OPT_MAX_READ },
                { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {},
        };
        int c, r = 0;
        uint64_t v;
        unsigned u;

        while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) >= 0) {
                switch (c) {
                case 's':
                        cfg->socket_path = optarg;
                        break;
                case OPT_PARALLELISM:
                        r = parse_count(optarg, 100000, &cfg->parallelism);
                        break;
                case OPT_MAX_INFLIGHT:
                        r = parse_count(optarg, 100000, &cfg->max_inflight);
                        break;
                case OPT_MAX_CONNECTIONS:
                        r = parse_count(optarg, 1000000, &cfg->max_connections);
                        break;
                case OPT_MAX_MESSAGE:
                        r = parse_size(optarg, &v);
                        if (r == 0 && (v < 1024 || v > (1ULL << 31)))
                                r = -EINVAL;
                        cfg->max_message = (size_t) v;
                        break;
                case OPT_MAX_FILES:
                        r = parse_count(optarg, 100000000, &u);
                        cfg->max_entries = u;
                        break;
                case OPT_MAX_READ:
                        r = parse_size(optarg, &cfg->max_read_bytes);
                        break;
                case OPT_LOG_LEVEL:
                        r = log_level_parse(optarg);
                        if (r >= 0)
                                log_set_level((log_level) r), r = 0;
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
                if (r < 0) {
                        fprintf(stderr, "fdsd: invalid value for --%s: '%s'\n",
                                c == 's' ? "socket" : opts[c - OPT_PARALLELISM + 1].name, optarg);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "fdsd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static void on_shutdown_timeout(uv_timer_t *t) {
        log_error("work still running %d s after the stop request; exiting anyway",
                  SHUTDOWN_TIMEOUT_MS / 1000);
        exit(1);
}

/* The last batch is gone: the HTTP engine and the retry timer can close. */
static void on_drained(fds_daemon *d) {
        engine_shutdown(d);
        if (d->http) {
                http_client_close(d->http, NULL, NULL);
                d->http = NULL;
        }
        delay_close(&d->delay);
}

static void fdsd_stop(fdsd *f) {
        list_node *n, *t;

        if (f->d.stopping)
                return;
        f->d.stopping = true;
        log_info("stopping");
        server_close(&f->srv);
        uv_close((uv_handle_t *) &f->sigint, NULL);
        uv_close((uv_handle_t *) &f->sigterm, NULL);
        /* Closing a session cancels its batch; worker jobs stop at their next
         * chunk, and the loop ends when the last one has reported back. */
        list_for_each_safe(n, t, &f->d.sessions)
                session_close(list_entry(n, session, link));
        if (f->d.n_batches == 0)
                on_drained(&f->d);
        uv_timer_start(&f->shutdown_timer, on_shutdown_timeout, SHUTDOWN_TIMEOUT_MS, 0);
        uv_unref((uv_handle_t *) &f->shutdown_timer);
}

static void on_signal(uv_signal_t *s, int signum) {
        fdsd_stop(s->data);
}

static void close_walk(uv_handle_t *h, void *arg) {
        unsigned *n = arg;
        if (!uv_is_closing(h)) {
                (*n)++;
                uv_close(h, NULL);
        }
}

int main(int argc, char **argv) {
        static fdsd f;
        char *default_path = NULL;
        int r;

        f.d.cfg = (daemon_config){
                .parallelism = 16,
                .max_inflight = 64,
                .max_message = 64 * 1024 * 1024,
                .max_entries = 1000000,
                .max_read_bytes = 64 * 1024 * 1024,
                .max_connections = 1024,
                .max_reply_backlog = 4 * 1024 * 1024,
                .max_attempts = 5,
                .validate_concurrency = 64,
                .multipart = true,
                .multipart_threshold = 8 * 1024 * 1024,
                .multipart_chunksize = 8 * 1024 * 1024,
                .max_concurrency = 10,
                .buffer_memory = 64 * 1024 * 1024,
        };
        r = parse_args(argc, argv, &f.d.cfg);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (!f.d.cfg.socket_path) {
                if (fds_socket_path_default(&default_path) < 0)
                        return 1;
                f.d.cfg.socket_path = default_path;
        }
        signal(SIGPIPE, SIG_IGN);
        /* Read once, before any thread exists: umask() is process-wide. */
        mode_t mask = umask(0022);
        umask(mask);
        f.d.cfg.file_mode = 0666 & ~mask;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("curl_global_init failed");
                return 1;
        }

        if ((r = uv_loop_init(&f.loop)) < 0) {
                log_error("uv_loop_init: %s", uv_strerror(r));
                return 1;
        }
        f.d.loop = &f.loop;
        list_init(&f.d.sessions);
        scheduler_init(&f.d.sched, f.d.cfg.max_inflight);
        uv_timer_init(&f.loop, &f.shutdown_timer);
        f.d.on_drained = on_drained;
        if ((r = delay_init(&f.d.delay, &f.loop)) < 0) {
                log_error("timer: %s", uv_strerror(r));
                return 1;
        }
        http_client_config hc = {
                .max_total_connections = f.d.cfg.max_inflight + f.d.cfg.validate_concurrency,
                .connect_timeout_ms = 10000,
                .low_speed_limit = 1,
                .low_speed_time = 60,
                .ca_bundle = getenv("AWS_CA_BUNDLE"),
        };
        if ((r = http_client_new(&f.loop, &hc, &f.d.http)) < 0 || (r = s3_ctx_new(f.d.http, &f.d.delay, &f.d.s3)) < 0) {
                log_error("cannot set up the HTTP engine: %s", strerror(-r));
                return 1;
        }
        uv_signal_init(&f.loop, &f.sigint);
        uv_signal_init(&f.loop, &f.sigterm);
        f.sigint.data = f.sigterm.data = &f;
        uv_signal_start(&f.sigint, on_signal, SIGINT);
        uv_signal_start(&f.sigterm, on_signal, SIGTERM);

        r = server_listen(&f.srv, &f.d, f.d.cfg.socket_path);
        if (r < 0) {
                log_error("cannot listen on \"%s\": %s%s", f.d.cfg.socket_path, strerror(-r),
                          r == -EADDRINUSE ? " (another fdsd is serving it)" : "");
                f.exit_code = 1;
                fdsd_stop(&f);
        } else
                log_info("listening on \"%s\"", f.d.cfg.socket_path);

        uv_run(&f.loop, UV_RUN_DEFAULT);

        unsigned leftover = 0;
        uv_walk(&f.loop, close_walk, &leftover);
        uv_run(&f.loop, UV_RUN_DEFAULT);
        r = uv_loop_close(&f.loop);
        if (r != 0) {
                log_error("event loop still busy at exit: %s", uv_strerror(r));
                f.exit_code = 1;
        }
        if (leftover > 1) /* the shutdown timer is expected */
                log_warning("%u handles were still open at exit", leftover - 1);
        log_info("stopped: %" PRIu64 " connections, %" PRIu64 " files ok, %" PRIu64 " failed, %" PRIu64 " bytes",
                 f.d.stats.connections_total, f.d.stats.files_ok, f.d.stats.files_failed, f.d.stats.bytes);
        s3_ctx_free(f.d.s3);
        curl_global_cleanup();
        free(default_path);
        return f.exit_code;
}
