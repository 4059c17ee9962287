/* SPDX-License-Identifier: MIT */
/* The connection: connect, and whole varlink messages over a blocking Unix
 * socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "socket_path.h"

#define CONN_READ_CHUNK (64 * 1024)
/* After a larger reply the buffer is given back rather than kept. */
#define CONN_KEEP_BUFFER (1024 * 1024)

static int conn_open(const char *path, int *ret_fd) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(path);
        int fd, r;

        if (len == 0)
                return -EINVAL;
        if (len >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, len);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        do
                r = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        while (r < 0 && errno == EINTR);
        if (r < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

int fds_client_connect(const char *socket_path, fds_client **ret) {
        char *path_default = NULL;
        fds_client *c = NULL;
        int fd = -1, r;

        if (!ret)
                return -EINVAL;
        if (!socket_path) {
                r = fds_socket_path_default(&path_default);
                if (r < 0)
                        return r;
                socket_path = path_default;
        }
        r = conn_open(socket_path, &fd);
        if (r < 0)
                goto finish;

        c = calloc(1, sizeof(*c));
        if (!c) {
                r = -ENOMEM;
                goto finish;
        }
        c->fd = fd;
        fd = -1;
        fds_frame_init(&c->frame, FDS_CLIENT_MAX_REPLY_DEFAULT);
        *ret = c;
        r = 0;
finish:
        if (fd >= 0)
                close(fd);
        free(path_default);
        return r;
}

fds_client *fds_client_free(fds_client *c) {
        if (!c)
                return NULL;
        conn_close(c);
        fds_frame_done(&c->frame);
        json_decref(c->reply);
        call_error_clear(&c->error);
        free(c);
        return NULL;
}

int fds_client_set_max_reply_size(fds_client *c, size_t max) {
        if (!c || max < 4096)
                return -EINVAL;
        c->frame.max = max;
        return 0;
}

void conn_close(fds_client *c) {
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
}

static int conn_write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int conn_send(fds_client *c, json_t *msg) {
        char *text;
        int r;

        if (c->fd < 0)
                return -ENOTCONN;
        text = json_dumps(msg, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        /* The NUL that ends the string is the frame delimiter. On failure
         * the socket stays open: the daemon may have said why it closed. */
        r = conn_write_all(c->fd, text, strlen(text) + 1);
        free(text);
        return r;
}

/* Read until one whole message is framed; the message stays in c->frame. */
static int conn_read_frame(fds_client *c, const char **ret_msg, size_t *ret_len) {
        for (;;) {
                char *p;
                size_t room;
                ssize_t k;
                int r;

                r = fds_frame_next(&c->frame, ret_msg, ret_len);
                if (r != 0)
                        return r;
                r = fds_frame_reserve(&c->frame, CONN_READ_CHUNK, &p, &room);
                if (r < 0)
                        return r;
                k = read(c->fd, p, room);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -ECONNRESET;
                fds_frame_commit(&c->frame, (size_t) k);
        }
}

int conn_recv(fds_client *c, json_t **ret_msg) {
        const char *text;
        size_t len;
        json_t *msg;
        int r;

        if (c->fd < 0)
                return -ENOTCONN;
        r = conn_read_frame(c, &text, &len);
        if (r < 0)
                goto fail;
        msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        if (!msg) {
                r = -EBADMSG;
                goto fail;
        }
        if (fds_frame_pending(&c->frame) == 0 && c->frame.cap > CONN_KEEP_BUFFER)
                fds_frame_done(&c->frame); /* keeps the limit */
        *ret_msg = msg;
        return 0;
fail:
        conn_close(c);
        return r;
}

const fds_call_error *fds_client_last_error(const fds_client *c) {
        if (!c || !c->error.set)
                return NULL;
        return &c->error.pub;
}
