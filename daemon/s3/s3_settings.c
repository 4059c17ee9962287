/* SPDX-License-Identifier: MIT */
#include "s3_settings.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imds.h"

/* Parsed shared files kept by a context: the config and credentials files
 * of the environment, and room for a change of AWS_CONFIG_FILE. */
#define CACHE_FILES 4
#define REGION_MAX 64
#define URL_SHOWN_MAX 256

/* ---- small helpers ---- */

static int fail(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        *ret_error = s;
        return s ? r : -ENOMEM;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static bool empty(const char *s) {
        return !s || !*s;
}

/* A copy of [s, s + n) without blank space at either end. */
static char *strndup_trimmed(const char *s, size_t n) {
        while (n > 0 && is_blank(*s)) {
                s++;
                n--;
        }
        while (n > 0 && is_blank(s[n - 1]))
                n--;
        return strndup(s, n);
}

static int set_string(char **dst, const char *value) {
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        free(*dst);
        *dst = v;
        return 0;
}

/* A URL as it may appear in a message: not when it could carry a password
 * (user:password@host) or bytes a terminal would interpret. */
static const char *url_shown(const char *url) {
        if (strchr(url, '@') || strlen(url) > URL_SHOWN_MAX)
                return "(not shown)";
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return "(not shown)";
        return url;
}

static bool is_true(const char *v) {
        return v && strcasecmp(v, "true") == 0;
}

char *s3_settings_mask_key_id(const char *key_id, char buf[static 13]) {
        size_t n = key_id ? strlen(key_id) : 0;

        if (n < 12) {
                strcpy(buf, "****");
                return buf;
        }
        memcpy(buf, key_id, 4);
        memcpy(buf + 4, "****", 4);
        memcpy(buf + 8, key_id + n - 4, 4);
        buf[12] = '\0';
        return buf;
}

const char *s3_settings_getenv_process(const char *name, void *userdata) {
        (void) userdata;
        return getenv(name);
}

/* ---- validation ---- */

static int check_region(const char *region, const char *origin, char **ret_error) {
        size_t n = strlen(region);

        for (size_t i = 0; i < n; i++)
                if (!is_alnum(region[i]) && region[i] != '-')
                        n = 0;
        if (n == 0 || n > REGION_MAX)
                return fail(ret_error, -EINVAL,
                            "region '%s' (%s) is not valid: use letters, digits and '-', as in eu-west-1",
                            url_shown(region), origin);
        return 0;
}

typedef struct endpoint {
        char *url;  /* scheme://host[:port] */
        char *host; /* host[:port] */
        bool https;
        bool is_aws;
} endpoint;

static void endpoint_done(endpoint *e) {
        free(e->url);
        free(e->host);
}

static bool host_chars_ok(const char *h, size_t n, bool bracketed) {
        for (size_t i = 0; i < n; i++) {
                char c = h[i];
                if (bracketed ? !(is_alnum(c) || c == ':' || c == '.' || c == '%')
                              : !(is_alnum(c) || c == '.' || c == '-' || c == '_'))
                        return false;
        }
        return n > 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
        size_t k = strlen(suffix);
        return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Split authority [auth, end) into host and port; 0 or -EINVAL with a reason. */
static int split_authority(const char *auth, const char *end, size_t *ret_host_len, long *ret_port,
                           const char **ret_why) {
        const char *host_end, *p;
        bool bracketed = *auth == '[';
        long port = 0;

        if (bracketed) {
                host_end = memchr(auth, ']', (size_t) (end - auth));
                if (!host_end || !host_chars_ok(auth + 1, (size_t) (host_end - auth - 1), true))
                        return (*ret_why = "has no valid host", -EINVAL);
                host_end++;
        } else {
                host_end = memchr(auth, ':', (size_t) (end - auth));
                if (!host_end)
                        host_end = end;
                if (!host_chars_ok(auth, (size_t) (host_end - auth), false))
                        return (*ret_why = "has no valid host", -EINVAL);
        }
        if (host_end < end) {
                if (*host_end != ':' || end - host_end < 2 || end - host_end > 6)
                        return (*ret_why = "has no valid port", -EINVAL);
                for (p = host_end + 1; p < end; p++) {
                        if (*p < '0' || *p > '9')
                                return (*ret_why = "has no valid port", -EINVAL);
                        port = port * 10 + (*p - '0');
                }
                if (port < 1 || port > 65535)
                        return (*ret_why = "has no valid port", -EINVAL);
        }
        *ret_host_len = (size_t) (host_end - auth);
        *ret_port = port;
        return 0;
}

/* "scheme://host[:port][/]" with scheme http or https: normalized to lower
 * case, without the default port and the slash. */
static int endpoint_parse(const char *url, const char *origin, endpoint *ret, char **ret_error) {
        const char *sep = strstr(url, "://"), *auth, *end, *why = NULL;
        size_t scheme_len, host_len;
        long port;
        endpoint e = { 0 };

        scheme_len = sep ? (size_t) (sep - url) : 0;
        if (scheme_len == 5 && strncasecmp(url, "https", 5) == 0)
                e.https = true;
        else if (!(scheme_len == 4 && strncasecmp(url, "http", 4) == 0))
                return fail(ret_error, -EINVAL,
                            "endpoint URL '%s' (%s) must be http://HOST[:PORT] or https://HOST[:PORT]",
                            url_shown(url), origin);
        auth = sep + 3;
        end = auth + strcspn(auth, "/?#");
        if (*end && strcmp(end, "/") != 0)
                why = "must not have a path, query or fragment";
        else if (memchr(auth, '@', (size_t) (end - auth)))
                why = "must not contain user information";
        else
                (void) split_authority(auth, end, &host_len, &port, &why);
        if (why)
                return fail(ret_error, -EINVAL, "endpoint URL '%s' (%s) %s", url_shown(url), origin, why);

        if ((e.https && port == 443) || (!e.https && port == 80))
                port = 0;
        e.host = port ? xasprintf("%.*s:%ld", (int) host_len, auth, port) : strndup(auth, host_len);
        if (!e.host)
                return -ENOMEM;
        for (char *p = e.host; *p; p++)
                *p = lower(*p);
        e.url = xasprintf("%s://%s", e.https ? "https" : "http", e.host);
        if (!e.url) {
                endpoint_done(&e);
                return -ENOMEM;
        }
        e.is_aws = ends_with(auth, host_len, ".amazonaws.com") ||
                   ends_with(auth, host_len, ".amazonaws.com.cn");
        *ret = e;
        return 0;
}

static int check_addressing(const char *v, const char *origin, char **ret_error) {
        if (strcmp(v, "path") == 0 || strcmp(v, "virtual") == 0 || strcmp(v, "auto") == 0)
                return 0;
        return fail(ret_error, -EINVAL, "addressing_style '%s' (%s) must be path, virtual or auto",
                    url_shown(v), origin);
}

/* A layer giving credentials gives at least the key id and the secret:
 * 1 when it gives them, 0 when it gives nothing, -EINVAL otherwise. */
static int check_whole(const char *const v[3], const char *const names[3], const char *where,
                       char **ret_error) {
        bool id = !empty(v[0]), secret = !empty(v[1]), token = !empty(v[2]);

        if (id && secret)
                return 1;
        if (id || secret)
                return fail(ret_error, -EINVAL, "partial credentials: %s has %s but not %s", where,
                            names[id ? 0 : 1], names[id ? 1 : 0]);
        if (token)
                return fail(ret_error, -EINVAL, "partial credentials: %s has %s but not %s or %s", where,
                            names[2], names[0], names[1]);
        return 0;
}

static const char *const option_names[3] = { "access_key_id", "secret_access_key", "session_token" };
static const char *const env_names[3] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_SESSION_TOKEN" };
static const char *const file_names[3] = { "aws_access_key_id", "aws_secret_access_key",
                                           "aws_session_token" };

int s3_settings_check_defaults(const s3_settings_defaults *d, char **ret_error) {
        const char *creds[3] = { d->access_key_id, d->secret_access_key, d->session_token };
        int r;

        if (!empty(d->endpoint_url)) {
                endpoint e;
                r = endpoint_parse(d->endpoint_url, "daemon defaults", &e, ret_error);
                if (r < 0)
                        return r;
                endpoint_done(&e);
        }
        if (!empty(d->region)) {
                r = check_region(d->region, "daemon defaults", ret_error);
                if (r < 0)
                        return r;
        }
        if (!empty(d->addressing_style)) {
                r = check_addressing(d->addressing_style, "daemon defaults", ret_error);
                if (r < 0)
                        return r;
        }
        r = check_whole(creds, option_names, "the daemon defaults", ret_error);
        return r < 0 ? r : 0;
}

/* ---- shared files ---- */

typedef enum file_key {
        K_REGION,
        K_ENDPOINT_URL,
        K_ACCESS_KEY_ID,
        K_SECRET_ACCESS_KEY,
        K_SESSION_TOKEN,
        K_SECURITY_TOKEN, /* the old name of aws_session_token, still read by the CLI */
        K_S3_ADDRESSING_STYLE,
        K_S3_ENDPOINT_URL,
        K_SERVICES,
        K_USE_FIPS,
        K_USE_DUALSTACK,
        K_IGNORE_ENDPOINT_URLS,
        K_UNSUPPORTED, /* holds the name of a credential provider fds lacks */
        _K_MAX,
} file_key;

static const struct {
        const char *name;
        file_key key;
} file_keys[] = {
        { "region", K_REGION },
        { "endpoint_url", K_ENDPOINT_URL },
        { "aws_access_key_id", K_ACCESS_KEY_ID },
        { "aws_secret_access_key", K_SECRET_ACCESS_KEY },
        { "aws_session_token", K_SESSION_TOKEN },
        { "aws_security_token", K_SECURITY_TOKEN },
        { "services", K_SERVICES },
        { "use_fips_endpoint", K_USE_FIPS },
        { "use_dualstack_endpoint", K_USE_DUALSTACK },
        { "ignore_configure_endpoint_urls", K_IGNORE_ENDPOINT_URLS },
        { "credential_process", K_UNSUPPORTED },
        { "role_arn", K_UNSUPPORTED },
        { "sso_session", K_UNSUPPORTED },
        { "sso_start_url", K_UNSUPPORTED },
        { "web_identity_token_file", K_UNSUPPORTED },
};

static int file_key_from_name(const char *name) {
        /* Python's configparser, which the CLI uses, lower-cases names. */
        for (size_t i = 0; i < sizeof(file_keys) / sizeof(file_keys[0]); i++)
                if (strcasecmp(name, file_keys[i].name) == 0)
                        return (int) file_keys[i].key;
        return -1;
}

typedef enum section_kind {
        SECTION_PROFILE,
        SECTION_SERVICES,
} section_kind;

typedef struct file_section {
        char *name;
        section_kind kind;
        char *v[_K_MAX];
} file_section;

typedef struct shared_file {
        char *path;
        bool config;    /* config file rules: [default], [profile x], [services x] */
        struct stat st; /* of the bytes parsed */
        file_section *sections;
        size_t n_sections, n_alloc;
        int error; /* the file does not parse: kept, with its reason, until it changes */
        char *error_msg;
        uint64_t used;
} shared_file;

static shared_file *shared_file_free(shared_file *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_sections; i++) {
                free(f->sections[i].name);
                for (size_t k = 0; k < _K_MAX; k++)
                        free(f->sections[i].v[k]);
        }
        free(f->sections);
        free(f->path);
        free(f->error_msg);
        free(f);
        return NULL;
}

static const file_section *shared_file_find(const shared_file *f, section_kind kind, const char *name) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_sections; i++)
                if (f->sections[i].kind == kind && strcmp(f->sections[i].name, name) == 0)
                        return &f->sections[i];
        return NULL;
}

