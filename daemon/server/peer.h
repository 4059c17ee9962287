/* SPDX-License-Identifier: MIT */
#pragma once

/* What the daemon knows and counts per peer user: who may connect, and
 * the per-uid limits that keep one user's load (thousands of connections,
 * huge half-sent messages, a flood of files) from degrading another's. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "batch_engine.h"
#include "list.h"

typedef struct fds_daemon fds_daemon;

typedef struct peer {
        list_node link;          /* in daemon->peers */
        uid_t uid;
        unsigned refs;           /* sessions and batches holding it */
        unsigned connections;
        batch_share share;       /* files of this uid in flight */
        size_t buffered;         /* bytes of its half-read messages */
} peer;

typedef struct peer_policy {
        const uid_t *uids;       /* allowed users; NULL with n 0: the default */
        size_t n_uids;
        const gid_t *gids;       /* allowed groups (primary or supplementary) */
        size_t n_gids;
} peer_policy;

/* Whether uid/gid/groups may use the daemon. The default (no list set):
 * the daemon's own user and root, and, for a daemon running as root,
 * members of the socket's group. */
bool peer_allowed(const fds_daemon *d, uid_t uid, gid_t gid, const gid_t *groups, int n_groups);

/* The limits in force (the configured value, or a default from the
 * daemon-wide ones). */
unsigned peer_max_connections(const fds_daemon *d);
unsigned peer_max_inflight(const fds_daemon *d);
size_t peer_max_buffered(const fds_daemon *d);
unsigned peer_write_stall_ms(const fds_daemon *d);

peer *peer_get(fds_daemon *d, uid_t uid);
void peer_unref(fds_daemon *d, peer *p);
