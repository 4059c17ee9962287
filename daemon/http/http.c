/* SPDX-License-Identifier: MIT */
#include "http.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * How the pieces fit:
 *
 * libcurl tells us which sockets to watch (on_curl_socket) and when to call
 * it back (on_curl_timer). Each socket gets an http_sock holding a
 * uv_poll_t, bound to curl with curl_multi_assign(); one uv_timer_t serves
 * curl's timer. Both feed curl_multi_socket_action(), after which finished
 * transfers are drained with curl_multi_info_read().
 *
 * Work that must not happen inside a libcurl callback or inside a call the
 * caller made (adding a handle, removing a cancelled one, unpausing, curl's
 * "timeout 0: act now") is queued and done by one uv_idle_t, "defer", on the
 * next loop iteration. An idle handle rather than a 0 ms timer because
 * libuv 1.44 runs a 0 ms timer started from a timer callback in the same
 * pass, so curl asking for "now" again and again would starve the poll.
 */

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

#define HTTP_SPARE_HANDLES_DEFAULT 16u
#define HTTP_EXPECT_100_THRESHOLD (UINT64_C(1) << 20)

/* An intrusive, circular, doubly linked list; a lone node points at itself. */
typedef struct http_link {
        struct http_link *prev, *next;
} http_link;

static void link_init(http_link *l) {
        l->prev = l->next = l;
}

static bool link_empty(const http_link *l) {
        return l->next == l;
}

static void link_remove(http_link *l) {
        l->prev->next = l->next;
        l->next->prev = l->prev;
        link_init(l);
}

static void link_append(http_link *head, http_link *l) {
        l->prev = head->prev;
        l->next = head;
        head->prev->next = l;
        head->prev = l;
}

/* Move every node of from to the empty list to. */
static void link_move(http_link *from, http_link *to) {
        if (link_empty(from))
                return;
        to->next = from->next;
        to->prev = from->prev;
        to->next->prev = to;
        to->prev->next = to;
        link_init(from);
}

typedef struct http_sock {
        uv_poll_t poll;
        http_client *client;
        curl_socket_t fd;
        http_link link; /* client->socks while not closing */
        bool closing;
} http_sock;

struct http_client {
        uv_loop_t *loop;
        CURLM *multi;
        uv_timer_t timer;
        uv_idle_t defer;

        http_link requests; /* every request from start until its on_done returned */
        http_link work;     /* requests with something for on_defer to do */
        http_link socks;

        CURL **spare; /* reset easy handles ready for reuse */
        size_t n_spare, max_spare;

        char *ca_bundle;
        long connect_timeout_ms;
        long low_speed_limit;
        long low_speed_time;

        unsigned handles; /* uv handles initialised and not yet closed */
        bool timeout_due; /* curl asked for socket_action(TIMEOUT) as soon as possible */
        bool closing;     /* http_client_close() was called */
        bool torn_down;   /* uv handles are closing; curl callbacks must not touch them */

        http_client_close_fn close_cb;
        void *close_userdata;
};

typedef enum request_state {
        REQ_QUEUED,   /* waiting for on_defer to add it to the multi */
        REQ_ACTIVE,   /* in the multi */
        REQ_ABORTING, /* cancelled or failed; on_defer reports abort_error */
        REQ_DONE,     /* on_done is running */
} request_state;

struct http_request {
        http_client *client;
        CURL *easy;
        struct curl_slist *headers;
        http_link link;      /* client->requests */
        http_link work_link; /* client->work, or on_defer's batch */
        request_state state;
        bool in_multi;

        int abort_error;
        CURLcode abort_code;
        const char *abort_message;
        int cb_error; /* a negative errno returned by one of the caller's callbacks */

        bool paused;      /* what the caller asked for */
        bool curl_paused; /* a callback of ours returned a PAUSE code to curl */
        unsigned unpause_seq;

        bool interim; /* inside the headers of a 1xx response */
        long status;

