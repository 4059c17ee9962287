/* SPDX-License-Identifier: MIT */
#pragma once

/* What the daemon knows and counts per peer user: who may connect, and
 * the per-uid limits that keep one user's load (thousands of connections,
 * huge half-sent messages, a flood of files) from degrading another's. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "batch_engine.h"
#include "daemon_config.h"
#include "list.h"

typedef struct peer {
        list_node link;          /* in the daemon's list of peers */
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
 * members of the socket's group.
 * socket_gid: the group of the socket file, 0 unknown. */
bool peer_allowed(const daemon_config *c, gid_t socket_gid, uid_t uid, gid_t gid, const gid_t *groups, int n_groups);

/* The limits in force (the configured value, or a default from the
 * daemon-wide ones). */
unsigned peer_max_connections(const daemon_config *c);
unsigned peer_max_inflight(const daemon_config *c);
size_t peer_max_buffered(const daemon_config *c);
unsigned peer_write_stall_ms(const daemon_config *c);

/* The record of uid in peers (a list of peer.link), referenced; created
 * on first use. NULL: out of memory. */
peer *peer_get(list_node *peers, uid_t uid);
void peer_unref(peer *p);
