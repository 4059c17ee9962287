/* SPDX-License-Identifier: MIT */
#include "conf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "conf_ids.h"
#include "metrics_http.h"
#include "xstr.h"

/* A configuration file larger than this is refused: it is a few lines. */
#define CONF_FILE_MAX (64 * 1024)
/* inih's line buffer (INI_MAX_LINE in Debian's build) less the NUL. */
#define CONF_LINE_MAX 199

typedef enum conf_type {
        CONF_COUNT,       /* integer in [min, max] */
        CONF_SIZE,        /* bytes in [min, max], K/M/G/T suffixes */
        CONF_BOOL,
        CONF_MODE,        /* octal permission bits */
        CONF_STRING,
        CONF_SOCKET_PATH, /* absolute, fits sockaddr_un */
        CONF_URL,         /* http:// or https:// */
        CONF_REGION,      /* [a-z0-9-]+ */
        CONF_WORD,        /* one of choices, stored as the static string */
        CONF_ENUM,        /* one of choices, stored as its index (an int) */
        CONF_GROUP,       /* a group name or number */
        CONF_USERS,       /* user names or numbers, separated by commas or spaces */
        CONF_GROUPS,      /* group names or numbers, likewise */
        CONF_LISTEN,      /* an IP literal and a port: 127.0.0.1:9464, [::1]:9464 */
} conf_type;

typedef struct conf_key {
        const char *section;
        const char *name;
        const char *flag; /* long option, or NULL for file-only keys */
        conf_type type;
        size_t offset;
        size_t size;
        uint64_t min, max;
        const char *const *choices;
        bool secret;
        bool quiet_unset; /* printed only when set (tests/data/conf/good-*.expect predate it) */
} conf_key;

static const char *const addressing_styles[] = { "path", "virtual", "auto", NULL };
static const char *const log_levels[] = { "error", "warning", "info", "debug", NULL };
static const char *const log_targets[] = { "auto", "console", "journal", NULL };

#define FIELD(f) .offset = offsetof(fdsd_conf, f), .size = sizeof(((fdsd_conf *) 0)->f)
#define KiB 1024ULL
#define MiB (1024ULL * 1024)
#define GiB (1024ULL * 1024 * 1024)
#define TiB (1024ULL * 1024 * 1024 * 1024)

