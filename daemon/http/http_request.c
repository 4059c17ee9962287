/* SPDX-License-Identifier: MIT */
/* One request: setting up its easy handle and headers, the libcurl
 * callbacks that feed the caller's, and reporting how it ended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "http_internal.h"

#define HTTP_EXPECT_100_THRESHOLD (UINT64_C(1) << 20)

/* ---- requests: finishing ---- */

static void client_put_easy(http_client *c, CURL *easy) {
        if (!c->closing && c->n_spare < c->max_spare) {
                curl_easy_reset(easy);
                c->spare[c->n_spare++] = easy;
        } else
                curl_easy_cleanup(easy);
}

static void request_stats(const http_request *req, http_stats *ret) {
        curl_off_t up = 0, down = 0, total = 0;

        /* These cannot fail for a valid handle and a known option; zero is the
         * honest answer for a transfer that never started. */
        (void) curl_easy_getinfo(req->easy, CURLINFO_SIZE_UPLOAD_T, &up);
        (void) curl_easy_getinfo(req->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
        (void) curl_easy_getinfo(req->easy, CURLINFO_TOTAL_TIME_T, &total);
        *ret = (http_stats){
                .bytes_up = up > 0 ? (uint64_t) up : 0,
                .bytes_down = down > 0 ? (uint64_t) down : 0,
                .total_us = total > 0 ? (uint64_t) total : 0,
        };
}

/* Report the result and free the request. Only from the loop, never from
 * inside a libcurl callback: it removes the easy handle from the multi. */
static void request_finish(http_request *req, int error, CURLcode code) {
        http_client *c = req->client;
        http_result res = {
                .error = error,
                .code = code,
                .message = req->errbuf,
        };

        if (error < 0 && req->cb_error < 0)
                res.error = req->cb_error;
        res.transient = error < 0 && req->cb_error == 0 && http_curlcode_is_transient(code);
        (void) curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &res.status);
        request_stats(req, &res.stats);

        bool detached = true;
        if (req->in_multi) {
                /* Fails only for a bad handle or from inside a curl callback,
                 * neither possible here. */
                detached = curl_multi_remove_handle(c->multi, req->easy) == CURLM_OK;
                req->in_multi = false;
        }
        if (req->state == REQ_ABORTING)
                /* Not what libcurl said about the transfer we cut short. */
                snprintf(req->errbuf, sizeof(req->errbuf), "%s", req->abort_message);
        req->state = REQ_DONE;
        link_remove(&req->work_link);

        req->on_done(req, &res, req->userdata);

        link_remove(&req->link);
        if (detached)
                client_put_easy(c, req->easy);
        else
                curl_easy_cleanup(req->easy); /* detaches it from the multi itself */
        curl_slist_free_all(req->headers);
        free(req->hbuf);
        free(req);

        if (c->closing)
                http_client_arm(c); /* the last request gone lets on_defer tear down */
}

void http_request_complete(http_request *req, CURLcode code) {
        int error = http_errno_from_curlcode(code);

        if (code == CURLE_COULDNT_CONNECT) {
                /* Refused, unreachable, ...: the socket's own errno says which. */
                long os_errno = 0;
                if (curl_easy_getinfo(req->easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0)
                        error = (int) -os_errno;
        }
        request_finish(req, error, code);
}

static void request_queue_work(http_request *req) {
        http_client *c = req->client;

        if (link_empty(&req->work_link))
                link_append(&c->work, &req->work_link);
        http_client_arm(c);
}

int http_request_abort(http_request *req, int error, CURLcode code, const char *message) {
        if (req->state != REQ_QUEUED && req->state != REQ_ACTIVE)
                return -EALREADY;
        req->state = REQ_ABORTING;
        req->abort_error = error;
        req->abort_code = code;
        req->abort_message = message;
        request_queue_work(req);
        return 0;
}

http_request *http_request_from_easy(CURL *easy) {
        char *p = NULL;

        if (!easy || curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p) != CURLE_OK)
                return NULL;
        return (http_request *) p;
}

/* ---- requests: libcurl callbacks ---- */

/* The caller's callback said HTTP_PAUSE. If it already asked to unpause from
 * inside that callback, honour that instead of pausing for good. */
static void request_paused_by_callback(http_request *req, unsigned seq) {
        req->curl_paused = true;
        if (req->unpause_seq == seq)
                req->paused = true;
        else
                request_queue_work(req);
}

