/* SPDX-License-Identifier: MIT */
/* Resolving the settings of a request, layer by layer (see s3_settings.h);
 * the credentials are s3_settings_creds.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "macro.h"
#include "s3_settings_resolver.h"
#include "xstr.h"

int s3_settings_check_defaults(const s3_settings_defaults *d, char **ret_error) {
        const char *keys[3] = { d->access_key_id, d->secret_access_key, d->session_token };
        int r;

        if (!empty(d->endpoint_url)) {
                endpoint e;
                r = s3_settings_endpoint_parse(d->endpoint_url, "daemon defaults", &e, ret_error);
                if (r < 0)
                        return r;
                s3_settings_endpoint_done(&e);
        }
        if (!empty(d->region)) {
                r = s3_settings_check_region(d->region, "daemon defaults", ret_error);
                if (r < 0)
                        return r;
        }
        if (!empty(d->addressing_style)) {
                r = s3_settings_check_addressing(d->addressing_style, "daemon defaults", ret_error);
                if (r < 0)
                        return r;
        }
        r = s3_settings_check_whole(keys, s3_settings_option_names, "the daemon defaults", ret_error);
        return r < 0 ? r : 0;
}

/* ---- resolving ---- */

char *s3_settings_origin_of(const resolver *rs, layer l, const char *name) {
        switch (l) {
        case L_OPTIONS:
                return xasprintf("options.s3.%s", name);
        case L_DEFAULTS:
                return xasprintf("daemon defaults (%s)", name);
        case L_ENV:
                return xasprintf("environment (%s)", name);
        case L_CONFIG:
                return xasprintf("config file '%s', profile '%s', %s", rs->config_path, rs->s->profile,
                                 name);
        case L_SERVICES:
                return xasprintf("config file '%s', services '%s', %s", rs->config_path, rs->services->name,
                                 name);
        case L_CREDENTIALS:
                return xasprintf("credentials file '%s', profile '%s', %s", rs->credentials_path,
                                 rs->s->profile, name);
        case L_BUILTIN:
        default:
                return strdup(name);
        }
}

/* The first candidate with a value, its origin in *ret_origin. NULL if none. */
static const candidate *pick(const resolver *rs, const candidate *c, size_t n, char **ret_origin,
                             int *ret_r) {
        for (size_t i = 0; i < n; i++) {
                if (empty(c[i].value))
                        continue;
                *ret_origin = s3_settings_origin_of(rs, c[i].layer, c[i].name);
                *ret_r = *ret_origin ? 0 : -ENOMEM;
                return &c[i];
        }
        *ret_r = 0;
        return NULL;
}

static int resolve_profile(resolver *rs) {
        const candidate c[] = {
                { L_OPTIONS, "profile", opt(rs, "profile") },
                { L_DEFAULTS, "profile", rs->d->profile },
                { L_ENV, "AWS_PROFILE", env(rs, "AWS_PROFILE") },
                { L_ENV, "AWS_DEFAULT_PROFILE", env(rs, "AWS_DEFAULT_PROFILE") },
        };
        const candidate *p;
        int r;

        p = pick(rs, c, ELEMENTSOF(c), &rs->s->profile_origin, &r);
        if (r < 0)
                return r;
        rs->profile_layer = p ? p->layer : L_BUILTIN;
        if (!p && !(rs->s->profile_origin = strdup("default")))
                return -ENOMEM;
        return s3_settings_set_string(&rs->s->profile, p ? p->value : "default");
}

/* AWS_CONFIG_FILE or ~/.aws/config, with "~" expanded; NULL when HOME is not known. */
static int file_path(const resolver *rs, const char *var, const char *def, char **ret) {
        const char *p = env(rs, var), *home;

        if (!p)
                p = def;
        if (p[0] != '~' || (p[1] != '/' && p[1] != '\0'))
                return (*ret = strdup(p)) ? 0 : -ENOMEM;
        home = env(rs, "HOME");
        if (!home)
                return (*ret = NULL, 0);
        return (*ret = xasprintf("%s%s", home, p + 1)) ? 0 : -ENOMEM;
}

