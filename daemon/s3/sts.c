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
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "http.h"
#include "sigv4.h"
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
        bool assume; /* AssumeRole, signed; else AssumeRoleWithWebIdentity */
        char *endpoint, *role_arn, *session_name, *token_file;
        char *key_id, *secret, *token, *region, *external_id; /* AssumeRole */
        creds *source;             /* AssumeRole: the keys come from it */
        creds_wait *source_wait;
        bool close_after_source;   /* closed while waiting for the source */
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

/* head, then each name and its value (NULL: left out), form-encoded. */
static char *form(const char *head, const char *const *names, const char *const *values, size_t n) {
        size_t len = strlen(head) + 1;

        for (size_t i = 0; i < n; i++)
                if (values[i])
                        len += strlen(names[i]) + 3 * strlen(values[i]);
        char *body = malloc(len), *p = body;
        if (!body)
                return NULL;
        p = stpcpy(p, head);
        for (size_t i = 0; i < n; i++)
                if (values[i]) {
                        p = stpcpy(p, names[i]);
                        form_value(&p, values[i]);
                }
        *p = '\0';
        return body;
}

char *sts_web_identity_body(const char *role_arn, const char *session_name, const char *token) {
        static const char *const names[] = { "&RoleArn=", "&RoleSessionName=", "&WebIdentityToken=" };
        const char *const values[] = { role_arn, session_name, token };
        return form("Action=AssumeRoleWithWebIdentity&Version=2011-06-15", names, values, 3);
}

char *sts_assume_role_body(const char *role_arn, const char *session_name, const char *external_id) {
        static const char *const names[] = { "&RoleArn=", "&RoleSessionName=", "&ExternalId=" };
        const char *const values[] = { role_arn, session_name, external_id };
        return form("Action=AssumeRole&Version=2011-06-15", names, values, 3);
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
        return creds_body_add(&s->body, &s->body_len, STS_BODY_MAX, data, len);
}

static void post(sts *s);

