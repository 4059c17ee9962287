/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

#include <fds/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A blocking connection to fdsd. One call at a time: a client must not be
 * used from two threads at once. Calls return 0 or a count on success and a
 * negative errno on failure:
 *   -EREMOTEIO    the daemon answered with a varlink error; see
 *                 fds_client_last_error(). The client stays usable, except
 *                 after MessageTooLarge and TooManyConnections (the daemon
 *                 closes the connection).
 *   -ECONNRESET, -EPIPE
 *                 the connection was lost (the daemon went away mid-call);
 *   -EBADMSG      the daemon sent something that is not a valid reply;
 *   -EMSGSIZE     a reply was larger than the client's limit.
 * After any of the last three the client is unusable: every later call
 * returns -ENOTCONN; free it and connect again. */
typedef struct fds_client fds_client;

/* Default limit on one reply; a broken daemon cannot make the client
 * allocate more than about this much per message. */
#define FDS_CLIENT_MAX_REPLY_DEFAULT ((size_t) 256 * 1024 * 1024)

/* Connect to socket_path, or when NULL to $FDS_SOCKET, else
 * $XDG_RUNTIME_DIR/fds/fdsd.sock (non-root), else /run/fds/fdsd.sock.
 * -ENAMETOOLONG if the path does not fit a Unix socket address; the errno of
 * socket()/connect() (-ENOENT, -ECONNREFUSED, -EACCES, ...) otherwise. */
int fds_client_connect(const char *socket_path, fds_client **ret);

/* Closes the connection. Accepts NULL; returns NULL. */
fds_client *fds_client_free(fds_client *c);

/* The largest reply accepted, in bytes (at least 4096). */
int fds_client_set_max_reply_size(fds_client *c, size_t max);

/* The varlink error that ended the last call, or NULL if the last call did
 * not end with one. Valid until the next call on c or fds_client_free(). */
const fds_call_error *fds_client_last_error(const fds_client *c);

#ifdef __cplusplus
}
#endif
