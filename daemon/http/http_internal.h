/* SPDX-License-Identifier: MIT */
#pragma once

/* What the parts of the HTTP client (http_client.c the client and its
 * libuv glue, http_request.c one request) share. Not for other modules:
 * the public interface is http.h. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "http.h"

/* An intrusive, circular, doubly linked list; a lone node points at itself. */
typedef struct http_link {
        struct http_link *prev, *next;
} http_link;

static inline void link_init(http_link *l) {
        l->prev = l->next = l;
}

static inline bool link_empty(const http_link *l) {
        return l->next == l;
}

static inline void link_remove(http_link *l) {
        l->prev->next = l->next;
        l->next->prev = l->prev;
        link_init(l);
}

static inline void link_append(http_link *head, http_link *l) {
        l->prev = head->prev;
        l->next = head;
        head->prev->next = l;
        head->prev = l;
}

/* Move every node of from to the empty list to. */
static inline void link_move(http_link *from, http_link *to) {
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

/* Start the deferred work (on_defer) unless the client is torn down. */
void http_client_arm(http_client *c);

/* The request owning an easy handle of the multi. */
http_request *http_request_from_easy(CURL *easy);
/* A transfer curl_multi_info_read() reported done with code. */
void http_request_complete(http_request *req, CURLcode code);
/* Abort req with error (code and message for its error buffer); on_defer
 * reports it. 0, or -EALREADY when req is no longer queued or active. */
int http_request_abort(http_request *req, int error, CURLcode code, const char *message);
/* What on_defer does for a request on the client's work list. */
void http_request_run_work(http_request *req);
