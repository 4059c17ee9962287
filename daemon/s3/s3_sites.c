/* SPDX-License-Identifier: MIT */
#include "s3_sites.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credproc.h"
#include "imds.h"
#include "s3_settings.h"
#include "sts.h"
#include "xstr.h"



struct s3_fetcher {
        s3_fetcher *next;
        char *key; /* what the source is, and for whom: secrets included, so never shown */
        creds *m;
};

struct s3_site_wait {
        s3_settings *settings;
        creds_wait *wait;
        s3_site_fn cb;
        void *userdata;
};

void s3_sites_init(s3_sites *s, uv_loop_t *loop, const s3_settings_defaults *defaults) {
        *s = (s3_sites){ .loop = loop, .defaults = *defaults };
}

static int settings_ready(s3_sites *s, char **ret_reason) {
        if (s->files)
                return 0;
        int r = s3_settings_context_new(NULL, NULL, &s->files);
        if (r < 0)
                return r;
        return s3_settings_check_defaults(&s->defaults, ret_reason);
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
        site->ca_bundle = s->ca_bundle ? strdup(s->ca_bundle) : NULL;
        if (!site->scheme || !site->host || !site->region || !site->access_key_id || !site->secret_access_key ||
            (s->session_token && !site->session_token) || (s->ca_bundle && !site->ca_bundle)) {
                s3_site_free(site);
                return -ENOMEM;
        }
        *ret = site;
        return 0;
}

static void on_fetched(int error, const creds_value *value, const char *message, void *userdata) {
        s3_site_wait *w = userdata;
        char *reason = NULL;
        s3_site *site = NULL;
        int r = s3_settings_apply_imds(w->settings, error, value, message, &reason);
        if (r >= 0)
                r = site_from(w->settings, &site);
        s3_settings_free(w->settings);
        s3_site_fn cb = w->cb;
        void *ud = w->userdata;
        free(w);
        cb(r, site, reason, ud);
}

/* What a source is, and for whom: secrets included, so never shown.
 * NULL on -ENOMEM. */
static char *fetcher_key(const s3_settings *s, const s3_caller *caller, bool top) {
        if (top && s->web_identity_token_file)
                return xasprintf("sts\n%s\n%s\n%s\n%s\n%s", s->sts_endpoint, s->role_arn,
                                 s->role_session_name ? s->role_session_name : "", s->web_identity_token_file,
                                 s->ca_bundle ? s->ca_bundle : "");
        if (top && s->role_arn)
                return xasprintf("assume\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s", s->sts_endpoint,
                                 s->ca_bundle ? s->ca_bundle : "", s->region,
                                 s->role_arn, s->role_session_name ? s->role_session_name : "",
                                 s->external_id ? s->external_id : "",
                                 s->source_access_key_id ? s->source_access_key_id : "",
                                 s->source_secret_access_key ? s->source_secret_access_key : "",
                                 s->source_session_token ? s->source_session_token : "",
                                 s->container_url ? s->container_url : "", s->imds_endpoint ? s->imds_endpoint : "");
        if (top && s->credential_process) /* per caller: one user's run never answers another's call */
                return xasprintf("process\n%u\n%u\n%d\n%s\n%s",
                                 caller ? (unsigned) caller->uid : (unsigned) getuid(),
                                 caller ? (unsigned) caller->gid : (unsigned) getgid(),
                                 caller && caller->switch_user, s->profile, s->credential_process);
        return xasprintf("container\n%s\n%c%s", s->container_url, s->container_authorization_file ? 'f' : 't',
                         s->container_authorization_file ? s->container_authorization_file
                         : s->container_authorization    ? s->container_authorization
                                                         : "");
}

static int fetcher_for(s3_sites *sites, const s3_settings *s, const s3_caller *caller, bool top, creds **ret);

/* A new source for s. top: the call's own; false: the container endpoint
 * or IMDS its role is assumed with. */
