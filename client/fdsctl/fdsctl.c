/* SPDX-License-Identifier: MIT */
/* fdsctl: copy, ls, size and cat through fdsd. The one place that prints. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fdsctl.h"
#include "socket_path.h"

enum {
        EXIT_ALL_OK = 0,
        EXIT_SOME_FAILED = 1,
        EXIT_USAGE = 2, /* also connection and call-level errors */
};

typedef struct args {
        const char *command;
        char **operands;
        size_t n_operands;
        const char *batch;
        const char *socket;
        bool json;
        bool quiet;
        bool recursive;
        bool dry_run;
        bool no_clobber;
        bool long_format; /* ls -l */
        bool summarize;   /* ls --summarize */
        fds_filter *filters; /* --include/--exclude, in order */
        size_t n_filters;
        s3_flags s3;
        fds_options *options;
} args;

/* Everything one command needs: what the user said and where to send it. */
typedef struct ctl {
        args a;
        fds_client *client;
        char *cwd;
        /* copy */
        batch_entry *entries;
        size_t n_entries;
        fds_copy_pair *pairs; /* absolute forms of entries */
        progress prog;
} ctl;

static int parse_int(const char *s, int64_t min, int64_t max, int64_t *ret) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* KEY=VALUE: an integer, true/false, or else a string. */
static int parse_option(fds_options *o, const char *arg) {
        const char *eq = strchr(arg, '=');
        const char *value;
        char *key;
        int64_t i;
        int r;

        if (!eq || eq == arg)
                return usage_error("--option wants KEY=VALUE, not '%s'", arg);
        key = strndup(arg, (size_t) (eq - arg));
        if (!key)
                return -ENOMEM;
        value = eq + 1;
        if (parse_int(value, INT64_MIN, INT64_MAX, &i) == 0)
                r = fds_options_set_int(o, key, i);
        else if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
                r = fds_options_set_bool(o, key, value[0] == 't');
        else
                r = fds_options_set_string(o, key, value);
        free(key);
        if (r == -EINVAL)
                return usage_error("invalid option '%s'", arg);
        return r;
}

enum {
        OPT_NO_VALIDATE = 0x100,
        OPT_MAX_ATTEMPTS,
        OPT_ENDPOINT,
        OPT_REGION,
        OPT_PROFILE,
        OPT_PATH_STYLE,
        OPT_INCLUDE,
        OPT_EXCLUDE,
        OPT_DRY_RUN,
        OPT_NO_CLOBBER,
        OPT_SUMMARIZE,
        OPT_PRIORITY,
};

/* 0 to run a command, 1 when --help/--version was answered, <0 on error. */
/* clang-format off */
static const struct option longopts[] = {
        { "batch",       required_argument, NULL, 'b' },
        { "parallelism", required_argument, NULL, 'p' },
        { "recursive",   no_argument,       NULL, 'r' },
        { "long",        no_argument,       NULL, 'l' },
        { "summarize",   no_argument,       NULL, OPT_SUMMARIZE },
        { "include",     required_argument, NULL, OPT_INCLUDE },
        { "exclude",     required_argument, NULL, OPT_EXCLUDE },
        { "dry-run",     no_argument,       NULL, OPT_DRY_RUN },
        { "no-clobber",  no_argument,       NULL, 'n' },
        { "skip-existing", no_argument,     NULL, OPT_NO_CLOBBER },
        { "priority",    required_argument, NULL, OPT_PRIORITY },
        { "no-validate", no_argument,       NULL, OPT_NO_VALIDATE },
        { "max-attempts",required_argument, NULL, OPT_MAX_ATTEMPTS },
        { "endpoint",    required_argument, NULL, OPT_ENDPOINT },
        { "region",      required_argument, NULL, OPT_REGION },
        { "profile",     required_argument, NULL, OPT_PROFILE },
        { "path-style",  no_argument,       NULL, OPT_PATH_STYLE },
        { "option",      required_argument, NULL, 'o' },
        { "socket",      required_argument, NULL, 's' },
        { "json",        no_argument,       NULL, 'j' },
        { "quiet",       no_argument,       NULL, 'q' },
        { "help",        no_argument,       NULL, 'h' },
        { "version",     no_argument,       NULL, 'V' },
        { NULL,          0,                 NULL, 0 }
};
/* clang-format on */

