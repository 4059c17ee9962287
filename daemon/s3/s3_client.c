/* SPDX-License-Identifier: MIT */
#include "s3_client.h"
#include "s3_request.h"
#include "s3_share.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "s3_error.h"
#include "s3_health.h"
#include "xstr.h"

#define S3_DEFAULT_ATTEMPTS 5
#define S3_BACKOFF_BASE_MS 100
#define S3_BACKOFF_CAP_MS 20000
#define S3_ERROR_BODY_MAX (64 * 1024)
#define S3_MAX_REDIRECTS 2

struct s3_ctx {
        http_client *http;
        delay_queue *delay;
        list_node shares;       /* s3_share.h: shareable calls in flight */
        json_t *regions;        /* bucket -> region learned from redirects */
        s3_health *health;      /* per endpoint, node-wide */
        uint64_t rng;
        s3_stats stats;
};

struct s3_call {
        s3_ctx *ctx;
        s3_call_opts opts;
        s3_op op;               /* for the counts by operation and status */
        http_request *req;
        delay_entry delay;
        unsigned attempt;       /* attempts started */
        unsigned redirects;
        char *region;           /* the region signed for */
        char *host;             /* the host sent to (changes on an AWS redirect) */
        s3_endpoint *ep;        /* its health; NULL if none could be kept */
        s3_health_waiter hw;    /* waiting for it */
        bool waiting;           /* on ep's waiters */
        bool wait_spends;       /* waiting after a failure not yet counted */
        unsigned spent;         /* attempts that count against max_attempts */
        uint64_t first_failure; /* uv_now() ms of the first failed attempt; 0: none */
        /* The last failure, reported if the call ends while waiting. */
        long last_status;
        char last_code[64];
        char last_message[256];
        char last_detail[160];
        s3_xml_parser *xml;
        char *hint_region;      /* x-amz-bucket-region of the last response */
        bool canceled;
        bool paused;
        bool finishing;         /* waiting on a zero delay to report */
        int final_error;        /* for a finish through the delay queue */
        throttle_waiter tw;     /* paused by a bandwidth cap */
        uint64_t mem_off;       /* a memory body sent through on_http_read */
        throttle *waiting_on;
        sigv4_pair *pairs;      /* owned copies of opts.query and opts.headers */
        s3_share *share;        /* what it leads, or follows */
        bool follower;          /* sends nothing: gets share's leader's response */
        list_node share_link;   /* a follower's, in share->followers */
        s3_xml_callbacks xml_cbs;
        char *strings;
};

s3_site *s3_site_free(s3_site *s) {
        if (!s)
                return NULL;
        free(s->scheme);
        free(s->host);
        free(s->region);
        free(s->access_key_id);
        if (s->secret_access_key)
                explicit_bzero(s->secret_access_key, strlen(s->secret_access_key));
        free(s->secret_access_key);
        free(s->session_token);
        free(s->ca_bundle);
        free(s);
        return NULL;
}

/* "127.0.0.1:7480", "[::1]:9000": a bucket cannot be a label of those. */
static bool host_is_ip(const char *host) {
        if (host[0] == '[')
                return true;
        size_t n = strcspn(host, ":");
        return n > 0 && strspn(host, "0123456789.") >= n;
}

bool s3_site_virtual(const s3_site *site, const char *bucket) {
        if (site->path_style || host_is_ip(site->host))
                return false;
        for (const char *p = bucket; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      (*p == '.' && !site->https)))
                        return false;
        return true;
}

int s3_site_aws_host(const char *region, char **ret) {
        return asprintf(ret, "s3.%s.amazonaws.com", region) < 0 ? -ENOMEM : 0;
}

int s3_ctx_new(http_client *http, delay_queue *delay, s3_ctx **ret) {
        s3_ctx *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->http = http;
        c->delay = delay;
        list_init(&c->shares);
        c->regions = json_object();
        if (!c->regions || s3_health_new(http, delay, &c->health) < 0) {
                json_decref(c->regions);
                free(c);
                return -ENOMEM;
        }
        if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != sizeof(c->rng))
                c->rng = (uint64_t) time(NULL) * 0x9e3779b97f4a7c15ULL;
        c->rng |= 1;
        *ret = c;
        return 0;
}

