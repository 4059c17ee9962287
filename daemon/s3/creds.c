/* SPDX-License-Identifier: MIT */
#include "creds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "list.h"
#include "xstr.h"

/*
 * Waiters sit on k->waiting until the fetch ends; then, like cache hits and
 * cancellations, they move to k->ready with their outcome decided, and the
 * idle handle calls them back on the next loop iteration.
 */

#define MIN_FRESH_S 60

struct creds_wait {
        list_node node; /* k->waiting, k->ready, or on_idle's batch */
        creds *k;
        creds_fn cb;
        void *userdata;
        bool ready; /* the outcome below is decided */
        int error;
        char *message;
};

struct creds {
        uv_loop_t *loop;
        uv_idle_t idle;
        const creds_ops *ops;
        void *source;
        const char *name;
        char *endpoint;
        int64_t (*now)(void *userdata);
        void *now_userdata;

        bool have;
        char *access_key_id, *secret_access_key, *session_token, *role;
        int64_t expiration, fresh_until; /* 0: no expiration */

        bool fetching;
        unsigned fetches;
        list_node waiting;
        list_node ready;
        bool dispatching;
        bool closing, source_closed, idle_closing;
        creds_close_fn close_cb;
        void *close_userdata;
};

void creds_secret_free(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

int64_t creds_now(const creds *k) {
        return k->now ? k->now(k->now_userdata) : (int64_t) time(NULL);
}

bool creds_closing(const creds *k) {
        return k->closing;
}

const char *creds_endpoint(const creds *k) {
        return k->endpoint;
}

const char *creds_name(const creds *k) {
        return k->name;
}

unsigned creds_fetches(const creds *k) {
        return k->fetches;
}

/* ---- waiters ---- */

static void on_idle(uv_idle_t *handle);

static void idle_kick(creds *k) {
        if (!k->idle_closing)
                (void) uv_idle_start(&k->idle, on_idle); /* starting a started handle does nothing */
}

/* Decide w's outcome and queue its callback. message may be NULL (only for success or -ENOMEM). */
static void wait_decide(creds_wait *w, int error, const char *message) {
        creds *k = w->k;

        w->ready = true;
        w->error = error;
        w->message = message ? strdup(message) : NULL;
        list_del(&w->node);
        list_add_tail(&k->ready, &w->node);
        idle_kick(k);
}

static void decide_all(creds *k, int error, const char *message) {
        while (!list_empty(&k->waiting))
                wait_decide(list_entry(k->waiting.next, creds_wait, node), error, message);
}

static void wait_call(creds *k, creds_wait *w) {
        creds_value c = {
                .access_key_id = k->access_key_id,
                .secret_access_key = k->secret_access_key,
                .session_token = k->session_token,
                .expiration = k->expiration,
                .role = k->role,
                .endpoint = k->endpoint,
        };

        if (w->error < 0)
                w->cb(w->error, NULL, w->message ? w->message : "credentials: out of memory", w->userdata);
        else
                w->cb(0, &c, NULL, w->userdata);
        free(w->message);
        free(w);
}

static void maybe_finish_close(creds *k);

static void on_idle(uv_idle_t *handle) {
        creds *k = handle->data;
        list_node batch;

        /* Only those ready now: a callback asking again is answered next time. */
        list_init(&batch);
        if (!list_empty(&k->ready)) {
                batch = k->ready;
                batch.next->prev = &batch;
                batch.prev->next = &batch;
                list_init(&k->ready);
        }
        k->dispatching = true;
        while (!list_empty(&batch)) {
                creds_wait *w = list_entry(batch.next, creds_wait, node);
                list_del(&w->node);
                wait_call(k, w);
        }
        k->dispatching = false;
        if (list_empty(&k->ready) && !k->idle_closing)
                (void) uv_idle_stop(&k->idle);
        maybe_finish_close(k);
}

/* ---- the fetch ---- */

void creds_fetch_end(creds *k, int error, const char *message) {
        k->fetching = false;
        if (k->closing)
                return; /* the waiters were answered by creds_close() */
        if (error < 0 && k->have && (k->expiration == 0 || creds_now(k) < k->expiration))
                error = 0;
        decide_all(k, error, error < 0 ? message : NULL);
}

void creds_fetch_fail(creds *k, int error, const char *fmt, ...) {
        va_list ap;
        char *msg;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        creds_fetch_end(k, error, msg);
        free(msg);
}

int creds_body_add(char **body, size_t *len, size_t max, const void *data, size_t n) {
        if (n > max - *len)
                return -EFBIG;
        char *b = realloc(*body, *len + n + 1);
        if (!b)
                return -ENOMEM;
        memcpy(b + *len, data, n);
        *body = b;
        *len += n;
        b[*len] = '\0';
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

int creds_parse_time(const char *s, int64_t *ret) {
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

int creds_keep(creds *k, const char *id, const char *secret, const char *token, int64_t expiration,
               const char *role) {
        char *c[4];
        int64_t now = creds_now(k);

        c[0] = strdup(id);
        c[1] = strdup(secret);
        c[2] = token && *token ? strdup(token) : NULL;
        c[3] = role ? strdup(role) : NULL;
        if (!c[0] || !c[1] || (token && *token && !c[2]) || (role && !c[3])) {
                free(c[0]);
                creds_secret_free(c[1]);
                creds_secret_free(c[2]);
                free(c[3]);
                return -ENOMEM;
        }
        free(k->access_key_id);
        creds_secret_free(k->secret_access_key);
        creds_secret_free(k->session_token);
        free(k->role);
        k->access_key_id = c[0];
        k->secret_access_key = c[1];
        k->session_token = c[2];
        k->role = c[3];
        k->expiration = expiration;
        k->fresh_until = 0;
        if (expiration) {
                k->fresh_until = expiration - CREDS_REFRESH_BEFORE_S;
                if (k->fresh_until < now + MIN_FRESH_S)
                        k->fresh_until = now + MIN_FRESH_S;
        }
        k->have = true;
        return 0;
}

int creds_keep_json(creds *k, json_t *j, const char *token_key, bool expiration_required, const char *role,
                    const char **ret_why) {
        const char *id = json_str(j, "AccessKeyId"), *secret = json_str(j, "SecretAccessKey");
        const char *token = json_str(j, token_key), *exp = json_str(j, "Expiration");
        int64_t expiration = 0;

        if (!json_is_object(j))
                return (*ret_why = "sent credentials that are not a JSON object", -EBADMSG);
        if (!id || !secret)
                return (*ret_why = "sent credentials without AccessKeyId or SecretAccessKey", -EBADMSG);
        if ((expiration_required && !exp) || (exp && creds_parse_time(exp, &expiration) < 0))
                return (*ret_why = "sent credentials without an ISO 8601 Expiration", -EBADMSG);
        return creds_keep(k, id, secret, token, expiration, role);
}

/* ---- the object ---- */

int creds_get(creds *k, creds_fn cb, void *userdata, creds_wait **ret_wait) {
        creds_wait *w;

        if (!k || !cb)
                return -EINVAL;
        if (k->closing)
                return -ESHUTDOWN;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->k = k;
        w->cb = cb;
        w->userdata = userdata;
        list_init(&w->node);
        list_add_tail(&k->waiting, &w->node);
        if (ret_wait)
                *ret_wait = w;
        if (k->have && (k->fresh_until == 0 || creds_now(k) < k->fresh_until))
                wait_decide(w, 0, NULL);
        else if (!k->fetching) {
                k->fetching = true;
                k->fetches++;
                k->ops->fetch(k, k->source); /* a failure to start decides every waiter, from the loop still */
        }
        return 0;
}

int creds_wait_cancel(creds_wait *w) {
        if (!w)
                return 0;
        if (w->ready)
                return -EALREADY;
        wait_decide(w, -ECANCELED, "the credentials request was cancelled");
        return 0;
}

static void on_idle_closed(uv_handle_t *handle) {
        creds *k = handle->data;
        creds_close_fn cb = k->close_cb;
        void *userdata = k->close_userdata;

        free(k->endpoint);
        free(k->access_key_id);
        creds_secret_free(k->secret_access_key);
        creds_secret_free(k->session_token);
        free(k->role);
        free(k);
        if (cb)
                cb(userdata);
}

static void maybe_finish_close(creds *k) {
        if (!k->closing || !k->source_closed || k->dispatching || !list_empty(&k->ready) || k->idle_closing)
                return;
        k->idle_closing = true;
        uv_close((uv_handle_t *) &k->idle, on_idle_closed);
}

void creds_source_closed(creds *k) {
        k->source = NULL;
        k->source_closed = true;
        maybe_finish_close(k);
}

void creds_close(creds *k, creds_close_fn cb, void *userdata) {
        if (!k || k->closing)
                return;
        k->closing = true;
        k->close_cb = cb;
        k->close_userdata = userdata;
        decide_all(k, -ECANCELED, "the credentials request was cancelled: shutting down");
        k->ops->close(k, k->source);
}

int creds_new(uv_loop_t *loop, const creds_config *config, const creds_ops *ops, void *source, creds **ret) {
        creds *k;

        if (!loop || !config || !config->endpoint || !config->name || !ops || !ops->fetch || !ops->close)
                return -EINVAL;
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->endpoint = strdup(config->endpoint);
        if (!k->endpoint) {
                free(k);
                return -ENOMEM;
        }
        k->loop = loop;
        k->ops = ops;
        k->source = source;
        k->name = config->name;
        k->now = config->now;
        k->now_userdata = config->now_userdata;
        list_init(&k->waiting);
        list_init(&k->ready);
        (void) uv_idle_init(loop, &k->idle); /* cannot fail */
        k->idle.data = k;
        *ret = k;
        return 0;
}