        const void *body;
        uint64_t body_length;
        uint64_t body_offset;
        http_read_fn read;
        http_rewind_fn rewind;
        http_header_fn on_header;
        http_body_fn on_body;
        http_done_fn on_done;
        void *userdata;

        char *hbuf; /* name\0value\0 of the header being delivered */
        size_t hbuf_size;
        char errbuf[CURL_ERROR_SIZE];
};

static void client_arm(http_client *c);
static void client_action(http_client *c, curl_socket_t fd, int ev_bitmask);

/* ---- error mapping ---- */

int http_errno_from_curlcode(CURLcode code) {
        switch (code) {
        case CURLE_OK:
                return 0;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_URL_MALFORMAT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_UNKNOWN_OPTION:
                return -EINVAL;
        case CURLE_NOT_BUILT_IN:
                return -EOPNOTSUPP;
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_HTTP3:
        case CURLE_BAD_CONTENT_ENCODING:
                return -EPROTO;
        case CURLE_PARTIAL_FILE:
                return -EPIPE;
        case CURLE_WRITE_ERROR:
        case CURLE_READ_ERROR:
                return -EIO;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
                return -ECONNRESET;
        case CURLE_SEND_FAIL_REWIND:
                return -ESPIPE;
        case CURLE_SSL_CONNECT_ERROR:
                return -ECONNABORTED;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return -EKEYREJECTED;
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
                return -ENOKEY;
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_AGAIN:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

bool http_curlcode_is_transient(CURLcode code) {
        switch (code) {
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_PARTIAL_FILE:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_FAIL_REWIND:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

int http_errno_from_curlmcode(CURLMcode code) {
        switch (code) {
        case CURLM_OK:
                return 0;
        case CURLM_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLM_BAD_HANDLE:
        case CURLM_BAD_EASY_HANDLE:
        case CURLM_BAD_SOCKET:
                return -EBADF;
        case CURLM_ADDED_ALREADY:
                return -EEXIST;
        case CURLM_RECURSIVE_API_CALL:
                return -EDEADLK;
        case CURLM_UNKNOWN_OPTION:
                return -EINVAL;
        default:
                return -EIO;
        }
}

const char *http_method_to_string(http_method m) {
        static const char *const table[_HTTP_METHOD_MAX] = {
                [HTTP_GET] = "GET",   [HTTP_HEAD] = "HEAD",     [HTTP_PUT] = "PUT",
                [HTTP_POST] = "POST", [HTTP_DELETE] = "DELETE",
        };
        if ((unsigned) m >= _HTTP_METHOD_MAX)
                return NULL;
        return table[m];
}

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
                client_arm(c); /* the last request gone lets on_defer tear down */
}

static void request_complete(http_request *req, CURLcode code) {
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
        client_arm(c);
}

static int request_abort(http_request *req, int error, CURLcode code, const char *message) {
        if (req->state != REQ_QUEUED && req->state != REQ_ACTIVE)
                return -EALREADY;
        req->state = REQ_ABORTING;
        req->abort_error = error;
        req->abort_code = code;
        req->abort_message = message;
        request_queue_work(req);
        return 0;
}

static http_request *request_from_easy(CURL *easy) {
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

        int r = req->on_header(req, req->hbuf, req->hbuf + name_len + 1, req->userdata);
        if (req->state != REQ_ACTIVE)
                return 0;
        if (r < 0) {
                req->cb_error = r;
                return 0;
        }
        return len;
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
        if (req->state != REQ_ACTIVE)
                return 0;
        if (r == HTTP_PAUSE) {
                request_paused_by_callback(req, seq);
                return CURL_WRITEFUNC_PAUSE;
        }
        if (r < 0) {
                req->cb_error = r;
                return 0;
        }
        return len;
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
        if (c->ca_bundle) {
                /* Trust this bundle only, as AWS tools do with AWS_CA_BUNDLE;
                 * Debian's libcurl would also search /etc/ssl/certs. */
                SET(CURLOPT_CAINFO, c->ca_bundle);
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
        return request_abort(req, -ECANCELED, CURLE_ABORTED_BY_CALLBACK, "cancelled");
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
static void request_run_work(http_request *req) {
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

/* ---- the client: sockets ---- */

static void client_handle_closed(http_client *c);

static void on_sock_closed(uv_handle_t *handle) {
        http_sock *sock = handle->data;
        http_client *c = sock->client;

        free(sock);
        client_handle_closed(c);
}

static void sock_close(http_sock *sock) {
        if (sock->closing)
                return;
        sock->closing = true;
        link_remove(&sock->link);
        /* uv_close stops the poll (epoll_ctl DEL) now, before curl closes the fd. */
        uv_close((uv_handle_t *) &sock->poll, on_sock_closed);
}

static http_sock *client_find_sock(http_client *c, curl_socket_t fd) {
        for (http_link *l = c->socks.next; l != &c->socks; l = l->next) {
                http_sock *sock = container_of(l, http_sock, link);
                if (sock->fd == fd)
                        return sock;
        }
        return NULL;
}

static void on_poll(uv_poll_t *handle, int status, int events) {
        http_sock *sock = handle->data;
        int flags = 0;

        if (status < 0)
                flags = CURL_CSELECT_ERR;
        else {
                if (events & UV_READABLE)
                        flags |= CURL_CSELECT_IN;
                if (events & UV_WRITABLE)
                        flags |= CURL_CSELECT_OUT;
        }
        client_action(sock->client, sock->fd, flags);
}

static int sock_open(http_client *c, curl_socket_t fd, http_sock **ret_sock) {
        http_sock *sock;
        int r;

        sock = calloc(1, sizeof(*sock));
        if (!sock)
                return -ENOMEM;
        r = uv_poll_init_socket(c->loop, &sock->poll, fd);
        if (r == UV_EEXIST) {
                /* libuv already watches this fd: a socket of ours that curl
                 * forgot (or never got) the assignment for. Take it back. */
                free(sock);
                sock = client_find_sock(c, fd);
                if (!sock)
                        return -EEXIST; /* someone else's: not ours to touch */
                goto assign;
        }
        if (r < 0) {
                free(sock);
                return r;
        }
        sock->client = c;
        sock->fd = fd;
        sock->poll.data = sock;
        link_append(&c->socks, &sock->link);
        c->handles++;
assign:
        /* If this fails curl hands us NULL next time and the lookup above
         * finds the socket again; nothing is lost. */
        (void) curl_multi_assign(c->multi, fd, sock);
        *ret_sock = sock;
        return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        http_client *c = userp;
        http_sock *sock = socketp;
        int events = 0, r;

        if (c->torn_down)
                return 0;
        if (!sock)
                sock = client_find_sock(c, fd);

        if (what == CURL_POLL_REMOVE) {
                if (sock)
                        sock_close(sock);
                return 0;
        }
        if (!sock) {
                r = sock_open(c, fd, &sock);
                if (r < 0)
                        goto fail;
        }
        if (what & CURL_POLL_IN)
                events |= UV_READABLE;
        if (what & CURL_POLL_OUT)
                events |= UV_WRITABLE;
        r = uv_poll_start(&sock->poll, events, on_poll);
        if (r < 0)
                goto fail;
        return 0;

fail:
        /* Returning -1 would make curl 7.88 declare the whole multi dead;
         * fail only the transfer that wanted this socket. */
        {
                http_request *req = request_from_easy(easy);
                if (req)
                        (void) request_abort(req, r, CURLE_COULDNT_CONNECT, "cannot watch the socket");
        }
        return 0;
}

/* ---- the client: timer, socket_action, deferred work ---- */

static void on_timer(uv_timer_t *handle) {
        http_client *c = handle->data;

        client_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        http_client *c = userp;

        (void) multi;
        if (c->torn_down)
                return 0;
        c->timeout_due = false;
        if (timeout_ms < 0) {
                (void) uv_timer_stop(&c->timer);
                return 0;
        }
        if (timeout_ms == 0) {
                /* Never call socket_action from here: curl is on the stack. */
                (void) uv_timer_stop(&c->timer);
                c->timeout_due = true;
                client_arm(c);
                return 0;
        }
        return uv_timer_start(&c->timer, on_timer, (uint64_t) timeout_ms, 0) < 0 ? -1 : 0;
}

static void client_drain(http_client *c) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                /* Copy out: msg dies when its handle is removed. */
                CURLcode code = msg->data.result;
                http_request *req = request_from_easy(msg->easy_handle);
                /* A request cancelled meanwhile is reported by on_defer. */
                if (req && req->state == REQ_ACTIVE)
                        request_complete(req, code);
        }
}

static void client_action(http_client *c, curl_socket_t fd, int ev_bitmask) {
        int running;
        CURLMcode mc = curl_multi_socket_action(c->multi, fd, ev_bitmask, &running);

        if (mc == CURLM_BAD_SOCKET && fd != CURL_SOCKET_TIMEOUT) {
                /* curl no longer knows this fd: stop polling it, or a level-
                 * triggered poll would spin. */
                http_sock *sock = client_find_sock(c, fd);
                if (sock)
                        sock_close(sock);
        } else if (mc != CURLM_OK) {
                /* The multi itself failed (out of memory): no transfer can be
                 * trusted to progress. Fail them all rather than hang. */
                int error = http_errno_from_curlmcode(mc);
                for (http_link *l = c->requests.next; l != &c->requests; l = l->next) {
                        http_request *req = container_of(l, http_request, link);
                        if (req->state == REQ_ACTIVE)
                                (void) request_abort(req, error,
                                                     mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY
                                                                               : CURLE_FAILED_INIT,
                                                     curl_multi_strerror(mc));
                }
        }
        client_drain(c);
}

static void client_teardown(http_client *c);

static void on_defer(uv_idle_t *handle) {
        http_client *c = handle->data;
        http_link batch;

        /* Work queued while this runs waits for the next iteration. */
        link_init(&batch);
        link_move(&c->work, &batch);
        while (!link_empty(&batch)) {
                http_request *req = container_of(batch.next, http_request, work_link);
                link_remove(&req->work_link);
                request_run_work(req);
        }

        if (c->timeout_due) {
                c->timeout_due = false;
                client_action(c, CURL_SOCKET_TIMEOUT, 0);
        }

        if (c->closing && link_empty(&c->requests))
                client_teardown(c);
        else if (link_empty(&c->work) && !c->timeout_due)
                (void) uv_idle_stop(handle);
}

static void client_arm(http_client *c) {
        if (!c->torn_down)
                (void) uv_idle_start(&c->defer, on_defer); /* no-op when active */
}

/* ---- the client: life ---- */

int http_client_new(uv_loop_t *loop, const http_client_config *config, http_client **ret_client) {
        static const http_client_config defaults = { 0 };
        http_client *c;
        CURLMcode mc = CURLM_OK;
        int r;

        if (!loop || !ret_client)
                return -EINVAL;
        if (!config)
                config = &defaults;
        if (config->max_total_connections < 0 || config->max_host_connections < 0 ||
            config->max_idle_connections < 0 || config->connect_timeout_ms < 0 ||
            config->low_speed_limit < 0 || config->low_speed_time < 0)
                return -EINVAL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->loop = loop;
        link_init(&c->requests);
        link_init(&c->work);
        link_init(&c->socks);
        c->connect_timeout_ms = config->connect_timeout_ms;
        c->low_speed_limit = config->low_speed_limit;
        c->low_speed_time = config->low_speed_time;
        c->max_spare = config->max_spare_handles ? config->max_spare_handles : HTTP_SPARE_HANDLES_DEFAULT;

        r = -ENOMEM;
        c->spare = calloc(c->max_spare, sizeof(*c->spare));
        if (!c->spare)
                goto fail;
        if (config->ca_bundle) {
                c->ca_bundle = strdup(config->ca_bundle);
                if (!c->ca_bundle)
                        goto fail;
        }
        c->multi = curl_multi_init();
        if (!c->multi)
                goto fail;

        long idle = config->max_idle_connections;
        if (idle == 0)
                idle = config->max_total_connections;
#define MSET(opt, val)                                                  \
        do {                                                            \
                if (mc == CURLM_OK)                                     \
                        mc = curl_multi_setopt(c->multi, opt, val);     \
        } while (0)
        MSET(CURLMOPT_SOCKETFUNCTION, on_curl_socket);
        MSET(CURLMOPT_SOCKETDATA, (void *) c);
        MSET(CURLMOPT_TIMERFUNCTION, on_curl_timer);
        MSET(CURLMOPT_TIMERDATA, (void *) c);
        MSET(CURLMOPT_PIPELINING, (long) CURLPIPE_NOTHING); /* HTTP/1.1 only */
        MSET(CURLMOPT_MAX_TOTAL_CONNECTIONS, config->max_total_connections);
        MSET(CURLMOPT_MAX_HOST_CONNECTIONS, config->max_host_connections);
        if (idle > 0)
                MSET(CURLMOPT_MAXCONNECTS, idle);
#undef MSET
        if (mc != CURLM_OK) {
                r = http_errno_from_curlmcode(mc);
                goto fail;
        }

        /* Neither can fail on Unix; done last so no error path has to close them. */
        (void) uv_timer_init(loop, &c->timer);
        c->timer.data = c;
        (void) uv_idle_init(loop, &c->defer);
        c->defer.data = c;
        c->handles = 2;

        *ret_client = c;
        return 0;

fail:
        if (c->multi)
                curl_multi_cleanup(c->multi);
        free(c->ca_bundle);
        free(c->spare);
        free(c);
        return r;
}

size_t http_client_requests(const http_client *c) {
        size_t n = 0;

        if (!c)
                return 0;
        for (const http_link *l = c->requests.next; l != &c->requests; l = l->next)
                n++;
        return n;
}

void http_client_close(http_client *c, http_client_close_fn cb, void *userdata) {
        if (!c || c->closing)
                return;
        c->closing = true;
        c->close_cb = cb;
        c->close_userdata = userdata;
        for (http_link *l = c->requests.next; l != &c->requests; l = l->next)
                (void) request_abort(container_of(l, http_request, link), -ECANCELED,
                                     CURLE_ABORTED_BY_CALLBACK, "client closed");
        client_arm(c); /* on_defer tears down once the requests are gone */
}

static void on_client_handle_closed(uv_handle_t *handle) {
        client_handle_closed(handle->data);
}

/* All requests are gone: close every uv handle. The CURLM outlives them and
 * goes in client_handle_closed, after the last close callback. */
static void client_teardown(http_client *c) {
        c->torn_down = true;
        while (c->n_spare > 0)
                curl_easy_cleanup(c->spare[--c->n_spare]);
        while (!link_empty(&c->socks)) {
                http_sock *sock = container_of(c->socks.next, http_sock, link);
                (void) curl_multi_assign(c->multi, sock->fd, NULL);
                sock_close(sock);
        }
        uv_close((uv_handle_t *) &c->timer, on_client_handle_closed);
        uv_close((uv_handle_t *) &c->defer, on_client_handle_closed);
}

static void client_handle_closed(http_client *c) {
        assert(c->handles > 0);
        if (--c->handles > 0 || !c->torn_down)
                return;

        /* Closes the cached connections; curl may still call on_curl_socket
         * and on_curl_timer, which see torn_down and touch nothing. */
        curl_multi_cleanup(c->multi);

        http_client_close_fn cb = c->close_cb;
        void *userdata = c->close_userdata;
        free(c->ca_bundle);
        free(c->spare);
        free(c);
        if (cb)
                cb(userdata);
}
