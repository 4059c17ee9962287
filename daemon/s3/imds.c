/* SPDX-License-Identifier: MIT */
#include "imds.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "list.h"
#include "xstr.h"

/*
 * A fetch walks three steps, each one HTTP request: TOKEN (the IMDSv2
 * session token, skipped while the kept one is valid), ROLE, then
 * CREDENTIALS; from the container endpoint, CREDENTIALS alone. Keeping
 * the result and answering the waiters is creds.c's.
 */

#define DEFAULT_ENDPOINT "http://169.254.169.254"
#define TOKEN_PATH "/latest/api/token"
#define CREDENTIALS_PATH "/latest/meta-data/iam/security-credentials/"
#define TOKEN_MAX 4096
#define ROLE_MAX 128
#define TOKEN_MARGIN_S 60
#define STR_(x) #x
#define STR(x) STR_(x)

typedef enum fetch_step {
        STEP_TOKEN,
        STEP_ROLE,
        STEP_CREDENTIALS,
} fetch_step;

typedef struct imds imds;

struct imds {
        creds *k;
        http_client *http;
        const char *name; /* for messages: "the instance metadata service" */
        char *endpoint;   /* IMDS: scheme://host[:port]; container: the whole URL */
        bool container;
        char *authorization, *authorization_file;
        unsigned attempts;

        /* the kept IMDSv2 session token */
        char *api_token;
        int64_t api_token_until;

        /* the fetch */
        fetch_step step;
        unsigned attempt;   /* of this step, from 1 */
        bool token_renewed; /* a 401 already made this fetch get a new token */
        char *body;
        size_t body_len;
        char *fetch_role;
};

/* ---- the fetch ---- */

static void fetch_step_start(imds *m);

static void fetch_clear(imds *m) {
        free(m->body);
        m->body = NULL;
        m->body_len = 0;
        free(m->fetch_role);
        m->fetch_role = NULL;
}

static void fetch_end(imds *m, int error, const char *message) {
        fetch_clear(m);
        creds_fetch_end(m->k, error, message);
}

static void fetch_fail(imds *m, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fetch_fail(imds *m, int error, const char *fmt, ...) {
        va_list ap;
        char *msg;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        fetch_end(m, error, msg);
        free(msg);
}

static int on_body(http_request *req, const void *data, size_t len, void *userdata) {
        imds *m = userdata;
        return creds_body_add(&m->body, &m->body_len, IMDS_BODY_MAX, data, len);
}

static const char *step_path(const imds *m) {
        return m->step == STEP_TOKEN ? TOKEN_PATH : CREDENTIALS_PATH;
}

/* The body without blank space at either end, in place; NULL if it holds a NUL. */
static char *body_trimmed(imds *m) {
        char *s = m->body, *e;

        if (!s || strlen(s) != m->body_len)
                return NULL;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
                *--e = '\0';
        return s;
}

static bool token_ok(const char *t) {
        size_t n = strlen(t);

        for (size_t i = 0; i < n; i++)
                if (t[i] <= ' ' || t[i] >= 0x7f)
                        return false;
        return n > 0 && n <= TOKEN_MAX;
}

/* IAM role names: letters, digits and +=,.@_- */
static bool role_ok(const char *r, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char c = r[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr("+=,.@_-", c)))
                        return false;
        }
        return n > 0 && n <= ROLE_MAX;
}

/* The step handlers take a 200's body: 0, or a negative errno with what was wrong in *ret_why (NULL for
 * -ENOMEM). */

static int got_token(imds *m, const char **ret_why) {
        char *t = body_trimmed(m);

        if (!t || !token_ok(t))
                return (*ret_why = "sent a session token that is not valid", -EBADMSG);
        creds_secret_free(m->api_token);
        m->api_token = strdup(t);
        if (!m->api_token)
                return -ENOMEM;
        m->api_token_until = creds_now(m->k) + IMDS_TOKEN_TTL_S - TOKEN_MARGIN_S;
        m->step = STEP_ROLE;
        return 0;
}

static int got_role(imds *m, const char **ret_why) {
        char *t = body_trimmed(m);
        size_t n = t ? strcspn(t, "\r\n") : 0;

        if (!t || n == 0)
                return (*ret_why = "lists no IAM role for this instance", -ENOENT);
        if (!role_ok(t, n))
                return (*ret_why = "sent a role name that is not valid", -EBADMSG);
        m->fetch_role = strndup(t, n);
        if (!m->fetch_role)
                return -ENOMEM;
        m->step = STEP_CREDENTIALS;
        return 0;
}

static int got_credentials(imds *m, const char **ret_why) {
        json_t *j;
        int r;

        /* No detail from jansson: its error text quotes the input, which may hold a secret. */
        j = m->body ? json_loadb(m->body, m->body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!j)
                return (*ret_why = "sent credentials that are not JSON", -EBADMSG);
        const char *code = json_string_value(json_object_get(j, "Code"));
        if (code && strcmp(code, "Success") != 0)
                r = (*ret_why = "sent credentials with a Code other than Success", -EBADMSG);
        else
                r = creds_keep_json(m->k, j, "Token", true, m->fetch_role, ret_why);
        json_decref(j);
        return r;
}

