/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "session.h"

static void on_connection(uv_stream_t *stream, int status) {
        server *srv = stream->data;
        if (status < 0) {
                log_warning("accept: %s", uv_strerror(status));
                return;
        }
        int r = session_accept(srv->daemon, stream);
        if (r < 0)
                log_warning("accept: %s", strerror(-r));
}

static int mkdir_parents(const char *path, mode_t mode) {
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST) {
                        int r = -errno;
                        free(p);
                        return r;
                }
                *s = '/';
        }
        free(p);
        return 0;
}

/* A socket file left by a dead daemon is removed; one a live daemon
 * answers on is not ours to take. */
static int clear_stale(const char *path) {
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        int e = errno;
        close(fd);
        if (r == 0)
                return -EADDRINUSE;
        if (e != ECONNREFUSED)
                return -e;
        return unlink(path) < 0 ? -errno : 0;
}

int server_listen(server *srv, fds_daemon *d, const char *path) {
        int r;

        *srv = (server){ .daemon = d };
        /* A per-user daemon keeps its directory private; the system one lets
         * the socket's group reach the socket. */
        r = mkdir_parents(path, geteuid() == 0 ? 0755 : 0700);
        if (r < 0)
                return r;
        r = clear_stale(path);
        if (r < 0)
                return r;
        srv->path = strdup(path);
        if (!srv->path)
                return -ENOMEM;
        r = uv_pipe_init(d->loop, &srv->pipe, 0);
        if (r < 0) {
                free(srv->path);
                srv->path = NULL;
                return r;
        }
        srv->pipe.data = srv;
        srv->listening = true;
        r = uv_pipe_bind(&srv->pipe, path);
        srv->bound = r >= 0;
        if (r >= 0)
                r = uv_listen((uv_stream_t *) &srv->pipe, 511, on_connection);
        if (r < 0) {
                server_close(srv);
                return r;
        }
        return 0;
}

static void on_server_close(uv_handle_t *h) {
        server *srv = h->data;
        free(srv->path);
        srv->path = NULL;
}

void server_close(server *srv) {
        if (!srv->listening)
                return;
        srv->listening = false;
        if (srv->bound)
                unlink(srv->path);
        uv_close((uv_handle_t *) &srv->pipe, on_server_close);
}