/*
 * inih reads a line into a fixed buffer (200 bytes as Debian builds it) and
 * would cut a longer one in two, but session tokens run to 1,000 bytes and
 * more. So lines come to inih through ini_read_line, and a line too long for
 * its buffer is handed over as "name=" LONG_MARK with the value kept aside
 * (a comment as "#", an indented line as " " LONG_MARK); the handler puts
 * the value back. inih calls the handler for a line before reading the next.
 */
#define LONG_MARK "\x1f"

typedef struct ini_parser {
        shared_file *file;
        const char *data;
        size_t size, pos;
        unsigned lineno;
        bool indented;  /* the current line starts with blank space */
        bool have_prev; /* a name was seen in this section: indented lines continue it */
        const char *long_value;
        size_t long_len;
        int error;
        char *error_msg;
} ini_parser;

static int parser_fail(ini_parser *p, int r, const char *why) {
        if (p->error == 0) {
                p->error = r;
                if (r != -ENOMEM)
                        p->error_msg = xasprintf("%s file '%s' line %u %s",
                                                 p->file->config ? "config" : "credentials", p->file->path,
                                                 p->lineno, why);
        }
        return r;
}

static char *read_long_line(ini_parser *p, char *str, size_t cap, const char *line, size_t len) {
        const char *end = line + len, *s = line, *eq;

        while (s < end && is_blank(*s))
                s++;
        if (s == end || *s == '#' || *s == ';') {
                strcpy(str, s == end ? "\n" : "#\n");
                return str;
        }
        if (s > line && p->have_prev) {
                strcpy(str, " " LONG_MARK "\n");
                p->long_value = s;
                p->long_len = (size_t) (end - s);
                return str;
        }
        for (eq = s; eq < end && *eq != '=' && *eq != ':'; eq++)
                ;
        if (*s == '[' || eq == end ||
            (size_t) (eq - line) + sizeof("=" LONG_MARK "\n") > cap) {
                (void) parser_fail(p, -EINVAL, "is too long");
                return NULL;
        }
        memcpy(str, line, (size_t) (eq - line));
        strcpy(str + (eq - line), "=" LONG_MARK "\n");
        p->long_value = eq + 1;
        p->long_len = (size_t) (end - eq - 1);
        return str;
}