/* clang-format off */
static const conf_key keys[] = {
        { "socket", "path", "socket", CONF_SOCKET_PATH, FIELD(d.socket_path) },
        { "socket", "mode", "socket-mode", CONF_MODE, FIELD(socket_mode), .max = 0777 },
        { "socket", "group", "socket-group", CONF_GROUP, FIELD(socket_group) },

        { "limits", "max_connections", "max-connections", CONF_COUNT, FIELD(d.max_connections), 1, 1000000 },
        { "limits", "max_inflight", "max-inflight", CONF_COUNT, FIELD(d.max_inflight), 1, 100000 },
        { "limits", "parallelism", "parallelism", CONF_COUNT, FIELD(d.parallelism), 1, 100000 },
        { "limits", "max_message_size", "max-message-size", CONF_SIZE, FIELD(d.max_message), KiB, 2 * GiB },
        { "limits", "max_files", "max-files", CONF_COUNT, FIELD(d.max_entries), 1, 100000000 },
        { "limits", "max_read_bytes", "max-read-bytes", CONF_SIZE, FIELD(d.max_read_bytes), 0, TiB },
        { "limits", "buffer_memory", "buffer-memory", CONF_SIZE, FIELD(d.buffer_memory), MiB, TiB },
        { "limits", "max_connections_per_user", "max-connections-per-user", CONF_COUNT,
          FIELD(d.max_connections_per_uid), 0, 1000000 },
        { "limits", "max_inflight_per_user", "max-inflight-per-user", CONF_COUNT,
          FIELD(d.max_inflight_per_uid), 0, 100000 },
        { "limits", "max_buffered_per_user", "max-buffered-per-user", CONF_SIZE,
          FIELD(d.max_buffered_per_uid), 0, TiB },
        { "limits", "write_stall_timeout", "write-stall-timeout", CONF_COUNT,
          FIELD(d.write_stall_timeout_s), 0, 86400 },

        { "access", "allow_users", "allow-user", CONF_USERS, FIELD(allow_users) },
        { "access", "allow_groups", "allow-group", CONF_GROUPS, FIELD(allow_groups) },

        { "s3", "endpoint", "s3-endpoint", CONF_URL, FIELD(d.s3_endpoint) },
        { "s3", "region", "s3-region", CONF_REGION, FIELD(d.s3_region) },
        { "s3", "profile", "s3-profile", CONF_STRING, FIELD(d.s3_profile) },
        { "s3", "addressing_style", "s3-addressing-style", CONF_WORD, FIELD(d.s3_addressing_style),
          .choices = addressing_styles },
        /* No flags for secrets: a command line is visible to every user. */
        { "s3", "access_key_id", NULL, CONF_STRING, FIELD(d.s3_access_key_id), .secret = true },
        { "s3", "secret_access_key", NULL, CONF_STRING, FIELD(d.s3_secret_access_key), .secret = true },
        { "s3", "session_token", NULL, CONF_STRING, FIELD(d.s3_session_token), .secret = true },

        { "transfer", "multipart", NULL, CONF_BOOL, FIELD(d.multipart) },
        /* S3's limits: parts of 5 MiB to 5 GiB. */
        { "transfer", "multipart_threshold", NULL, CONF_SIZE, FIELD(d.multipart_threshold), 5 * MiB, 5 * TiB },
        { "transfer", "multipart_chunksize", NULL, CONF_SIZE, FIELD(d.multipart_chunksize), 5 * MiB, 5 * GiB },
        /* CopyObject takes at most 5 GiB. */
        { "transfer", "copy_cutoff", NULL, CONF_SIZE, FIELD(d.copy_cutoff), 5 * MiB, 5 * GiB },
        { "transfer", "max_concurrency", NULL, CONF_COUNT, FIELD(d.max_concurrency), 1, 1000 },
        { "transfer", "max_bandwidth", "max-bandwidth", CONF_SIZE, FIELD(d.max_bandwidth), 0, TiB },
        { "transfer", "max_attempts", "max-attempts", CONF_COUNT, FIELD(d.max_attempts), 1, 100 },
        { "transfer", "retry_time_budget", "retry-time-budget", CONF_COUNT, FIELD(d.retry_budget_s), 0, 86400 },

        { "metrics", "listen", "metrics-listen", CONF_LISTEN, FIELD(d.metrics_listen), .quiet_unset = true },

        { "log", "level", "log-level", CONF_ENUM, FIELD(log_level), .choices = log_levels },
        { "log", "target", "log-target", CONF_ENUM, FIELD(log_target), .choices = log_targets },
};
/* clang-format on */

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

void conf_init(fdsd_conf *c, mode_t mode_mask) {
        *c = (fdsd_conf){
                .d = {
                        .parallelism = 16,
                        .max_inflight = 64,
                        .max_message = 64 * MiB,
                        .max_entries = 1000000,
                        .max_read_bytes = 64 * MiB,
                        .max_connections = 1024,
                        .max_reply_backlog = 4 * MiB,
                        .max_attempts = 5,
                        .retry_budget_s = 60,
                        .validate_concurrency = 64,
                        .file_mode = 0666 & ~mode_mask,
                        .multipart = true,
                        .multipart_threshold = 8 * MiB,
                        .multipart_chunksize = 8 * MiB,
                        .copy_cutoff = 4768 * MiB, /* rclone's --s3-copy-cutoff */
                        .max_concurrency = 10,
                        .buffer_memory = 64 * MiB,
                },
                /* The system daemon's socket is for its group too (see
                 * socket.group); a user's daemon is that user's alone. */
                .socket_mode = geteuid() == 0 ? 0660 : 0600,
                .socket_gid = (gid_t) -1,
                .log_level = LOG_LEVEL_INFO,
                .log_target = LOG_TARGET_AUTO,
        };
}

void conf_done(fdsd_conf *c) {
        for (size_t i = 0; i < c->n_strings; i++)
                free(c->strings[i]);
        free(c->strings);
        c->strings = NULL;
        c->n_strings = 0;
}