static int fetcher_new(s3_sites *sites, const s3_settings *s, const s3_caller *caller, bool top, creds **ret) {
        uv_loop_t *loop = sites->loop;
        if (top && s->web_identity_token_file) {
                sts_config c = {
                        .endpoint = s->sts_endpoint,
                        .role_arn = s->role_arn,
                        .role_session_name = s->role_session_name,
                        .token_file = s->web_identity_token_file,
                        .ca_bundle = s->ca_bundle,
                };
                return sts_web_identity_new(loop, &c, ret);
        }
        if (top && s->role_arn) {
                creds *source = NULL;
                /* credential_source EcsContainer or Ec2InstanceMetadata: fetched first. */
                if (!s->source_access_key_id) {
                        int r = fetcher_for(sites, s, caller, false, &source);
                        if (r < 0)
                                return r;
                }
                sts_config c = {
                        .endpoint = s->sts_endpoint,
                        .role_arn = s->role_arn,
                        .role_session_name = s->role_session_name,
                        .access_key_id = s->source_access_key_id,
                        .secret_access_key = s->source_secret_access_key,
                        .session_token = s->source_session_token,
                        .source = source,
                        /* The global endpoint is us-east-1's, whatever the bucket's region. */
                        .region = strcmp(s->sts_endpoint, S3_SETTINGS_STS_GLOBAL) == 0 ? "us-east-1" : s->region,
                        .external_id = s->external_id,
                        .ca_bundle = s->ca_bundle,
                };
                return sts_assume_role_new(loop, &c, ret);
        }
        if (top && s->credential_process) {
                credproc_config c = {
                        .command = s->credential_process,
                        .profile = s->profile,
                        .set_user = caller && caller->switch_user,
                        .uid = caller ? caller->uid : 0,
                        .gid = caller ? caller->gid : 0,
                };
                return credproc_new(loop, &c, ret);
        }
        imds_config c = {
                .credentials_url = s->container_url,
                .authorization = s->container_authorization,
                .authorization_file = s->container_authorization_file,
        };
        return imds_new(loop, &c, ret);
}

/* The source that fetches s's credentials (top) or those its role is
 * assumed with (!top), made when first needed: the one IMDS client, the
 * container endpoint's for this URL and token, STS's for this role and
 * token file or source, or the credential_process of this profile and
 * command for this caller. */
static int fetcher_for(s3_sites *sites, const s3_settings *s, const s3_caller *caller, bool top, creds **ret) {
        int r;

        if ((!top || !s->role_arn) && !s->credential_process && !s->container_url) {
                if (!sites->imds) {
                        r = imds_new(sites->loop, &(imds_config){ .endpoint = s->imds_endpoint }, &sites->imds);
                        if (r < 0)
                                return r;
                }
                *ret = sites->imds;
                return 0;
        }
        char *key = fetcher_key(s, caller, top);
        if (!key)
                return -ENOMEM;
        for (s3_fetcher *f = sites->fetchers; f; f = f->next)
                if (strcmp(f->key, key) == 0) {
                        creds_secret_free(key);
                        *ret = f->m;
                        return 0;
                }
        s3_fetcher *f = calloc(1, sizeof(*f));
        r = f ? fetcher_new(sites, s, caller, top, &f->m) : -ENOMEM;
        if (r < 0) {
                free(f);
                creds_secret_free(key);
                return r;
        }
        f->key = key;
        f->next = sites->fetchers;
        sites->fetchers = f;
        *ret = f->m;
        return 0;
}

int s3_sites_resolve(s3_sites *sites, json_t *options_s3, const s3_caller *caller, s3_site **ret_site,
                     char **ret_reason, s3_site_fn cb, void *userdata, s3_site_wait **ret_wait) {
        s3_settings *s = NULL;
        int r;

        *ret_reason = NULL;
        r = settings_ready(sites, ret_reason);
        if (r < 0)
                return r;
        r = s3_settings_resolve(sites->files, &sites->defaults, options_s3, &s, ret_reason);
        if (r < 0)
                return r;
        if (!s3_settings_needs_imds(s)) {
                r = site_from(s, ret_site);
                s3_settings_free(s);
                return r;
        }
        creds *m;
        r = fetcher_for(sites, s, caller, true, &m);
        if (r < 0) {
                s3_settings_free(s);
                return r;
        }
        s3_site_wait *w = calloc(1, sizeof(*w));
        if (!w) {
                s3_settings_free(s);
                return -ENOMEM;
        }
        *w = (s3_site_wait){ .settings = s, .cb = cb, .userdata = userdata };
        r = creds_get(m, on_fetched, w, &w->wait);
        if (r < 0) {
                s3_settings_free(s);
                free(w);
                return r;
        }
        *ret_wait = w;
        return 1;
}

void s3_site_cancel(s3_site_wait *w) {
        creds_wait_cancel(w->wait);
}

void s3_sites_shutdown(s3_sites *s) {
        if (s->imds) {
                creds_close(s->imds, NULL, NULL);
                s->imds = NULL;
        }
        while (s->fetchers) {
                s3_fetcher *f = s->fetchers;
                s->fetchers = f->next;
                creds_close(f->m, NULL, NULL);
                creds_secret_free(f->key);
                free(f);
        }
        s->files = s3_settings_context_free(s->files);
}