static char *ini_read_line(char *str, int num, void *stream) {
        ini_parser *p = stream;
        const char *line, *nl, *s;
        size_t len;

        if (p->pos >= p->size || p->error)
                return NULL;
        line = p->data + p->pos;
        nl = memchr(line, '\n', p->size - p->pos);
        len = nl ? (size_t) (nl - line) + 1 : p->size - p->pos;
        p->pos += len;
        p->lineno++;
        p->long_value = NULL;
        p->indented = line[0] == ' ' || line[0] == '\t';
        for (s = line; s < line + len && is_blank(*s); s++)
                ;
        if (s < line + len && *s == '[')
                p->have_prev = false;
        if (len < (size_t) num) {
                memcpy(str, line, len);
                str[len] = '\0';
                return str;
        }
        return read_long_line(p, str, (size_t) num, line, len);
}

/* The value of a long line, as inih would have given it: trimmed, without
 * an inline comment (';' after blank space). */
static char *long_value_copy(const ini_parser *p) {
        size_t n = p->long_len;

        for (size_t i = 1; i < n; i++)
                if (p->long_value[i] == ';' && is_blank(p->long_value[i - 1]))
                        n = i;
        return strndup_trimmed(p->long_value, n);
}

/* Which section a [header] is: in the config file [default], [profile NAME]
 * and [services NAME] (others, like [sso-session x], are not ours); in the
 * credentials file every [NAME] is a profile. */
static bool section_parse(const char *header, bool config, section_kind *ret_kind, const char **ret_name) {
        const char *name;

        if (!config || strcmp(header, "default") == 0) {
                *ret_kind = SECTION_PROFILE;
                *ret_name = header;
                return *header != '\0';
        }
        if (strncmp(header, "profile", 7) == 0 && is_blank(header[7]))
                *ret_kind = SECTION_PROFILE;
        else if (strncmp(header, "services", 8) == 0 && is_blank(header[8]))
                *ret_kind = SECTION_SERVICES;
        else
                return false;
        name = header + (*ret_kind == SECTION_PROFILE ? 7 : 8);
        while (is_blank(*name))
                name++;
        if (*name == '\0' || strpbrk(name, " \t"))
                return false;
        *ret_name = name;
        return true;
}

static file_section *section_get(shared_file *f, section_kind kind, const char *name) {
        file_section *s;

        /* A section given twice ([default] and [profile default], say) is one, later keys winning. */
        for (size_t i = f->n_sections; i > 0; i--) {
                s = &f->sections[i - 1];
                if (s->kind == kind && strcmp(s->name, name) == 0)
                        return s;
        }
        if (f->n_sections == f->n_alloc) {
                size_t n = f->n_alloc ? f->n_alloc * 2 : 8;
                s = reallocarray(f->sections, n, sizeof(*s));
                if (!s)
                        return NULL;
                f->sections = s;
                f->n_alloc = n;
        }
        s = &f->sections[f->n_sections];
        *s = (file_section){ .name = strdup(name), .kind = kind };
        if (!s->name)
                return NULL;
        f->n_sections++;
        return s;
}

/* An indented line under "s3 =": "name = value" of the nested section. */
static int nested_key(ini_parser *p, const char *value, char **ret_value) {
        const char *eq = strchr(value, '=');
        char *name;
        int key = -1;

        if (!eq)
                return parser_fail(p, -EINVAL, "is under 's3' but not 'name = value'");
        name = strndup_trimmed(value, (size_t) (eq - value));
        if (!name)
                return -ENOMEM;
        if (strcasecmp(name, "addressing_style") == 0)
                key = K_S3_ADDRESSING_STYLE;
        else if (strcasecmp(name, "endpoint_url") == 0)
                key = K_S3_ENDPOINT_URL;
        free(name);
        if (key < 0)
                return key;
        *ret_value = strndup_trimmed(eq + 1, strlen(eq + 1));
        return *ret_value ? key : -ENOMEM;
}

static int parser_take(ini_parser *p, const char *header, const char *name, const char *value) {
        bool continuation = p->indented && p->have_prev;
        char *nested = NULL;
        section_kind kind;
        const char *sname;
        file_section *sec;
        int key, r;

        p->have_prev = true;
        if (!section_parse(header, p->file->config, &kind, &sname))
                return 0;
        if (continuation && strcasecmp(name, "s3") == 0) {
                key = nested_key(p, value, &nested);
                if (key < 0)
                        return key == -1 ? 0 : key;
                value = nested;
        } else {
                key = file_key_from_name(name);
                if (key < 0)
                        return 0;
                if (continuation)
                        return parser_fail(p, -EINVAL, "is indented, continuing a value that has none");
        }
        sec = section_get(p->file, kind, sname);
        r = sec ? set_string(&sec->v[key], key == K_UNSUPPORTED ? name : value) : -ENOMEM;
        free(nested);
        return r;
}