static void on_answer(sts *s, long status) {
        answer a;
        int64_t expiration = 0;
        int pr = s->body ? answer_parse(s->body, s->body_len, &a) : -EBADMSG;

        if (pr == -ENOMEM)
                fetch_end(s, pr, NULL);
        else if (status == 200 && pr == 0 &&
                 strcmp(a.root, s->assume ? "AssumeRoleResponse" : "AssumeRoleWithWebIdentityResponse") == 0 &&
                 field(&a, F_ID) && field(&a, F_SECRET) && field(&a, F_EXPIRATION) &&
                 creds_parse_time(a.v[F_EXPIRATION], &expiration) == 0)
                fetch_end(s, creds_keep(s->k, a.v[F_ID], a.v[F_SECRET], field(&a, F_TOKEN), expiration, NULL), NULL);
        else if (status == 200)
                fetch_fail(s, -EBADMSG, "%s sent an answer without credentials", s->name);
        else if (pr == 0 && field(&a, F_CODE))
                fetch_fail(s, status < 500 ? -EACCES : -EPROTO, "%s refused: %s%s%s (HTTP %ld)", s->name,
                           a.v[F_CODE], field(&a, F_MESSAGE) ? ": " : "", field(&a, F_MESSAGE) ? a.v[F_MESSAGE] : "",
                           status);
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

#define CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

/* AssumeRole's signature of s->form. 0 or a negative errno. */
static int sign(sts *s, sigv4_signed **ret) {
        char hash[SIGV4_SHA256_HEX_SIZE];
        const char *host = strstr(s->endpoint, "://") + 3;
        sigv4_pair h = { "Content-Type", CONTENT_TYPE };
        int r = sigv4_sha256_hex(s->form, strlen(s->form), hash);
        if (r < 0)
                return r;
        sigv4_request req = {
                .method = "POST",
                .host = host,
                .path = "/",
                .headers = &h,
                .n_headers = 1,
                .payload_hash = hash,
                .region = s->region,
                .service = "sts",
                .time = (time_t) creds_now(s->k),
                .omit_content_sha256 = true,
        };
        sigv4_credentials c = { s->key_id, s->secret, s->token };
        return sigv4_sign(&req, &c, ret);
}

static void post(sts *s) {
        const char *headers[3 + SIGV4_OUT_HEADERS_MAX] = { "Content-Type: " CONTENT_TYPE, "Accept: application/xml" };
        sigv4_signed *sig = NULL;
        int r = 0;

        creds_secret_free(s->body);
        s->body = NULL;
        s->body_len = 0;
        if (s->assume) {
                r = sign(s, &sig);
                if (r < 0) {
                        fetch_fail(s, r, "%s could not be signed: %s", s->name, strerror(-r));
                        return;
                }
                for (size_t i = 0; i < sig->n_header_lines; i++)
                        headers[2 + i] = sig->header_lines[i];
        }
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
        r = url ? http_request_start(s->http, &o, NULL) : -ENOMEM;
        free(url);
        sigv4_signed_free(sig);
        if (r < 0)
                fetch_fail(s, r, "%s could not be asked: %s", s->name, strerror(-r));
}

static void on_http_closed(void *userdata);
static void assume_post(sts *s);

/* The source's keys for this fetch's signature. */
static void on_source(int error, const creds_value *v, const char *message, void *userdata) {
        sts *s = userdata;
        s->source_wait = NULL;
        if (s->close_after_source) {
                http_client_close(s->http, on_http_closed, s);
                return;
        }
        if (error < 0) {
                fetch_fail(s, error, "%s: the credentials to sign it with: %s", s->name, message);
                return;
        }
        free(s->key_id);
        creds_secret_free(s->secret);
        creds_secret_free(s->token);
        s->key_id = strdup(v->access_key_id);
        s->secret = strdup(v->secret_access_key);
        s->token = v->session_token && *v->session_token ? strdup(v->session_token) : NULL;
        if (!s->key_id || !s->secret || (v->session_token && *v->session_token && !s->token)) {
                fetch_end(s, -ENOMEM, NULL);
                return;
        }
        assume_post(s);
}

static void assume_post(sts *s) {
        char session[64];
        if (!s->session_name)
                snprintf(session, sizeof(session), "fds-session-%" PRId64, creds_now(s->k));
        s->form = sts_assume_role_body(s->role_arn, s->session_name ? s->session_name : session, s->external_id);
        if (!s->form) {
                fetch_end(s, -ENOMEM, NULL);
                return;
        }
        s->attempt = 1;
        post(s);
}

static void sts_fetch(creds *k, void *source) {
        sts *s = source;
        char *token = NULL, session[64];
        int r;

        if (s->assume && s->source) {
                r = creds_get(s->source, on_source, s, &s->source_wait);
                if (r < 0)
                        fetch_fail(s, r, "%s: the credentials to sign it with: %s", s->name, strerror(-r));
                return;
        }
        if (s->assume) {
                assume_post(s);
                return;
        }
        if (!s->session_name)
                snprintf(session, sizeof(session), "fds-session-%" PRId64, creds_now(k));
        r = read_token(s->token_file, &token);
        if (r < 0) {
                fetch_fail(s, r == -EBADMSG ? -EBADMSG : r, "%s: the web identity token file '%s' %s", s->name,
                           s->token_file, r == -EBADMSG ? "is empty or too long" : strerror(-r));
                return;
        }
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
        free(s->key_id);
        creds_secret_free(s->secret);
        creds_secret_free(s->token);
        free(s->region);
        free(s->external_id);
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
        /* A wait on the source is answered from the loop: close after it. */
        if (s->source_wait) {
                s->close_after_source = true;
                creds_wait_cancel(s->source_wait);
                return;
        }
        http_client_close(s->http, on_http_closed, s);
}

static const creds_ops sts_ops = {
        .fetch = sts_fetch,
        .close = sts_close_source,
};

static char *dup_opt(const char *v, bool *failed) {
        char *d = v && *v ? strdup(v) : NULL;
        if (v && *v && !d)
                *failed = true;
        return d;
}

static int sts_new(uv_loop_t *loop, const sts_config *c, bool assume, creds **ret) {
        http_client_config hc = {
                .connect_timeout_ms = c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 5000,
                .low_speed_limit = 1,
                .low_speed_time = 10,
                .max_total_connections = 2,
                .ca_bundle = c->ca_bundle,
        };
        bool failed = false;
        sts *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->assume = assume;
        s->attempts = c->attempts ? c->attempts : 3;
        s->endpoint = strndup(c->endpoint, strlen(c->endpoint) - (c->endpoint[strlen(c->endpoint) - 1] == '/'));
        s->role_arn = dup_opt(c->role_arn, &failed);
        s->session_name = dup_opt(c->role_session_name, &failed);
        s->token_file = dup_opt(c->token_file, &failed);
        s->key_id = dup_opt(c->access_key_id, &failed);
        s->secret = dup_opt(c->secret_access_key, &failed);
        s->token = dup_opt(c->session_token, &failed);
        s->region = dup_opt(c->region, &failed);
        s->external_id = dup_opt(c->external_id, &failed);
        s->source = c->source;
        s->name = xasprintf("STS %s at %s (role '%s')", assume ? "AssumeRole" : "AssumeRoleWithWebIdentity",
                            c->endpoint, c->role_arn);
        if (!s->endpoint || !s->name || failed) {
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

static bool endpoint_ok(const char *e) {
        return e && ((strncmp(e, "http://", 7) == 0 && e[7]) || (strncmp(e, "https://", 8) == 0 && e[8]));
}

int sts_web_identity_new(uv_loop_t *loop, const sts_config *c, creds **ret) {
        if (!loop || !c || !endpoint_ok(c->endpoint) || !c->role_arn || !*c->role_arn || !c->token_file ||
            !*c->token_file)
                return -EINVAL;
        return sts_new(loop, c, false, ret);
}

int sts_assume_role_new(uv_loop_t *loop, const sts_config *c, creds **ret) {
        bool keys = c && c->access_key_id && *c->access_key_id && c->secret_access_key && *c->secret_access_key;
        if (!loop || !c || !endpoint_ok(c->endpoint) || !c->role_arn || !*c->role_arn || keys == !!c->source ||
            !c->region || !*c->region)
                return -EINVAL;
        return sts_new(loop, c, true, ret);
}
