/* SPDX-License-Identifier: MIT */
/* fdsctl calls, cancel ID..., bwlimit [RATE [ID]]: what the daemon runs,
 * and steering it while it runs. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdsctl.h"

enum { CTL_OK = 0, CTL_SOME_FAILED = 1, CTL_USAGE = 2 };

bool control_is_command(const char *command) {
        return strcmp(command, "calls") == 0 || strcmp(command, "cancel") == 0 || strcmp(command, "bwlimit") == 0;
}

static int parse_id(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s[0] || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > INT64_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* "off", "0", "512K", "10M", "1.5G", "100MiB" (binary units, as rclone's
 * --bwlimit): bytes per second. */
static int parse_rate(const char *s, uint64_t *ret) {
        static const char units[] = "KMGT";
        char *end;
        double v;

        if (strcmp(s, "off") == 0) {
                *ret = 0;
                return 0;
        }
        if (!(s[0] >= '0' && s[0] <= '9'))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || !isfinite(v))
                return -EINVAL;
        const char *u = *end ? strchr(units, end[0]) : NULL;
        if (u) {
                for (const char *k = units; k <= u; k++)
                        v *= 1024.0;
                end++;
                if (*end == 'i')
                        end++;
        }
        if (*end == 'B')
                end++;
        if (*end || v > 1125899906842624.0) /* 2^50, the daemon's most */
                return -EINVAL;
        *ret = (uint64_t) v;
        return 0;
}

int control_check(const char *command, char **operands, size_t n) {
        uint64_t v;

        if (strcmp(command, "calls") == 0)
                return n == 0 ? 0 : usage_error("calls takes no operands");
        if (strcmp(command, "cancel") == 0) {
                if (n == 0)
                        return usage_error("cancel wants the ID of a call (fdsctl calls lists them)");
                for (size_t i = 0; i < n; i++)
                        if (parse_id(operands[i], &v) < 0)
                                return usage_error("'%s' is not a call ID", operands[i]);
                return 0;
        }
        if (n > 2)
                return usage_error("bwlimit wants [RATE [ID]]");
        if (n >= 1 && (parse_rate(operands[0], &v) < 0 || (v != 0 && v < 1024)))
                return usage_error("'%s' is not a rate: off, or 1K to 1024T bytes a second (512K, 10M, 1.5G)",
                                   operands[0]);
        if (n == 2 && parse_id(operands[1], &v) < 0)
                return usage_error("'%s' is not a call ID", operands[1]);
        return 0;
}

static int call_failed(fds_client *c, const char *what, int r) {
        const fds_call_error *e = r == -EREMOTEIO ? fds_client_last_error(c) : NULL;

        fprintf(stderr, "fdsctl: %s: %s\n", what, e ? e->message : strerror(-r));
        /* A call the daemon refused is this one's failure; anything else
         * (connection, protocol) is fdsctl's. */
        return e && (strcmp(e->name, FDS_CALL_ERROR_NO_SUCH_CALL) == 0 ||
                     strcmp(e->name, FDS_CALL_ERROR_NOT_PERMITTED) == 0)
                       ? CTL_SOME_FAILED
                       : CTL_USAGE;
}

static const char *rate_text(uint64_t v, char buf[static 32]) {
        if (v == 0)
                return "-";
        human_bytes(v, buf);
        strcat(buf, "/s");
        return buf;
}

static json_t *call_info_json(const fds_call_info *ci) {
        /* clang-format off */
        return json_pack("{s:I, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I}",
                         "id", (json_int_t) ci->id, "method", ci->method, "uid", (json_int_t) ci->uid,
                         "pid", (json_int_t) ci->pid, "state", ci->state, "files", (json_int_t) ci->files,
                         "files_ok", (json_int_t) ci->files_ok, "files_failed", (json_int_t) ci->files_failed,
                         "files_in_flight", (json_int_t) ci->files_in_flight,
                         "files_queued", (json_int_t) ci->files_queued, "bytes", (json_int_t) ci->bytes,
                         "bytes_per_second", (json_int_t) ci->bytes_per_second, "seconds", ci->seconds,
                         "max_bandwidth", (json_int_t) ci->max_bandwidth);
        /* clang-format on */
}