/* The options that say what the call asks for (what to copy, how, where the
 * S3 server is): 1 when c was one of them, 0 when not, or an error. */
static int parse_call_option(int c, const char *arg, args *a) {
        int64_t n;
        int r;

        switch (c) {
        case 'b':
                a->batch = arg;
                return 1;
        case 'r':
                a->recursive = true;
                return 1;
        case 'l':
                a->long_format = true;
                return 1;
        case OPT_SUMMARIZE:
                a->summarize = true;
                return 1;
        case OPT_DRY_RUN:
                a->dry_run = true;
                r = fds_options_set_bool(a->options, "dry_run", true);
                break;
        case 'n':
        case OPT_NO_CLOBBER:
                a->no_clobber = true;
                r = fds_options_set_bool(a->options, "no_clobber", true);
                break;
        case OPT_INCLUDE:
        case OPT_EXCLUDE: {
                if (!*arg)
                        return usage_error("--%s wants a glob", c == OPT_INCLUDE ? "include" : "exclude");
                fds_filter *f = realloc(a->filters, (a->n_filters + 1) * sizeof(*f));
                if (!f)
                        return usage_error("out of memory");
                a->filters = f;
                a->filters[a->n_filters++] = (fds_filter){ .include = c == OPT_INCLUDE, .glob = arg };
                return 1;
        }
        case 'p':
                if (parse_int(arg, 1, INT_MAX, &n) < 0)
                        return usage_error("--parallelism wants a positive integer, not '%s'", arg);
                r = fds_options_set_int(a->options, "parallelism", n);
                break;
        case OPT_PRIORITY:
                /* The daemon's range (FDS_PRIORITY_MAX), told here in the user's words. */
                if (parse_int(arg, 1, 100, &n) < 0)
                        return usage_error("--priority wants 1 to 100, not '%s'", arg);
                r = fds_options_set_int(a->options, "priority", n);
                break;
        case OPT_NO_VALIDATE:
                r = fds_options_set_bool(a->options, "validate", false);
                break;
        case OPT_MAX_ATTEMPTS:
                if (parse_int(arg, 1, 100, &n) < 0)
                        return usage_error("--max-attempts wants 1 to 100, not '%s'", arg);
                r = fds_options_set_int(a->options, "transfer.max_attempts", n);
                break;
        case 'o':
                r = parse_option(a->options, arg);
                break;
        case OPT_ENDPOINT:
                a->s3.endpoint = arg;
                return 1;
        case OPT_REGION:
                a->s3.region = arg;
                return 1;
        case OPT_PROFILE:
                a->s3.profile = arg;
                return 1;
        case OPT_PATH_STYLE:
                a->s3.path_style = true;
                return 1;
        default:
                return 0;
        }
        return r < 0 ? r : 1;
}

static int parse_args(int argc, char **argv, args *a) {
        int c, r;

        /* Leading ':': getopt reports, fdsctl prints (as "fdsctl", not argv[0]). */
        while ((c = getopt_long(argc, argv, ":b:p:o:s:rlnjqhV", longopts, NULL)) >= 0) {
                r = parse_call_option(c, optarg, a);
                if (r != 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 's':
                        a->socket = optarg;
                        break;
                case 'j':
                        a->json = true;
                        break;
                case 'q':
                        a->quiet = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                case 'V':
                        printf("fdsctl %s\n", FDS_VERSION);
                        return 1;
                case ':':
                        return usage_error("option '%s' needs an argument", argv[optind - 1]);
                default:
                        /* A long option's optopt is its short name: name the word. */
                        if (strncmp(argv[optind - 1], "--", 2) == 0 || !optopt)
                                return usage_error("invalid option '%s'", argv[optind - 1]);
                        return usage_error("invalid option '-%c'", optopt);
                }
        }
        if (optind >= argc)
                return usage_error("missing command");
        r = s3_options_apply(a->options, &a->s3);
        if (r < 0)
                return r == -EINVAL ? usage_error("invalid S3 setting") : r;
        a->command = argv[optind];
        a->operands = argv + optind + 1;
        a->n_operands = (size_t) (argc - optind - 1);
        return 0;
}

