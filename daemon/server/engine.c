/* SPDX-License-Identifier: MIT */
#include "engine.h"

#include "daemon.h"
#include "fsq.h"
#include "md5q.h"
#include "s3_site.h"

int engine_ready(fds_daemon *d) {
        if (d->transfer_ready)
                return 0;
        int r = fsq_new(d->loop, 4, &d->fsq);
        if (r < 0)
                return r;
        r = md5q_new(d->loop, &d->md5q);
        if (r < 0) {
                fsq_close(d->fsq, NULL, NULL);
                d->fsq = NULL;
                return r;
        }
        throttle_init(&d->bandwidth, d->cfg.max_bandwidth, &d->delay, d->loop);
        pace_init(&d->local_pace, d->cfg.max_bandwidth);
        budget_init(&d->buffers, d->cfg.buffer_memory, &d->delay);
        d->transfer_ready = true;
        return 0;
}

void engine_shutdown(fds_daemon *d) {
        s3_site_shutdown(d);
        if (d->fsq) {
                fsq_close(d->fsq, NULL, NULL);
                d->fsq = NULL;
        }
        md5q_close(d->md5q);
        d->md5q = NULL;
        if (d->transfer_ready) {
                throttle_done(&d->bandwidth);
                pace_done(&d->local_pace);
        }
}