s3_ctx *s3_ctx_free(s3_ctx *ctx) {
        if (!ctx)
                return NULL;
        json_decref(ctx->regions);
        s3_health_free(ctx->health);
        free(ctx);
        return NULL;
}

const s3_stats *s3_ctx_stats(const s3_ctx *ctx) {
        return &ctx->stats;
}

static uint64_t ctx_random(s3_ctx *c) {
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 7;
        c->rng ^= c->rng << 17;
        return c->rng;
}

static int call_attempt(s3_call *c);
static void on_delay(delay_entry *e);
static void call_free(s3_call *c);

/* A follower gets what its leader got: the headers, the body, the result. */
static void share_replay(s3_call *f, const s3_share *s, const s3_result *r) {
        s3_result mine = *r;
        int q = 0;
        for (size_t i = 0; q == 0 && r->error == 0 && i < s->n_headers; i++)
                if (f->opts.on_header)
                        q = f->opts.on_header(NULL, s->headers[i].name, s->headers[i].value, f->opts.userdata);
        if (q == 0 && r->error == 0 && s->len && f->opts.on_body)
                q = f->opts.on_body(NULL, s->body, s->len, f->opts.userdata);
        if (q < 0) {
                mine.error = q;
                mine.message = strerror(-q);
                mine.xml = NULL;
        }
        f->opts.on_done(f, &mine, f->opts.userdata);
        call_free(f);
}

/* The leader ended. A server's answer is every follower's; the leader's own
 * trouble is not (canceled, a sink of its own that failed, no answer, a
 * body larger than kept): then they ask for themselves, the first leading
 * the others, except after an overflow (the body would not fit again).
 * Followers are taken from the head one by one: a replayed on_done may
 * cancel, and so unlink, the ones after it. */
static void share_settle(s3_share *s, const s3_result *r) {
        bool answered = r->error == 0 || r->http_status < 200 || r->http_status >= 300;
        bool again = s->overflow || r->error == -ECANCELED || r->http_status == 0 || !answered;
        s3_share *next = NULL;
        while (!list_empty(&s->followers)) {
                s3_call *f = list_entry(s->followers.next, s3_call, share_link);
                list_del(&f->share_link);
                f->follower = false;
                f->share = NULL;
                if (!again) {
                        share_replay(f, s, r);
                        continue;
                }
                if (next) {
                        f->share = next;
                        f->follower = true;
                        list_add_tail(&next->followers, &f->share_link);
                        continue;
                }
                if (!s->overflow && s3_share_new(&f->ctx->shares, &f->opts, &next) < 0)
                        next = NULL;
                f->share = next;
                int q = call_attempt(f);
                if (q < 0) {
                        /* No request of its own: end it from the loop. */
                        f->final_error = q;
                        f->finishing = true;
                        f->share = NULL;
                        s3_share_free(next);
                        next = NULL;
                        delay_add(f->ctx->delay, &f->delay, 0, on_delay);
                }
        }
        s3_share_free(s);
}

static void call_free(s3_call *c) {
        if (c->follower)
                list_del(&c->share_link);
        if (c->waiting)
                s3_endpoint_cancel_wait(c->ep, &c->hw);
        if (c->waiting_on)
                throttle_cancel(c->waiting_on, &c->tw);
        free(c->pairs);
        free(c->strings);
        s3_xml_parser_free(c->xml);
        free(c->region);
        free(c->host);
        free(c->hint_region);
        free(c);
}

/* Why no answer came, in words a user can act on. */
static const char *no_answer_words(int error) {
        switch (-error) {
        case EKEYREJECTED:
                return "the server's TLS certificate is not trusted (AWS_CA_BUNDLE or the profile's ca_bundle "
                       "names a CA to trust)";
        case ENOKEY:
                return "the CA bundle could not be used";
        case ECONNABORTED:
                return "the TLS handshake failed";
        default:
                return strerror(-error);
        }
}

