/* SPDX-License-Identifier: MIT */
#include "daemon.h"

#include <malloc.h>
#include <stdlib.h>

#include "http.h"
#include "macro.h"
#include "peer.h"
#include "s3_client.h"

/* How long the daemon must have had no call before it hands freed heap
 * back: long enough that a client making one call after another does
 * not pay a trim each time. */
#define DAEMON_IDLE_TRIM_MS 1000

s3_settings_defaults daemon_s3_defaults(const daemon_config *cfg) {
        return (s3_settings_defaults){
                .endpoint_url = cfg->s3_endpoint,
                .region = cfg->s3_region,
                .addressing_style = cfg->s3_addressing_style,
                .profile = cfg->s3_profile,
                .access_key_id = cfg->s3_access_key_id,
                .secret_access_key = cfg->s3_secret_access_key,
                .session_token = cfg->s3_session_token,
        };
}

static batch_defaults engine_defaults(const fds_daemon *d) {
        const daemon_config *c = &d->cfg;
        return (batch_defaults){
                .parallelism = c->parallelism,
                .max_entries = c->max_entries,
                .max_read_bytes = c->max_read_bytes,
                .validate_concurrency = c->validate_concurrency,
                .max_inflight_per_share = peer_max_inflight(c),
                .transfer = {
                        .multipart = c->multipart,
                        .multipart_threshold = c->multipart_threshold,
                        .multipart_chunksize = c->multipart_chunksize,
                        .copy_cutoff = c->copy_cutoff,
                        .max_concurrency = c->max_concurrency,
                        .max_attempts = c->max_attempts,
                        .retry_budget_s = c->retry_budget_s,
                },
        };
}

/* Many calls, each too small to trim after (batch.c trims after big
 * ones), leave glibc's free lists and threads' arenas holding what they
 * used: without this, RSS after 64 clients of 1,000 files stayed at the
 * peak. */
static void on_idle_trim(delay_entry *e) {
        fds_daemon *d = container_of(e, fds_daemon, idle_trim);
        if (!d->stopping && d->engine.n_batches == 0)
                malloc_trim(0);
}

static void on_engine_drained(batch_engine *e, void *userdata) {
        fds_daemon *d = userdata;
        if (d->stopping) {
                if (d->on_drained)
                        d->on_drained(d);
                return;
        }
        delay_cancel(&d->delay, &d->idle_trim);
        delay_add(&d->delay, &d->idle_trim, DAEMON_IDLE_TRIM_MS, on_idle_trim);
}

static void on_share_release(batch_engine *e, batch_share *s, void *userdata) {
        peer_unref(container_of(s, peer, share));
}

static void on_upload_left(const char *endpoint, const char *bucket, const char *key, const char *upload_id,
                           const char *why, void *userdata) {
        fds_daemon *d = userdata;
        if (d->upload_left)
                d->upload_left(d, endpoint, bucket, key, upload_id, why);
}

int daemon_init(fds_daemon *d, const char **ret_what) {
        const daemon_config *c = &d->cfg;
        int r;

        list_init(&d->sessions);
        list_init(&d->peers);
        list_init(&d->idle_trim.link);
        metrics_init(&d->metrics);
        *ret_what = "timer";
        if ((r = delay_init(&d->delay, d->loop)) < 0)
                return r;
        http_client_config hc = {
                .max_total_connections = c->max_inflight + c->validate_concurrency,
                .connect_timeout_ms = 10000,
                .low_speed_limit = 1,
                .low_speed_time = 60,
                .ca_bundle = getenv("AWS_CA_BUNDLE"),
        };
        *ret_what = "HTTP engine";
        if ((r = http_client_new(d->loop, &hc, &d->http)) < 0 || (r = s3_ctx_new(d->http, &d->delay, &d->s3)) < 0)
                return r;
        s3_sites_init(&d->sites, d->loop, &(s3_settings_defaults){ 0 });
        d->sites.defaults = daemon_s3_defaults(c);
        batch_engine_init(&d->engine, d->loop, &d->delay, d->s3, &d->sites,
                          &(batch_engine_config){
                                  .max_bandwidth = c->max_bandwidth,
                                  .buffer_memory = c->buffer_memory,
                                  .max_inflight = c->max_inflight,
                                  .file_mode = c->file_mode,
                          });
        d->engine.defaults = engine_defaults(d);
        d->engine.drained = on_engine_drained;
        d->engine.share_release = on_share_release;
        d->engine.upload_left = on_upload_left;
        d->engine.userdata = d;
        *ret_what = NULL;
        return 0;
}

void daemon_apply(fds_daemon *d, const daemon_config *n) {
        daemon_config *c = &d->cfg;

        c->parallelism = n->parallelism;
        c->max_inflight = n->max_inflight;
        c->max_message = n->max_message;
        c->max_entries = n->max_entries;
        c->max_read_bytes = n->max_read_bytes;
        c->max_connections = n->max_connections;
        c->max_attempts = n->max_attempts;
        c->retry_budget_s = n->retry_budget_s;
        c->multipart = n->multipart;
        c->multipart_threshold = n->multipart_threshold;
        c->multipart_chunksize = n->multipart_chunksize;
        c->copy_cutoff = n->copy_cutoff;
        c->max_concurrency = n->max_concurrency;
        c->max_connections_per_uid = n->max_connections_per_uid;
        c->max_inflight_per_uid = n->max_inflight_per_uid;
        c->max_buffered_per_uid = n->max_buffered_per_uid;
        c->write_stall_timeout_s = n->write_stall_timeout_s;
        /* Who may connect: checked as each connection comes; the settings'
         * generations live until exit, so the lists can be borrowed. */
        c->allow_uids = n->allow_uids;
        c->n_allow_uids = n->n_allow_uids;
        c->allow_gids = n->allow_gids;
        c->n_allow_gids = n->n_allow_gids;
        /* A cap set since with SetBandwidth stays unless the file changed. */
        if (n->max_bandwidth != c->max_bandwidth) {
                c->max_bandwidth = n->max_bandwidth;
                batch_engine_set_bandwidth(&d->engine, n->max_bandwidth);
        }
        d->engine.defaults = engine_defaults(d);
        /* More room starts queued files at once; less lets running ones finish. */
        d->engine.sched.limit = n->max_inflight;
        scheduler_pump(&d->engine.sched);
}

void daemon_shutdown(fds_daemon *d) {
        batch_engine_shutdown(&d->engine);
        s3_sites_shutdown(&d->sites);
        if (d->http) {
                http_client_close(d->http, NULL, NULL);
                d->http = NULL;
        }
        delay_close(&d->delay);
}