static int resolve_files(resolver *rs) {
        const char *name = rs->s->profile;
        int r;

        r = file_path(rs, "AWS_CONFIG_FILE", S3_SETTINGS_CONFIG_FILE, &rs->config_path);
        if (r == 0)
                r = file_path(rs, "AWS_SHARED_CREDENTIALS_FILE", S3_SETTINGS_CREDENTIALS_FILE,
                              &rs->credentials_path);
        if (r == 0 && rs->config_path)
                r = s3_settings_context_load(rs->ctx, rs->config_path, true, &rs->config, rs->ret_error);
        if (r == 0 && rs->credentials_path)
                r = s3_settings_context_load(rs->ctx, rs->credentials_path, false, &rs->credentials,
                                             rs->ret_error);
        if (r < 0)
                return r;
        rs->conf = s3_settings_file_find(rs->config, SECTION_PROFILE, name);
        rs->cred = s3_settings_file_find(rs->credentials, SECTION_PROFILE, name);
        /* Like the CLI, a missing "default" is no error even when named. */
        if (!rs->conf && !rs->cred && rs->profile_layer != L_BUILTIN && strcmp(name, "default") != 0) {
                if (!rs->config_path && !rs->credentials_path)
                        return s3_settings_fail(
                                rs->ret_error, -ENOENT,
                                "profile '%s' (%s) not found: HOME is not set, so there are no shared files",
                                name, rs->s->profile_origin);
                return s3_settings_fail(
                        rs->ret_error, -ENOENT, "profile '%s' (%s) not found in '%s' or '%s'", name,
                        rs->s->profile_origin, rs->config_path ? rs->config_path : "~/.aws/config",
                        rs->credentials_path ? rs->credentials_path : "~/.aws/credentials");
        }
        if (conf(rs, K_SERVICES)) {
                rs->services = s3_settings_file_find(rs->config, SECTION_SERVICES, conf(rs, K_SERVICES));
                if (!rs->services)
                        return s3_settings_fail(
                                rs->ret_error, -EINVAL,
                                "profile '%s' names services '%s', which config file '%s' does not have",
                                name, conf(rs, K_SERVICES), rs->config_path);
        }
        return 0;
}

static int resolve_region(resolver *rs) {
        const candidate c[] = {
                { L_OPTIONS, "region", opt(rs, "region") },
                { L_DEFAULTS, "region", rs->d->region },
                { L_ENV, "AWS_REGION", env(rs, "AWS_REGION") },
                { L_ENV, "AWS_DEFAULT_REGION", env(rs, "AWS_DEFAULT_REGION") },
                { L_CONFIG, "region", conf(rs, K_REGION) },
                { L_CREDENTIALS, "region", cred(rs, K_REGION) },
                { L_BUILTIN, "default", S3_SETTINGS_DEFAULT_REGION },
        };
        const candidate *p;
        int r;

        p = pick(rs, c, ELEMENTSOF(c), &rs->s->region_origin, &r);
        if (r < 0)
                return r;
        r = s3_settings_check_region(p->value, rs->s->region_origin, rs->ret_error);
        if (r < 0)
                return r;
        return s3_settings_set_string(&rs->s->region, p->value);
}

/* An environment variable saying true or false, else the profile's key. */
static bool flag(const resolver *rs, const char *var, file_key k) {
        const char *v = env(rs, var);

        if (v)
                return is_true(v);
        return is_true(conf(rs, k)) || (!conf(rs, k) && is_true(cred(rs, k)));
}