static void call_finish(s3_call *c, int error, long status, const s3_xml_result *xml, const char *detail,
                        const http_stats *stats) {
        char msg[512];
        const char *code = xml && xml->kind == S3_XML_ERROR ? xml->code : NULL;
        const char *s3msg = xml && xml->kind == S3_XML_ERROR ? xml->message : NULL;
        const char *words = s3_error_words(code, status);

        if (error == 0)
                snprintf(msg, sizeof(msg), "ok");
        else if (error == -ECANCELED)
                snprintf(msg, sizeof(msg), "canceled");
        else if (status == 0)
                snprintf(msg, sizeof(msg), "%s%s%s", no_answer_words(error), detail && *detail ? ": " : "",
                         detail ? detail : "");
        else
                snprintf(msg, sizeof(msg), "%s", s3msg && *s3msg ? s3msg : words ? words : "S3 error");
        s3_result r = {
                .error = error,
                .http_status = status,
                .s3_code = code,
                .message = msg,
                .attempts = c->attempt,
                .xml = error == 0 ? xml : NULL,
        };
        if (stats)
                r.stats = *stats;
        s3_share *led = c->share && !c->follower ? c->share : NULL;
        if (led)
                list_del(&led->link); /* nobody new joins it */
        c->opts.on_done(c, &r, c->opts.userdata);
        if (led)
                share_settle(led, &r);
        call_free(c);
}

static int call_attempt(s3_call *c);
static uint64_t ctx_now(s3_ctx *ctx);
static void wait_endpoint(s3_call *c, int error, bool spends);
static void retry_later(s3_call *c, bool immediately);

static int on_http_header(http_request *req, const char *name, const char *value, void *userdata) {
        s3_call *c = userdata;
        long status = http_request_status(req);

        if (strcasecmp(name, "x-amz-bucket-region") == 0) {
                free(c->hint_region);
                c->hint_region = strdup(value);
        }
        if (status >= 200 && status < 300 && c->share && !c->follower)
                s3_share_header(c->share, name, value);
        if (status >= 200 && status < 300 && c->opts.on_header)
                return c->opts.on_header(req, name, value, c->opts.userdata);
        return 0;
}

static int feed_xml(s3_call *c, const void *data, size_t len, bool error_body) {
        if (!c->xml) {
                s3_xml_limits lim = s3_xml_default_limits;
                if (error_body)
                        lim.max_body = S3_ERROR_BODY_MAX;
                int r = s3_xml_parser_new(error_body ? NULL : c->opts.xml_callbacks, &lim, &c->xml);
                if (r < 0)
                        return r;
        }
        /* A broken error body must not hide the status; it is just not parsed. */
        int r = s3_xml_parser_feed(c->xml, data, len);
        return error_body ? 0 : r;
}

static void on_throttle(throttle_waiter *w) {
        s3_call *c = (s3_call *) ((char *) w - offsetof(s3_call, tw));
        c->waiting_on = NULL;
        if (c->req && !c->paused)
                http_request_unpause(c->req);
}

/* True when a cap says wait: the request pauses and is woken later. */
static bool throttled(s3_call *c) {
        for (int i = 0; i < 2; i++) {
                throttle *t = c->opts.throttles[i];
                if (t && !throttle_ready(t)) {
                        c->waiting_on = t;
                        throttle_wait(t, &c->tw, on_throttle);
                        return true;
                }
        }
        return false;
}

static void throttled_take(s3_call *c, size_t n) {
        for (int i = 0; i < 2; i++)
                throttle_take(c->opts.throttles[i], n);
}

static int on_http_body(http_request *req, const void *data, size_t len, void *userdata) {
        s3_call *c = userdata;
        long status = http_request_status(req);

        if (status < 200 || status >= 300)
                return feed_xml(c, data, len, true);
        if (c->opts.parse_xml)
                return feed_xml(c, data, len, false);
        if (!c->opts.on_body)
                return 0;
        if (throttled(c))
                return HTTP_PAUSE;
        int r = c->opts.on_body(req, data, len, c->opts.userdata);
        if (r == 0)
                throttled_take(c, len);
        if (r == 0 && c->share && !c->follower)
                s3_share_body(c->share, data, len);
        return r;
}

static ssize_t mem_read(s3_call *c, void *buf, size_t len) {
        uint64_t left = c->opts.body_length - c->mem_off;
        size_t n = left < len ? (size_t) left : len;
        memcpy(buf, (const char *) c->opts.body + c->mem_off, n);
        c->mem_off += n;
        return (ssize_t) n;
}

