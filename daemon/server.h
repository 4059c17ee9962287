/* SPDX-License-Identifier: MIT */
#pragma once

/* The listening Unix socket. */

#include <stdbool.h>
#include <uv.h>

typedef struct fds_daemon fds_daemon;

typedef struct server {
        uv_pipe_t pipe;
        fds_daemon *daemon;
        char *path;          /* unlinked on close when we created it */
        bool listening;
        bool bound;          /* the socket file is ours to unlink */
} server;

/* Bind and listen on path, creating its directory if missing. Refuses
 * (-EADDRINUSE) when a live fdsd already answers there, and (-EEXIST)
 * when something other than a socket is in the way. */
int server_listen(server *srv, fds_daemon *d, const char *path);
void server_close(server *srv);
