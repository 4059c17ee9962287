/* SPDX-License-Identifier: MIT */
/* Resolving the settings of a request, layer by layer (see s3_settings.h),
 * and completing them with credentials from the instance metadata service. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds.h"
#include "macro.h"
#include "s3_settings.h"
#include "s3_settings_internal.h"
#include "xstr.h"

static bool is_true(const char *v) {
        return v && strcasecmp(v, "true") == 0;
}

/* A layer giving credentials gives at least the key id and the secret:
 * 1 when it gives them, 0 when it gives nothing, -EINVAL otherwise. */
static int check_whole(const char *const v[3], const char *const names[3], const char *where,
                       char **ret_error) {
        bool id = !empty(v[0]), secret = !empty(v[1]), token = !empty(v[2]);

        if (id && secret)
                return 1;
        if (id || secret)
                return s3_settings_fail(ret_error, -EINVAL, "partial credentials: %s has %s but not %s",
                                        where, names[id ? 0 : 1], names[id ? 1 : 0]);
        if (token)
                return s3_settings_fail(ret_error, -EINVAL,
                                        "partial credentials: %s has %s but not %s or %s", where, names[2],
                                        names[0], names[1]);
        return 0;
}

static const char *const option_names[3] = { "access_key_id", "secret_access_key", "session_token" };
static const char *const env_names[3] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_SESSION_TOKEN" };
static const char *const file_names[3] = { "aws_access_key_id", "aws_secret_access_key",
                                           "aws_session_token" };

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
        r = check_whole(keys, option_names, "the daemon defaults", ret_error);
        return r < 0 ? r : 0;
}

/* ---- resolving ---- */

typedef enum layer {
        L_OPTIONS,
        L_DEFAULTS,
        L_ENV,
        L_CONFIG,
        L_SERVICES,
        L_CREDENTIALS,
        L_BUILTIN,
} layer;

typedef struct candidate {
        layer layer;
        const char *name; /* the option, variable or key */
        const char *value;
} candidate;

typedef struct resolver {
        s3_settings_context *ctx;
        const s3_settings_defaults *d;
        const json_t *o;
        char **ret_error;
        s3_settings *s;
        layer profile_layer;
        char *config_path; /* NULL when HOME is unknown */
        char *credentials_path;
        const shared_file *config, *credentials;
        const file_section *conf, *cred, *services;
} resolver;

static const char *env(const resolver *rs, const char *name) {
        const char *v = rs->ctx->getenv_fn(name, rs->ctx->userdata);
        return empty(v) ? NULL : v;
}

static const char *opt(const resolver *rs, const char *name) {
        const char *v = json_string_value(json_object_get(rs->o, name));
        return empty(v) ? NULL : v;
}

static const char *conf(const resolver *rs, file_key k) {
        return rs->conf && !empty(rs->conf->v[k]) ? rs->conf->v[k] : NULL;
}

static const char *cred(const resolver *rs, file_key k) {
        return rs->cred && !empty(rs->cred->v[k]) ? rs->cred->v[k] : NULL;
}