static int conf_strdup(fdsd_conf *c, const char *s, const char **ret) {
        char **n = realloc(c->strings, (c->n_strings + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        c->strings = n;
        n[c->n_strings] = strdup(s);
        if (!n[c->n_strings])
                return -ENOMEM;
        *ret = n[c->n_strings++];
        return 0;
}

/* Decimal digits and an optional binary suffix: "64M" is 64 MiB. */
static int parse_number(const char *s, uint64_t *ret) {
        uint64_t v = 0, mul = 1;
        const char *p = s;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        switch (*p) {
        case '\0':
                break;
        case 'K': case 'k':
                mul = KiB;
                break;
        case 'M': case 'm':
                mul = MiB;
                break;
        case 'G': case 'g':
                mul = GiB;
                break;
        case 'T': case 't':
                mul = TiB;
                break;
        default:
                return -EINVAL;
        }
        if (*p && p[1])
                return -EINVAL;
        if (v && mul > UINT64_MAX / v)
                return -ERANGE;
        *ret = v * mul;
        return 0;
}

/* "64M" rather than "67108864" where it divides evenly. */
static const char *format_size(uint64_t v, char buf[static 24]) {
        static const char suffixes[] = "KMGT";
        int i = -1;

        while (v && i < 3 && v % 1024 == 0) {
                v /= 1024;
                i++;
        }
        if (i < 0)
                snprintf(buf, 24, "%" PRIu64, v);
        else
                snprintf(buf, 24, "%" PRIu64 "%c", v, suffixes[i]);
        return buf;
}

static int choice_index(const char *const *choices, const char *s) {
        for (int i = 0; choices[i]; i++)
                if (strcmp(choices[i], s) == 0)
                        return i;
        return -EINVAL;
}

static void choices_text(const char *const *choices, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = '\0';
        for (int i = 0; choices[i] && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s%s", i ? ", " : "", choices[i]);
}

static bool is_printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

/* One name lookup with a buffer of the given size: 0 and the id, ENOENT,
 * ERANGE for a bigger buffer, or another errno (the getpwnam_r style). */
/* "alice, 1001 bob": the array is owned by c (kept with its strings). */
static int resolve_list(fdsd_conf *c, const char *value, bool groups, void **ret, size_t *ret_n) {
        uint32_t *ids;
        const char *owned;
        int r = conf_id_resolve_list(value, groups, &ids, ret_n);
        if (r < 0)
                return r;
        r = conf_strdup(c, "", &owned); /* a slot in c->strings to own ids */
        if (r < 0) {
                free(ids);
                return r;
        }
        free(c->strings[c->n_strings - 1]);
        c->strings[c->n_strings - 1] = (char *) ids;
        *ret = ids;
        return 0;
}

static void store_uint(fdsd_conf *c, const conf_key *k, uint64_t v) {
        char *p = (char *) c + k->offset;

        if (k->size == sizeof(uint32_t)) {
                uint32_t u = (uint32_t) v;
                memcpy(p, &u, sizeof(u));
        } else
                memcpy(p, &v, sizeof(v));
}

static uint64_t load_uint(const fdsd_conf *c, const conf_key *k) {
        const char *p = (const char *) c + k->offset;

        if (k->size == sizeof(uint32_t)) {
                uint32_t u;
                memcpy(&u, p, sizeof(u));
                return u;
        }
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static const char **string_field(fdsd_conf *c, const conf_key *k) {
        return (const char **) (void *) ((char *) c + k->offset);
}

/* Each kind of key: set k from value, or return -EINVAL with what would
 * do in expected. The string kinds only check here (conf_set stores them). */

static int set_number(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        uint64_t v;
        if (parse_number(value, &v) < 0 || v < k->min || v > k->max) {
                char lo[24], hi[24];
                if (k->type == CONF_COUNT)
                        snprintf(expected, size, "an integer from %" PRIu64 " to %" PRIu64, k->min, k->max);
                else
                        snprintf(expected, size, "a size from %s to %s bytes; K, M, G, T multiply by 1024",
                                 format_size(k->min, lo), format_size(k->max, hi));
                return -EINVAL;
        }
        store_uint(c, k, v);
        return 0;
}

static bool one_of(const char *value, const char *const *words) {
        for (; *words; words++)
                if (strcmp(value, *words) == 0)
                        return true;
        return false;
}

static int set_bool(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        static const char *const yes[] = { "yes", "true", "on", "1", NULL };
        static const char *const no[] = { "no", "false", "off", "0", NULL };
        bool b;
        if (one_of(value, yes))
                b = true;
        else if (one_of(value, no))
                b = false;
        else {
                snprintf(expected, size, "yes or no");
                return -EINVAL;
        }
        memcpy((char *) c + k->offset, &b, sizeof(b));
        return 0;
}

static int set_mode(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        char *end;
        unsigned long m;
        errno = 0;
        m = strtoul(value, &end, 8);
        if (errno || end == value || *end || value[0] == '-' || value[0] == '+' || m > k->max) {
                snprintf(expected, size, "octal permission bits such as 0660");
                return -EINVAL;
        }
        store_uint(c, k, m);
        return 0;
}

static int check_socket_path(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        size_t max = sizeof(((struct sockaddr_un *) 0)->sun_path) - 1;
        if (value[0] != '/' || strlen(value) > max) {
                snprintf(expected, size, "an absolute path of at most %zu bytes", max);
                return -EINVAL;
        }
        return 0;
}

static int check_url(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        if ((strncmp(value, "http://", 7) != 0 || !value[7]) && (strncmp(value, "https://", 8) != 0 || !value[8])) {
                snprintf(expected, size, "an http:// or https:// URL");
                return -EINVAL;
        }
        return 0;
}

static int check_region(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        if (!*value || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(value)) {
                snprintf(expected, size, "a region name such as eu-west-1");
                return -EINVAL;
        }
        return 0;
}

static int check_listen(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        struct sockaddr_storage ss;
        if (metrics_http_parse_address(value, &ss) < 0) {
                snprintf(expected, size, "an IP address and a port, such as 127.0.0.1:9464 or [::1]:9464");
                return -EINVAL;
        }
        return 0;
}

static int set_choice(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        int r = choice_index(k->choices, value);
        if (r < 0) {
                char list[128];
                choices_text(k->choices, list, sizeof(list));
                snprintf(expected, size, "one of %s", list);
                return -EINVAL;
        }
        if (k->type == CONF_WORD)
                *string_field(c, k) = k->choices[r];
        else
                memcpy((char *) c + k->offset, &r, sizeof(r));
        return 0;
}

static int check_group(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        uint32_t gid = 0;
        int r = conf_id_resolve(value, true, &gid);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                snprintf(expected, size, "an existing group's name or number");
                return -EINVAL;
        }
        c->socket_gid = gid;
        return 0;
}

static int check_ids(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        bool groups = k->type == CONF_GROUPS;
        void *ids;
        size_t n;
        int r = resolve_list(c, value, groups, &ids, &n);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                snprintf(expected, size, "existing %s names or numbers, separated by commas",
                         groups ? "group" : "user");
                return -EINVAL;
        }
        if (groups) {
                c->d.allow_gids = ids;
                c->d.n_allow_gids = n;
        } else {
                c->d.allow_uids = ids;
                c->d.n_allow_uids = n;
        }
        return 0;
}

typedef int (*conf_setter)(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size);

static const struct {
        conf_setter set;
        bool is_string;          /* also kept as a string (after the check) */
} conf_kinds[] = {
        [CONF_COUNT] = { set_number, false },
        [CONF_SIZE] = { set_number, false },
        [CONF_BOOL] = { set_bool, false },
        [CONF_MODE] = { set_mode, false },
        [CONF_WORD] = { set_choice, false },
        [CONF_ENUM] = { set_choice, false },
        [CONF_SOCKET_PATH] = { check_socket_path, true },
        [CONF_URL] = { check_url, true },
        [CONF_REGION] = { check_region, true },
        [CONF_GROUP] = { check_group, true },
        [CONF_USERS] = { check_ids, true },
        [CONF_GROUPS] = { check_ids, true },
        [CONF_LISTEN] = { check_listen, true },
        [CONF_STRING] = { NULL, true },
};

/* Set k from value; on -EINVAL expected says what would do. */
static int conf_set(fdsd_conf *c, const conf_key *k, const char *value, char *expected, size_t size) {
        int r = conf_kinds[k->type].set ? conf_kinds[k->type].set(c, k, value, expected, size) : 0;
        if (r < 0 || !conf_kinds[k->type].is_string)
                return r;
        if (!*value || !is_printable(value)) {
                snprintf(expected, size, "a non-empty string without control characters");
                return -EINVAL;
        }
        return conf_strdup(c, value, string_field(c, k));
}

/* ---- the file ---- */

typedef struct conf_reader {
        FILE *f;
        unsigned line;      /* of the line last read */
        size_t total;
        char *buf;
        size_t cap;
        int error;          /* why reading stopped early */
} conf_reader;

typedef struct conf_parse {
        fdsd_conf *c;
        const char *path;
        conf_reader rd;
        unsigned seen[N_KEYS]; /* line each key was set on */
        unsigned error_line;   /* first error the handler found */
        char *error;
} conf_parse;

static void parse_fail(conf_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void parse_fail(conf_parse *p, const char *fmt, ...) {
        va_list ap;
        char *msg;

        if (p->error)
                return;
        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (msg && asprintf(&p->error, "%s:%u: %s", p->path, p->rd.line, msg) < 0)
                p->error = NULL;
        free(msg);
        p->error_line = p->rd.line;
}

/* inih's reader: whole lines, counted, so the handler knows its line, and
 * a line too long for inih's buffer is refused instead of split in two. */
static char *conf_read_line(char *str, int num, void *stream) {
        conf_reader *rd = stream;
        ssize_t n = getline(&rd->buf, &rd->cap, rd->f);

        if (n < 0) {
                if (ferror(rd->f))
                        rd->error = -EIO;
                return NULL;
        }
        rd->line++;
        rd->total += (size_t) n;
        if (rd->total > CONF_FILE_MAX) {
                rd->error = -EFBIG;
                return NULL;
        }
        if (n >= num || memchr(rd->buf, '\0', (size_t) n)) {
                rd->error = n >= num ? -E2BIG : -EBADMSG;
                return NULL;
        }
        memcpy(str, rd->buf, (size_t) n + 1);
        return str;
}

static const conf_key *key_find(const char *section, const char *name) {
        for (size_t i = 0; i < N_KEYS; i++)
                if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

static bool section_known(const char *section) {
        for (size_t i = 0; i < N_KEYS; i++)
                if (strcmp(keys[i].section, section) == 0)
                        return true;
        return false;
}

static int conf_handler(void *user, const char *section, const char *name, const char *value) {
        conf_parse *p = user;
        char expected[160];
        const conf_key *k;
        int r;

        if (p->error)
                return 0;
        if (!*section) {
                parse_fail(p, "'%s' is outside any section (such as [limits])", name);
                return 0;
        }
        if (!section_known(section)) {
                parse_fail(p, "unknown section [%s]", section);
                return 0;
        }
        k = key_find(section, name);
        if (!k) {
                parse_fail(p, "unknown key '%s' in section [%s]", name, section);
                return 0;
        }
        if (p->seen[k - keys]) {
                parse_fail(p, "'%s' in [%s] is already set on line %u", name, section, p->seen[k - keys]);
                return 0;
        }
        p->seen[k - keys] = p->rd.line;
        r = conf_set(p->c, k, value, expected, sizeof(expected));
        if (r == -ENOMEM) {
                parse_fail(p, "out of memory");
                return 0;
        }
        if (r < 0) {
                parse_fail(p, "invalid value for '%s' in [%s]: '%s' (expected %s)", name, section,
                           k->secret ? "****" : value, expected);
                return 0;
        }
        return 1;
}

int conf_load(fdsd_conf *c, const char *path, bool must_exist, char **ret_error) {
        conf_parse p = { .c = c, .path = path };
        struct stat st;
        int r;

        p.rd.f = fopen(path, "re");
        if (!p.rd.f) {
                r = -errno;
                if (r == -ENOENT && !must_exist)
                        return 0;
                if (asprintf(ret_error, "%s: %s", path, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        /* Not a directory; /dev/null does, for "no settings file". */
        if (fstat(fileno(p.rd.f), &st) < 0 || S_ISDIR(st.st_mode)) {
                fclose(p.rd.f);
                if (asprintf(ret_error, "%s: is a directory", path) < 0)
                        *ret_error = NULL;
                return -EISDIR;
        }
        r = ini_parse_stream(conf_read_line, &p.rd, conf_handler, &p);
        fclose(p.rd.f);
        free(p.rd.buf);

        /* The first problem in the file wins: inih's own (a line that is
         * neither a section nor a key), the handler's, or the reader's. */
        if (r > 0 && (!p.error || (unsigned) r < p.error_line)) {
                free(p.error);
                p.error = NULL;
                p.rd.line = (unsigned) r;
                parse_fail(&p, "syntax error: expected 'key = value' or '[section]'");
        } else if (!p.error && p.rd.error) {
                parse_fail(&p, "%s", p.rd.error == -E2BIG     ? "line longer than 199 bytes"
                                   : p.rd.error == -EFBIG     ? "file larger than 64 KiB"
                                   : p.rd.error == -EBADMSG   ? "line holds a NUL byte"
                                                              : "read error");
        } else if (!p.error && r < 0) {
                parse_fail(&p, "out of memory");
        }
        if (p.error || r != 0) {
                *ret_error = p.error;
                return p.rd.error == -EIO ? -EIO : -EINVAL;
        }
        r = conf_strdup(c, path, &c->source);
        return r < 0 ? r : 1;
}

int conf_set_flag(fdsd_conf *c, const char *flag, const char *value, char **ret_error) {
        char expected[160];
        int r;

        for (size_t i = 0; i < N_KEYS; i++) {
                if (!keys[i].flag || strcmp(keys[i].flag, flag) != 0)
                        continue;
                r = conf_set(c, &keys[i], value, expected, sizeof(expected));
                if (r == -EINVAL &&
                    asprintf(ret_error, "invalid value for --%s: '%s' (expected %s)", flag, value, expected) < 0)
                        return -ENOMEM;
                return r;
        }
        return -ENOENT;
}

int conf_check(const fdsd_conf *c, char **ret_error) {
        const daemon_config *d = &c->d;
        const char *msg = NULL;
        char a[24], b[24];

        if ((d->s3_access_key_id || d->s3_secret_access_key || d->s3_session_token) &&
            (!d->s3_access_key_id || !d->s3_secret_access_key))
                msg = "[s3] credentials need both access_key_id and secret_access_key";
        if (msg) {
                *ret_error = strdup(msg);
                return *ret_error ? -EINVAL : -ENOMEM;
        }
        if (d->multipart_chunksize > d->buffer_memory) {
                if (asprintf(ret_error,
                             "[transfer] multipart_chunksize (%s) is larger than [limits] buffer_memory (%s)",
                             format_size(d->multipart_chunksize, a), format_size(d->buffer_memory, b)) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        return 0;
}

char *conf_mask_key_id(const char *key_id, char buf[static 13]) {
        size_t n = strlen(key_id);

        if (n >= 12)
                snprintf(buf, 13, "%.4s****%s", key_id, key_id + n - 4);
        else
                snprintf(buf, 13, "****");
        return buf;
}

static void print_value(const fdsd_conf *c, const conf_key *k, FILE *f) {
        const char *p = (const char *) c + k->offset;
        char buf[24];

        switch (k->type) {
        case CONF_COUNT:
                fprintf(f, "%s = %" PRIu64 "\n", k->name, load_uint(c, k));
                break;
        case CONF_SIZE:
                fprintf(f, "%s = %s\n", k->name, format_size(load_uint(c, k), buf));
                break;
        case CONF_BOOL: {
                bool b;
                memcpy(&b, p, sizeof(b));
                fprintf(f, "%s = %s\n", k->name, b ? "yes" : "no");
                break;
        }
        case CONF_MODE:
                fprintf(f, "%s = %04" PRIo64 "\n", k->name, load_uint(c, k));
                break;
        case CONF_ENUM: {
                int i;
                memcpy(&i, p, sizeof(i));
                fprintf(f, "%s = %s\n", k->name, k->choices[i]);
                break;
        }
        default: {
                const char *s = *string_field((fdsd_conf *) c, k);
                char masked[13];
                if (!s)
                        fprintf(f, "# %s =\n", k->name);
                else if (!k->secret)
                        fprintf(f, "%s = %s\n", k->name, s);
                else if (strcmp(k->name, "access_key_id") == 0)
                        fprintf(f, "%s = %s\n", k->name, conf_mask_key_id(s, masked));
                else
                        fprintf(f, "%s = ****\n", k->name);
                break;
        }
        }
}

int conf_print(const fdsd_conf *c, FILE *f) {
        const char *section = NULL;

        fprintf(f, "# fdsd's effective settings: built-in defaults, %s%s, then the command line\n",
                c->source ? "the file " : "no configuration file", c->source ? c->source : "");
        for (size_t i = 0; i < N_KEYS; i++) {
                if (keys[i].quiet_unset && !*string_field((fdsd_conf *) c, &keys[i]))
                        continue;
                if (!section || strcmp(section, keys[i].section) != 0) {
                        section = keys[i].section;
                        fprintf(f, "%s[%s]\n", i ? "\n" : "", section);
                }
                print_value(c, &keys[i], f);
        }
        return fflush(f) == 0 ? 0 : -errno;
}
