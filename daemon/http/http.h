/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The HTTP engine: libcurl's multi interface driven by one libuv loop.
 *
 * One http_client owns one CURLM (and so one connection cache) bound to a
 * uv_loop_t. Requests are started on it and finish through a completion
 * callback. Everything runs on the loop's thread; nothing here is
 * thread-safe. curl_global_init() is the program's job, before the first
 * http_client_new().
 *
 * Re-entrancy contract, the one rule to remember: no http_* function calls
 * back into the caller before it returns. Starting, cancelling and
 * unpausing are recorded and carried out from the loop (a uv_idle handle),
 * so every callback below runs from a libuv callback, never from inside a
 * call the caller made. Every http_* function may be called from inside any
 * of the callbacks below.
 *
 * Ownership: the client owns its requests, easy handles and uv handles. A
 * request is freed when its on_done returns. Strings and header lists given
 * to http_request_start are copied; an in-memory body is borrowed until
 * on_done. Pointers handed to callbacks (header strings, body bytes,
 * result->message) are valid during the call only.
 *
 * Connections: HTTP/1.1 with keep-alive, TCP_NODELAY, http and https only,
 * no redirects followed, no content decoding. Connections and DNS answers
 * are cached by the client and reused across requests.
 *
 * Proxies: libcurl itself reads http_proxy (lower case only), https_proxy /
 * HTTPS_PROXY, all_proxy / ALL_PROXY and no_proxy / NO_PROXY for every
 * request, because this module never sets CURLOPT_PROXY (tested for
 * http_proxy, https_proxy and no_proxy).
 */

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

typedef struct http_client http_client;
typedef struct http_request http_request;

/* Returned by a body or read callback: "not now". The request stays paused
 * until http_request_unpause(); a body callback gets the same bytes again. */
#define HTTP_PAUSE (-EAGAIN)

typedef struct http_client_config {
        long max_total_connections; /* open connections at once; 0: no limit */
        long max_host_connections;  /* per host; 0: no limit */
        long max_idle_connections;  /* kept for reuse; 0: max_total_connections, or libcurl's default */
        long connect_timeout_ms;    /* TCP + TLS set-up; 0: libcurl's default (300 s) */
        long low_speed_limit;       /* bytes/s; a transfer slower than this ... */
        long low_speed_time;        /* ... for this many seconds fails, transient; 0: never */
        const char *ca_bundle;      /* PEM file (AWS_CA_BUNDLE), copied; trusted alone. NULL: system store */
        unsigned max_spare_handles; /* finished easy handles kept for reuse; 0: 16 */
} http_client_config;

typedef enum http_method {
        HTTP_GET,
        HTTP_HEAD,
        HTTP_PUT,
        HTTP_POST,
        HTTP_DELETE,
        _HTTP_METHOD_MAX,
} http_method;

typedef struct http_stats {
        uint64_t bytes_up;   /* request body bytes sent */
        uint64_t bytes_down; /* response body bytes received */
        uint64_t total_us;   /* from start to end of the transfer */
} http_stats;

typedef struct http_result {
        int error;           /* 0: a whole response arrived, whatever its status; else a negative errno */
        CURLcode code;       /* libcurl's result; CURLE_ABORTED_BY_CALLBACK when cancelled */
        long status;         /* HTTP status of the final response; 0 if none arrived */
        bool transient;      /* a network failure a retry may cure: refused, reset, timeout, cut short */
        const char *message; /* libcurl's detail for the log, "" if none; valid during the callback only */
        http_stats stats;
} http_result;

/* A response header of the final response (never of a 100 Continue), NUL-terminated, value trimmed;
 * both strings are valid during the call only. Return 0, or a negative errno to fail the request with it. */
typedef int (*http_header_fn)(http_request *req, const char *name, const char *value, void *userdata);
/* Response body bytes, valid during the call only. Return 0 when all were taken, HTTP_PAUSE to take none
 * (they come again after http_request_unpause), or a negative errno to fail the request with it. */
typedef int (*http_body_fn)(http_request *req, const void *data, size_t len, void *userdata);
/* Fill up to len bytes of the request body. Return the count (> 0), HTTP_PAUSE (nothing now: call
 * http_request_unpause when bytes are ready, e.g. from a uv_fs_read callback), or a negative errno.
 * It is never asked for bytes past body_length; returning 0 before that fails the request with -ENODATA. */