static void on_ok(imds *m) {
        fetch_step step = m->step;
        const char *why = NULL;
        int r;

        m->attempt = 1;
        r = step == STEP_TOKEN  ? got_token(m, &why)
            : step == STEP_ROLE ? got_role(m, &why)
                                : got_credentials(m, &why);
        if (r < 0 && why)
                fetch_fail(m, r, "%s at %s %s%s%s%s", m->name, m->endpoint, why,
                           m->fetch_role ? " (role '" : "", m->fetch_role ? m->fetch_role : "",
                           m->fetch_role ? "')" : "");
        else if (r < 0 || step == STEP_CREDENTIALS)
                fetch_end(m, r, NULL);
        else
                fetch_step_start(m);
}

static bool step_retry(imds *m) {
        if (m->attempt >= m->attempts)
                return false;
        m->attempt++;
        fetch_step_start(m);
        return true;
}

static void on_status(imds *m, long status) {
        if (status == 200)
                on_ok(m);
        else if (status == 401 && !m->container && m->step != STEP_TOKEN && !m->token_renewed) {
                /* The session token expired or was revoked: one new one per fetch. */
                m->token_renewed = true;
                m->api_token_until = 0;
                m->step = STEP_TOKEN;
                m->attempt = 1;
                fetch_step_start(m);
        } else if (status >= 500 && step_retry(m))
                ; /* asked again */
        else if (status == 404 && m->step == STEP_ROLE)
                fetch_fail(m, -ENOENT,
                           "the instance metadata service at %s has no IAM role for this instance",
                           m->endpoint);
        else if (status == 404 && m->step == STEP_CREDENTIALS && !m->container)
                fetch_fail(m, -ENOENT,
                           "the instance metadata service at %s has no credentials for role '%s'",
                           m->endpoint, m->fetch_role);
        else if (m->container)
                fetch_fail(m, status == 401 || status == 403 ? -EACCES : -EPROTO, "%s at %s answered HTTP %ld%s",
                           m->name, m->endpoint, status,
                           status == 401 || status == 403 ? " (check the authorization token)" : "");
        else
                fetch_fail(m, -EPROTO, "the instance metadata service at %s answered HTTP %ld to %s %s%s",
                           m->endpoint, status, m->step == STEP_TOKEN ? "PUT" : "GET", step_path(m),
                           m->step == STEP_CREDENTIALS ? m->fetch_role : "");
}

static void on_done(http_request *req, const http_result *res, void *userdata) {
        imds *m = userdata;

        (void) req;
        if (creds_closing(m->k))
                fetch_end(m, -ECANCELED, NULL);
        else if (res->error < 0 && res->transient && step_retry(m))
                ; /* asked again */
        else if (res->error == -EFBIG)
                fetch_fail(m, -EFBIG, "%s at %s sent more than %u bytes", m->name, m->endpoint,
                           IMDS_BODY_MAX);
        else if (res->error < 0)
                fetch_fail(m, res->error, "%s did not answer at %s (%s; %u %s)", m->name, m->endpoint,
                           *res->message ? res->message : strerror(-res->error), m->attempt,
                           m->attempt == 1 ? "attempt" : "attempts");
        else
                on_status(m, res->status);
}

/* The container endpoint's "Authorization: TOKEN" header, *ret NULL without
 * a token. The token file is read at every fetch, as it may be rotated (EKS
 * Pod Identity); one trailing line break is allowed. */
