/* SPDX-License-Identifier: MIT */
/* The shared files (~/.aws/config, ~/.aws/credentials): parsed with inih
 * into sections of known keys, and cached by the context while unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "s3_settings.h"
#include "s3_settings_internal.h"
#include "xstr.h"

/* ---- shared files ---- */

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
        { "credential_process", K_CREDENTIAL_PROCESS },
        { "role_arn", K_ROLE_ARN },
        { "role_session_name", K_ROLE_SESSION_NAME },
        { "source_profile", K_SOURCE_PROFILE },
        { "credential_source", K_CREDENTIAL_SOURCE },
        { "external_id", K_EXTERNAL_ID },
        { "mfa_serial", K_MFA_SERIAL },
        { "sso_session", K_UNSUPPORTED },
        { "sso_start_url", K_UNSUPPORTED },
        { "web_identity_token_file", K_WEB_IDENTITY_TOKEN_FILE },
        { "ca_bundle", K_CA_BUNDLE },
};

static int file_key_from_name(const char *name) {
        /* Python's configparser, which the CLI uses, lower-cases names. */
        for (size_t i = 0; i < sizeof(file_keys) / sizeof(file_keys[0]); i++)
                if (strcasecmp(name, file_keys[i].name) == 0)
                        return (int) file_keys[i].key;
        return -1;
}

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

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
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

const file_section *s3_settings_file_find(const shared_file *f, section_kind kind, const char *name) {
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
        r = sec ? s3_settings_set_string(&sec->v[key], key == K_UNSUPPORTED ? name : value) : -ENOMEM;
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
        ssize_t n;

        if (!data)
                return -ENOMEM;
        n = fileio_read_full(fd, data, size + 1);
        if (n < 0) {
                free(data);
                return (int) n;
        }
        data[n] = '\0';
        *ret_data = data;
        *ret_size = (size_t) n;
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
                return s3_settings_fail(ret_error, -errno, "cannot read %s file '%s': %s", what, path,
                                        strerror(errno));
        f = calloc(1, sizeof(*f));
        if (!f || !(f->path = strdup(path))) {
                r = -ENOMEM;
                goto out;
        }
        f->config = config;
        if (fstat(fd, &f->st) < 0) {
                r = s3_settings_fail(ret_error, -errno, "cannot read %s file '%s': %s", what, path,
                                     strerror(errno));
                goto out;
        }
        if (!S_ISREG(f->st.st_mode)) {
                r = s3_settings_fail(ret_error, -EINVAL, "%s file '%s' is not a regular file", what, path);
                goto out;
        }
        r = (uint64_t) f->st.st_size > S3_SETTINGS_FILE_MAX
                    ? -EFBIG
                    : read_all(fd, (size_t) f->st.st_size, &data, &size);
        if (r == 0 && size > S3_SETTINGS_FILE_MAX)
                r = -EFBIG;
        if (r < 0) {
                r = r == -ENOMEM ? r
                                 : s3_settings_fail(ret_error, r, "cannot read %s file '%s': %s", what, path,
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
int s3_settings_context_load(s3_settings_context *ctx, const char *path, bool config,
                             const shared_file **ret, char **ret_error) {
        size_t slot = 0;
        shared_file *f = NULL;
        struct stat st;
        int r;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return (*ret = NULL, 0);
                return s3_settings_fail(ret_error, -errno, "cannot read %s file '%s': %s",
                                        config ? "config" : "credentials", path, strerror(errno));
        }
        /* As botocore (os.path.isfile): /dev/null, a directory or a FIFO
         * is no file at all, the common way to keep ~/.aws out. */
        if (!S_ISREG(st.st_mode))
                return (*ret = NULL, 0);
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
                return s3_settings_fail(ret_error, f->error, "%s", f->error_msg);
        *ret = f;
        return 0;
}
