/* SPDX-License-Identifier: MIT */
#include "sts.h"

#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "http.h"
#include "xstr.h"

/*
 * One POST per fetch (creds.c runs one fetch at a time), tried again after
 * a network failure or a 5xx; the body is gathered and parsed once it is
 * whole.
 */

#define STS_TEXT_MAX 8192

typedef struct sts sts;

struct sts {
        creds *k;
        http_client *http;
        char *endpoint, *role_arn, *session_name, *token_file;
        char *name; /* "STS AssumeRoleWithWebIdentity at E (role 'R')" */
        unsigned attempts, attempt;
        char *form; /* the request body, while a fetch runs */
        char *body;
        size_t body_len;
};

/* ---- the answer ---- */

enum { F_ID, F_SECRET, F_TOKEN, F_EXPIRATION, F_CODE, F_MESSAGE, F_MAX };

static const char *const field_names[F_MAX] = { "AccessKeyId", "SecretAccessKey", "SessionToken",
                                                "Expiration",  "Code",            "Message" };

typedef struct answer {
        char root[64];
        unsigned depth;
        int field; /* collecting this one's text; -1: none */
        char *v[F_MAX];
        size_t len[F_MAX];
        bool too_long;
} answer;

static void on_start(void *userdata, const XML_Char *name, const XML_Char **attrs) {
        answer *a = userdata;
        if (a->depth++ == 0)
                snprintf(a->root, sizeof(a->root), "%s", name);
        a->field = -1;
        for (int i = 0; i < F_MAX; i++)
                if (strcmp(name, field_names[i]) == 0 && !a->v[i]) {
                        a->v[i] = calloc(1, STS_TEXT_MAX + 1);
                        a->field = a->v[i] ? i : -1;
                }
}

static void on_end(void *userdata, const XML_Char *name) {
        answer *a = userdata;
        a->depth--;
        a->field = -1;
}

static void on_text(void *userdata, const XML_Char *s, int n) {
        answer *a = userdata;
        if (a->field < 0)
                return;
        if ((size_t) n > STS_TEXT_MAX - a->len[a->field]) {
                a->too_long = true;
                return;
        }
        memcpy(a->v[a->field] + a->len[a->field], s, (size_t) n);
        a->len[a->field] += (size_t) n;
}

static void answer_done(answer *a) {
        for (int i = 0; i < F_MAX; i++)
                creds_secret_free(a->v[i]);
}

/* 0 and a parsed answer (answer_done() it), or -EBADMSG. */
static int answer_parse(const char *body, size_t len, answer *a) {
        XML_Parser xp = XML_ParserCreate(NULL);
        int r = 0;

        *a = (answer){ .field = -1 };
        if (!xp)
                return -ENOMEM;
        XML_SetUserData(xp, a);
        XML_SetElementHandler(xp, on_start, on_end);
        XML_SetCharacterDataHandler(xp, on_text);
        if (XML_Parse(xp, body, (int) len, XML_TRUE) != XML_STATUS_OK || a->too_long)
                r = -EBADMSG;
        XML_ParserFree(xp);
        if (r < 0)
                answer_done(a);
        return r;
}

static const char *field(const answer *a, int i) {
        return a->v[i] && *a->v[i] ? a->v[i] : NULL;
}

/* ---- the request ---- */

static void form_value(char **p, const char *v) {
        static const char hex[] = "0123456789ABCDEF";
        for (const unsigned char *c = (const unsigned char *) v; *c; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                    strchr("-_.~", *c))
                        *(*p)++ = (char) *c;
                else {
                        *(*p)++ = '%';
                        *(*p)++ = hex[*c >> 4];
                        *(*p)++ = hex[*c & 15];
                }
        }
}

char *sts_web_identity_body(const char *role_arn, const char *session_name, const char *token) {
        static const char *const names[] = { "&RoleArn=", "&RoleSessionName=", "&WebIdentityToken=" };
        const char *values[] = { role_arn, session_name, token };
        const char *head = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15";
        size_t n = strlen(head) + 1;

        for (size_t i = 0; i < 3; i++)
                n += strlen(names[i]) + 3 * strlen(values[i]);
        char *body = malloc(n), *p = body;
        if (!body)
                return NULL;
        p = stpcpy(p, head);
        for (size_t i = 0; i < 3; i++) {
                p = stpcpy(p, names[i]);
                form_value(&p, values[i]);
        }
        *p = '\0';
        return body;
}