static int check_operands(const args *a) {
        bool copy = strcmp(a->command, "copy") == 0, ls = strcmp(a->command, "ls") == 0;

        if ((a->long_format || a->summarize) && !ls)
                return usage_error("--long and --summarize are for ls, not %s", a->command);
        if (ls) {
                if (a->batch || a->n_filters || a->dry_run || a->no_clobber)
                        return usage_error("ls takes no --batch, --include, --exclude, --dry-run or --no-clobber");
                if (a->n_operands != 1)
                        return usage_error("ls wants one PATH");
                return 0;
        }
        if (control_is_command(a->command)) {
                if (a->batch || a->recursive || a->n_filters || a->dry_run || a->no_clobber)
                        return usage_error("%s takes none of --batch, --recursive, --include, --exclude, "
                                           "--dry-run, --no-clobber", a->command);
                return control_check(a->command, a->operands, a->n_operands);
        }
        if (strcmp(a->command, "status") == 0) {
                if (a->batch || a->recursive || a->n_operands != 0)
                        return usage_error("status takes no PATH, --batch or --recursive");
                return 0;
        }
        if (!copy && strcmp(a->command, "size") != 0 && strcmp(a->command, "cat") != 0)
                return usage_error("unknown command '%s'", a->command);
        if (a->batch && !copy)
                return usage_error("--batch is for copy, not %s", a->command);
        if (a->json && strcmp(a->command, "cat") == 0)
                return usage_error("--json does not apply to cat");
        if (copy && a->batch && a->n_operands != 0)
                return usage_error("copy --batch takes no SRC DST");
        if (a->recursive && !copy)
                return usage_error("--recursive is for copy and ls, not %s", a->command);
        if (a->n_filters > 0 && !a->recursive)
                return usage_error("--include and --exclude go with copy --recursive");
        if (a->dry_run && !copy)
                return usage_error("--dry-run is for copy, not %s", a->command);
        if (a->no_clobber && !copy)
                return usage_error("--no-clobber is for copy, not %s", a->command);
        if (copy && !a->batch && a->n_operands != 2)
                return usage_error("copy wants SRC DST, or --batch FILE");
        if (!copy && a->n_operands == 0)
                return usage_error("%s wants at least one PATH", a->command);
        return 0;
}

static int ctl_connect(ctl *x) {
        char *path = NULL;
        int r;

        if (!x->a.socket) {
                r = fds_socket_path_default(&path);
                if (r < 0) {
                        fprintf(stderr, "fdsctl: %s\n", strerror(-r));
                        return r;
                }
        }
        r = fds_client_connect(x->a.socket ? x->a.socket : path, &x->client);
        if (r < 0)
                fprintf(stderr, "fdsctl: cannot connect to \"%s\": %s\n", x->a.socket ? x->a.socket : path,
                        strerror(-r));
        free(path);
        return r;
}

static void print_file_error(const char *what, const fds_file_error *e, unsigned attempts) {
        fprintf(stderr, "fdsctl: %s: %s: %s", what, e->code, e->message);
        if (e->http_status > 0)
                fprintf(stderr, " (HTTP %d%s%s", e->http_status, e->s3_code ? ", " : "",
                        e->s3_code ? e->s3_code : "");
        else if (e->s3_code)
                fprintf(stderr, " (%s", e->s3_code);
        if (attempts > 1)
                fprintf(stderr, "%s%u attempts", e->http_status > 0 || e->s3_code ? ", " : " (", attempts);
        if (e->http_status > 0 || e->s3_code || attempts > 1)
                fputc(')', stderr);
        fputc('\n', stderr);
}

static json_t *json_file_error(const fds_file_error *e) {
        json_t *o = json_pack("{s:s, s:s}", "code", e->code, "message", e->message);

        if (o && e->http_status > 0)
                json_object_set_new(o, "http_status", json_integer(e->http_status));
        if (o && e->s3_code)
                json_object_set_new(o, "s3_code", json_string(e->s3_code));
        return o;
}

static void print_json_line(json_t *o) {
        if (!o) {
                fputs("fdsctl: out of memory\n", stderr);
                return;
        }
        json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
        fputc('\n', stdout);
        fflush(stdout);
        json_decref(o);
}

