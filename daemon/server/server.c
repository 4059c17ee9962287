/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "method.h"
#include "session.h"

#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static void on_connection(uv_stream_t *stream, int status) {
        server *srv = stream->data;
        if (status < 0) {
                log_warning("accept: %s", uv_strerror(status));
                return;
        }
        int r = session_accept(srv->daemon, stream, method_dispatch);
        if (r < 0)
                log_warning("accept: %s", strerror(-r));
}

/* Missing directories get mode; existing ones are left as they are. */
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

int server_activation_fd(int *ret_fd) {
#if HAVE_SYSTEMD
        char **names = NULL;
        int n, fd = -1, r;

        n = sd_listen_fds_with_names(1, &names);
        if (n <= 0)
                return n < 0 ? n : -ENOENT;
        for (int i = 0; i < n; i++)
                if (names && names[i] && strcmp(names[i], SERVER_FD_NAME) == 0 && fd < 0)
                        fd = SD_LISTEN_FDS_START + i;
        if (fd < 0 && n == 1)
                fd = SD_LISTEN_FDS_START;
        for (int i = 0; i < n; i++) {
                if (SD_LISTEN_FDS_START + i != fd)
                        close(SD_LISTEN_FDS_START + i);
                free(names ? names[i] : NULL);
        }
        free(names);
        if (fd < 0)
                return -EBADF;
        r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
        if (r <= 0) {
                close(fd);
                return r < 0 ? r : -ENOTSOCK;
        }
        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        *ret_fd = fd;
        return 0;
#else
        return -ENOENT;
#endif
}

/* The socket's name, for messages ("fd 3" if it has none). */
static char *socket_name(uv_pipe_t *pipe, int fd) {
        char buf[sizeof(((struct sockaddr_un *) 0)->sun_path) + 1];
        size_t len = sizeof(buf);
        char *name;

        if (uv_pipe_getsockname(pipe, buf, &len) == 0 && len > 0 && buf[0] != '\0')
                return strndup(buf, len);
        if (asprintf(&name, "fd %d", fd) < 0)
                return NULL;
        return name;
}

int server_adopt(server *srv, fds_daemon *d, int fd) {
        int r;

        *srv = (server){ .daemon = d, .activated = true };
        r = uv_pipe_init(d->loop, &srv->pipe, 0);
        if (r < 0) {
                close(fd);
                return r;
        }
        srv->pipe.data = srv;
        srv->listening = true;
        r = uv_pipe_open(&srv->pipe, fd);
        if (r < 0) {
                close(fd);
                server_close(srv);
                return r;
        }
        srv->path = socket_name(&srv->pipe, fd);
        if (!srv->path) {
                server_close(srv);
                return -ENOMEM;
        }
        r = uv_listen((uv_stream_t *) &srv->pipe, 511, on_connection);
        if (r < 0) {
                server_close(srv);
                return r;
        }
        return 0;
}

/* bind() creates the file with 0777 less the umask: the umask is set for
 * the call so that the socket is never more open than mode, not even for a
 * moment. This runs at start-up, before any thread exists. */
static int bind_with_mode(uv_pipe_t *pipe, const char *path, mode_t mode) {
        mode_t old = umask(~mode & 0777);
        int r = uv_pipe_bind(pipe, path);
        umask(old);
        return r;
}

int server_listen(server *srv, fds_daemon *d, const char *path, mode_t mode, gid_t gid) {
        int r;

        *srv = (server){ .daemon = d };
        /* libuv would cut a long path short and bind somewhere else. */
        if (strlen(path) >= sizeof(((struct sockaddr_un *) 0)->sun_path))
                return -ENAMETOOLONG;
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
        r = bind_with_mode(&srv->pipe, path, mode);
        srv->bound = r >= 0;
        /* Group access only once the group is right: until then the
         * socket is more closed than asked, never more open. */
        if (r >= 0 && gid != (gid_t) -1 && chown(path, (uid_t) -1, gid) < 0)
                r = -errno;
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