/* The token, without a trailing line break; -errno, or -EBADMSG (empty, too long). */
static int read_token(const char *path, char **ret) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        char *t = malloc(STS_TOKEN_MAX + 2);
        ssize_t n = t ? fileio_read_full(fd, t, STS_TOKEN_MAX + 1) : -ENOMEM;
        close(fd);
        if (n < 0) {
                free(t);
                return (int) n;
        }
        while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
                n--;
        t[n] = '\0';
        if (n == 0 || (size_t) n > STS_TOKEN_MAX || strlen(t) != (size_t) n) {
                creds_secret_free(t);
                return -EBADMSG;
        }
        *ret = t;
        return 0;
}

static void fetch_clear(sts *s) {
        creds_secret_free(s->form);
        s->form = NULL;
        creds_secret_free(s->body);
        s->body = NULL;
        s->body_len = 0;
}

static void fetch_end(sts *s, int error, const char *message) {
        fetch_clear(s);
        creds_fetch_end(s->k, error, message);
}

static void fetch_fail(sts *s, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fetch_fail(sts *s, int error, const char *fmt, ...) {
        va_list ap;
        char *msg;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        fetch_end(s, error, msg);
        free(msg);
}

static int on_body(http_request *req, const void *data, size_t len, void *userdata) {
        sts *s = userdata;
        if (len > STS_BODY_MAX - s->body_len)
                return -EFBIG;
        char *b = realloc(s->body, s->body_len + len + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b + s->body_len, data, len);
        s->body = b;
        s->body_len += len;
        s->body[s->body_len] = '\0';
        return 0;
}

static void post(sts *s);

static void on_answer(sts *s, long status) {
        answer a;
        int64_t expiration = 0;
        int pr = s->body ? answer_parse(s->body, s->body_len, &a) : -EBADMSG;

        if (pr == -ENOMEM)
                fetch_end(s, pr, NULL);
        else if (status == 200 && pr == 0 && strcmp(a.root, "AssumeRoleWithWebIdentityResponse") == 0 &&
                 field(&a, F_ID) && field(&a, F_SECRET) && field(&a, F_EXPIRATION) &&
                 creds_parse_time(a.v[F_EXPIRATION], &expiration) == 0)
                fetch_end(s, creds_keep(s->k, a.v[F_ID], a.v[F_SECRET], field(&a, F_TOKEN), expiration, NULL), NULL);
        else if (status == 200)
                fetch_fail(s, -EBADMSG, "%s sent an answer without credentials", s->name);
        else if (pr == 0 && field(&a, F_CODE))
                fetch_fail(s, status < 500 ? -EACCES : -EPROTO, "%s refused: %s: %s (HTTP %ld)", s->name,
                           a.v[F_CODE], field(&a, F_MESSAGE) ? a.v[F_MESSAGE] : "", status);
        else
                fetch_fail(s, -EPROTO, "%s answered HTTP %ld", s->name, status);
        if (pr == 0)
                answer_done(&a);
}

static void on_done(http_request *req, const http_result *res, void *userdata) {
        sts *s = userdata;
        bool again = s->attempt < s->attempts && !creds_closing(s->k) &&
                     ((res->error < 0 && res->transient) || (res->error == 0 && res->status >= 500));

        if (creds_closing(s->k))
                fetch_end(s, -ECANCELED, NULL);
        else if (again) {
                s->attempt++;
                post(s);
        } else if (res->error == -EFBIG)
                fetch_fail(s, -EFBIG, "%s sent more than %u bytes", s->name, STS_BODY_MAX);
        else if (res->error < 0)
                fetch_fail(s, res->error, "%s did not answer (%s; %u %s)", s->name,
                           *res->message ? res->message : strerror(-res->error), s->attempt,
                           s->attempt == 1 ? "attempt" : "attempts");
        else
                on_answer(s, res->status);
}

static void post(sts *s) {
        static const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                                               "Accept: application/xml", NULL };
        creds_secret_free(s->body);
        s->body = NULL;
        s->body_len = 0;
        char *url = xasprintf("%s/", s->endpoint);
        http_request_opts o = {
                .method = HTTP_POST,
                .url = url,
                .headers = headers,
                .body = s->form,
                .body_length = strlen(s->form),
                .on_body = on_body,
                .on_done = on_done,
                .userdata = s,
        };
        int r = url ? http_request_start(s->http, &o, NULL) : -ENOMEM;
        free(url);
        if (r < 0)
                fetch_fail(s, r, "%s could not be asked: %s", s->name, strerror(-r));
}