/* Where a validation problem points, in the user's words. */
static const char *problem_where(const ctl *x, const fds_problem *p, char *buf, size_t size) {
        int64_t i = p->index;
        char *end;

        if (p->key) {
                i = strtoll(p->key, &end, 10);
                if (*end != '\0' || end == p->key)
                        return p->key;
        }
        if (i < 0)
                return NULL;
        if (x->entries && x->a.batch && (size_t) i < x->n_entries) {
                snprintf(buf, size, "%s:%zu", strcmp(x->a.batch, "-") == 0 ? "<stdin>" : x->a.batch,
                         x->entries[i].line);
                return buf;
        }
        if (!x->entries && (size_t) i < x->a.n_operands)
                return x->a.operands[i];
        return NULL;
}

/* A call-level error: the daemon refused the whole call. */
static void print_call_error(const ctl *x, int r) {
        const fds_call_error *e = fds_client_last_error(x->client);
        size_t i;

        if (!e) {
                if (r == -ECONNRESET || r == -EPIPE)
                        fputs("fdsctl: lost the connection to fdsd\n", stderr);
                else if (r == -EBADMSG)
                        fputs("fdsctl: fdsd sent a reply that is not valid\n", stderr);
                else if (r == -EMSGSIZE)
                        fputs("fdsctl: a reply from fdsd was too large\n", stderr);
                else if (r == -EINVAL)
                        /* All else fdsctl passes is checked: the JSON text is what failed. */
                        fputs("fdsctl: a path or option is not valid UTF-8\n", stderr);
                else
                        fprintf(stderr, "fdsctl: %s\n", strerror(-r));
                return;
        }
        fprintf(stderr, "fdsctl: %s: %s\n", e->name, e->message);
        for (i = 0; i < e->n_problems; i++) {
                const fds_problem *p = &e->problems[i];
                char buf[PATH_MAX + 32];
                const char *where = problem_where(x, p, buf, sizeof(buf));

                if (!p->path[0])
                        fprintf(stderr, "fdsctl: %s%s%s\n", where ? where : "", where ? ": " : "",
                                p->reason);
                else if (where && strcmp(where, p->path) != 0)
                        fprintf(stderr, "fdsctl: %s: \"%s\": %s\n", where, p->path, p->reason);
                else
                        fprintf(stderr, "fdsctl: \"%s\": %s\n", p->path, p->reason);
        }
}

static int copy_load(ctl *x) {
        batch_error err;
        FILE *f = stdin;
        size_t i;
        int r;

        if (!x->a.batch) {
                x->entries = calloc(1, sizeof(batch_entry));
                if (!x->entries)
                        return -ENOMEM;
                x->n_entries = 1;
                x->entries[0].src = strdup(x->a.operands[0]);
                x->entries[0].dst = strdup(x->a.operands[1]);
                if (!x->entries[0].src || !x->entries[0].dst)
                        goto oom;
        } else {
                if (strcmp(x->a.batch, "-") != 0) {
                        f = fopen(x->a.batch, "re");
                        if (!f) {
                                fprintf(stderr, "fdsctl: \"%s\": %s\n", x->a.batch, strerror(errno));
                                return -errno;
                        }
                }
                r = batch_parse(f, &x->entries, &x->n_entries, &err);
                if (f != stdin)
                        fclose(f);
                if (r == -ENOMEM)
                        goto oom;
                if (r < 0 && err.line > 0)
                        fprintf(stderr, "fdsctl: %s:%zu: %s\n", f == stdin ? "<stdin>" : x->a.batch,
                                err.line, err.reason);
                else if (r < 0)
                        fprintf(stderr, "fdsctl: \"%s\": %s\n", x->a.batch, err.reason);
                if (r < 0)
                        return r;
        }
        x->pairs = calloc(x->n_entries ? x->n_entries : 1, sizeof(fds_copy_pair));
        if (!x->pairs)
                goto oom;
        for (i = 0; i < x->n_entries; i++) {
                x->pairs[i].recursive = x->a.recursive;
                x->pairs[i].filters = x->a.filters;
                x->pairs[i].n_filters = x->a.n_filters;
                r = path_absolute(x->entries[i].src, x->cwd, (char **) &x->pairs[i].src);
                if (r >= 0)
                        r = path_absolute(x->entries[i].dst, x->cwd, (char **) &x->pairs[i].dst);
                if (r < 0) {
                        fprintf(stderr, "fdsctl: cannot make \"%s\" or \"%s\" absolute: %s\n",
                                x->entries[i].src, x->entries[i].dst, strerror(-r));
                        return r;
                }
        }
        return 0;
oom:
        fputs("fdsctl: out of memory\n", stderr);
        return -ENOMEM;
}