static ssize_t on_http_read(http_request *req, void *buf, size_t len, void *userdata) {
        s3_call *c = userdata;
        if (throttled(c))
                return HTTP_PAUSE;
        ssize_t n = c->opts.read ? c->opts.read(req, buf, len, c->opts.userdata) : mem_read(c, buf, len);
        if (n > 0)
                throttled_take(c, (size_t) n);
        return n;
}

static int on_http_rewind(http_request *req, void *userdata) {
        s3_call *c = userdata;
        if (!c->opts.read) {
                c->mem_off = 0;
                return 0;
        }
        return c->opts.rewind ? c->opts.rewind(req, c->opts.userdata) : -ESPIPE;
}

static void on_delay(delay_entry *e) {
        s3_call *c = (s3_call *) ((char *) e - offsetof(s3_call, delay));

        if (c->finishing || c->canceled) {
                call_finish(c, c->canceled ? -ECANCELED : c->final_error, 0, NULL, NULL, NULL);
                return;
        }
        /* The endpoint went down meanwhile: wait with the others. */
        if (c->ep && s3_endpoint_waiting(c->ep) && ctx_now(c->ctx) - c->first_failure < c->opts.retry_budget_ms) {
                wait_endpoint(c, c->final_error ? c->final_error : -EIO, false);
                return;
        }
        int r = c->opts.on_retry ? c->opts.on_retry(c, c->opts.userdata) : 0;
        if (r >= 0)
                r = call_attempt(c);
        if (r < 0)
                call_finish(c, r, 0, NULL, "cannot retry", NULL);
}

static void retry_later(s3_call *c, bool immediately) {
        uint64_t ms = 0;
        if (!immediately) {
                uint64_t cap = (uint64_t) S3_BACKOFF_BASE_MS << (c->attempt < 16 ? c->attempt : 16);
                if (cap > S3_BACKOFF_CAP_MS)
                        cap = S3_BACKOFF_CAP_MS;
                ms = ctx_random(c->ctx) % (cap + 1); /* full jitter */
        }
        c->ctx->stats.retries += !immediately;
        delay_add(c->ctx->delay, &c->delay, ms, on_delay);
}

static uint64_t ctx_now(s3_ctx *ctx) {
        return uv_now(ctx->delay->timer.loop);
}

/* End with the last failure, as it was when the call began waiting. */
static void finish_waited(s3_call *c, const char *why) {
        char detail[448];
        const char *code = c->last_code[0] ? c->last_code : NULL;
        if (c->last_status) {
                /* The server's word, and why the call stopped waiting. */
                const char *words = s3_error_words(code, c->last_status);
                snprintf(detail, sizeof(detail), "%s%s%s",
                         c->last_message[0] ? c->last_message : words ? words : "S3 error", why[0] ? "; " : "", why);
                s3_xml_result xml = { .kind = S3_XML_ERROR, .code = (char *) code, .message = detail };
                call_finish(c, c->final_error, c->last_status, &xml, NULL, NULL);
                return;
        }
        snprintf(detail, sizeof(detail), "%s%s%s", c->last_detail, c->last_detail[0] ? "; " : "", why);
        call_finish(c, c->final_error, 0, NULL, detail, NULL);
}

static void on_health(s3_health_waiter *w, s3_health_wake why) {
        s3_call *c = (s3_call *) ((char *) w - offsetof(s3_call, hw));
        bool spends = c->wait_spends;
        c->waiting = false;
        c->wait_spends = false;
        if (why == S3_HEALTH_EXPIRED) {
                char detail[160];
                snprintf(detail, sizeof(detail),
                         "the S3 endpoint failed every request for longer than the retry time budget (%" PRIu64 " s)",
                         c->opts.retry_budget_ms / 1000);
                finish_waited(c, detail);
                return;
        }
        /* It serves: this call's failure was its own, and counts. */
        if (why == S3_HEALTH_OWN && spends) {
                if (++c->spent >= c->opts.max_attempts) {
                        finish_waited(c, "");
                        return;
                }
                retry_later(c, false);
                return;
        }
        /* Back from an outage (or never tried): go now, nothing spent. */
        int r = c->opts.on_retry && c->attempt > 0 ? c->opts.on_retry(c, c->opts.userdata) : 0;
        if (r >= 0)
                r = call_attempt(c);
        if (r < 0)
                call_finish(c, r, 0, NULL, "cannot retry", NULL);
}

