/* SPDX-License-Identifier: MIT */
#pragma once

/* The metrics endpoint: a tiny HTTP/1.1 listener on the loop that answers
 * GET /metrics (metrics.c renders it) and then closes. It serves scrapers,
 * not browsers: one request per connection, a request head of at most
 * METRICS_HTTP_HEAD_MAX bytes that must arrive within
 * METRICS_HTTP_TIMEOUT_MS, and at most METRICS_HTTP_MAX_CONNS connections;
 * further ones are closed at once. */

#include <stdbool.h>
#include <sys/socket.h>
#include <uv.h>

#include "list.h"

typedef struct fds_daemon fds_daemon;

#define METRICS_HTTP_HEAD_MAX (8 * 1024)
#define METRICS_HTTP_TIMEOUT_MS 5000
#define METRICS_HTTP_MAX_CONNS 16

typedef struct metrics_http {
        uv_tcp_t tcp;           /* tcp.data points back */
        fds_daemon *daemon;
        list_node conns;        /* metrics_conn.link */
        unsigned n_conns;
        bool listening;         /* tcp is open (and must be closed) */
        char name[64];          /* the address as given, for messages */
} metrics_http;

/* "127.0.0.1:9464" or "[::1]:9464": an IP literal and a port from 1 to
 * 65535. 0 and the socket address in *ret, or -EINVAL. */
int metrics_http_parse_address(const char *s, struct sockaddr_storage *ret);

/* Listen on address (as metrics_http_parse_address takes it). On failure
 * the handle is closed already; -EINVAL for a bad address, else libuv's
 * error (-EADDRINUSE, -EACCES, -EADDRNOTAVAIL, ...). */
int metrics_http_listen(metrics_http *m, fds_daemon *d, const char *address);
/* Stop listening and drop every connection. Safe to call twice. */
void metrics_http_close(metrics_http *m);