static int copy_on_result(const fds_copy_result *res, void *userdata) {
        ctl *x = userdata;

        if (!res->ok) {
                const batch_entry *e = &x->entries[res->index];
                char *what = NULL;

                progress_clear(&x->prog);
                /* A recursive pair's failure names the file, not the pair. */
                if (asprintf(&what, "%s -> %s", x->a.recursive ? res->src : e->src,
                             x->a.recursive ? res->dst : e->dst) < 0)
                        return -ENOMEM;
                print_file_error(what, &res->error, res->attempts);
                free(what);
        } else if (x->a.dry_run && !x->a.json && !x->a.quiet)
                printf("would copy %s -> %s (%" PRIu64 " bytes)\n", res->src, res->dst, res->bytes);
        if (x->a.json) {
                json_t *o = json_pack("{s:I, s:s, s:s, s:b, s:I}", "index", (json_int_t) res->index, "src",
                                      res->src, "dst", res->dst, "ok", res->ok, "bytes",
                                      (json_int_t) res->bytes);
                if (o && res->attempts)
                        json_object_set_new(o, "attempts", json_integer(res->attempts));
                if (o && res->skipped)
                        json_object_set_new(o, "skipped", json_true());
                if (o && res->verified != FDS_VERIFIED_NA)
                        json_object_set_new(o, "verified", json_boolean(res->verified == FDS_VERIFIED_YES));
                if (o && !res->ok)
                        json_object_set_new(o, "error", json_file_error(&res->error));
                print_json_line(o);
        }
        progress_file_done(&x->prog, res->bytes);
        return 0;
}

static int cmd_copy(ctl *x) {
        fds_copy_summary sum;
        int r;

        r = copy_load(x);
        if (r < 0)
                return EXIT_USAGE;
        if (x->n_entries == 0) {
                fputs("fdsctl: nothing to copy\n", stderr);
                return EXIT_USAGE;
        }
        r = ctl_connect(x);
        if (r < 0)
                return EXIT_USAGE;

        progress_init(&x->prog, x->n_entries,
                      x->a.batch && isatty(STDERR_FILENO) && !x->a.json && !x->a.quiet);
        r = fds_client_copy(x->client, x->pairs, x->n_entries, x->a.options, copy_on_result, x, &sum);
        progress_clear(&x->prog);
        if (r < 0) {
                print_call_error(x, r);
                return EXIT_USAGE;
        }
        if (x->a.json)
                print_json_line(json_pack("{s:{s:I, s:I, s:I, s:f, s:b, s:I}}", "summary", "files_ok",
                                          (json_int_t) sum.files_ok, "files_failed",
                                          (json_int_t) sum.files_failed, "bytes", (json_int_t) sum.bytes,
                                          "seconds", sum.seconds, "dry_run", x->a.dry_run, "files_skipped",
                                          (json_int_t) sum.files_skipped));
        else if (!x->a.quiet && x->a.dry_run)
                printf("dry run: %" PRIu64 " file%s, %" PRIu64 " bytes would be copied; nothing was\n",
                       sum.files_ok, sum.files_ok == 1 ? "" : "s", sum.bytes);
        else if (!x->a.quiet && sum.files_failed == 0 && sum.files_skipped > 0)
                printf("%" PRIu64 " file%s (%" PRIu64 " left alone: they exist), %" PRIu64 " bytes in %.2f s\n",
                       sum.files_ok, sum.files_ok == 1 ? "" : "s", sum.files_skipped, sum.bytes, sum.seconds);
        else if (!x->a.quiet && sum.files_failed == 0)
                printf("%" PRIu64 " file%s, %" PRIu64 " bytes in %.2f s\n", sum.files_ok,
                       sum.files_ok == 1 ? "" : "s", sum.bytes, sum.seconds);
        else if (!x->a.quiet)
                printf("%" PRIu64 " file%s, %" PRIu64 " failed, %" PRIu64 " bytes in %.2f s\n",
                       sum.files_ok + sum.files_failed, sum.files_ok + sum.files_failed == 1 ? "" : "s",
                       sum.files_failed, sum.bytes, sum.seconds);
        return sum.files_failed > 0 ? EXIT_SOME_FAILED : EXIT_ALL_OK;
}