/* Wait for the endpoint instead of trying it: it fails everything. */
static void wait_endpoint(s3_call *c, int error, bool spends) {
        uint64_t start = c->first_failure ? c->first_failure : ctx_now(c->ctx);
        uint64_t since = s3_endpoint_failing_since(c->ep);
        if (since && since < start)
                start = since;
        c->final_error = error;
        c->wait_spends = spends;
        c->hw.fn = on_health;
        c->hw.deadline = start + c->opts.retry_budget_ms;
        c->waiting = true;
        c->ctx->stats.waits++;
        s3_endpoint_wait(c->ep, &c->hw);
}

/* After a transient failure: true when the call goes on (retried later or
 * waiting for its endpoint), false when it is to finish. While the
 * endpoint is suspect or down the call waits within its time budget;
 * otherwise the failure spends an attempt. */
static bool retry_or_wait(s3_call *c, int error, bool outage) {
        uint64_t now = ctx_now(c->ctx);
        if (!c->first_failure)
                c->first_failure = now ? now : 1;
        bool in_budget = now - c->first_failure < c->opts.retry_budget_ms;
        if (outage && in_budget && c->ep && s3_endpoint_waiting(c->ep)) {
                wait_endpoint(c, error, true);
                return true;
        }
        if (++c->spent >= c->opts.max_attempts)
                return false;
        retry_later(c, false);
        return true;
}

static s3_endpoint *find_endpoint(s3_call *c) {
        char name[512];
        snprintf(name, sizeof(name), "%s://%s", c->opts.site->scheme, c->host);
        return s3_health_get(c->ctx->health, name, c->opts.site->ca_bundle);
}

/* The bucket lives elsewhere: sign for its region (and, on AWS, talk to that
 * region's endpoint) instead of failing with a signature error. */
static bool follow_region(s3_call *c, long status, const s3_xml_result *xml) {
        const char *hint = c->hint_region;
        if (!hint && xml && xml->kind == S3_XML_ERROR)
                hint = xml->region;
        if (!hint || !*hint || strcmp(hint, c->region) == 0 || c->redirects >= S3_MAX_REDIRECTS)
                return false;
        if (status != 301 && status != 307 && status != 400 && status != 403)
                return false;
        char *region = strdup(hint);
        if (!region)
                return false;
        if (c->opts.site->aws) {
                char *host;
                if (s3_site_aws_host(region, &host) < 0) {
                        free(region);
                        return false;
                }
                free(c->host);
                c->host = host;
                c->ep = find_endpoint(c);
        }
        free(c->region);
        c->region = region;
        c->redirects++;
        c->ctx->stats.redirects++;
        json_object_set_new(c->ctx->regions, c->opts.bucket, json_string(region));
        return true;
}

