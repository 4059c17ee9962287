/* SPDX-License-Identifier: MIT */
/* The client: libcurl's multi interface driven by the libuv loop. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "http_internal.h"
#include "macro.h"

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

#define HTTP_SPARE_HANDLES_DEFAULT 16u

static void client_action(http_client *c, curl_socket_t fd, int ev_bitmask);

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
                http_request *req = http_request_from_easy(easy);
                if (req)
                        (void) http_request_abort(req, r, CURLE_COULDNT_CONNECT, "cannot watch the socket");
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
                http_client_arm(c);
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
                http_request *req = http_request_from_easy(msg->easy_handle);
                /* A request cancelled meanwhile is reported by on_defer. */
                if (req && req->state == REQ_ACTIVE)
                        http_request_complete(req, code);
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
                                (void) http_request_abort(req, error,
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
                http_request_run_work(req);
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

void http_client_arm(http_client *c) {
        if (!c->torn_down)
                (void) uv_idle_start(&c->defer, on_defer); /* no-op when active */
}

/* ---- the client: life ---- */

/* The multi handle's callbacks into this loop, and its connection limits. */
static int client_multi_setup(http_client *c, const http_client_config *config) {
        long idle = config->max_idle_connections ? config->max_idle_connections
                                                 : config->max_total_connections;
        CURLMcode mc = CURLM_OK;

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
        return mc == CURLM_OK ? 0 : http_errno_from_curlmcode(mc);
}

int http_client_new(uv_loop_t *loop, const http_client_config *config, http_client **ret_client) {
        static const http_client_config defaults = { 0 };
        http_client *c;
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
        r = client_multi_setup(c, config);
        if (r < 0)
                goto fail;

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
                (void) http_request_abort(container_of(l, http_request, link), -ECANCELED,
                                          CURLE_ABORTED_BY_CALLBACK, "client closed");
        http_client_arm(c); /* on_defer tears down once the requests are gone */
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
