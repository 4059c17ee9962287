/* SPDX-License-Identifier: MIT */
#pragma once

/* The transport under every call (conn.c): one blocking Unix socket with
 * NUL-framed JSON messages. A failed receive closes the connection; a
 * failed send leaves closing to the caller. */

#include <jansson.h>

#include "call_error.h"
#include "fds/client.h"
#include "frame.h"

struct fds_client {
        int fd; /* -1 once the client is unusable */
        fds_frame frame;
        json_t *reply; /* last reply read; borrowed pointers point into it */
        call_error error;
};

int conn_send(fds_client *c, json_t *msg);
int conn_recv(fds_client *c, json_t **ret_msg);
void conn_close(fds_client *c);