static void sts_fetch(creds *k, void *source) {
        sts *s = source;
        char *token = NULL, session[64];
        int r = read_token(s->token_file, &token);

        if (r < 0) {
                fetch_fail(s, r == -EBADMSG ? -EBADMSG : r, "%s: the web identity token file '%s' %s", s->name,
                           s->token_file, r == -EBADMSG ? "is empty or too long" : strerror(-r));
                return;
        }
        if (!s->session_name)
                snprintf(session, sizeof(session), "fds-session-%" PRId64, creds_now(k));
        s->form = sts_web_identity_body(s->role_arn, s->session_name ? s->session_name : session, token);
        creds_secret_free(token);
        if (!s->form) {
                fetch_end(s, -ENOMEM, NULL);
                return;
        }
        s->attempt = 1;
        post(s);
}

static void sts_free(sts *s) {
        fetch_clear(s);
        free(s->endpoint);
        free(s->role_arn);
        free(s->session_name);
        free(s->token_file);
        free(s->name);
        free(s);
}

static void on_http_closed(void *userdata) {
        sts *s = userdata;
        creds *k = s->k;
        sts_free(s);
        if (k)
                creds_source_closed(k);
}

static void sts_close_source(creds *k, void *source) {
        sts *s = source;
        http_client_close(s->http, on_http_closed, s);
}

static const creds_ops sts_ops = {
        .fetch = sts_fetch,
        .close = sts_close_source,
};

int sts_web_identity_new(uv_loop_t *loop, const sts_config *c, creds **ret) {
        http_client_config hc = {
                .connect_timeout_ms = c && c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 5000,
                .low_speed_limit = 1,
                .low_speed_time = 10,
                .max_total_connections = 2,
        };
        sts *s;
        int r;

        if (!loop || !c || !c->endpoint || !c->role_arn || !c->token_file || !*c->role_arn || !*c->token_file ||
            (strncmp(c->endpoint, "http://", 7) != 0 && strncmp(c->endpoint, "https://", 8) != 0))
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->attempts = c->attempts ? c->attempts : 3;
        s->endpoint = strndup(c->endpoint, strlen(c->endpoint) - (c->endpoint[strlen(c->endpoint) - 1] == '/'));
        s->role_arn = strdup(c->role_arn);
        s->session_name = c->role_session_name && *c->role_session_name ? strdup(c->role_session_name) : NULL;
        s->token_file = strdup(c->token_file);
        s->name = xasprintf("STS AssumeRoleWithWebIdentity at %s (role '%s')", c->endpoint, c->role_arn);
        if (!s->endpoint || !s->role_arn || !s->token_file || !s->name ||
            (c->role_session_name && *c->role_session_name && !s->session_name)) {
                sts_free(s);
                return -ENOMEM;
        }
        r = http_client_new(loop, &hc, &s->http);
        if (r < 0) {
                sts_free(s);
                return r;
        }
        creds_config kc = { .endpoint = s->endpoint, .name = "STS", .now = c->now, .now_userdata = c->now_userdata };
        r = creds_new(loop, &kc, &sts_ops, s, &s->k);
        if (r < 0) {
                s->k = NULL;
                http_client_close(s->http, on_http_closed, s);
                return r;
        }
        *ret = s->k;
        return 0;
}
