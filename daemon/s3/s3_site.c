/* SPDX-License-Identifier: MIT */
#include "s3_site.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "imds.h"
#include "s3_settings.h"

struct s3_site_wait {
        s3_settings *settings;
        imds_wait *wait;
        s3_site_fn cb;
        void *userdata;
};

s3_settings_defaults s3_site_defaults(const daemon_config *cfg) {
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

static int settings_ready(fds_daemon *d, char **ret_reason) {
        if (d->s3set)
                return 0;
        int r = s3_settings_context_new(NULL, NULL, &d->s3set);
        if (r < 0)
                return r;
        d->s3_defaults = s3_site_defaults(&d->cfg);
        return s3_settings_check_defaults(&d->s3_defaults, ret_reason);
}

static int site_from(const s3_settings *s, s3_site **ret) {
        s3_site *site = calloc(1, sizeof(*site));
        if (!site)
                return -ENOMEM;
        site->scheme = strdup(s->endpoint_https ? "https" : "http");
        site->host = strdup(s->endpoint_host);
        site->https = s->endpoint_https;
        site->aws = s->endpoint_is_aws;
        site->path_style = s->addressing_style == S3_ADDRESSING_PATH;
        site->region = strdup(s->region);
        site->access_key_id = strdup(s->access_key_id);
        site->secret_access_key = strdup(s->secret_access_key);
        site->session_token = s->session_token ? strdup(s->session_token) : NULL;
        if (!site->scheme || !site->host || !site->region || !site->access_key_id || !site->secret_access_key ||
            (s->session_token && !site->session_token)) {
                s3_site_free(site);
                return -ENOMEM;
        }
        *ret = site;
        return 0;
}

static void on_imds(int error, const imds_credentials *creds, const char *message, void *userdata) {
        s3_site_wait *w = userdata;
        char *reason = NULL;
        s3_site *site = NULL;
        int r = s3_settings_apply_imds(w->settings, error, creds, message, &reason);
        if (r >= 0)
                r = site_from(w->settings, &site);
        s3_settings_free(w->settings);
        s3_site_fn cb = w->cb;
        void *ud = w->userdata;
        free(w);
        cb(r, site, reason, ud);
}

int s3_site_resolve(fds_daemon *d, json_t *options_s3, s3_site **ret_site, char **ret_reason,
                    s3_site_fn cb, void *userdata, s3_site_wait **ret_wait) {
        s3_settings *s = NULL;
        int r;

        *ret_reason = NULL;
        r = settings_ready(d, ret_reason);
        if (r < 0)
                return r;
        r = s3_settings_resolve(d->s3set, &d->s3_defaults, options_s3, &s, ret_reason);
        if (r < 0)
                return r;
        if (!s3_settings_needs_imds(s)) {
                r = site_from(s, ret_site);
                s3_settings_free(s);
                return r;
        }
        if (!d->imds) {
                r = imds_new(d->loop, &(imds_config){ .endpoint = s->imds_endpoint }, &d->imds);
                if (r < 0) {
                        s3_settings_free(s);
                        return r;
                }
        }
        s3_site_wait *w = calloc(1, sizeof(*w));
        if (!w) {
                s3_settings_free(s);
                return -ENOMEM;
        }
        *w = (s3_site_wait){ .settings = s, .cb = cb, .userdata = userdata };
        r = imds_get_credentials(d->imds, on_imds, w, &w->wait);
        if (r < 0) {
                s3_settings_free(s);
                free(w);
                return r;
        }
        *ret_wait = w;
        return 1;
}

void s3_site_cancel(s3_site_wait *w) {
        imds_wait_cancel(w->wait);
}

void s3_site_shutdown(fds_daemon *d) {
        if (d->imds) {
                imds_close(d->imds, NULL, NULL);
                d->imds = NULL;
        }
        d->s3set = s3_settings_context_free(d->s3set);
}