/* Size and Read name each operand by its position, so the same path may
 * be given twice and answers come back in order. */
static int files_prepare(ctl *x, fds_named_path **ret) {
        fds_named_path *files = calloc(x->a.n_operands, sizeof(*files));
        size_t i;
        int r;

        if (!files)
                return -ENOMEM;
        for (i = 0; i < x->a.n_operands; i++) {
                r = asprintf((char **) &files[i].name, "%zu", i);
                if (r < 0) {
                        files[i].name = NULL;
                        r = -ENOMEM;
                        goto fail;
                }
                r = path_absolute(x->a.operands[i], x->cwd, (char **) &files[i].path);
                if (r < 0)
                        goto fail;
        }
        *ret = files;
        return 0;
fail:
        for (i = 0; i < x->a.n_operands; i++) {
                free((char *) files[i].name);
                free((char *) files[i].path);
        }
        free(files);
        return r;
}

static void files_free(fds_named_path *files, size_t n) {
        size_t i;

        if (!files)
                return;
        for (i = 0; i < n; i++) {
                free((char *) files[i].name);
                free((char *) files[i].path);
        }
        free(files);
}

static int cmd_size(ctl *x, fds_named_path *files) {
        fds_size_result *res = NULL;
        size_t i, n = x->a.n_operands;
        int r, failed = 0;

        r = fds_client_size(x->client, files, n, x->a.options, &res);
        if (r < 0) {
                print_call_error(x, r);
                return EXIT_USAGE;
        }
        for (i = 0; i < n; i++) {
                const char *path = x->a.operands[i];

                if (!res[i].ok) {
                        print_file_error(path, &res[i].error, 0);
                        failed++;
                }
                if (x->a.json) {
                        json_t *o = json_pack("{s:s}", "path", path);
                        if (o && res[i].ok)
                                json_object_set_new(o, "size", json_integer((json_int_t) res[i].size));
                        else if (o)
                                json_object_set_new(o, "error", json_file_error(&res[i].error));
                        print_json_line(o);
                } else if (res[i].ok)
                        printf("%" PRIu64 "\t%s\n", res[i].size, path);
        }
        fds_size_results_free(res, n);
        return failed ? EXIT_SOME_FAILED : EXIT_ALL_OK;
}

static int cmd_cat(ctl *x, fds_named_path *files) {
        fds_read_result *res = NULL;
        size_t i, n = x->a.n_operands;
        int r, failed = 0;

        r = fds_client_read(x->client, files, n, x->a.options, &res);
        if (r < 0) {
                print_call_error(x, r);
                return EXIT_USAGE;
        }
        for (i = 0; i < n; i++) {
                if (!res[i].ok) {
                        fflush(stdout);
                        print_file_error(x->a.operands[i], &res[i].error, 0);
                        failed++;
                } else if (fwrite(res[i].data, 1, res[i].size, stdout) != res[i].size)
                        break;
        }
        fds_read_results_free(res, n);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "fdsctl: write error: %s\n", strerror(errno));
                return EXIT_SOME_FAILED;
        }
        return failed ? EXIT_SOME_FAILED : EXIT_ALL_OK;
}

static int cmd_status(ctl *x) {
        fds_status st;
        int r;

        r = ctl_connect(x);
        if (r < 0)
                return EXIT_USAGE;
        r = fds_client_status(x->client, &st);
        if (r < 0) {
                print_call_error(x, r);
                return EXIT_USAGE;
        }
        return status_print(&st, x->a.json) < 0 ? EXIT_SOME_FAILED : EXIT_ALL_OK;
}

/* s3://bucket/KEY with a KEY: not just the bucket. */
static bool s3_has_key(const char *url) {
        const char *slash = strchr(url + strlen("s3://"), '/');
        return slash && slash[1];
}