typedef ssize_t (*http_read_fn)(http_request *req, void *buf, size_t len, void *userdata);
/* Restart the body from byte 0; libcurl needs this to resend a request on a fresh connection when a
 * reused one turned out dead. Return 0 or a negative errno. Without it such a resend fails with -ESPIPE
 * (CURLE_SEND_FAIL_REWIND, transient). An in-memory body rewinds by itself. */
typedef int (*http_rewind_fn)(http_request *req, void *userdata);
/* Called exactly once per started request, from the loop. req is freed when it returns: drop every
 * pointer to it here. It may start new requests, cancel others or close the client. */
typedef void (*http_done_fn)(http_request *req, const http_result *result, void *userdata);
typedef void (*http_client_close_fn)(void *userdata);

typedef struct http_request_opts {
        http_method method;
        const char *url;             /* copied */
        const char *const *headers;  /* NULL-terminated "Name: value" lines, copied; "Name:" removes one
                                      * libcurl would add. A POST without Content-Type sends none; a
                                      * body under 1 MiB goes without "Expect: 100-continue" unless
                                      * given here (libcurl 7.88 would add it to every PUT). */
        /* A body, PUT and POST only, always sent with Content-Length (never chunked). Either in memory
         * (borrowed: it must stay valid until on_done) or streamed through read (and rewind, optional). */
        const void *body;
        uint64_t body_length;
        http_read_fn read;
        http_rewind_fn rewind;
        http_header_fn on_header;    /* optional */
        http_body_fn on_body;        /* optional: without it the body is dropped */
        http_done_fn on_done;        /* required */
        void *userdata;
        /* A PEM file trusted alone for this request (a profile's ca_bundle), in place of the
         * client's; NULL: the client's. libcurl keeps connections verified against another
         * bundle apart. */
        const char *ca_bundle;
} http_request_opts;

/* A client on loop. config may be NULL for defaults. Returns 0, -EINVAL or -ENOMEM. */
int http_client_new(uv_loop_t *loop, const http_client_config *config, http_client **ret_client);

/* Shut down: every request still in flight completes with -ECANCELED (from the loop, not from inside
 * this call); then the easy handles, the uv handles and the CURLM go, and cb runs after the last close
 * callback, with the client already freed. Closing twice, or NULL, does nothing. cb may be NULL. */
void http_client_close(http_client *client, http_client_close_fn cb, void *userdata);

/* Requests started and not yet completed. */
size_t http_client_requests(const http_client *client);

/* Start a request. On success on_done will run exactly once, later, from the loop, and *ret_req (if
 * ret_req is not NULL) is valid until on_done returns. On failure nothing was started and no callback
 * runs: -EINVAL for bad options, -ENOMEM, -ESHUTDOWN after http_client_close(). */
int http_request_start(http_client *client, const http_request_opts *opts, http_request **ret_req);

/* Cancel: no header, body or read callback runs for req after this returns, and on_done follows from
 * the loop with -ECANCELED. Returns 0, or -EALREADY when on_done is already due or running
 * (cancelled before, finished, or failed). NULL does nothing. */
int http_request_cancel(http_request *req);

/* Pause and resume both directions. Pausing takes effect at once for the callbacks: no body or read
 * callback runs while paused (bytes wait in libcurl and the kernel). Resuming is done from the loop.
 * libcurl 7.88 exempts a paused download from the low-speed check but not a paused upload: an upload
 * paused longer than low_speed_time fails with -ETIMEDOUT (transient). */
void http_request_pause(http_request *req);
void http_request_unpause(http_request *req);
bool http_request_is_paused(const http_request *req);

/* HTTP status of the final response seen so far (0 before its status line); for the header and body
 * callbacks, which must tell a 200's body from an error document. */
long http_request_status(const http_request *req);
/* Bytes and time so far. */
int http_request_get_stats(const http_request *req, http_stats *ret_stats);
void *http_request_userdata(const http_request *req);

const char *http_method_to_string(http_method m);

/* The mappings used for http_result, exposed for the caller's retry policy and for tests. */
int http_errno_from_curlcode(CURLcode code);
bool http_curlcode_is_transient(CURLcode code);
int http_errno_from_curlmcode(CURLMcode code);
