/* SPDX-License-Identifier: MIT */
/* The credential chain of a request, in botocore's order (man fdsd,
 * CREDENTIALS), and completing it with what a source fetched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds.h"
#include "macro.h"
#include "s3_settings_resolver.h"
#include "xstr.h"

int s3_settings_check_whole(const char *const v[3], const char *const names[3], const char *where,
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

const char *const s3_settings_option_names[3] = { "access_key_id", "secret_access_key", "session_token" };
static const char *const env_names[3] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_SESSION_TOKEN" };
static const char *const file_names[3] = { "aws_access_key_id", "aws_secret_access_key",
                                           "aws_session_token" };

/* Take the credentials of one layer if it gives them: 1 taken, 0 none. */
static int take_credentials(resolver *rs, const char *const v[3], const char *const names[3],
                            const char *where, s3_credentials_source source, layer l) {
        s3_settings *s = rs->s;
        int r = s3_settings_check_whole(v, names, where, rs->ret_error);

        if (r <= 0)
                return r;
        s->access_key_id = strdup(v[0]);
        s->secret_access_key = strdup(v[1]);
        s->session_token = empty(v[2]) ? NULL : strdup(v[2]);
        s->credentials_origin = s3_settings_origin_of(rs, l, names[0]);
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

/* Providers fds lacks, which botocore would ask before the shared files'
 * keys: refuse rather than fall through to another identity. */
static int check_unsupported(resolver *rs) {
        const char *what = profile_value(rs, K_UNSUPPORTED);

        if (!what && profile_value(rs, K_ROLE_ARN) && profile_value(rs, K_MFA_SERIAL))
                what = "role_arn with mfa_serial (a code to type in)";
        if (what)
                return s3_settings_fail(
                        rs->ret_error, -EOPNOTSUPP,
                        "profile '%s' gets its credentials through %s, which fds does not support: give "
                        "aws_access_key_id and aws_secret_access_key, or use the instance's role",
                        rs->s->profile, what);
        return 0;
}

/* The whole keys of profile name's sections, the credentials file's first;
 * *ret_sec the section they are in. 0 (none: ids NULL) or 1. */
static int profile_keys(const resolver *rs, const char *name, const char *k[3], const file_section **ret_sec) {
        const file_section *secs[2] = { s3_settings_file_find(rs->credentials, SECTION_PROFILE, name),
                                        s3_settings_file_find(rs->config, SECTION_PROFILE, name) };
        for (size_t i = 0; i < 2; i++)
                if (secs[i] && !empty(secs[i]->v[K_ACCESS_KEY_ID]) && !empty(secs[i]->v[K_SECRET_ACCESS_KEY])) {
                        k[0] = secs[i]->v[K_ACCESS_KEY_ID];
                        k[1] = secs[i]->v[K_SECRET_ACCESS_KEY];
                        k[2] = !empty(secs[i]->v[K_SESSION_TOKEN]) ? secs[i]->v[K_SESSION_TOKEN]
                                                                   : secs[i]->v[K_SECURITY_TOKEN];
                        *ret_sec = secs[i];
                        return 1;
                }
        *ret_sec = secs[0] ? secs[0] : secs[1];
        return 0;
}

static int container_credentials(resolver *rs);

/* What signs a profile's AssumeRole: source_profile's keys or the
 * environment's (into k, *ret_from naming them), or credentials fds fetches
 * first (credential_source EcsContainer, Ec2InstanceMetadata: s's
 * container_url or imds_endpoint, *ret_from too). 0 or an error. */
static int role_source(resolver *rs, const char *k[3], char **ret_from) {
        const char *src = profile_value(rs, K_SOURCE_PROFILE), *cs = profile_value(rs, K_CREDENTIAL_SOURCE);
        const file_section *sec = NULL;
        s3_settings *s = rs->s;
        int r;

        if (src) {
                bool found = profile_keys(rs, src, k, &sec);
                if (!sec)
                        return s3_settings_fail(rs->ret_error, -ENOENT,
                                                "profile '%s' names source_profile '%s', which neither shared file has",
                                                s->profile, src);
                /* A source that assumes a role itself would be a chain; its own keys beside role_arn
                 * are used only when it names itself, as botocore does. */
                if (!found || (strcmp(src, s->profile) != 0 && (!empty(sec->v[K_ROLE_ARN]))))
                        return s3_settings_fail(rs->ret_error, found ? -EOPNOTSUPP : -EINVAL,
                                                found ? "profile '%s' names source_profile '%s', which assumes a role "
                                                        "itself: fds does not chain roles"
                                                      : "profile '%s' names source_profile '%s', which has no "
                                                        "aws_access_key_id and aws_secret_access_key",
                                                s->profile, src);
                *ret_from = xasprintf("source_profile '%s'", src);
        } else if (cs && strcasecmp(cs, "Environment") == 0) {
                for (size_t i = 0; i < 3; i++)
                        k[i] = env(rs, env_names[i]);
                if (!k[0] || !k[1])
                        return s3_settings_fail(rs->ret_error, -EINVAL,
                                                "profile '%s' has credential_source = Environment, but "
                                                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set",
                                                s->profile);
                *ret_from = strdup("the environment's keys");
        } else if (cs && strcasecmp(cs, "EcsContainer") == 0) {
                r = container_credentials(rs);
                if (r <= 0)
                        return r < 0 ? r
                                     : s3_settings_fail(rs->ret_error, -EINVAL,
                                                        "profile '%s' has credential_source = EcsContainer, but "
                                                        "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                                                        "AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
                                                        s->profile);
                *ret_from = xasprintf("the container credentials endpoint at %s",
                                      s3_settings_url_shown(s->container_url));
        } else if (cs && strcasecmp(cs, "Ec2InstanceMetadata") == 0) {
                if (is_true(env(rs, "AWS_EC2_METADATA_DISABLED")))
                        return s3_settings_fail(rs->ret_error, -ENOKEY,
                                                "profile '%s' has credential_source = Ec2InstanceMetadata, but "
                                                "AWS_EC2_METADATA_DISABLED=true",
                                                s->profile);
                r = s3_settings_imds_endpoint(rs->ctx->getenv_fn, rs->ctx->userdata, &s->imds_endpoint,
                                              rs->ret_error);
                if (r < 0)
                        return r;
                *ret_from = xasprintf("the instance metadata service at %s", s->imds_endpoint);
        } else
                return s3_settings_fail(rs->ret_error, cs ? -EOPNOTSUPP : -EINVAL,
                                        cs ? "profile '%s' has credential_source = %s: fds takes Environment, "
                                             "EcsContainer or Ec2InstanceMetadata (or a source_profile)"
                                           : "profile '%s' has role_arn but neither source_profile nor "
                                             "credential_source",
                                        s->profile, cs ? cs : "");
        return *ret_from ? 0 : -ENOMEM;
}

/* A role assumed with another identity's credentials (botocore's
 * AssumeRoleProvider, right after the environment's keys): role_arn with
 * source_profile or credential_source. 1 when STS is to be asked. */
static int assume_role_credentials(resolver *rs) {
        const char *arn = profile_value(rs, K_ROLE_ARN), *k[3] = { NULL, NULL, NULL };
        char *from = NULL;
        s3_settings *s = rs->s;
        int r;

        if (!arn || profile_value(rs, K_WEB_IDENTITY_TOKEN_FILE))
                return 0;
        r = role_source(rs, k, &from);
        if (r >= 0)
                r = s3_settings_set_string(&s->role_arn, arn);
        if (r >= 0 && k[0]) {
                r = s3_settings_set_string(&s->source_access_key_id, k[0]);
                if (r >= 0)
                        r = s3_settings_set_string(&s->source_secret_access_key, k[1]);
                if (r >= 0 && !empty(k[2]))
                        r = s3_settings_set_string(&s->source_session_token, k[2]);
        }
        if (r >= 0 && profile_value(rs, K_ROLE_SESSION_NAME))
                r = s3_settings_set_string(&s->role_session_name, profile_value(rs, K_ROLE_SESSION_NAME));
        if (r >= 0 && profile_value(rs, K_EXTERNAL_ID))
                r = s3_settings_set_string(&s->external_id, profile_value(rs, K_EXTERNAL_ID));
        if (r >= 0)
                r = s3_settings_sts_endpoint(rs->ctx->getenv_fn, rs->ctx->userdata, s->region, &s->sts_endpoint,
                                             rs->ret_error);
        if (r >= 0) {
                free(s->credentials_origin);
                s->credentials_origin = xasprintf("role '%s' assumed with %s from STS at %s, not fetched yet", arn,
                                                  from, s->sts_endpoint);
                r = s->credentials_origin ? 1 : -ENOMEM;
        }
        free(from);
        return r;
}

/* A role assumed with a web identity token (EKS IRSA), botocore's
 * AssumeRoleWithWebIdentityProvider: after the environment's keys, before
 * the shared files'; each setting from the environment, else the profile.
 * 1 when STS is to be asked. */
static int web_identity_credentials(resolver *rs) {
        /* A profile named in the call or the daemon's settings is botocore's
         * explicit profile: the environment's variables are not asked. */
        bool use_env = rs->profile_layer >= L_ENV;
        const char *file = use_env ? env(rs, "AWS_WEB_IDENTITY_TOKEN_FILE") : NULL;
        const char *arn = use_env ? env(rs, "AWS_ROLE_ARN") : NULL;
        const char *name = use_env ? env(rs, "AWS_ROLE_SESSION_NAME") : NULL;
        s3_settings *s = rs->s;
        int r;

        file = file ? file : profile_value(rs, K_WEB_IDENTITY_TOKEN_FILE);
        arn = arn ? arn : profile_value(rs, K_ROLE_ARN);
        name = name ? name : profile_value(rs, K_ROLE_SESSION_NAME);
        if (!file)
                return 0;
        if (!arn) /* botocore's InvalidConfigError too: not another identity instead */
                return s3_settings_fail(rs->ret_error, -EINVAL,
                                        "a web identity token file is set (%s) but no role to assume: set "
                                        "AWS_ROLE_ARN or the profile's role_arn",
                                        use_env && env(rs, "AWS_WEB_IDENTITY_TOKEN_FILE")
                                                ? "AWS_WEB_IDENTITY_TOKEN_FILE"
                                                : "web_identity_token_file");
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

        r = take_credentials(rs, o, s3_settings_option_names, "options.s3", S3_CREDENTIALS_OPTIONS, L_OPTIONS);
        if (r == 0 && rs->profile_layer >= L_DEFAULTS)
                r = take_credentials(rs, d, s3_settings_option_names, "the daemon defaults", S3_CREDENTIALS_DEFAULTS,
                                     L_DEFAULTS);
        if (r == 0 && rs->profile_layer >= L_ENV)
                r = take_credentials(rs, e, env_names, "the environment", S3_CREDENTIALS_ENVIRONMENT, L_ENV);
        if (r == 0)
                r = check_unsupported(rs);
        if (r == 0)
                r = assume_role_credentials(rs);
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

int s3_settings_resolve_credentials(resolver *rs) {
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

bool s3_settings_needs_imds(const s3_settings *s) {
        return s && s->credentials_source == S3_CREDENTIALS_NONE &&
               (s->role_arn || s->credential_process || s->container_url || s->imds_endpoint);
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
        else if (s->role_arn)
                origin = xasprintf("role '%s' assumed from STS at %s", s->role_arn, s->sts_endpoint);
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
                                : s->role_arn              ? S3_CREDENTIALS_ASSUME_ROLE
                                : s->credential_process    ? S3_CREDENTIALS_PROCESS
                                : s->container_url    ? S3_CREDENTIALS_CONTAINER
                                                      : S3_CREDENTIALS_IMDS;
        return 0;
}