static bool is_space(char ch) {
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* What curl is told after a header or body callback returned r: len to go
 * on, 0 to fail the transfer (the request was finished meanwhile, or r is
 * an error, kept for on_defer to report). */
static size_t callback_result(http_request *req, int r, size_t len) {
        if (req->state != REQ_ACTIVE)
                return 0;
        if (r < 0) {
                req->cb_error = r;
                return 0;
        }
        return len;
}

static size_t on_curl_header(char *buf, size_t size, size_t nitems, void *userdata) {
        http_request *req = userdata;
        size_t len = size * nitems;

        if (req->state != REQ_ACTIVE)
                return 0;

        if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
                /* "HTTP/1.1 200 OK": a new response begins; 1xx ones are interim. */
                const char *sp = memchr(buf, ' ', len);
                long status = 0;
                if (sp)
                        for (const char *p = sp + 1; p < buf + len && p < sp + 4; p++) {
                                if (*p < '0' || *p > '9')
                                        break;
                                status = status * 10 + (*p - '0');
                        }
                req->interim = status >= 100 && status < 200;
                if (!req->interim)
                        req->status = status;
                return len;
        }
        if (req->interim || !req->on_header)
                return len;

        const char *colon = memchr(buf, ':', len);
        if (!colon || colon == buf)
                return len; /* the blank line ending the block, or junk */

        size_t name_len = (size_t) (colon - buf);
        const char *v = colon + 1, *end = buf + len;
        while (v < end && is_space(*v))
                v++;
        while (end > v && is_space(end[-1]))
                end--;
        size_t value_len = (size_t) (end - v);

        size_t need = name_len + value_len + 2;
        if (need > req->hbuf_size) {
                char *p = realloc(req->hbuf, need);
                if (!p) {
                        req->cb_error = -ENOMEM;
                        return 0;
                }
                req->hbuf = p;
                req->hbuf_size = need;
        }
        memcpy(req->hbuf, buf, name_len);
        req->hbuf[name_len] = '\0';
        memcpy(req->hbuf + name_len + 1, v, value_len);
        req->hbuf[name_len + 1 + value_len] = '\0';

        return callback_result(req, req->on_header(req, req->hbuf, req->hbuf + name_len + 1, req->userdata),
                               len);
}

static size_t on_curl_write(char *data, size_t size, size_t nmemb, void *userdata) {
        http_request *req = userdata;
        size_t len = size * nmemb;

        if (req->state != REQ_ACTIVE)
                return 0; /* != len for len > 0: the transfer fails, on_defer reports */
        if (len == 0 || req->interim)
                return len;
        if (req->paused) {
                req->curl_paused = true;
                return CURL_WRITEFUNC_PAUSE;
        }
        if (!req->on_body)
                return len;

        unsigned seq = req->unpause_seq;
        int r = req->on_body(req, data, len, req->userdata);
        if (r == HTTP_PAUSE && req->state == REQ_ACTIVE) {
                request_paused_by_callback(req, seq);
                return CURL_WRITEFUNC_PAUSE;
        }
        return callback_result(req, r, len);
}

static size_t on_curl_read(char *buf, size_t size, size_t nitems, void *userdata) {
        http_request *req = userdata;
        size_t len = size * nitems;

        if (req->state != REQ_ACTIVE)
                return CURL_READFUNC_ABORT;

        /* Never hand curl more than Content-Length promised. */
        uint64_t left = req->body_length - req->body_offset;
        if (left == 0)
                return 0;
        if (len > left)
                len = (size_t) left;

        if (req->paused) {
                req->curl_paused = true;
                return CURL_READFUNC_PAUSE;
        }
        if (req->body) {
                memcpy(buf, (const char *) req->body + req->body_offset, len);
                req->body_offset += len;
                return len;
        }

        unsigned seq = req->unpause_seq;
        ssize_t n = req->read(req, buf, len, req->userdata);
        if (req->state != REQ_ACTIVE)
                return CURL_READFUNC_ABORT;
        if (n == HTTP_PAUSE) {
                request_paused_by_callback(req, seq);
                return CURL_READFUNC_PAUSE;
        }
        if (n < 0 || n == 0 || (size_t) n > len) {
                req->cb_error = n < 0 ? (int) n : n == 0 ? -ENODATA : -EINVAL;
                return CURL_READFUNC_ABORT;
        }
        req->body_offset += (uint64_t) n;
        return (size_t) n;
}

/* libcurl rewinds to resend a request, e.g. after a reused connection died. */
static int on_curl_seek(void *userdata, curl_off_t offset, int origin) {
        http_request *req = userdata;

        if (origin != SEEK_SET || offset < 0 || (uint64_t) offset > req->body_length)
                return CURL_SEEKFUNC_FAIL;
        if ((uint64_t) offset == req->body_offset)
                return CURL_SEEKFUNC_OK;
        if (req->body) {
                req->body_offset = (uint64_t) offset;
                return CURL_SEEKFUNC_OK;
        }
        if (offset != 0 || !req->rewind)
                return CURL_SEEKFUNC_CANTSEEK;

        int r = req->rewind(req, req->userdata);
        if (r < 0) {
                req->cb_error = r;
                return CURL_SEEKFUNC_FAIL;
        }
        req->body_offset = 0;
        return CURL_SEEKFUNC_OK;
}