static int ini_on_value(void *user, const char *section, const char *name, const char *value) {
        ini_parser *p = user;
        char *long_copy = NULL;
        int r;

        if (p->error)
                return 0;
        if (p->long_value && strcmp(value, LONG_MARK) == 0) {
                long_copy = long_value_copy(p);
                if (!long_copy) {
                        (void) parser_fail(p, -ENOMEM, "");
                        return 0;
                }
                value = long_copy;
        }
        r = parser_take(p, section, name, value);
        free(long_copy);
        if (r < 0)
                (void) parser_fail(p, r, "");
        return r >= 0;
}

/* Parse data into f; a file that does not parse is a result too (f->error). */
static int shared_file_parse(shared_file *f, const char *data, size_t size) {
        ini_parser p = { .file = f, .data = data, .size = size };
        int r = 0;

        if (memchr(data, '\0', size)) {
                p.error = -EINVAL;
                p.error_msg = xasprintf("%s file '%s' is not a text file",
                                        f->config ? "config" : "credentials", f->path);
        } else
                r = ini_parse_stream(ini_read_line, &p, ini_on_value, &p);
        if (p.error == 0 && r > 0) {
                p.lineno = (unsigned) r;
                (void) parser_fail(&p, -EINVAL, "is not 'name = value', a [section] or a comment");
        } else if (p.error == 0 && r < 0)
                p.error = -ENOMEM;
        if (p.error == -ENOMEM || (p.error && !p.error_msg)) {
                free(p.error_msg);
                return -ENOMEM;
        }
        f->error = p.error;
        f->error_msg = p.error_msg;
        return 0;
}