static int container_header(imds *m, char **ret) {
        char buf[TOKEN_MAX + 2];
        const char *t = m->authorization;
        int r = 0;

        *ret = NULL;
        if (m->authorization_file) {
                int fd = open(m->authorization_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                ssize_t n = fileio_read_full(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n < 0)
                        r = (int) n;
                else if ((size_t) n > TOKEN_MAX)
                        r = -EFBIG;
                else {
                        buf[n] = '\0';
                        if (n > 0 && buf[n - 1] == '\n')
                                buf[--n] = '\0';
                        if (n > 0 && buf[n - 1] == '\r')
                                buf[--n] = '\0';
                        if (strlen(buf) != (size_t) n)
                                r = -EBADMSG;
                        t = buf;
                }
        }
        for (const char *c = t; r == 0 && c && *c; c++)
                if ((unsigned char) *c < ' ' || *c == 0x7f)
                        r = -EBADMSG;
        if (r == 0 && t && *t)
                r = (*ret = xasprintf("Authorization: %s", t)) ? 0 : -ENOMEM;
        explicit_bzero(buf, sizeof(buf));
        return r;
}

static void fetch_step_start(imds *m) {
        char *url, *header = NULL;
        const char *headers[2] = { NULL, NULL };
        http_request_opts o = {
                .method = m->step == STEP_TOKEN ? HTTP_PUT : HTTP_GET,
                .headers = headers,
                .on_body = on_body,
                .on_done = on_done,
                .userdata = m,
        };
        int r;

        free(m->body);
        m->body = NULL;
        m->body_len = 0;
        if (m->container) {
                r = container_header(m, &header);
                if (r < 0 && m->authorization_file) {
                        fetch_fail(m, r, "%s at %s: the authorization token file '%s' %s", m->name,
                                   m->endpoint, m->authorization_file,
                                   r == -EBADMSG ? "holds a line break or a control character"
                                                 : strerror(-r));
                        return;
                }
                if (r < 0) {
                        fetch_fail(m, r, "%s at %s: AWS_CONTAINER_AUTHORIZATION_TOKEN %s", m->name, m->endpoint,
                                   r == -EBADMSG ? "holds a line break or a control character" : strerror(-r));
                        return;
                }
                url = strdup(m->endpoint);
                headers[0] = header;
        } else {
                url = xasprintf("%s%s%s", m->endpoint, step_path(m),
                                m->step == STEP_CREDENTIALS ? m->fetch_role : "");
                if (m->step == STEP_TOKEN)
                        headers[0] = "X-aws-ec2-metadata-token-ttl-seconds: " STR(IMDS_TOKEN_TTL_S);
                else
                        headers[0] = header = xasprintf("X-aws-ec2-metadata-token: %s", m->api_token);
        }
        o.url = url;
        r = url && (headers[0] || m->container) ? http_request_start(m->http, &o, NULL) : -ENOMEM;
        free(url);
        creds_secret_free(header);
        if (r < 0)
                fetch_fail(m, r, "%s at %s could not be asked: %s", m->name, m->endpoint, strerror(-r));
}

static void imds_fetch(creds *k, void *source) {
        imds *m = source;

        m->token_renewed = false;
        m->attempt = 1;
        if (m->container)
                m->step = STEP_CREDENTIALS;
        else
                m->step = m->api_token && creds_now(k) < m->api_token_until ? STEP_ROLE : STEP_TOKEN;
        fetch_step_start(m);
}

static void imds_free(imds *m) {
        fetch_clear(m);
        free(m->endpoint);
        creds_secret_free(m->authorization);
        free(m->authorization_file);
        creds_secret_free(m->api_token);
        free(m);
}

static void on_http_closed(void *userdata) {
        imds *m = userdata;
        creds *k = m->k;

        imds_free(m);
        creds_source_closed(k);
}

static void on_http_closed_alone(void *userdata) {
        imds_free(userdata);
}

/* Cancels the request in flight; on_done sees closing and on_http_closed runs after it. */
static void imds_close_source(creds *k, void *source) {
        imds *m = source;

        (void) k;
        http_client_close(m->http, on_http_closed, m);
}

static const creds_ops imds_ops = {
        .fetch = imds_fetch,
        .close = imds_close_source,
};

static bool endpoint_ok(const char *e) {
        return (strncmp(e, "http://", 7) == 0 && e[7]) || (strncmp(e, "https://", 8) == 0 && e[8]);
}

static char *dup_or_null(const char *s, bool *failed) {
        char *d = s && *s ? strdup(s) : NULL;
        if (s && *s && !d)
                *failed = true;
        return d;
}

int imds_new(uv_loop_t *loop, const imds_config *config, creds **ret) {
        static const imds_config defaults = { 0 };
        const imds_config *c = config ? config : &defaults;
        bool container = c->credentials_url && *c->credentials_url;
        const char *e = container ? c->credentials_url : c->endpoint && *c->endpoint ? c->endpoint : DEFAULT_ENDPOINT;
        http_client_config hc = {
                .connect_timeout_ms = c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 1000,
                .low_speed_limit = 1,
                .low_speed_time = c->stall_timeout_s > 0 ? c->stall_timeout_s : 2,
                .max_total_connections = 2,
        };
        bool failed = false;
        imds *m;
        int r;

        if (!loop || !endpoint_ok(e))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->attempts = c->attempts > 0 ? c->attempts : 2;
        m->container = container;
        m->name = container ? "the container credentials endpoint" : "the instance metadata service";
        m->endpoint = container ? strdup(e) : strndup(e, strlen(e) - (e[strlen(e) - 1] == '/'));
        m->authorization = dup_or_null(c->authorization, &failed);
        m->authorization_file = dup_or_null(c->authorization_file, &failed);
        if (!m->endpoint || failed) {
                imds_free(m);
                return -ENOMEM;
        }
        r = http_client_new(loop, &hc, &m->http);
        if (r < 0) {
                imds_free(m);
                return r;
        }
        creds_config kc = { .endpoint = m->endpoint, .name = m->name, .now = c->now, .now_userdata = c->now_userdata };
        r = creds_new(loop, &kc, &imds_ops, m, &m->k);
        if (r < 0) {
                /* No request was made; the client closes on the loop. */
                http_client_close(m->http, on_http_closed_alone, m);
                return r;
        }
        *ret = m->k;
        return 0;
}
