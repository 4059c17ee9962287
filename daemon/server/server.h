/* SPDX-License-Identifier: MIT */
#pragma once

/* The listening Unix socket: one systemd passed in (socket activation), or
 * one fdsd binds itself. */

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

typedef struct fds_daemon fds_daemon;

/* The name fdsd.socket gives its socket (FileDescriptorName=). */
#define SERVER_FD_NAME "varlink"

typedef struct server {
        uv_pipe_t pipe;
        fds_daemon *daemon;
        char *path;          /* unlinked on close when we created it */
        bool listening;
        bool bound;          /* the socket file is ours to unlink */
        bool activated;      /* systemd's socket: never unlinked */
} server;

/* The listening socket systemd passed (LISTEN_FDS, LISTEN_FDNAMES): the one
 * named SERVER_FD_NAME, or the only one. 0 and *ret_fd when there is one,
 * -ENOENT when fdsd was not socket-activated, -EBADF when none of several
 * sockets has that name, -ENOTSOCK when it is not a listening Unix stream
 * socket. Descriptors passed but not used are closed. Call once: it
 * removes the LISTEN_* variables. */
int server_activation_fd(int *ret_fd);

/* Serve on a listening socket systemd passed in (see above). */
int server_adopt(server *srv, fds_daemon *d, int fd);

/* Bind and listen on path, creating missing directories (0755 for root,
 * 0700 for anyone else). The socket gets mode, and group gid unless
 * (gid_t) -1. Refuses (-EADDRINUSE) when a live fdsd already answers there,
 * (-EEXIST) when something other than a socket is in the way, and
 * (-ENAMETOOLONG) a path too long for a socket address, before creating
 * anything. */
int server_listen(server *srv, fds_daemon *d, const char *path, mode_t mode, gid_t gid);
void server_close(server *srv);