/* The file, NUL-terminated; one byte more than fstat said shows a file that grew past the limit. */
static int read_all(int fd, size_t size, char **ret_data, size_t *ret_size) {
        char *data = malloc(size + 2);
        size_t n = 0;

        if (!data)
                return -ENOMEM;
        while (n < size + 1) {
                ssize_t k = read(fd, data + n, size + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = -errno;
                        free(data);
                        return r;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        data[n] = '\0';
        *ret_data = data;
        *ret_size = n;
        return 0;
}

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int shared_file_load(const char *path, bool config, shared_file **ret, char **ret_error) {
        const char *what = config ? "config" : "credentials";
        shared_file *f = NULL;
        char *data = NULL;
        size_t size = 0;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return fail(ret_error, -errno, "cannot read %s file '%s': %s", what, path, strerror(errno));
        f = calloc(1, sizeof(*f));
        if (!f || !(f->path = strdup(path))) {
                r = -ENOMEM;
                goto out;
        }
        f->config = config;
        if (fstat(fd, &f->st) < 0) {
                r = fail(ret_error, -errno, "cannot read %s file '%s': %s", what, path, strerror(errno));
                goto out;
        }
        if (!S_ISREG(f->st.st_mode)) {
                r = fail(ret_error, -EINVAL, "%s file '%s' is not a regular file", what, path);
                goto out;
        }
        r = (uint64_t) f->st.st_size > S3_SETTINGS_FILE_MAX
                    ? -EFBIG
                    : read_all(fd, (size_t) f->st.st_size, &data, &size);
        if (r == 0 && size > S3_SETTINGS_FILE_MAX)
                r = -EFBIG;
        if (r < 0) {
                r = r == -ENOMEM ? r
                                 : fail(ret_error, r, "cannot read %s file '%s': %s", what, path,
                                        r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                goto out;
        }
        r = shared_file_parse(f, data, size);
        if (r == 0) {
                *ret = f;
                f = NULL;
        }
out:
        if (fd >= 0)
                close(fd);
        if (data)
                explicit_bzero(data, size); /* the credentials file holds secrets */
        free(data);
        shared_file_free(f);
        return r;
}

/* ---- the context ---- */

struct s3_settings_context {
        s3_settings_getenv_fn getenv_fn;
        void *userdata;
        shared_file *files[CACHE_FILES];
        uint64_t clock;
        unsigned parses;
};

int s3_settings_context_new(s3_settings_getenv_fn getenv_fn, void *userdata, s3_settings_context **ret_ctx) {
        s3_settings_context *ctx = calloc(1, sizeof(*ctx));

        if (!ctx)
                return -ENOMEM;
        ctx->getenv_fn = getenv_fn ? getenv_fn : s3_settings_getenv_process;
        ctx->userdata = userdata;
        *ret_ctx = ctx;
        return 0;
}

s3_settings_context *s3_settings_context_free(s3_settings_context *ctx) {
        if (!ctx)
                return NULL;
        for (size_t i = 0; i < CACHE_FILES; i++)
                shared_file_free(ctx->files[i]);
        free(ctx);
        return NULL;
}

unsigned s3_settings_context_parses(const s3_settings_context *ctx) {
        return ctx->parses;
}

/* The parsed file at path, from the cache while the file is unchanged;
 * *ret NULL when there is no such file. A returned file stays valid until
 * CACHE_FILES - 1 other files were loaded (the least recently used goes). */
static int ctx_load(s3_settings_context *ctx, const char *path, bool config, const shared_file **ret,
                    char **ret_error) {
        size_t slot = 0;
        shared_file *f = NULL;
        struct stat st;
        int r;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return (*ret = NULL, 0);
                return fail(ret_error, -errno, "cannot read %s file '%s': %s",
                            config ? "config" : "credentials", path, strerror(errno));
        }
        for (size_t i = 0; i < CACHE_FILES; i++) {
                shared_file *c = ctx->files[i];
                if (c && c->config == config && strcmp(c->path, path) == 0) {
                        f = c;
                        slot = i;
                        break;
                }
                if (!c || (ctx->files[slot] && c->used < ctx->files[slot]->used))
                        slot = i;
        }
        if (!f || !same_file(&f->st, &st)) {
                r = shared_file_load(path, config, &f, ret_error);
                if (r < 0)
                        return r;
                ctx->parses++;
                shared_file_free(ctx->files[slot]);
                ctx->files[slot] = f;
        }
        f->used = ++ctx->clock;
        if (f->error)
                return fail(ret_error, f->error, "%s", f->error_msg);
        *ret = f;
        return 0;
}

/* ---- resolving ---- */

typedef enum layer {
        L_OPTIONS,
        L_DEFAULTS,
        L_ENV,
        L_CONFIG,
        L_SERVICES,
        L_CREDENTIALS,
        L_BUILTIN,
} layer;

typedef struct candidate {
        layer layer;
        const char *name; /* the option, variable or key */
        const char *value;
} candidate;

typedef struct resolver {
        s3_settings_context *ctx;
        const s3_settings_defaults *d;
        const json_t *o;
        char **ret_error;
        s3_settings *s;
        layer profile_layer;
        char *config_path; /* NULL when HOME is unknown */
        char *credentials_path;
        const shared_file *config, *credentials;
        const file_section *conf, *cred, *services;
} resolver;

static const char *env(const resolver *rs, const char *name) {
        const char *v = rs->ctx->getenv_fn(name, rs->ctx->userdata);
        return empty(v) ? NULL : v;
}

static const char *opt(const resolver *rs, const char *name) {
        const char *v = json_string_value(json_object_get(rs->o, name));
        return empty(v) ? NULL : v;
}

static const char *conf(const resolver *rs, file_key k) {
        return rs->conf && !empty(rs->conf->v[k]) ? rs->conf->v[k] : NULL;
}

static const char *cred(const resolver *rs, file_key k) {
        return rs->cred && !empty(rs->cred->v[k]) ? rs->cred->v[k] : NULL;
}

static char *origin_of(const resolver *rs, layer l, const char *name) {
        switch (l) {
        case L_OPTIONS:
                return xasprintf("options.s3.%s", name);
        case L_DEFAULTS:
                return xasprintf("daemon defaults (%s)", name);
        case L_ENV:
                return xasprintf("environment (%s)", name);
        case L_CONFIG:
                return xasprintf("config file '%s', profile '%s', %s", rs->config_path, rs->s->profile,
                                 name);
        case L_SERVICES:
                return xasprintf("config file '%s', services '%s', %s", rs->config_path, rs->services->name,
                                 name);
        case L_CREDENTIALS:
                return xasprintf("credentials file '%s', profile '%s', %s", rs->credentials_path,
                                 rs->s->profile, name);
        case L_BUILTIN:
        default:
                return strdup(name);
        }
}

/* The first candidate with a value, its origin in *ret_origin. NULL if none. */
static const candidate *pick(const resolver *rs, const candidate *c, size_t n, char **ret_origin,
                             int *ret_r) {
        for (size_t i = 0; i < n; i++) {
                if (empty(c[i].value))
                        continue;
                *ret_origin = origin_of(rs, c[i].layer, c[i].name);
                *ret_r = *ret_origin ? 0 : -ENOMEM;
                return &c[i];
        }
        *ret_r = 0;
        return NULL;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int resolve_profile(resolver *rs) {
        const candidate c[] = {
                { L_OPTIONS, "profile", opt(rs, "profile") },
                { L_DEFAULTS, "profile", rs->d->profile },
                { L_ENV, "AWS_PROFILE", env(rs, "AWS_PROFILE") },
                { L_ENV, "AWS_DEFAULT_PROFILE", env(rs, "AWS_DEFAULT_PROFILE") },
        };
        const candidate *p;
        int r;

        p = pick(rs, c, N(c), &rs->s->profile_origin, &r);
        if (r < 0)
                return r;
        rs->profile_layer = p ? p->layer : L_BUILTIN;
        if (!p && !(rs->s->profile_origin = strdup("default")))
                return -ENOMEM;
        return set_string(&rs->s->profile, p ? p->value : "default");
}

/* AWS_CONFIG_FILE or ~/.aws/config, with "~" expanded; NULL when HOME is not known. */
static int file_path(const resolver *rs, const char *var, const char *def, char **ret) {
        const char *p = env(rs, var), *home;

        if (!p)
                p = def;
        if (p[0] != '~' || (p[1] != '/' && p[1] != '\0'))
                return (*ret = strdup(p)) ? 0 : -ENOMEM;
        home = env(rs, "HOME");
        if (!home)
                return (*ret = NULL, 0);
        return (*ret = xasprintf("%s%s", home, p + 1)) ? 0 : -ENOMEM;
}

static int resolve_files(resolver *rs) {
        const char *name = rs->s->profile;
        int r;

        r = file_path(rs, "AWS_CONFIG_FILE", S3_SETTINGS_CONFIG_FILE, &rs->config_path);
        if (r == 0)
                r = file_path(rs, "AWS_SHARED_CREDENTIALS_FILE", S3_SETTINGS_CREDENTIALS_FILE,
                              &rs->credentials_path);
        if (r == 0 && rs->config_path)
                r = ctx_load(rs->ctx, rs->config_path, true, &rs->config, rs->ret_error);
        if (r == 0 && rs->credentials_path)
                r = ctx_load(rs->ctx, rs->credentials_path, false, &rs->credentials, rs->ret_error);
        if (r < 0)
                return r;
        rs->conf = shared_file_find(rs->config, SECTION_PROFILE, name);
        rs->cred = shared_file_find(rs->credentials, SECTION_PROFILE, name);
        /* Like the CLI, a missing "default" is no error even when named. */
        if (!rs->conf && !rs->cred && rs->profile_layer != L_BUILTIN && strcmp(name, "default") != 0) {
                if (!rs->config_path && !rs->credentials_path)
                        return fail(
                                rs->ret_error, -ENOENT,
                                "profile '%s' (%s) not found: HOME is not set, so there are no shared files",
                                name, rs->s->profile_origin);
                return fail(rs->ret_error, -ENOENT, "profile '%s' (%s) not found in '%s' or '%s'", name,
                            rs->s->profile_origin, rs->config_path ? rs->config_path : "~/.aws/config",
                            rs->credentials_path ? rs->credentials_path : "~/.aws/credentials");
        }
        if (conf(rs, K_SERVICES)) {
                rs->services = shared_file_find(rs->config, SECTION_SERVICES, conf(rs, K_SERVICES));
                if (!rs->services)
                        return fail(rs->ret_error, -EINVAL,
                                    "profile '%s' names services '%s', which config file '%s' does not have",
                                    name, conf(rs, K_SERVICES), rs->config_path);
        }
        return 0;
}

static int resolve_region(resolver *rs) {
        const candidate c[] = {
                { L_OPTIONS, "region", opt(rs, "region") },
                { L_DEFAULTS, "region", rs->d->region },
                { L_ENV, "AWS_REGION", env(rs, "AWS_REGION") },
                { L_ENV, "AWS_DEFAULT_REGION", env(rs, "AWS_DEFAULT_REGION") },
                { L_CONFIG, "region", conf(rs, K_REGION) },
                { L_CREDENTIALS, "region", cred(rs, K_REGION) },
                { L_BUILTIN, "default", S3_SETTINGS_DEFAULT_REGION },
        };
        const candidate *p;
        int r;

        p = pick(rs, c, N(c), &rs->s->region_origin, &r);
        if (r < 0)
                return r;
        r = check_region(p->value, rs->s->region_origin, rs->ret_error);
        if (r < 0)
                return r;
        return set_string(&rs->s->region, p->value);
}

/* An environment variable saying true or false, else the profile's key. */
static bool flag(const resolver *rs, const char *var, file_key k) {
        const char *v = env(rs, var);

        if (v)
                return is_true(v);
        return is_true(conf(rs, k)) || (!conf(rs, k) && is_true(cred(rs, k)));
}

static int aws_endpoint(resolver *rs, endpoint *ret) {
        const char *region = rs->s->region;
        bool fips = flag(rs, "AWS_USE_FIPS_ENDPOINT", K_USE_FIPS);
        bool dualstack = flag(rs, "AWS_USE_DUALSTACK_ENDPOINT", K_USE_DUALSTACK);
        const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
        endpoint e = { .https = true, .is_aws = true };

        e.host = xasprintf("%s.%s%s.%s", fips ? "s3-fips" : "s3", dualstack ? "dualstack." : "", region,
                           suffix);
        e.url = e.host ? xasprintf("https://%s", e.host) : NULL;
        rs->s->endpoint_origin = xasprintf("default for region %s%s%s", region, fips ? ", FIPS" : "",
                                           dualstack ? ", dual-stack" : "");
        if (!e.url || !rs->s->endpoint_origin) {
                endpoint_done(&e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

static int resolve_endpoint(resolver *rs) {
        bool ignore = flag(rs, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", K_IGNORE_ENDPOINT_URLS);
        const candidate c[] = {
                { L_OPTIONS, "endpoint_url", opt(rs, "endpoint_url") },
                { L_DEFAULTS, "endpoint_url", rs->d->endpoint_url },
                { L_ENV, "AWS_ENDPOINT_URL_S3", ignore ? NULL : env(rs, "AWS_ENDPOINT_URL_S3") },
                { L_ENV, "AWS_ENDPOINT_URL", ignore ? NULL : env(rs, "AWS_ENDPOINT_URL") },
                { L_CONFIG, "s3.endpoint_url", ignore ? NULL : conf(rs, K_S3_ENDPOINT_URL) },
                { L_SERVICES, "s3.endpoint_url",
                  ignore || !rs->services ? NULL : rs->services->v[K_S3_ENDPOINT_URL] },
                { L_CONFIG, "endpoint_url", ignore ? NULL : conf(rs, K_ENDPOINT_URL) },
                { L_CREDENTIALS, "s3.endpoint_url", ignore ? NULL : cred(rs, K_S3_ENDPOINT_URL) },
                { L_CREDENTIALS, "endpoint_url", ignore ? NULL : cred(rs, K_ENDPOINT_URL) },
        };
        const candidate *p;
        endpoint e;
        int r;

        p = pick(rs, c, N(c), &rs->s->endpoint_origin, &r);
        if (r < 0)
                return r;
        r = p ? endpoint_parse(p->value, rs->s->endpoint_origin, &e, rs->ret_error) : aws_endpoint(rs, &e);
        if (r < 0)
                return r;
        rs->s->endpoint_url = e.url;
        rs->s->endpoint_host = e.host;
        rs->s->endpoint_https = e.https;
        rs->s->endpoint_is_aws = e.is_aws;
        return 0;
}

static int resolve_addressing(resolver *rs) {
        const candidate c[] = {
                { L_OPTIONS, "addressing_style", opt(rs, "addressing_style") },
                { L_DEFAULTS, "addressing_style", rs->d->addressing_style },
                { L_CONFIG, "s3.addressing_style", conf(rs, K_S3_ADDRESSING_STYLE) },
                { L_CREDENTIALS, "s3.addressing_style", cred(rs, K_S3_ADDRESSING_STYLE) },
        };
        s3_settings *s = rs->s;
        const candidate *p;
        char *origin = NULL;
        int r;

        p = pick(rs, c, N(c), &origin, &r);
        if (r < 0)
                return r;
        if (p && (r = check_addressing(p->value, origin, rs->ret_error)) < 0) {
                free(origin);
                return r;
        }
        if (p && strcmp(p->value, "auto") != 0) {
                s->addressing_style =
                        strcmp(p->value, "path") == 0 ? S3_ADDRESSING_PATH : S3_ADDRESSING_VIRTUAL;
                s->addressing_origin = origin;
                return 0;
        }
        s->addressing_style = s->endpoint_is_aws ? S3_ADDRESSING_VIRTUAL : S3_ADDRESSING_PATH;
        s->addressing_origin = xasprintf("%s%s%s",
                                         s->endpoint_is_aws ? "default for AWS endpoints"
                                                            : "default for endpoints other than AWS",
                                         p ? ", auto from " : "", p ? origin : "");
        free(origin);
        return s->addressing_origin ? 0 : -ENOMEM;
}

/* Take the credentials of one layer if it gives them: 1 taken, 0 none. */
static int take_credentials(resolver *rs, const char *const v[3], const char *const names[3],
                            const char *where, s3_credentials_source source, layer l) {
        s3_settings *s = rs->s;
        int r = check_whole(v, names, where, rs->ret_error);

        if (r <= 0)
                return r;
        s->access_key_id = strdup(v[0]);
        s->secret_access_key = strdup(v[1]);
        s->session_token = empty(v[2]) ? NULL : strdup(v[2]);
        s->credentials_origin = origin_of(rs, l, names[0]);
        if (!s->access_key_id || !s->secret_access_key || (!empty(v[2]) && !s->session_token) ||
            !s->credentials_origin)
                return -ENOMEM;
        s->credentials_source = source;
        return 1;
}

static int file_credentials(resolver *rs, const file_section *sec, const char *path, bool config) {
        const char *v[3];
        char *where;
        int r;

        if (!sec)
                return 0;
        v[0] = sec->v[K_ACCESS_KEY_ID];
        v[1] = sec->v[K_SECRET_ACCESS_KEY];
        v[2] = !empty(sec->v[K_SESSION_TOKEN]) ? sec->v[K_SESSION_TOKEN] : sec->v[K_SECURITY_TOKEN];
        where = xasprintf("%s file '%s', profile '%s',", config ? "config" : "credentials", path, sec->name);
        if (!where)
                return -ENOMEM;
        r = take_credentials(rs, v, file_names, where,
                             config ? S3_CREDENTIALS_CONFIG_FILE : S3_CREDENTIALS_CREDENTIALS_FILE,
                             config ? L_CONFIG : L_CREDENTIALS);
        free(where);
        return r;
}

/* Credentials in the layers from options down to the one naming the profile. */
static int layer_credentials(resolver *rs) {
        const char *o[3] = { opt(rs, "access_key_id"), opt(rs, "secret_access_key"),
                             opt(rs, "session_token") };
        const char *d[3] = { rs->d->access_key_id, rs->d->secret_access_key, rs->d->session_token };
        const char *e[3] = { env(rs, env_names[0]), env(rs, env_names[1]), env(rs, env_names[2]) };
        int r;

        r = take_credentials(rs, o, option_names, "options.s3", S3_CREDENTIALS_OPTIONS, L_OPTIONS);
        if (r == 0 && rs->profile_layer >= L_DEFAULTS)
                r = take_credentials(rs, d, option_names, "the daemon defaults", S3_CREDENTIALS_DEFAULTS,
                                     L_DEFAULTS);
        if (r == 0 && rs->profile_layer >= L_ENV)
                r = take_credentials(rs, e, env_names, "the environment", S3_CREDENTIALS_ENVIRONMENT, L_ENV);
        if (r == 0)
                r = file_credentials(rs, rs->cred, rs->credentials_path, false);
        if (r == 0)
                r = file_credentials(rs, rs->conf, rs->config_path, true);
        return r;
}

/* Providers fds lacks: refuse rather than fall through to the instance's
 * role, which would be another identity than the one configured. */
static int check_unsupported(resolver *rs) {
        static const char *const vars[] = { "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                            "AWS_WEB_IDENTITY_TOKEN_FILE" };
        const file_section *sec = rs->conf && rs->conf->v[K_UNSUPPORTED] ? rs->conf : rs->cred;

        if (sec && sec->v[K_UNSUPPORTED])
                return fail(rs->ret_error, -EOPNOTSUPP,
                            "profile '%s' gets its credentials through %s, which fds does not support: give "
                            "aws_access_key_id and aws_secret_access_key, or use the instance's role",
                            rs->s->profile, sec->v[K_UNSUPPORTED]);
        for (size_t i = 0; i < N(vars); i++)
                if (env(rs, vars[i]))
                        return fail(
                                rs->ret_error, -EOPNOTSUPP,
                                "%s is set, but fds does not support container or web identity credentials: "
                                "give AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                                vars[i]);
        return 0;
}

static int resolve_credentials(resolver *rs) {
        s3_settings *s = rs->s;
        int r;

        s->credentials_searched = xasprintf("%s or the shared files (profile '%s')",
                                            rs->profile_layer == L_OPTIONS ? "options.s3"
                                            : rs->profile_layer == L_DEFAULTS
                                                    ? "options.s3, the daemon defaults"
                                                    : "options.s3, the daemon defaults, the environment",
                                            s->profile);
        if (!s->credentials_searched)
                return -ENOMEM;
        r = layer_credentials(rs);
        if (r != 0)
                return r < 0 ? r : 0;
        r = check_unsupported(rs);
        if (r < 0)
                return r;
        if (is_true(env(rs, "AWS_EC2_METADATA_DISABLED")))
                return fail(rs->ret_error, -ENOKEY,
                            "no credentials: not in %s, and the instance metadata service is disabled "
                            "(AWS_EC2_METADATA_DISABLED=true)",
                            s->credentials_searched);
        r = s3_settings_imds_endpoint(rs->ctx->getenv_fn, rs->ctx->userdata, &s->imds_endpoint,
                                      rs->ret_error);
        if (r < 0)
                return r;
        s->credentials_origin =
                xasprintf("instance metadata service at %s, not fetched yet", s->imds_endpoint);
        return s->credentials_origin ? 0 : -ENOMEM;
}

int s3_settings_resolve(s3_settings_context *ctx, const s3_settings_defaults *defaults,
                        const json_t *options_s3, s3_settings **ret_settings, char **ret_error) {
        static const s3_settings_defaults no_defaults = { 0 };
        resolver rs = {
                .ctx = ctx,
                .d = defaults ? defaults : &no_defaults,
                .o = options_s3,
                .ret_error = ret_error,
        };
        int r;

        if (!ctx || !ret_settings)
                return -EINVAL;
        rs.s = calloc(1, sizeof(*rs.s));
        if (!rs.s)
                return -ENOMEM;
        r = resolve_profile(&rs);
        if (r == 0)
                r = resolve_files(&rs);
        if (r == 0)
                r = resolve_region(&rs);
        if (r == 0)
                r = resolve_endpoint(&rs);
        if (r == 0)
                r = resolve_addressing(&rs);
        if (r == 0)
                r = resolve_credentials(&rs);
        if (r == 0) {
                *ret_settings = rs.s;
                rs.s = NULL;
        }
        free(rs.config_path);
        free(rs.credentials_path);
        s3_settings_free(rs.s);
        return r;
}

s3_settings *s3_settings_free(s3_settings *s) {
        if (!s)
                return NULL;
        free(s->endpoint_url);
        free(s->endpoint_host);
        free(s->region);
        free(s->profile);
        free(s->access_key_id);
        if (s->secret_access_key)
                explicit_bzero(s->secret_access_key, strlen(s->secret_access_key));
        free(s->secret_access_key);
        if (s->session_token)
                explicit_bzero(s->session_token, strlen(s->session_token));
        free(s->session_token);
        free(s->imds_endpoint);
        free(s->endpoint_origin);
        free(s->region_origin);
        free(s->addressing_origin);
        free(s->profile_origin);
        free(s->credentials_origin);
        free(s->credentials_searched);
        free(s);
        return NULL;
}

/* ---- the metadata service ---- */

bool s3_settings_needs_imds(const s3_settings *s) {
        return s && s->credentials_source == S3_CREDENTIALS_NONE && s->imds_endpoint;
}

int s3_settings_imds_endpoint(s3_settings_getenv_fn getenv_fn, void *userdata, char **ret_endpoint,
                              char **ret_error) {
        const char *v, *mode;
        endpoint e;
        int r;

        if (!getenv_fn)
                getenv_fn = s3_settings_getenv_process;
        v = getenv_fn("AWS_EC2_METADATA_SERVICE_ENDPOINT", userdata);
        if (empty(v)) {
                mode = getenv_fn("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", userdata);
                if (!empty(mode) && strcasecmp(mode, "IPv4") != 0 && strcasecmp(mode, "IPv6") != 0)
                        return fail(ret_error, -EINVAL,
                                    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is '%s', not IPv4 or IPv6",
                                    url_shown(mode));
                v = !empty(mode) && strcasecmp(mode, "IPv6") == 0 ? S3_SETTINGS_IMDS_ENDPOINT_IPV6
                                                                  : S3_SETTINGS_IMDS_ENDPOINT;
        }
        r = endpoint_parse(v, "environment (AWS_EC2_METADATA_SERVICE_ENDPOINT)", &e, ret_error);
        if (r < 0)
                return r;
        free(e.host);
        *ret_endpoint = e.url;
        return 0;
}

int s3_settings_apply_imds(s3_settings *s, int error, const imds_credentials *c, const char *imds_message,
                           char **ret_error) {
        char *id = NULL, *secret = NULL, *token = NULL, *origin = NULL;

        if (!s3_settings_needs_imds(s))
                return -EINVAL;
        if (error < 0)
                return fail(ret_error, error, "no credentials: not in %s, and %s", s->credentials_searched,
                            imds_message ? imds_message : "the instance metadata service failed");
        if (!c || empty(c->access_key_id) || empty(c->secret_access_key))
                return -EINVAL;
        id = strdup(c->access_key_id);
        secret = strdup(c->secret_access_key);
        token = empty(c->session_token) ? NULL : strdup(c->session_token);
        origin = xasprintf("instance metadata service at %s, role '%s'", s->imds_endpoint,
                           c->role ? c->role : "?");
        if (!id || !secret || (!empty(c->session_token) && !token) || !origin) {
                free(id);
                free(secret);
                free(token);
                free(origin);
                return -ENOMEM;
        }
        s->access_key_id = id;
        s->secret_access_key = secret;
        s->session_token = token;
        free(s->credentials_origin);
        s->credentials_origin = origin;
        s->credentials_expiration = c->expiration;
        s->credentials_source = S3_CREDENTIALS_IMDS;
        return 0;
}

/* ---- addressing ---- */

static bool is_ipv4(const char *h, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
                        return false;
        return n > 0;
}

/* A bucket name that is also a DNS label sequence: 3-63 of a-z 0-9 . -,
 * starting and ending with a letter or digit, no empty label, not an IPv4 address. */
static bool bucket_dns_compatible(const char *b) {
        size_t n = strlen(b);

        if (n < 3 || n > 63 || !is_alnum(b[0]) || !is_alnum(b[n - 1]) || is_ipv4(b, n))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = b[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
                        return false;
                if (c == '.' && (b[i - 1] == '.' || b[i - 1] == '-' || b[i + 1] == '-'))
                        return false;
        }
        return true;
}

bool s3_settings_use_virtual(const s3_settings *s, const char *bucket) {
        const char *h = s->endpoint_host;
        size_t hn = strcspn(h, ":");

        if (s->addressing_style != S3_ADDRESSING_VIRTUAL || !bucket_dns_compatible(bucket))
                return false;
        if (s->endpoint_https && strchr(bucket, '.'))
                return false;
        return h[0] != '[' && !is_ipv4(h, hn);
}

int s3_settings_bucket_host(const s3_settings *s, const char *bucket, char **ret_host) {
        char *h;
        bool virt;

        if (empty(bucket))
                return -EINVAL;
        virt = s3_settings_use_virtual(s, bucket);
        h = virt ? xasprintf("%s.%s", bucket, s->endpoint_host) : strdup(s->endpoint_host);
        if (!h)
                return -ENOMEM;
        *ret_host = h;
        return virt ? 1 : 0;
}

/* ---- display ---- */

static const char *const source_names[_S3_CREDENTIALS_SOURCE_MAX] = {
        [S3_CREDENTIALS_NONE] = "none yet",
        [S3_CREDENTIALS_OPTIONS] = "options",
        [S3_CREDENTIALS_DEFAULTS] = "daemon defaults",
        [S3_CREDENTIALS_ENVIRONMENT] = "environment",
        [S3_CREDENTIALS_CREDENTIALS_FILE] = "credentials file",
        [S3_CREDENTIALS_CONFIG_FILE] = "config file",
        [S3_CREDENTIALS_IMDS] = "instance metadata service",
};

int s3_settings_format(const s3_settings *s, char **ret_text) {
        char key[13], expiry[32] = "never";
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        if (s->credentials_expiration != 0) {
                time_t t = (time_t) s->credentials_expiration;
                struct tm tm;
                if (gmtime_r(&t, &tm))
                        strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        fprintf(f, "%-18s %s  (%s)\n", "endpoint_url", s->endpoint_url, s->endpoint_origin);
        fprintf(f, "%-18s %s  (%s)\n", "region", s->region, s->region_origin);
        fprintf(f, "%-18s %s  (%s)\n", "addressing_style",
                s->addressing_style == S3_ADDRESSING_PATH ? "path" : "virtual", s->addressing_origin);
        fprintf(f, "%-18s %s  (%s)\n", "profile", s->profile, s->profile_origin);
        fprintf(f, "%-18s %s  (%s: %s)\n", "access_key_id",
                s->access_key_id ? s3_settings_mask_key_id(s->access_key_id, key) : "-",
                source_names[s->credentials_source], s->credentials_origin);
        fprintf(f, "%-18s %s\n", "secret_access_key", s->secret_access_key ? "****" : "-");
        fprintf(f, "%-18s %s\n", "session_token", s->session_token ? "****" : "-");
        fprintf(f, "%-18s %s\n", "expiration", s->access_key_id ? expiry : "-");
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        return 0;
}