/* ---- requests: set-up ---- */

static bool header_is_valid(const char *h) {
        return h[0] != '\0' && h[0] != ':' && !strpbrk(h, "\r\n");
}

static bool header_has_name(const char *h, const char *name) {
        size_t n = strlen(name);
        return strncasecmp(h, name, n) == 0 && (h[n] == ':' || h[n] == ';');
}

static int request_add_header(http_request *req, const char *h) {
        struct curl_slist *l = curl_slist_append(req->headers, h);
        if (!l)
                return -ENOMEM;
        req->headers = l;
        return 0;
}

static int request_build_headers(http_request *req, const http_request_opts *o) {
        bool content_type = false, expect = false;
        int r;

        for (const char *const *h = o->headers; h && *h; h++) {
                if (!header_is_valid(*h))
                        return -EINVAL;
                content_type = content_type || header_has_name(*h, "Content-Type");
                expect = expect || header_has_name(*h, "Expect");
                r = request_add_header(req, *h);
                if (r < 0)
                        return r;
        }
        /* libcurl labels every POST application/x-www-form-urlencoded; S3
         * would store that as the object's type (CreateMultipartUpload). */
        if (o->method == HTTP_POST && !content_type) {
                r = request_add_header(req, "Content-Type:");
                if (r < 0)
                        return r;
        }
        /* libcurl 7.88 sends "Expect: 100-continue" with every PUT, costing a
         * round trip per small object, and a reply of 100 then counts as data,
         * so a dead reused connection is no longer retried. Keep it, as newer
         * libcurl does, for bodies of 1 MiB and more only. */
        if ((o->method == HTTP_PUT || o->method == HTTP_POST) && !expect &&
            o->body_length < HTTP_EXPECT_100_THRESHOLD) {
                r = request_add_header(req, "Expect:");
                if (r < 0)
                        return r;
        }
        return 0;
}

static CURLcode request_setopt_method(http_request *req, http_method method) {
        CURL *e = req->easy;
        CURLcode cc;

        switch (method) {
        case HTTP_GET:
                return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        case HTTP_HEAD:
                return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        case HTTP_DELETE:
                return curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        case HTTP_PUT:
                cc = curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
                if (cc == CURLE_OK)
                        cc = curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t) req->body_length);
                break;
        case HTTP_POST:
                cc = curl_easy_setopt(e, CURLOPT_POST, 1L);
                if (cc == CURLE_OK)
                        cc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_length);
                break;
        default:
                return CURLE_BAD_FUNCTION_ARGUMENT;
        }
        /* PUT and POST always read through us, even for an empty body:
         * after curl_easy_reset the default reader is stdin. */
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(e, CURLOPT_READFUNCTION, on_curl_read);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(e, CURLOPT_READDATA, req);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_curl_seek);
        if (cc == CURLE_OK)
                cc = curl_easy_setopt(e, CURLOPT_SEEKDATA, req);
        return cc;
}

static int request_setopt(http_request *req, const http_request_opts *o) {
        http_client *c = req->client;
        CURL *e = req->easy;
        CURLcode cc = CURLE_OK;

#define SET(opt, val)                                           \
        do {                                                    \
                if (cc == CURLE_OK)                             \
                        cc = curl_easy_setopt(e, opt, val);     \
        } while (0)

        SET(CURLOPT_URL, o->url);
        /* Send the path exactly as given: S3 keys may hold "/./" or "/../",
         * and the path was signed as it stands. */
        SET(CURLOPT_PATH_AS_IS, 1L);
        SET(CURLOPT_PRIVATE, (void *) req);
        SET(CURLOPT_ERRORBUFFER, req->errbuf);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
        SET(CURLOPT_TCP_NODELAY, 1L);
        SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L); /* a proxy's CONNECT reply is not the response */
#if LIBCURL_VERSION_NUM >= 0x075500
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
        SET(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        if (c->connect_timeout_ms > 0)
                SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
        if (c->low_speed_time > 0) {
                SET(CURLOPT_LOW_SPEED_LIMIT, c->low_speed_limit);
                SET(CURLOPT_LOW_SPEED_TIME, c->low_speed_time);
        }
        if (o->ca_bundle || c->ca_bundle) {
                /* Trust this bundle only, as AWS tools do with AWS_CA_BUNDLE;
                 * Debian's libcurl would also search /etc/ssl/certs. */
                SET(CURLOPT_CAINFO, o->ca_bundle ? o->ca_bundle : c->ca_bundle);
                SET(CURLOPT_CAPATH, (char *) NULL);
        }
        SET(CURLOPT_HEADERFUNCTION, on_curl_header);
        SET(CURLOPT_HEADERDATA, (void *) req);
        SET(CURLOPT_WRITEFUNCTION, on_curl_write);
        SET(CURLOPT_WRITEDATA, (void *) req);
        if (req->headers)
                SET(CURLOPT_HTTPHEADER, req->headers);
#undef SET
        if (cc == CURLE_OK)
                cc = request_setopt_method(req, o->method);
        return http_errno_from_curlcode(cc);
}

