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
 * One fetch at a time walks three steps, each one HTTP request: TOKEN (the
 * IMDSv2 session token, skipped while the kept one is valid), ROLE, then
 * CREDENTIALS. Waiters sit on m->waiting until the fetch ends; then, like
 * cache hits and cancellations, they move to m->ready with their outcome
 * decided, and the idle handle calls them back on the next loop iteration.
 */

#define DEFAULT_ENDPOINT "http://169.254.169.254"
#define TOKEN_PATH "/latest/api/token"
#define CREDENTIALS_PATH "/latest/meta-data/iam/security-credentials/"
#define TOKEN_MAX 4096
#define ROLE_MAX 128
#define TOKEN_MARGIN_S 60
#define MIN_FRESH_S 60
#define STR_(x) #x
#define STR(x) STR_(x)

typedef enum fetch_step {
        STEP_TOKEN,
        STEP_ROLE,
        STEP_CREDENTIALS,
} fetch_step;

struct imds_wait {
        list_node node; /* m->waiting, m->ready, or on_idle's batch */
        imds *imds;
        imds_credentials_fn cb;
        void *userdata;
        bool ready; /* the outcome below is decided */
        int error;
        char *message;
};

struct imds {
        uv_loop_t *loop;
        http_client *http;
        uv_idle_t idle;
        const char *name; /* for messages: "the instance metadata service" */
        char *endpoint;   /* IMDS: scheme://host[:port]; container: the whole URL */
        bool container;
        char *authorization, *authorization_file;
        unsigned attempts;
        int64_t (*now)(void *userdata);
        void *now_userdata;

        /* the kept credentials */
        bool have;
        char *access_key_id, *secret_access_key, *session_token, *role;
        int64_t expiration, fresh_until;

        /* the kept IMDSv2 session token */
        char *api_token;
        int64_t api_token_until;

        /* the fetch */
        bool fetching;
        fetch_step step;
        unsigned attempt;   /* of this step, from 1 */
        bool token_renewed; /* a 401 already made this fetch get a new token */
        char *body;
        size_t body_len;
        char *fetch_role;
        unsigned fetches;

        list_node waiting;
        list_node ready;
        bool dispatching;
        bool closing, http_closed, idle_closing;
        imds_close_fn close_cb;
        void *close_userdata;
};

static int64_t imds_now(const imds *m) {
        return m->now ? m->now(m->now_userdata) : (int64_t) time(NULL);
}