static int aws_endpoint(resolver *rs, endpoint *ret) {
        const char *region = rs->s->region;
        bool fips = flag(rs, "AWS_USE_FIPS_ENDPOINT", K_USE_FIPS);
        bool dualstack = flag(rs, "AWS_USE_DUALSTACK_ENDPOINT", K_USE_DUALSTACK);
        const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
        endpoint e = { .https = true, .is_aws = true };

        e.host = xasprintf("%s.%s%s.%s", fips ? "s3-fips" : "s3", dualstack ? "dualstack." : "", region,
                           suffix);
        e.url = e.host ? xasprintf("https://%s", e.host) : NULL;
        rs->s->endpoint_origin = xasprintf("default for region %s%s%s", region, fips ? ", FIPS" : "",
                                           dualstack ? ", dual-stack" : "");
        if (!e.url || !rs->s->endpoint_origin) {
                s3_settings_endpoint_done(&e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

static int resolve_endpoint(resolver *rs) {
        bool ignore = flag(rs, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", K_IGNORE_ENDPOINT_URLS);
        const candidate c[] = {
                { L_OPTIONS, "endpoint_url", opt(rs, "endpoint_url") },
                { L_DEFAULTS, "endpoint_url", rs->d->endpoint_url },
                { L_ENV, "AWS_ENDPOINT_URL_S3", ignore ? NULL : env(rs, "AWS_ENDPOINT_URL_S3") },
                { L_ENV, "AWS_ENDPOINT_URL", ignore ? NULL : env(rs, "AWS_ENDPOINT_URL") },
                { L_CONFIG, "s3.endpoint_url", ignore ? NULL : conf(rs, K_S3_ENDPOINT_URL) },
                { L_SERVICES, "s3.endpoint_url",
                  ignore || !rs->services ? NULL : rs->services->v[K_S3_ENDPOINT_URL] },
                { L_CONFIG, "endpoint_url", ignore ? NULL : conf(rs, K_ENDPOINT_URL) },
                { L_CREDENTIALS, "s3.endpoint_url", ignore ? NULL : cred(rs, K_S3_ENDPOINT_URL) },
                { L_CREDENTIALS, "endpoint_url", ignore ? NULL : cred(rs, K_ENDPOINT_URL) },
        };
        const candidate *p;
        endpoint e;
        int r;

        p = pick(rs, c, ELEMENTSOF(c), &rs->s->endpoint_origin, &r);
        if (r < 0)
                return r;
        r = p ? s3_settings_endpoint_parse(p->value, rs->s->endpoint_origin, &e, rs->ret_error)
              : aws_endpoint(rs, &e);
        if (r < 0)
                return r;
        rs->s->endpoint_url = e.url;
        rs->s->endpoint_host = e.host;
        rs->s->endpoint_https = e.https;
        rs->s->endpoint_is_aws = e.is_aws;
        return 0;
}

static int resolve_addressing(resolver *rs) {
        const candidate c[] = {
                { L_OPTIONS, "addressing_style", opt(rs, "addressing_style") },
                { L_DEFAULTS, "addressing_style", rs->d->addressing_style },
                { L_CONFIG, "s3.addressing_style", conf(rs, K_S3_ADDRESSING_STYLE) },
                { L_CREDENTIALS, "s3.addressing_style", cred(rs, K_S3_ADDRESSING_STYLE) },
        };
        s3_settings *s = rs->s;
        const candidate *p;
        char *origin = NULL;
        int r;

        p = pick(rs, c, ELEMENTSOF(c), &origin, &r);
        if (r < 0)
                return r;
        if (p && (r = s3_settings_check_addressing(p->value, origin, rs->ret_error)) < 0) {
                free(origin);
                return r;
        }
        if (p && strcmp(p->value, "auto") != 0) {
                s->addressing_style =
                        strcmp(p->value, "path") == 0 ? S3_ADDRESSING_PATH : S3_ADDRESSING_VIRTUAL;
                s->addressing_origin = origin;
                return 0;
        }
        s->addressing_style = s->endpoint_is_aws ? S3_ADDRESSING_VIRTUAL : S3_ADDRESSING_PATH;
        s->addressing_origin = xasprintf("%s%s%s",
                                         s->endpoint_is_aws ? "default for AWS endpoints"
                                                            : "default for endpoints other than AWS",
                                         p ? ", auto from " : "", p ? origin : "");
        free(origin);
        return s->addressing_origin ? 0 : -ENOMEM;
}

static int resolve_ca_bundle(resolver *rs) {
        const candidate c[] = {
                { L_ENV, "AWS_CA_BUNDLE", env(rs, "AWS_CA_BUNDLE") },
                { L_CONFIG, "ca_bundle", conf(rs, K_CA_BUNDLE) },
        };
        s3_settings *s = rs->s;
        struct stat st;
        const candidate *p;
        int r;

        p = pick(rs, c, ELEMENTSOF(c), &s->ca_bundle_origin, &r);
        if (r < 0 || !p)
                return r;
        /* Checked only where TLS is spoken; a relative path is the daemon's
         * working directory's, as botocore takes it from its own. */
        if (!s->endpoint_https)
                return s3_settings_set_string(&s->ca_bundle, p->value);
        if (stat(p->value, &st) < 0)
                return s3_settings_fail(rs->ret_error, -EINVAL, "%s: '%s': %s", s->ca_bundle_origin, p->value,
                                        errno == ENOENT ? "no such file" : strerror(errno));
        if (!S_ISREG(st.st_mode))
                return s3_settings_fail(rs->ret_error, -EINVAL, "%s: '%s' is not a regular file",
                                        s->ca_bundle_origin, p->value);
        return s3_settings_set_string(&s->ca_bundle, p->value);
}

int s3_settings_resolve(s3_settings_context *ctx, const s3_settings_defaults *defaults,
                        const json_t *options_s3, s3_settings **ret_settings, char **ret_error) {
        static const s3_settings_defaults no_defaults = { 0 };
        resolver rs = {
                .ctx = ctx,
                .d = defaults ? defaults : &no_defaults,
                .o = options_s3,
                .ret_error = ret_error,
        };
        int r;

        if (!ctx || !ret_settings)
                return -EINVAL;
        rs.s = calloc(1, sizeof(*rs.s));
        if (!rs.s)
                return -ENOMEM;
        r = resolve_profile(&rs);
        if (r == 0)
                r = resolve_files(&rs);
        if (r == 0)
                r = resolve_region(&rs);
        if (r == 0)
                r = resolve_endpoint(&rs);
        if (r == 0)
                r = resolve_addressing(&rs);
        if (r == 0)
                r = resolve_ca_bundle(&rs);
        if (r == 0)
                r = s3_settings_resolve_credentials(&rs);
        if (r == 0) {
                *ret_settings = rs.s;
                rs.s = NULL;
        }
        free(rs.config_path);
        free(rs.credentials_path);
        s3_settings_free(rs.s);
        return r;
}

s3_settings *s3_settings_free(s3_settings *s) {
        if (!s)
                return NULL;
        free(s->endpoint_url);
        free(s->endpoint_host);
        free(s->region);
        free(s->profile);
        free(s->ca_bundle);
        free(s->ca_bundle_origin);
        free(s->access_key_id);
        if (s->secret_access_key)
                explicit_bzero(s->secret_access_key, strlen(s->secret_access_key));
        free(s->secret_access_key);
        if (s->session_token)
                explicit_bzero(s->session_token, strlen(s->session_token));
        free(s->session_token);
        free(s->imds_endpoint);
        free(s->container_url);
        free(s->credential_process);
        free(s->web_identity_token_file);
        free(s->source_access_key_id);
        if (s->source_secret_access_key)
                explicit_bzero(s->source_secret_access_key, strlen(s->source_secret_access_key));
        free(s->source_secret_access_key);
        if (s->source_session_token)
                explicit_bzero(s->source_session_token, strlen(s->source_session_token));
        free(s->source_session_token);
        free(s->external_id);
        free(s->role_arn);
        free(s->role_session_name);
        free(s->sts_endpoint);
        if (s->container_authorization)
                explicit_bzero(s->container_authorization, strlen(s->container_authorization));
        free(s->container_authorization);
        free(s->container_authorization_file);
        free(s->endpoint_origin);
        free(s->region_origin);
        free(s->addressing_origin);
        free(s->profile_origin);
        free(s->credentials_origin);
        free(s->credentials_searched);
        free(s);
        return NULL;
}

/* ---- the metadata service ---- */
