/* SPDX-License-Identifier: MIT */
#include "peer.h"

#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"

static bool in_gids(const gid_t *list, size_t n, gid_t g) {
        for (size_t i = 0; i < n; i++)
                if (list[i] == g)
                        return true;
        return false;
}

bool peer_allowed(const fds_daemon *d, uid_t uid, gid_t gid, const gid_t *groups, int n_groups) {
        const daemon_config *c = &d->cfg;
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
        if (geteuid() == 0 && d->socket_gid != 0) {
                if (gid == d->socket_gid)
                        return true;
                for (int i = 0; i < n_groups; i++)
                        if (groups[i] == d->socket_gid)
                                return true;
        }
        return false;
}

/* Another user always finds at least a quarter of the connections. */
unsigned peer_max_connections(const fds_daemon *d) {
        unsigned v = d->cfg.max_connections_per_uid;
        return v ? v : d->cfg.max_connections - d->cfg.max_connections / 4;
}

/* Another user always finds at least a quarter of the slots. */
unsigned peer_max_inflight(const fds_daemon *d) {
        unsigned v = d->cfg.max_inflight_per_uid;
        return v ? v : d->cfg.max_inflight - d->cfg.max_inflight / 4;
}

size_t peer_max_buffered(const fds_daemon *d) {
        size_t v = d->cfg.max_buffered_per_uid;
        return v ? v : 2 * d->cfg.max_message + 1024 * 1024;
}

unsigned peer_write_stall_ms(const fds_daemon *d) {
        unsigned v = d->cfg.write_stall_timeout_s;
        return v ? v * 1000 : 60000;
}

peer *peer_get(fds_daemon *d, uid_t uid) {
        if (!d->peers.next)
                list_init(&d->peers);
        list_node *n, *t;
        list_for_each_safe(n, t, &d->peers) {
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
        list_add_tail(&d->peers, &p->link);
        return p;
}

void peer_unref(fds_daemon *d, peer *p) {
        if (!p || --p->refs > 0)
                return;
        list_del(&p->link);
        free(p);
}