/* Exit 1 when the listing failed, and when an S3 prefix held nothing (as
 * aws s3 ls: nothing there and no such prefix are the same thing), but not
 * for an empty bucket. */
static int cmd_ls(ctl *x) {
        fds_file_error err = { .code = NULL };
        char *path = NULL;
        ls_state s;
        int r;

        r = path_absolute(x->a.operands[0], x->cwd, &path);
        if (r < 0 || (r = ls_init(&s, path, x->a.operands[0])) < 0) {
                fprintf(stderr, "fdsctl: %s\n", strerror(-r));
                free(path);
                return EXIT_USAGE;
        }
        s.long_format = x->a.long_format;
        s.json = x->a.json;
        r = ctl_connect(x);
        if (r >= 0)
                r = ls_run(x->client, &s, x->a.recursive, x->a.options, &err);
        else
                r = -ENOTCONN;
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "fdsctl: write error: %s\n", strerror(errno));
                r = EXIT_SOME_FAILED;
        } else if (r == -ENOTCONN)
                r = EXIT_USAGE;
        else if (r < 0) {
                print_call_error(x, r);
                r = EXIT_USAGE;
        } else if (r > 0) {
                print_file_error(x->a.operands[0], &err, 0);
                r = EXIT_SOME_FAILED;
        } else if (s.s3 && s.n_entries == 0 && s3_has_key(path)) {
                if (!x->a.quiet)
                        fprintf(stderr, "fdsctl: %s: nothing there\n", x->a.operands[0]);
                r = EXIT_SOME_FAILED;
        } else
                r = EXIT_ALL_OK;
        if (x->a.summarize && !x->a.json && r != EXIT_USAGE)
                printf("\nTotal Objects: %" PRIu64 "\n   Total Size: %" PRIu64 "\n", s.n_files, s.bytes);
        fds_file_error_done(&err);
        ls_done(&s);
        free(path);
        return r;
}

static int cmd_files(ctl *x) {
        fds_named_path *files = NULL;
        int r;

        r = files_prepare(x, &files);
        if (r < 0) {
                fprintf(stderr, "fdsctl: cannot make the paths absolute: %s\n", strerror(-r));
                return EXIT_USAGE;
        }
        r = ctl_connect(x);
        if (r >= 0)
                r = strcmp(x->a.command, "size") == 0 ? cmd_size(x, files) : cmd_cat(x, files);
        else
                r = EXIT_USAGE;
        files_free(files, x->a.n_operands);
        return r;
}

int main(int argc, char **argv) {
        ctl x = {.a.options = fds_options_new()};
        size_t i;
        int r;

        if (!x.a.options) {
                fputs("fdsctl: out of memory\n", stderr);
                return EXIT_USAGE;
        }
        r = parse_args(argc, argv, &x.a);
        if (r != 0) {
                r = r > 0 ? EXIT_ALL_OK : EXIT_USAGE;
                goto finish;
        }
        r = check_operands(&x.a);
        if (r < 0) {
                r = EXIT_USAGE;
                goto finish;
        }
        /* Without a current directory only absolute paths and URLs work. */
        x.cwd = getcwd(NULL, 0);

        if (strcmp(x.a.command, "copy") == 0)
                r = cmd_copy(&x);
        else if (strcmp(x.a.command, "ls") == 0)
                r = cmd_ls(&x);
        else if (strcmp(x.a.command, "status") == 0)
                r = cmd_status(&x);
        else if (control_is_command(x.a.command))
                r = ctl_connect(&x) < 0 ? EXIT_USAGE
                                        : control_run(x.client, x.a.command, x.a.operands, x.a.n_operands,
                                                      x.a.json, x.a.quiet);
        else
                r = cmd_files(&x);
finish:
        fds_client_free(x.client);
        if (x.pairs)
                for (i = 0; i < x.n_entries; i++) {
                        free((char *) x.pairs[i].src);
                        free((char *) x.pairs[i].dst);
                }
        free(x.pairs);
        batch_free(x.entries, x.n_entries);
        fds_options_free(x.a.options);
        free(x.a.filters);
        free(x.cwd);
        return r;
}