static void secret_free(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

/* ---- waiters ---- */

static void on_idle(uv_idle_t *handle);

static void idle_kick(imds *m) {
        if (!m->idle_closing)
                (void) uv_idle_start(&m->idle, on_idle); /* starting a started handle does nothing */
}

/* Decide w's outcome and queue its callback. message may be NULL (only for success or -ENOMEM). */
static void wait_decide(imds_wait *w, int error, const char *message) {
        imds *m = w->imds;

        w->ready = true;
        w->error = error;
        w->message = message ? strdup(message) : NULL;
        list_del(&w->node);
        list_add_tail(&m->ready, &w->node);
        idle_kick(m);
}

static void decide_all(imds *m, int error, const char *message) {
        while (!list_empty(&m->waiting))
                wait_decide(list_entry(m->waiting.next, imds_wait, node), error, message);
}

static void wait_call(imds *m, imds_wait *w) {
        imds_credentials c = {
                .access_key_id = m->access_key_id,
                .secret_access_key = m->secret_access_key,
                .session_token = m->session_token,
                .expiration = m->expiration,
                .role = m->role,
                .endpoint = m->endpoint,
        };

        if (w->error < 0)
                w->cb(w->error, NULL, w->message ? w->message : "credentials: out of memory", w->userdata);
        else
                w->cb(0, &c, NULL, w->userdata);
        free(w->message);
        free(w);
}

static void maybe_finish_close(imds *m);

static void on_idle(uv_idle_t *handle) {
        imds *m = handle->data;
        list_node batch;

        /* Only those ready now: a callback asking again is answered next time. */
        list_init(&batch);
        if (!list_empty(&m->ready)) {
                batch = m->ready;
                batch.next->prev = &batch;
                batch.prev->next = &batch;
                list_init(&m->ready);
        }
        m->dispatching = true;
        while (!list_empty(&batch)) {
                imds_wait *w = list_entry(batch.next, imds_wait, node);
                list_del(&w->node);
                wait_call(m, w);
        }
        m->dispatching = false;
        if (list_empty(&m->ready) && !m->idle_closing)
                (void) uv_idle_stop(&m->idle);
        maybe_finish_close(m);
}

/* ---- the fetch ---- */

static void fetch_step_start(imds *m);

static void fetch_end(imds *m, int error, const char *message) {
        m->fetching = false;
        free(m->body);
        m->body = NULL;
        m->body_len = 0;
        free(m->fetch_role);
        m->fetch_role = NULL;
        if (m->closing)
                return; /* the waiters were answered by imds_close() */
        /* Kept credentials that have not expired beat an outage. */
        if (error < 0 && m->have && imds_now(m) < m->expiration)
                error = 0;
        decide_all(m, error, error < 0 ? message : NULL);
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
        char *b;

        (void) req;
        if (len > IMDS_BODY_MAX - m->body_len)
                return -EFBIG;
        b = realloc(m->body, m->body_len + len + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b + m->body_len, data, len);
        m->body = b;
        m->body_len += len;
        m->body[m->body_len] = '\0';
        return 0;
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
        secret_free(m->api_token);
        m->api_token = strdup(t);
        if (!m->api_token)
                return -ENOMEM;
        m->api_token_until = imds_now(m) + IMDS_TOKEN_TTL_S - TOKEN_MARGIN_S;
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

static int digits(const char **s, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++, (*s)++) {
                if (**s < '0' || **s > '9')
                        return -EINVAL;
                v = v * 10 + (**s - '0');
        }
        *ret = v;
        return 0;
}

/* One of the characters of set. */
static int expect(const char **s, const char *set) {
        if (**s == '\0' || !strchr(set, **s))
                return -EINVAL;
        (*s)++;
        return 0;
}

/* "Z", "+hh:mm", "-hhmm": seconds east of UTC. */
static int parse_offset(const char **s, int *ret_seconds) {
        int sign, oh, om;

        if (expect(s, "Zz") == 0) {
                *ret_seconds = 0;
                return 0;
        }
        sign = **s == '-' ? -1 : 1;
        if (expect(s, "+-") < 0 || digits(s, 2, &oh) < 0)
                return -EINVAL;
        (void) expect(s, ":");
        if (digits(s, 2, &om) < 0 || oh > 23 || om > 59)
                return -EINVAL;
        *ret_seconds = sign * (oh * 3600 + om * 60);
        return 0;
}

/* ISO 8601 as IMDS writes it, "2024-05-01T12:34:56Z", also with fractional
 * seconds and an offset. */
static int parse_time(const char *s, int64_t *ret) {
        struct tm tm;
        int y, mo, d, h, mi, sec, off;
        time_t t;

        if (digits(&s, 4, &y) < 0 || expect(&s, "-") < 0 || digits(&s, 2, &mo) < 0 || expect(&s, "-") < 0 ||
            digits(&s, 2, &d) < 0 || expect(&s, "Tt ") < 0 || digits(&s, 2, &h) < 0 || expect(&s, ":") < 0 ||
            digits(&s, 2, &mi) < 0 || expect(&s, ":") < 0 || digits(&s, 2, &sec) < 0)
                return -EINVAL;
        if (expect(&s, ".") == 0)
                while (*s >= '0' && *s <= '9')
                        s++;
        if (parse_offset(&s, &off) < 0 || *s != '\0')
                return -EINVAL;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
                return -EINVAL;
        tm = (struct tm){ .tm_year = y - 1900,
                          .tm_mon = mo - 1,
                          .tm_mday = d,
                          .tm_hour = h,
                          .tm_min = mi,
                          .tm_sec = sec };
        t = timegm(&tm);
        if (t == (time_t) -1)
                return -EINVAL;
        *ret = (int64_t) t - off;
        return 0;
}

static const char *json_str(json_t *o, const char *key) {
        const char *v = json_string_value(json_object_get(o, key));
        return v && *v ? v : NULL;
}

/* Keep the credentials of the answer; 0, -EBADMSG, -ENOMEM. */
static int keep_credentials(imds *m, json_t *j, const char **ret_why) {
        const char *code = json_string_value(json_object_get(j, "Code"));
        const char *id = json_str(j, "AccessKeyId"), *secret = json_str(j, "SecretAccessKey");
        const char *token = json_str(j, "Token"), *exp = json_str(j, "Expiration");
        char *c[4];
        int64_t expiration, now = imds_now(m);

        if (!json_is_object(j))
                return (*ret_why = "sent credentials that are not a JSON object", -EBADMSG);
        if (code && strcmp(code, "Success") != 0)
                return (*ret_why = "sent credentials with a Code other than Success", -EBADMSG);
        if (!id || !secret)
                return (*ret_why = "sent credentials without AccessKeyId or SecretAccessKey", -EBADMSG);
        if (!exp || parse_time(exp, &expiration) < 0)
                return (*ret_why = "sent credentials without an ISO 8601 Expiration", -EBADMSG);
        c[0] = strdup(id);
        c[1] = strdup(secret);
        c[2] = token ? strdup(token) : NULL;
        c[3] = m->fetch_role ? strdup(m->fetch_role) : NULL;
        if (!c[0] || !c[1] || (token && !c[2]) || (m->fetch_role && !c[3])) {
                free(c[0]);
                secret_free(c[1]);
                secret_free(c[2]);
                free(c[3]);
                return -ENOMEM;
        }
        free(m->access_key_id);
        secret_free(m->secret_access_key);
        secret_free(m->session_token);
        free(m->role);
        m->access_key_id = c[0];
        m->secret_access_key = c[1];
        m->session_token = c[2];
        m->role = c[3];
        m->expiration = expiration;
        m->fresh_until = expiration - IMDS_REFRESH_BEFORE_S;
        if (m->fresh_until < now + MIN_FRESH_S)
                m->fresh_until = now + MIN_FRESH_S;
        m->have = true;
        return 0;
}

static int got_credentials(imds *m, const char **ret_why) {
        json_t *j;
        int r;

        /* No detail from jansson: its error text quotes the input, which may hold a secret. */
        j = m->body ? json_loadb(m->body, m->body_len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!j)
                return (*ret_why = "sent credentials that are not JSON", -EBADMSG);
        r = keep_credentials(m, j, ret_why);
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
        if (m->closing)
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
        *ret = NULL;
        if (m->authorization_file) {
                int fd = open(m->authorization_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                ssize_t n = fileio_read_full(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n < 0)
                        return (int) n;
                if ((size_t) n > TOKEN_MAX)
                        return -EFBIG;
                buf[n] = '\0';
                if (n > 0 && buf[n - 1] == '\n')
                        buf[--n] = '\0';
                if (n > 0 && buf[n - 1] == '\r')
                        buf[--n] = '\0';
                if (strlen(buf) != (size_t) n)
                        return -EBADMSG;
                t = buf;
        }
        if (!t || !*t)
                return 0;
        for (const char *c = t; *c; c++)
                if ((unsigned char) *c < ' ' || *c == 0x7f)
                        return -EBADMSG;
        *ret = xasprintf("Authorization: %s", t);
        explicit_bzero(buf, sizeof(buf));
        return *ret ? 0 : -ENOMEM;
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
                if (r < 0) {
                        fetch_fail(m, r, "%s at %s: the authorization token file '%s' %s", m->name,
                                   m->endpoint, m->authorization_file,
                                   r == -EBADMSG ? "holds a line break or a control character"
                                                 : strerror(-r));
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
        secret_free(header);
        if (r < 0)
                fetch_fail(m, r, "%s at %s could not be asked: %s", m->name, m->endpoint, strerror(-r));
}

static void fetch_start(imds *m) {
        m->fetching = true;
        m->fetches++;
        m->token_renewed = false;
        m->attempt = 1;
        if (m->container)
                m->step = STEP_CREDENTIALS;
        else
                m->step = m->api_token && imds_now(m) < m->api_token_until ? STEP_ROLE : STEP_TOKEN;
        fetch_step_start(m);
}

/* ---- the object ---- */

int imds_get_credentials(imds *m, imds_credentials_fn cb, void *userdata, imds_wait **ret_wait) {
        imds_wait *w;

        if (!m || !cb)
                return -EINVAL;
        if (m->closing)
                return -ESHUTDOWN;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->imds = m;
        w->cb = cb;
        w->userdata = userdata;
        list_init(&w->node);
        list_add_tail(&m->waiting, &w->node);
        if (ret_wait)
                *ret_wait = w;
        if (m->have && imds_now(m) < m->fresh_until)
                wait_decide(w, 0, NULL);
        else if (!m->fetching)
                fetch_start(m); /* a failure to start decides every waiter, from the loop still */
        return 0;
}

int imds_wait_cancel(imds_wait *w) {
        if (!w)
                return 0;
        if (w->ready)
                return -EALREADY;
        wait_decide(w, -ECANCELED, "the credentials request was cancelled");
        return 0;
}

static void on_idle_closed(uv_handle_t *handle) {
        imds *m = handle->data;
        imds_close_fn cb = m->close_cb;
        void *userdata = m->close_userdata;

        free(m->endpoint);
        secret_free(m->authorization);
        free(m->authorization_file);
        free(m->access_key_id);
        secret_free(m->secret_access_key);
        secret_free(m->session_token);
        free(m->role);
        secret_free(m->api_token);
        free(m);
        if (cb)
                cb(userdata);
}

static void maybe_finish_close(imds *m) {
        if (!m->closing || !m->http_closed || m->dispatching || !list_empty(&m->ready) || m->idle_closing)
                return;
        m->idle_closing = true;
        uv_close((uv_handle_t *) &m->idle, on_idle_closed);
}

static void on_http_closed(void *userdata) {
        imds *m = userdata;

        m->http = NULL;
        m->http_closed = true;
        maybe_finish_close(m);
}

void imds_close(imds *m, imds_close_fn cb, void *userdata) {
        if (!m || m->closing)
                return;
        m->closing = true;
        m->close_cb = cb;
        m->close_userdata = userdata;
        decide_all(m, -ECANCELED, "the credentials request was cancelled: shutting down");
        /* Cancels the request in flight; on_done sees closing and on_http_closed runs after it. */
        http_client_close(m->http, on_http_closed, m);
}

static bool endpoint_ok(const char *e) {
        return (strncmp(e, "http://", 7) == 0 && e[7]) || (strncmp(e, "https://", 8) == 0 && e[8]);
}

int imds_new(uv_loop_t *loop, const imds_config *config, imds **ret_imds) {
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
        imds *m;
        int r;

        if (!loop || !endpoint_ok(e))
                return -EINVAL;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->loop = loop;
        m->attempts = c->attempts > 0 ? c->attempts : 2;
        m->now = c->now;
        m->now_userdata = c->now_userdata;
        list_init(&m->waiting);
        list_init(&m->ready);
        m->container = container;
        m->name = container ? "the container credentials endpoint" : "the instance metadata service";
        m->endpoint = container ? strdup(e) : strndup(e, strlen(e) - (e[strlen(e) - 1] == '/'));
        m->authorization = c->authorization && *c->authorization ? strdup(c->authorization) : NULL;
        m->authorization_file =
                c->authorization_file && *c->authorization_file ? strdup(c->authorization_file) : NULL;
        if (!m->endpoint || (c->authorization && *c->authorization && !m->authorization) ||
            (c->authorization_file && *c->authorization_file && !m->authorization_file)) {
                free(m->endpoint);
                secret_free(m->authorization);
                free(m->authorization_file);
                free(m);
                return -ENOMEM;
        }
        r = http_client_new(loop, &hc, &m->http);
        if (r < 0) {
                free(m->endpoint);
                secret_free(m->authorization);
                free(m->authorization_file);
                free(m);
                return r;
        }
        (void) uv_idle_init(loop, &m->idle); /* cannot fail */
        m->idle.data = m;
        *ret_imds = m;
        return 0;
}

const char *imds_endpoint(const imds *m) {
        return m->endpoint;
}

unsigned imds_fetches(const imds *m) {
        return m->fetches;
}
