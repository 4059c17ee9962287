/* SPDX-License-Identifier: MIT */
#include "peer.h"

#include <stdlib.h>
#include <unistd.h>


static bool in_gids(const gid_t *list, size_t n, gid_t g) {
        for (size_t i = 0; i < n; i++)
                if (list[i] == g)
                        return true;
        return false;
}

bool peer_allowed(const daemon_config *c, gid_t socket_gid, uid_t uid, gid_t gid, const gid_t *groups,
                  int n_groups) {
        if (c->allow_uids || c->allow_gids) {
                for (size_t i = 0; i < c->n_allow_uids; i++)
                        if (c->allow_uids[i] == uid)
                                return true;
                if (in_gids(c->allow_gids, c->n_allow_gids, gid))
                        return true;
                for (int i = 0; i < n_groups; i++)
                        if (in_gids(c->allow_gids, c->n_allow_gids, groups[i]))
                                return true;
                return false;
        }
        if (uid == 0 || uid == geteuid())
                return true;
        /* The system service: the socket's group is the access list. */
        if (geteuid() == 0 && socket_gid != 0) {
                if (gid == socket_gid)
                        return true;
                for (int i = 0; i < n_groups; i++)
                        if (groups[i] == socket_gid)
                                return true;
        }
        return false;
}

/* Three quarters of n, and always one less than n when n > 1: another
 * user then finds at least one slot however small the daemon's limit. */
static unsigned three_quarters(unsigned n) {
        unsigned keep = n / 4;
        return n > 1 ? n - (keep ? keep : 1) : n;
}

/* Another user always finds at least a quarter of the connections. */
unsigned peer_max_connections(const daemon_config *c) {
        unsigned v = c->max_connections_per_uid;
        return v ? v : three_quarters(c->max_connections);
}

/* Another user always finds at least a quarter of the slots. */
unsigned peer_max_inflight(const daemon_config *c) {
        unsigned v = c->max_inflight_per_uid;
        return v ? v : three_quarters(c->max_inflight);
}

size_t peer_max_buffered(const daemon_config *c) {
        size_t v = c->max_buffered_per_uid;
        return v ? v : 2 * c->max_message + 1024 * 1024;
}

unsigned peer_write_stall_ms(const daemon_config *c) {
        unsigned v = c->write_stall_timeout_s;
        return v ? v * 1000 : 60000;
}

peer *peer_get(list_node *peers, uid_t uid) {
        list_node *n, *t;
        list_for_each_safe(n, t, peers) {
                peer *p = list_entry(n, peer, link);
                if (p->uid == uid) {
                        p->refs++;
                        return p;
                }
        }
        peer *p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->uid = uid;
        p->refs = 1;
        batch_share_init(&p->share);
        list_add_tail(peers, &p->link);
        return p;
}

void peer_unref(peer *p) {
        if (!p || --p->refs > 0)
                return;
        list_del(&p->link);
        free(p);
}