static int request_opts_valid(const http_request_opts *o) {
        if (!o->url || !o->on_done || !http_method_to_string(o->method))
                return -EINVAL;
        if (o->body && o->read)
                return -EINVAL;
        if (o->method != HTTP_PUT && o->method != HTTP_POST) {
                if (o->body || o->read || o->body_length > 0)
                        return -EINVAL;
        } else if (o->body_length > 0 && !o->body && !o->read)
                return -EINVAL;
        if (o->body_length > (uint64_t) INT64_MAX)
                return -EFBIG;
        return 0;
}

int http_request_start(http_client *c, const http_request_opts *o, http_request **ret_req) {
        http_request *req;
        int r;

        if (!c || !o)
                return -EINVAL;
        r = request_opts_valid(o);
        if (r < 0)
                return r;
        if (c->closing)
                return -ESHUTDOWN;

        req = calloc(1, sizeof(*req));
        if (!req)
                return -ENOMEM;
        *req = (http_request){
                .client = c,
                .state = REQ_QUEUED,
                .body = o->body,
                .body_length = o->body_length,
                .read = o->read,
                .rewind = o->rewind,
                .on_header = o->on_header,
                .on_body = o->on_body,
                .on_done = o->on_done,
                .userdata = o->userdata,
        };
        link_init(&req->link);
        link_init(&req->work_link);

        if (c->n_spare > 0)
                req->easy = c->spare[--c->n_spare];
        else
                req->easy = curl_easy_init();
        if (!req->easy) {
                r = -ENOMEM;
                goto fail;
        }
        r = request_build_headers(req, o);
        if (r < 0)
                goto fail;
        r = request_setopt(req, o);
        if (r < 0)
                goto fail;

        link_append(&c->requests, &req->link);
        request_queue_work(req); /* added to the multi from the loop */
        if (ret_req)
                *ret_req = req;
        return 0;

fail:
        if (req->easy)
                client_put_easy(c, req->easy);
        curl_slist_free_all(req->headers);
        free(req);
        return r;
}

int http_request_cancel(http_request *req) {
        if (!req)
                return 0;
        return http_request_abort(req, -ECANCELED, CURLE_ABORTED_BY_CALLBACK, "cancelled");
}

void http_request_pause(http_request *req) {
        if (req)
                req->paused = true;
}

void http_request_unpause(http_request *req) {
        if (!req || !req->paused)
                return;
        req->paused = false;
        req->unpause_seq++;
        /* curl_easy_pause() would deliver held-back bytes to on_body right
         * away; do it from the loop so the caller is not re-entered. */
        if (req->curl_paused)
                request_queue_work(req);
}

bool http_request_is_paused(const http_request *req) {
        return req && req->paused;
}

long http_request_status(const http_request *req) {
        return req ? req->status : 0;
}

int http_request_get_stats(const http_request *req, http_stats *ret_stats) {
        if (!req || !ret_stats)
                return -EINVAL;
        request_stats(req, ret_stats);
        return 0;
}

void *http_request_userdata(const http_request *req) {
        return req ? req->userdata : NULL;
}

/* Deferred work for one request, from on_defer. */
void http_request_run_work(http_request *req) {
        http_client *c = req->client;

        switch (req->state) {
        case REQ_QUEUED: {
                CURLMcode mc = curl_multi_add_handle(c->multi, req->easy);
                if (mc != CURLM_OK) {
                        snprintf(req->errbuf, sizeof(req->errbuf), "%s", curl_multi_strerror(mc));
                        request_finish(req, http_errno_from_curlmcode(mc),
                                       mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT);
                        return;
                }
                req->in_multi = true;
                req->state = REQ_ACTIVE;
                return;
        }
        case REQ_ACTIVE:
                if (req->paused || !req->curl_paused)
                        return;
                req->curl_paused = false;
                CURLcode cc = curl_easy_pause(req->easy, CURLPAUSE_CONT);
                /* Unpausing ran on_body with the held-back bytes; if that failed
                 * (or cancelled), the transfer is over. */
                if (req->state == REQ_ACTIVE && cc != CURLE_OK)
                        request_finish(req, http_errno_from_curlcode(cc), cc);
                return;
        case REQ_ABORTING:
                request_finish(req, req->abort_error, req->abort_code);
                return;
        case REQ_DONE:
                return;
        }
}
