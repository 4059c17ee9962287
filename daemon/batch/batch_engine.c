/* SPDX-License-Identifier: MIT */
#include "batch_engine.h"
#include "bwshare.h"

#include "fsq.h"
#include "md5q.h"

void batch_engine_init(batch_engine *e, uv_loop_t *loop, delay_queue *delay, s3_ctx *s3, s3_sites *sites,
                       const batch_engine_config *cfg) {
        *e = (batch_engine){
                .loop = loop,
                .cfg = *cfg,
                .delay = delay,
                .s3 = s3,
                .sites = sites,
                .job_for = job_type_for,
        };
        scheduler_init(&e->sched, cfg->max_inflight);
        list_init(&e->batches);
        list_init(&e->bw_tick.link);
}

int batch_engine_ready(batch_engine *e) {
        job_shared *s = &e->shared;

        if (e->ready)
                return 0;
        *s = (job_shared){
                .loop = e->loop,
                .buffers = &e->buffers,
                .bufs = &e->bufs,
                .s3 = e->s3,
                .bandwidth = &e->bandwidth,
                .local_pace = &e->local_pace,
                .file_mode = e->cfg.file_mode,
                .upload_left = e->upload_left,
                .userdata = e->userdata,
        };
        int r = fsq_new(e->loop, 4, &s->fsq);
        if (r < 0)
                return r;
        r = md5q_new(e->loop, &s->md5q);
        if (r < 0) {
                fsq_close(s->fsq, NULL, NULL);
                s->fsq = NULL;
                return r;
        }
        throttle_init(&e->bandwidth, e->cfg.max_bandwidth, e->delay, e->loop);
        pace_init(&e->local_pace, e->cfg.max_bandwidth);
        budget_init(&e->buffers, e->cfg.buffer_memory, e->delay);
        bufcache_init(&e->bufs, &e->buffers);
        e->ready = true;
        return 0;
}

void batch_share_init(batch_share *s) {
        s->inflight = 0;
        sched_group_init(&s->group);
}

void batch_engine_set_bandwidth(batch_engine *e, uint64_t rate) {
        e->cfg.max_bandwidth = rate;
        bwshare_update(e);
        if (!e->ready)
                return; /* taken when the caps are made */
        throttle_set_rate(&e->bandwidth, rate);
        pace_set_rate(&e->local_pace, rate);
}

void batch_engine_shutdown(batch_engine *e) {
        bwshare_stop(e);
        if (!e->ready)
                return;
        fsq_close(e->shared.fsq, NULL, NULL);
        md5q_close(e->shared.md5q);
        e->shared.fsq = NULL;
        e->shared.md5q = NULL;
        throttle_done(&e->bandwidth);
        pace_done(&e->local_pace);
        bufcache_done(&e->bufs);
        e->ready = false;
}