static void on_http_done(http_request *req, const http_result *res, void *userdata) {
        s3_call *c = userdata;
        s3_xml_result *xml = NULL;
        long status = res->status;
        int error = res->error;

        c->req = NULL;
        /* A response cut short (reset, timeout, partial body) is a network
         * failure even when its status line had arrived: the status of a
         * body we do not have says nothing. */
        if (error < 0 && error != -ECANCELED)
                status = 0;
        if (error != -ECANCELED)
                s3_stats_count(&c->ctx->stats, c->op, status);
        if (c->xml) {
                if (s3_xml_parser_finish(c->xml, &xml) < 0)
                        xml = NULL;
                c->xml = s3_xml_parser_free(c->xml);
        }
        if (error == 0 && status >= 200 && status < 300 && c->opts.parse_xml && !xml)
                error = -EBADMSG;
        if (error == 0 && (status < 200 || status >= 300 || (xml && xml->kind == S3_XML_ERROR)))
                error = s3_errno_from_status(status, xml && xml->kind == S3_XML_ERROR ? xml->code : NULL);

        /* What this answer says about the endpoint, for every call on it. */
        bool outage = (status == 0 && res->transient) || status == 500 || status == 502 || status == 503 ||
                      status == 504;
        if (error != 0 && !c->canceled) {
                const s3_xml_result *e = xml && xml->kind == S3_XML_ERROR ? xml : NULL;
                c->last_status = status;
                snprintf(c->last_code, sizeof(c->last_code), "%s", e && e->code ? e->code : "");
                snprintf(c->last_message, sizeof(c->last_message), "%s", e && e->message ? e->message : "");
                snprintf(c->last_detail, sizeof(c->last_detail), "%s", res->message ? res->message : "");
        }
        if (c->ep && !c->canceled && error != 0 && outage)
                s3_endpoint_failed(c->ep);
        else if (c->ep && status != 0)
                s3_endpoint_ok(c->ep);

        if (error == 0 || c->canceled) {
                call_finish(c, c->canceled ? -ECANCELED : 0, status, xml, NULL, &res->stats);
                s3_xml_result_free(xml);
                return;
        }
        if (follow_region(c, status, xml)) {
                c->attempt--; /* a redirect is not a failed attempt */
                s3_xml_result_free(xml);
                retry_later(c, true);
                return;
        }
        bool transient = status == 0 ? res->transient
                                     : s3_error_is_transient(status, xml && xml->kind == S3_XML_ERROR ? xml->code : NULL);
        if (transient && retry_or_wait(c, error, outage)) {
                s3_xml_result_free(xml);
                return;
        }
        call_finish(c, error, status, xml, res->message, &res->stats);
        s3_xml_result_free(xml);
}

/* One attempt: address, sign, and hand the request to the HTTP client. */
static int call_attempt(s3_call *c) {
        const s3_call_opts *o = &c->opts;
        if (c->share)
                s3_share_reset(c->share); /* its followers get only this attempt's response */
        char *path = NULL, *host = NULL, *url = NULL;
        sigv4_signed *sig = NULL;
        const char **headers = NULL;
        char **owned = NULL;
        int r;

        free(c->hint_region);
        c->hint_region = NULL;
        r = s3_request_target(&c->opts, c->host, &host, &path);
        if (r < 0)
                return r;
        r = s3_request_sign(&c->opts, c->region, host, path, &sig);
        if (r < 0)
                goto out;
        url = xasprintf("%s://%s%s", o->site->scheme, host, sig->path_query);
        r = url ? s3_request_header_lines(&c->opts, sig, &headers, &owned) : -ENOMEM;
        if (r < 0)
                goto out;
        http_request_opts h = {
                .method = o->method,
                .url = url,
                .headers = headers,
                .body = o->body,
                .body_length = o->body_length,
                .read = o->read ? on_http_read : NULL,
                .rewind = o->read ? on_http_rewind : NULL,
                .on_header = on_http_header,
                .on_body = on_http_body,
                .on_done = on_http_done,
                .userdata = c,
                .ca_bundle = o->site->ca_bundle,
        };
        /* A capped memory body goes through our reader so it can pause. */
        if (o->body && (o->throttles[0] || o->throttles[1])) {
                c->mem_off = 0;
                h.body = NULL;
                h.read = on_http_read;
                h.rewind = on_http_rewind;
        }
        r = http_request_start(c->ctx->http, &h, &c->req);
        if (r >= 0) {
                c->attempt++;
                c->ctx->stats.requests++;
                if (c->paused)
                        http_request_pause(c->req);
        }
out:
        s3_request_header_lines_free(&c->opts, owned);
        free(headers);
        free(url);
        sigv4_signed_free(sig);
        free(host);
        free(path);
        return r;
}

/* Query and headers are signed again on every attempt, long after the
 * caller's arrays (often on its stack) are gone: keep copies. */