static int print_calls_json(const fds_call_info *v, size_t n, uint64_t cap) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, call_info_json(&v[i])) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        json_t *o = a ? json_pack("{s:o, s:I}", "calls", a, "max_bandwidth", (json_int_t) cap) : NULL;
        int r = o ? json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6)) : -ENOMEM;
        json_decref(o);
        if (r == 0)
                fputc('\n', stdout);
        return r < 0 ? -EIO : 0;
}

static void print_calls_table(const fds_call_info *v, size_t n, uint64_t cap) {
        char b[32], rate[32], capb[32], age[48];

        printf("%-6s %-5s %6s %8s %-9s %15s %6s %8s %10s %12s %12s  %s\n", "ID", "CALL", "UID", "PID", "STATE",
               "DONE/FILES", "FLIGHT", "QUEUED", "BYTES", "RATE", "CAP", "AGE");
        for (size_t i = 0; i < n; i++) {
                const fds_call_info *ci = &v[i];
                char done[40];
                snprintf(done, sizeof(done), "%" PRIu64 "/%" PRIu64, ci->files_ok + ci->files_failed, ci->files);
                printf("%-6" PRIu64 " %-5s %6" PRIu32 " %8" PRId32 " %-9s %15s %6" PRIu64 " %8" PRIu64
                       " %10s %12s %12s  %s\n",
                       ci->id, ci->method, ci->uid, ci->pid, ci->state, done, ci->files_in_flight, ci->files_queued,
                       human_bytes(ci->bytes, b), rate_text(ci->bytes_per_second, rate),
                       rate_text(ci->max_bandwidth, capb), human_duration(ci->seconds, age));
        }
        printf("daemon cap: %s\n", cap ? rate_text(cap, capb) : "none");
}

static int cmd_calls(fds_client *c, bool json) {
        fds_call_info *v = NULL;
        size_t n = 0;
        uint64_t cap = 0;
        int r = fds_client_calls(c, &v, &n, &cap);

        if (r < 0)
                return call_failed(c, "calls", r);
        if (json)
                r = print_calls_json(v, n, cap);
        else
                print_calls_table(v, n, cap);
        free(v);
        if (r < 0 || fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "fdsctl: write error: %s\n", strerror(errno));
                return CTL_SOME_FAILED;
        }
        return CTL_OK;
}

static int cmd_cancel(fds_client *c, char **ids, size_t n, bool quiet) {
        int status = CTL_OK;

        for (size_t i = 0; i < n; i++) {
                uint64_t id;
                bool canceled = false;
                char what[64];

                (void) parse_id(ids[i], &id); /* checked before */
                snprintf(what, sizeof(what), "call %" PRIu64, id);
                int r = fds_client_cancel(c, id, &canceled);
                if (r < 0) {
                        int s = call_failed(c, what, r);
                        if (s == CTL_USAGE)
                                return s;
                        status = s;
                } else if (!quiet)
                        printf("%s: %s\n", what, canceled ? "canceled" : "already ending");
        }
        return status;
}

static int cmd_bwlimit(fds_client *c, char **operands, size_t n, bool quiet) {
        uint64_t rate = 0, id = FDS_DAEMON_CAP;
        char buf[32];

        if (n == 0) {
                fds_call_info *v = NULL;
                size_t k = 0;
                int r = fds_client_calls(c, &v, &k, &rate);
                free(v);
                if (r < 0)
                        return call_failed(c, "bwlimit", r);
                printf("%s\n", rate ? rate_text(rate, buf) : "off");
                return CTL_OK;
        }
        (void) parse_rate(operands[0], &rate);
        if (n == 2)
                (void) parse_id(operands[1], &id);
        int r = fds_client_set_bandwidth(c, id, rate);
        if (r < 0)
                return call_failed(c, "bwlimit", r);
        if (!quiet) {
                if (id == FDS_DAEMON_CAP)
                        printf("daemon cap: %s\n", rate ? rate_text(rate, buf) : "off");
                else
                        printf("call %" PRIu64 " cap: %s\n", id, rate ? rate_text(rate, buf) : "off");
        }
        return CTL_OK;
}

int control_run(fds_client *c, const char *command, char **operands, size_t n, bool json, bool quiet) {
        if (strcmp(command, "calls") == 0)
                return cmd_calls(c, json);
        if (strcmp(command, "cancel") == 0)
                return cmd_cancel(c, operands, n, quiet);
        return cmd_bwlimit(c, operands, n, quiet);
}