static char *origin_of(const resolver *rs, layer l, const char *name) {
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
                *ret_origin = origin_of(rs, c[i].layer, c[i].name);
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

/* Take the credentials of one layer if it gives them: 1 taken, 0 none. */
static int take_credentials(resolver *rs, const char *const v[3], const char *const names[3],
                            const char *where, s3_credentials_source source, layer l) {
        s3_settings *s = rs->s;
        int r = check_whole(v, names, where, rs->ret_error);

        if (r <= 0)
                return r;
        s->access_key_id = strdup(v[0]);
        s->secret_access_key = strdup(v[1]);
        s->session_token = empty(v[2]) ? NULL : strdup(v[2]);
        s->credentials_origin = origin_of(rs, l, names[0]);
        if (!s->access_key_id || !s->secret_access_key || (!empty(v[2]) && !s->session_token) ||
            !s->credentials_origin)
                return -ENOMEM;
        s->credentials_source = source;
        return 1;
}

static int file_credentials(resolver *rs, const file_section *sec, const char *path, bool config) {
        const char *v[3];
        char *where;
        int r;

        if (!sec)
                return 0;
        v[0] = sec->v[K_ACCESS_KEY_ID];
        v[1] = sec->v[K_SECRET_ACCESS_KEY];
        v[2] = !empty(sec->v[K_SESSION_TOKEN]) ? sec->v[K_SESSION_TOKEN] : sec->v[K_SECURITY_TOKEN];
        where = xasprintf("%s file '%s', profile '%s',", config ? "config" : "credentials", path, sec->name);
        if (!where)
                return -ENOMEM;
        r = take_credentials(rs, v, file_names, where,
                             config ? S3_CREDENTIALS_CONFIG_FILE : S3_CREDENTIALS_CREDENTIALS_FILE,
                             config ? L_CONFIG : L_CREDENTIALS);
        free(where);
        return r;
}

/* The profile's credential_process, between the credentials file's keys
 * and the config file's, as botocore's chain goes: 1 when it is to be run.
 * The credentials file's wins, as in botocore's merged profile. */
static int process_credentials(resolver *rs) {
        const file_section *sec = rs->cred && !empty(rs->cred->v[K_CREDENTIAL_PROCESS]) ? rs->cred : rs->conf;
        const char *cmd = sec ? sec->v[K_CREDENTIAL_PROCESS] : NULL;
        s3_settings *s = rs->s;
        int r;

        if (empty(cmd))
                return 0;
        r = s3_settings_set_string(&s->credential_process, cmd);
        if (r < 0)
                return r;
        free(s->credentials_origin);
        s->credentials_origin = xasprintf("credential_process of %s file '%s', profile '%s', not run yet",
                                          sec == rs->cred ? "credentials" : "config",
                                          sec == rs->cred ? rs->credentials_path : rs->config_path, s->profile);
        return s->credentials_origin ? 1 : -ENOMEM;
}

/* The profile's value of k: the credentials file's, else the config file's
 * (botocore merges the two so). */
static const char *profile_value(const resolver *rs, file_key k) {
        const char *v = cred(rs, k);
        return v ? v : conf(rs, k);
}

/* Providers fds lacks, which botocore would ask before the shared files'
 * keys: refuse rather than fall through to another identity. */
static int check_unsupported(resolver *rs) {
        const char *what = profile_value(rs, K_UNSUPPORTED);

        if (!what && profile_value(rs, K_ROLE_ARN) && !profile_value(rs, K_WEB_IDENTITY_TOKEN_FILE))
                what = "role_arn (STS AssumeRole with source_profile or credential_source)";
        if (what)
                return s3_settings_fail(
                        rs->ret_error, -EOPNOTSUPP,
                        "profile '%s' gets its credentials through %s, which fds does not support: give "
                        "aws_access_key_id and aws_secret_access_key, or use the instance's role",
                        rs->s->profile, what);
        return 0;
}

/* A role assumed with a web identity token (EKS IRSA), botocore's
 * AssumeRoleWithWebIdentityProvider: after the environment's keys, before
 * the shared files'; each setting from the environment, else the profile.
 * 1 when STS is to be asked. */
static int web_identity_credentials(resolver *rs) {
        const char *file = env(rs, "AWS_WEB_IDENTITY_TOKEN_FILE");
        const char *arn = env(rs, "AWS_ROLE_ARN");
        const char *name = env(rs, "AWS_ROLE_SESSION_NAME");
        s3_settings *s = rs->s;
        int r;

        file = file ? file : profile_value(rs, K_WEB_IDENTITY_TOKEN_FILE);
        arn = arn ? arn : profile_value(rs, K_ROLE_ARN);
        name = name ? name : profile_value(rs, K_ROLE_SESSION_NAME);
        if (!file || !arn)
                return 0; /* as botocore: a token without a role is no provider */
        r = s3_settings_set_string(&s->web_identity_token_file, file);
        if (r >= 0)
                r = s3_settings_set_string(&s->role_arn, arn);
        if (r >= 0 && name)
                r = s3_settings_set_string(&s->role_session_name, name);
        if (r >= 0)
                r = s3_settings_sts_endpoint(rs->ctx->getenv_fn, rs->ctx->userdata, s->region, &s->sts_endpoint,
                                             rs->ret_error);
        if (r < 0)
                return r;
        free(s->credentials_origin);
        s->credentials_origin = xasprintf("web identity: role '%s' from STS at %s, not fetched yet", arn,
                                          s->sts_endpoint);
        return s->credentials_origin ? 1 : -ENOMEM;
}

/* Credentials in the layers from options down to the one naming the profile,
 * in botocore's order. */
static int layer_credentials(resolver *rs) {
        const char *o[3] = { opt(rs, "access_key_id"), opt(rs, "secret_access_key"),
                             opt(rs, "session_token") };
        const char *d[3] = { rs->d->access_key_id, rs->d->secret_access_key, rs->d->session_token };
        const char *e[3] = { env(rs, env_names[0]), env(rs, env_names[1]), env(rs, env_names[2]) };
        int r;

        r = take_credentials(rs, o, option_names, "options.s3", S3_CREDENTIALS_OPTIONS, L_OPTIONS);
        if (r == 0 && rs->profile_layer >= L_DEFAULTS)
                r = take_credentials(rs, d, option_names, "the daemon defaults", S3_CREDENTIALS_DEFAULTS,
                                     L_DEFAULTS);
        if (r == 0 && rs->profile_layer >= L_ENV)
                r = take_credentials(rs, e, env_names, "the environment", S3_CREDENTIALS_ENVIRONMENT, L_ENV);
        if (r == 0)
                r = check_unsupported(rs);
        if (r == 0)
                r = web_identity_credentials(rs);
        if (r == 0)
                r = file_credentials(rs, rs->cred, rs->credentials_path, false);
        if (r == 0)
                r = process_credentials(rs);
        if (r == 0)
                r = file_credentials(rs, rs->conf, rs->config_path, true);
        return r;
}

/* After the shared files, before IMDS, as botocore's ContainerProvider: 1
 * when the container endpoint is to be asked. */
static int container_credentials(resolver *rs) {
        const char *rel = env(rs, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        const char *full = env(rs, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
        const char *token = env(rs, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        const char *token_file = env(rs, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        s3_settings *s = rs->s;
        int r;

        if (!rel && !full)
                return 0;
        r = s3_settings_container_url(rel, full, &s->container_url, rs->ret_error);
        if (r < 0)
                return r;
        if (token_file)
                r = s3_settings_set_string(&s->container_authorization_file, token_file);
        else if (token)
                r = s3_settings_set_string(&s->container_authorization, token);
        if (r < 0)
                return r;
        free(s->credentials_origin);
        s->credentials_origin = xasprintf("container credentials endpoint at %s, not fetched yet",
                                          s3_settings_url_shown(s->container_url));
        return s->credentials_origin ? 1 : -ENOMEM;
}

static int resolve_credentials(resolver *rs) {
        s3_settings *s = rs->s;
        int r;

        s->credentials_searched = xasprintf("%s or the shared files (profile '%s')",
                                            rs->profile_layer == L_OPTIONS ? "options.s3"
                                            : rs->profile_layer == L_DEFAULTS
                                                    ? "options.s3, the daemon defaults"
                                                    : "options.s3, the daemon defaults, the environment",
                                            s->profile);
        if (!s->credentials_searched)
                return -ENOMEM;
        r = layer_credentials(rs);
        if (r != 0)
                return r < 0 ? r : 0;
        r = container_credentials(rs);
        if (r != 0)
                return r < 0 ? r : 0;
        if (is_true(env(rs, "AWS_EC2_METADATA_DISABLED")))
                return s3_settings_fail(
                        rs->ret_error, -ENOKEY,
                        "no credentials: not in %s, and the instance metadata service is disabled "
                        "(AWS_EC2_METADATA_DISABLED=true)",
                        s->credentials_searched);
        r = s3_settings_imds_endpoint(rs->ctx->getenv_fn, rs->ctx->userdata, &s->imds_endpoint,
                                      rs->ret_error);
        if (r < 0)
                return r;
        s->credentials_origin =
                xasprintf("instance metadata service at %s, not fetched yet", s->imds_endpoint);
        return s->credentials_origin ? 0 : -ENOMEM;
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
                r = resolve_credentials(&rs);
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

bool s3_settings_needs_imds(const s3_settings *s) {
        return s && s->credentials_source == S3_CREDENTIALS_NONE &&
               (s->web_identity_token_file || s->credential_process || s->container_url || s->imds_endpoint);
}

int s3_settings_imds_endpoint(s3_settings_getenv_fn getenv_fn, void *userdata, char **ret_endpoint,
                              char **ret_error) {
        const char *v, *mode;
        endpoint e;
        int r;

        if (!getenv_fn)
                getenv_fn = s3_settings_getenv_process;
        v = getenv_fn("AWS_EC2_METADATA_SERVICE_ENDPOINT", userdata);
        if (empty(v)) {
                mode = getenv_fn("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", userdata);
                if (!empty(mode) && strcasecmp(mode, "IPv4") != 0 && strcasecmp(mode, "IPv6") != 0)
                        return s3_settings_fail(
                                ret_error, -EINVAL,
                                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is '%s', not IPv4 or IPv6",
                                s3_settings_url_shown(mode));
                v = !empty(mode) && strcasecmp(mode, "IPv6") == 0 ? S3_SETTINGS_IMDS_ENDPOINT_IPV6
                                                                  : S3_SETTINGS_IMDS_ENDPOINT;
        }
        r = s3_settings_endpoint_parse(v, "environment (AWS_EC2_METADATA_SERVICE_ENDPOINT)", &e, ret_error);
        if (r < 0)
                return r;
        free(e.host);
        *ret_endpoint = e.url;
        return 0;
}

int s3_settings_apply_imds(s3_settings *s, int error, const creds_value *c, const char *imds_message,
                           char **ret_error) {
        char *id = NULL, *secret = NULL, *token = NULL, *origin = NULL;

        if (!s3_settings_needs_imds(s))
                return -EINVAL;
        if (error < 0)
                return s3_settings_fail(
                        ret_error, error, "no credentials: not in %s, and %s", s->credentials_searched,
                        imds_message ? imds_message : "the instance metadata service failed");
        if (!c || empty(c->access_key_id) || empty(c->secret_access_key))
                return -EINVAL;
        id = strdup(c->access_key_id);
        secret = strdup(c->secret_access_key);
        token = empty(c->session_token) ? NULL : strdup(c->session_token);
        if (s->web_identity_token_file)
                origin = xasprintf("web identity: role '%s' from STS at %s", s->role_arn, s->sts_endpoint);
        else if (s->credential_process)
                origin = xasprintf("credential_process of profile '%s'", s->profile);
        else if (s->container_url)
                origin = xasprintf("container credentials endpoint at %s", s3_settings_url_shown(s->container_url));
        else
                origin = xasprintf("instance metadata service at %s, role '%s'", s->imds_endpoint,
                                   c->role ? c->role : "?");
        if (!id || !secret || (!empty(c->session_token) && !token) || !origin) {
                free(id);
                free(secret);
                free(token);
                free(origin);
                return -ENOMEM;
        }
        s->access_key_id = id;
        s->secret_access_key = secret;
        s->session_token = token;
        free(s->credentials_origin);
        s->credentials_origin = origin;
        s->credentials_expiration = c->expiration;
        s->credentials_source = s->web_identity_token_file ? S3_CREDENTIALS_WEB_IDENTITY
                                : s->credential_process    ? S3_CREDENTIALS_PROCESS
                                : s->container_url    ? S3_CREDENTIALS_CONTAINER
                                                      : S3_CREDENTIALS_IMDS;
        return 0;
}