static int call_copy_pairs(s3_call *c) {
        size_t n = c->opts.n_query + c->opts.n_headers, len = 0;
        const sigv4_pair *src[2] = { c->opts.query, c->opts.headers };
        size_t cnt[2] = { c->opts.n_query, c->opts.n_headers };

        if (n == 0)
                return 0;
        for (int k = 0; k < 2; k++)
                for (size_t i = 0; i < cnt[k]; i++)
                        len += strlen(src[k][i].name) + 1 + (src[k][i].value ? strlen(src[k][i].value) + 1 : 0);
        c->pairs = calloc(n, sizeof(sigv4_pair));
        c->strings = malloc(len ? len : 1);
        if (!c->pairs || !c->strings)
                return -ENOMEM;
        char *p = c->strings;
        size_t j = 0;
        for (int k = 0; k < 2; k++)
                for (size_t i = 0; i < cnt[k]; i++, j++) {
                        c->pairs[j].name = strcpy(p, src[k][i].name);
                        p += strlen(p) + 1;
                        if (src[k][i].value) {
                                c->pairs[j].value = strcpy(p, src[k][i].value);
                                p += strlen(p) + 1;
                        }
                }
        c->opts.query = c->opts.n_query ? c->pairs : NULL;
        c->opts.headers = c->opts.n_headers ? c->pairs + c->opts.n_query : NULL;
        return 0;
}

int s3_call_start(s3_ctx *ctx, const s3_call_opts *opts, s3_call **ret) {
        s3_call *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->ctx = ctx;
        c->opts = *opts;
        c->op = s3_op_classify(opts->method, opts->key != NULL, opts->query, opts->n_query, opts->headers,
                               opts->n_headers);
        if (opts->xml_callbacks) {
                c->xml_cbs = *opts->xml_callbacks;
                c->opts.xml_callbacks = &c->xml_cbs;
        }
        if (call_copy_pairs(c) < 0) {
                call_free(c);
                return -ENOMEM;
        }
        if (!c->opts.max_attempts)
                c->opts.max_attempts = S3_DEFAULT_ATTEMPTS;
        list_init(&c->delay.link);
        list_init(&c->tw.link);
        json_t *known = json_object_get(ctx->regions, opts->bucket);
        const char *region = known ? json_string_value(known) : opts->site->region;
        c->region = strdup(region);
        if (opts->site->aws && known)
                s3_site_aws_host(region, &c->host);
        else
                c->host = strdup(opts->site->host);
        if (!c->region || !c->host) {
                call_free(c);
                return -ENOMEM;
        }
        list_init(&c->hw.link);
        list_init(&c->share_link);
        c->ep = find_endpoint(c);
        if (opts->shareable && (opts->method == HTTP_HEAD || opts->method == HTTP_GET) && !opts->has_body &&
            !opts->parse_xml && !opts->read) {
                s3_share *s = s3_share_find(&ctx->shares, &c->opts);
                if (s) {
                        /* The same request is on its way: take its answer. */
                        c->share = s;
                        c->follower = true;
                        list_add_tail(&s->followers, &c->share_link);
                        ctx->stats.coalesced++;
                        if (ret)
                                *ret = c;
                        return 0;
                }
                if (s3_share_new(&ctx->shares, &c->opts, &c->share) < 0)
                        c->share = NULL;
        }
        /* Its endpoint fails everything: wait with the others. */
        if (c->ep && s3_endpoint_waiting(c->ep) && c->opts.retry_budget_ms) {
                snprintf(c->last_detail, sizeof(c->last_detail), "no request was answered");
                wait_endpoint(c, -EIO, false);
                if (ret)
                        *ret = c;
                return 0;
        }
        int r = call_attempt(c);
        if (r < 0) {
                s3_share_free(c->share);
                c->share = NULL;
                call_free(c);
                return r;
        }
        if (ret)
                *ret = c;
        return 0;
}

void s3_call_cancel(s3_call *c) {
        if (c->canceled)
                return;
        c->canceled = true;
        if (c->follower) {
                /* Its leader goes on for the others. */
                list_del(&c->share_link);
                c->follower = false;
                c->share = NULL;
        }
        if (c->req) {
                http_request_cancel(c->req);
                return;
        }
        /* Waiting to retry: report from the loop, not from inside this call. */
        if (c->waiting) {
                s3_endpoint_cancel_wait(c->ep, &c->hw);
                c->waiting = false;
        }
        delay_cancel(c->ctx->delay, &c->delay);
        delay_add(c->ctx->delay, &c->delay, 0, on_delay);
}

void s3_call_pause(s3_call *c, bool pause) {
        c->paused = pause;
        if (!c->req)
                return;
        if (pause)
                http_request_pause(c->req);
        else
                http_request_unpause(c->req);
}
