/* SPDX-License-Identifier: MIT */
/*
 * Resolving S3 settings: every layer and what beats it, the shared files
 * (tests/data/aws/, through FDS_TEST_DATA), validation, addressing, masking.
 * The environment is a fake one handed to the resolver; the process's own is
 * never read or changed (except FDS_TEST_DATA and TMPDIR).
 */
#include "macro.h"
#include "s3_settings.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imds.h"
#include "fixture.h"

#define MAX_VARS 32

typedef struct fake_env {
        const char *name[MAX_VARS];
        const char *value[MAX_VARS];
        size_t n;
} fake_env;

static const char *fake_getenv(const char *name, void *userdata) {
        const fake_env *e = userdata;

        for (size_t i = e->n; i > 0; i--)
                if (strcmp(e->name[i - 1], name) == 0)
                        return e->value[i - 1];
        return NULL;
}

/* The last setting wins; value NULL unsets. */
static void env_set(fake_env *e, const char *name, const char *value) {
        for (size_t i = 0; i < e->n; i++)
                if (strcmp(e->name[i], name) == 0) {
                        e->value[i] = value;
                        return;
                }
        ck_assert_uint_lt(e->n, MAX_VARS);
        e->name[e->n] = name;
        e->value[e->n] = value;
        e->n++;
}

typedef struct T {
        fake_env env;
        char config[PATH_MAX];
        char credentials[PATH_MAX];
        char home[PATH_MAX];
        s3_settings_context *ctx;
        s3_settings *s;
        char *err;
        int r;
} T;

static const char *data_dir(void) {
        const char *d = getenv("FDS_TEST_DATA");
        return d && *d ? d : "tests/data";
}

/* A test world with the fixture files named (NULL: a file that does not exist)
 * and HOME pointing nowhere. */
static void t_init(T *t, const char *config, const char *credentials) {
        memset(t, 0, sizeof(*t));
        snprintf(t->config, sizeof(t->config), "%s/aws/%s", data_dir(), config ? config : "no-such-config");
        snprintf(t->credentials, sizeof(t->credentials), "%s/aws/%s", data_dir(),
                 credentials ? credentials : "no-such-credentials");
        snprintf(t->home, sizeof(t->home), "%s/aws/home", data_dir());
        env_set(&t->env, "HOME", "/nonexistent-fds-home");
        env_set(&t->env, "AWS_CONFIG_FILE", t->config);
        env_set(&t->env, "AWS_SHARED_CREDENTIALS_FILE", t->credentials);
        ck_assert_int_eq(s3_settings_context_new(fake_getenv, &t->env, &t->ctx), 0);
}

static int t_resolve(T *t, const s3_settings_defaults *d, const char *options_json) {
        json_t *o = NULL;

        t->s = s3_settings_free(t->s);
        free(t->err);
        t->err = NULL;
        if (options_json) {
                o = json_loads(options_json, 0, NULL);
                ck_assert_ptr_nonnull(o);
        }
        t->r = s3_settings_resolve(t->ctx, d, o, &t->s, &t->err);
        json_decref(o);
        if (t->r == 0) {
                ck_assert_ptr_nonnull(t->s);
                ck_assert_ptr_null(t->err);
        } else {
                ck_assert_ptr_null(t->s);
                ck_assert_ptr_nonnull(t->err);
        }
        return t->r;
}

static void t_done(T *t) {
        s3_settings_free(t->s);
        free(t->err);
        ck_assert_ptr_null(s3_settings_context_free(t->ctx));
}

#define assert_has(haystack, needle)                                                                        \
        do {                                                                                                \
                const char *h_ = (haystack);                                                                \
                ck_assert_msg(h_ &&strstr(h_, (needle)), "'%s' does not contain '%s'", h_ ? h_ : "(null)",  \
                              (needle));                                                                    \
        } while (0)

#define assert_lacks(haystack, needle)                                                                      \
        do {                                                                                                \
                const char *h_ = (haystack);                                                                \
                ck_assert_msg(!strstr(h_, (needle)), "'%s' contains '%s'", h_, (needle));                   \
        } while (0)

/* ---- built-in defaults ---- */

START_TEST(test_builtin_defaults) {
        T t;
        t_init(&t, NULL, NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->endpoint_url, "https://s3.us-east-1.amazonaws.com");
        ck_assert_str_eq(t.s->endpoint_host, "s3.us-east-1.amazonaws.com");
        ck_assert(t.s->endpoint_https);
        ck_assert(t.s->endpoint_is_aws);
        ck_assert_str_eq(t.s->region, "us-east-1");
        ck_assert_str_eq(t.s->region_origin, "default");
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_VIRTUAL);
        ck_assert_str_eq(t.s->profile, "default");
        ck_assert(s3_settings_needs_imds(t.s));
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_NONE);
        ck_assert_ptr_null(t.s->access_key_id);
        ck_assert_str_eq(t.s->imds_endpoint, "http://169.254.169.254");
        t_done(&t);
}
END_TEST

START_TEST(test_metadata_disabled) {
        T t;
        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_EC2_METADATA_DISABLED", "TRUE");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -ENOKEY);
        assert_has(t.err,
                   "no credentials: not in options.s3, the daemon defaults, the environment or the shared "
                   "files (profile 'default')");
        assert_has(t.err, "AWS_EC2_METADATA_DISABLED=true");
        /* Credentials from elsewhere make it irrelevant. */
        env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT001");
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "envsecret");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert(!s3_settings_needs_imds(t.s));
        t_done(&t);
}
END_TEST

/* ---- each layer and what beats it ---- */

static void set_env_layer(fake_env *e) {
        env_set(e, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT001");
        env_set(e, "AWS_SECRET_ACCESS_KEY", "envsecret");
        env_set(e, "AWS_SESSION_TOKEN", "envtoken");
        env_set(e, "AWS_REGION", "eu-west-2");
        env_set(e, "AWS_DEFAULT_REGION", "eu-west-3");
        env_set(e, "AWS_ENDPOINT_URL", "http://generic.example.com");
        env_set(e, "AWS_ENDPOINT_URL_S3", "http://s3only.example.com:9000");
}

START_TEST(test_environment_layer) {
        T t;
        t_init(&t, "config", "credentials");
        set_env_layer(&t.env);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIAENVIRONMENT001");
        ck_assert_str_eq(t.s->secret_access_key, "envsecret");
        ck_assert_str_eq(t.s->session_token, "envtoken");
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_ENVIRONMENT);
        ck_assert_int_eq(t.s->credentials_expiration, 0);
        ck_assert_str_eq(t.s->region, "eu-west-2");
        ck_assert_str_eq(t.s->region_origin, "environment (AWS_REGION)");
        ck_assert_str_eq(t.s->endpoint_url, "http://s3only.example.com:9000");
        ck_assert_str_eq(t.s->endpoint_origin, "environment (AWS_ENDPOINT_URL_S3)");
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_PATH);
        ck_assert(!t.s->endpoint_is_aws);

        /* The second choices of the environment. */
        env_set(&t.env, "AWS_REGION", NULL);
        env_set(&t.env, "AWS_ENDPOINT_URL_S3", "");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->region, "eu-west-3");
        ck_assert_str_eq(t.s->endpoint_url, "http://generic.example.com");
        ck_assert_str_eq(t.s->endpoint_origin, "environment (AWS_ENDPOINT_URL)");
        t_done(&t);
}
END_TEST

static const s3_settings_defaults daemon_defaults = {
        .endpoint_url = "https://defaults.example.com:8443",
        .region = "ca-central-1",
        .addressing_style = "virtual",
        .access_key_id = "AKIADAEMONDEFAULT1",
        .secret_access_key = "daemonsecret",
};

START_TEST(test_defaults_beat_environment) {
        T t;
        t_init(&t, "config", "credentials");
        set_env_layer(&t.env);
        ck_assert_int_eq(t_resolve(&t, &daemon_defaults, NULL), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIADAEMONDEFAULT1");
        ck_assert_ptr_null(t.s->session_token); /* not the environment's: credentials come whole */
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_DEFAULTS);
        ck_assert_str_eq(t.s->region, "ca-central-1");
        ck_assert_str_eq(t.s->region_origin, "daemon defaults (region)");
        ck_assert_str_eq(t.s->endpoint_url, "https://defaults.example.com:8443");
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_VIRTUAL);
        t_done(&t);
}
END_TEST

START_TEST(test_options_beat_defaults) {
        T t;
        t_init(&t, "config", "credentials");
        set_env_layer(&t.env);
        ck_assert_int_eq(
                t_resolve(&t, &daemon_defaults,
                          "{\"endpoint_url\": \"http://opt.example.com\", \"region\": \"us-west-2\","
                          " \"addressing_style\": \"path\", \"access_key_id\": \"AKIAOPTIONS0000001\","
                          " \"secret_access_key\": \"optsecret\", \"session_token\": \"opttoken\"}"),
                0);
        ck_assert_str_eq(t.s->access_key_id, "AKIAOPTIONS0000001");
        ck_assert_str_eq(t.s->session_token, "opttoken");
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_OPTIONS);
        ck_assert_str_eq(t.s->credentials_origin, "options.s3.access_key_id");
        ck_assert_str_eq(t.s->region, "us-west-2");
        ck_assert_str_eq(t.s->region_origin, "options.s3.region");
        ck_assert_str_eq(t.s->endpoint_url, "http://opt.example.com");
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_PATH);
        ck_assert_str_eq(t.s->addressing_origin, "options.s3.addressing_style");

        /* Empty strings and nulls count as not given. */
        ck_assert_int_eq(t_resolve(&t, &daemon_defaults, "{\"region\": \"\", \"endpoint_url\": null}"), 0);
        ck_assert_str_eq(t.s->region, "ca-central-1");
        ck_assert_str_eq(t.s->endpoint_url, "https://defaults.example.com:8443");
        t_done(&t);
}
END_TEST

/* ---- the shared files ---- */

START_TEST(test_files_default_profile) {
        T t;
        t_init(&t, "config", "credentials");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->region, "eu-west-1");
        ck_assert_str_eq(t.s->access_key_id, "AKIADEFAULTFILE001");
        ck_assert_str_eq(t.s->secret_access_key, "defaultfilesecret");
        ck_assert_ptr_null(t.s->session_token);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_CREDENTIALS_FILE);
        assert_has(t.s->credentials_origin, "credentials file '");
        assert_has(t.s->credentials_origin, "profile 'default'");
        assert_has(t.s->region_origin, "config file '");
        ck_assert_str_eq(t.s->endpoint_url, "https://s3.eu-west-1.amazonaws.com");
        /* The environment beats the files. */
        env_set(&t.env, "AWS_DEFAULT_REGION", "eu-south-1");
        env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT001");
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "envsecret");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->region, "eu-south-1");
        ck_assert_str_eq(t.s->access_key_id, "AKIAENVIRONMENT001");
        t_done(&t);
}
END_TEST

START_TEST(test_profile_sections) {
        T t;
        t_init(&t, "config", "credentials");
        /* [profile work] in the config file; the credentials file's [profile work] is another profile. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"work\"}"), 0);
        ck_assert_str_eq(t.s->profile, "work");
        ck_assert_str_eq(t.s->region, "eu-central-1");
        ck_assert_str_eq(t.s->endpoint_url, "http://s3.example.com:9000"); /* nested s3 beats endpoint_url */
        assert_has(t.s->endpoint_origin, "s3.endpoint_url");
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_VIRTUAL);
        assert_has(t.s->addressing_origin, "profile 'work', s3.addressing_style");
        t_done(&t);
}
END_TEST

START_TEST(test_profile_section_names) {
        T t;
        t_init(&t, "config", "credentials");
        /* Only the config file has [profile work]: no credentials from the files. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"work\"}"), 0);
        ck_assert(s3_settings_needs_imds(t.s));
        /* In the credentials file "[profile work]" names the profile "profile work". */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"profile work\"}"), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIANOTWORK0000001");
        ck_assert_str_eq(t.s->region, "us-east-1");
        /* In the config file [credsonly] is not a profile: its region is not used. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"credsonly\"}"), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIACREDSONLY00001");
        ck_assert_str_eq(t.s->region, "us-east-1");
        /* Credentials in the config file work too, and the credentials file goes first. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"onlyconfig\"}"), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIAONLYCONFIG0001");
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_CONFIG_FILE);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"both\"}"), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIABOTHFILES00001");
        ck_assert_str_eq(t.s->session_token, "bothtoken");
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_CREDENTIALS_FILE);
        ck_assert_str_eq(t.s->region, "ap-south-1");
        t_done(&t);
}
END_TEST

START_TEST(test_profile_precedence) {
        s3_settings_defaults d = { .profile = "onlyconfig" };
        T t;
        t_init(&t, "config", "credentials");
        env_set(&t.env, "AWS_DEFAULT_PROFILE", "credsonly");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->profile, "credsonly");
        ck_assert_str_eq(t.s->profile_origin, "environment (AWS_DEFAULT_PROFILE)");
        env_set(&t.env, "AWS_PROFILE", "both");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->profile, "both");
        ck_assert_int_eq(t_resolve(&t, &d, NULL), 0);
        ck_assert_str_eq(t.s->profile, "onlyconfig");
        ck_assert_str_eq(t.s->profile_origin, "daemon defaults (profile)");
        ck_assert_int_eq(t_resolve(&t, &d, "{\"profile\": \"work\"}"), 0);
        ck_assert_str_eq(t.s->profile, "work");
        ck_assert_str_eq(t.s->profile_origin, "options.s3.profile");
        t_done(&t);
}
END_TEST

START_TEST(test_missing_profile) {
        T t;
        t_init(&t, "config", "credentials");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"nope\"}"), -ENOENT);
        assert_has(t.err, "profile 'nope' (options.s3.profile) not found in '");
        assert_has(t.err, "/aws/config' or '");
        assert_has(t.err, "/aws/credentials'");
        env_set(&t.env, "AWS_PROFILE", "nope2");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -ENOENT);
        assert_has(t.err, "profile 'nope2' (environment (AWS_PROFILE)) not found");
        /* Even when everything else is given: the name is a mistake. */
        ck_assert_int_eq(t_resolve(&t, NULL,
                                   "{\"profile\": \"nope\", \"access_key_id\": \"AKIAOPTIONS0000001\","
                                   " \"secret_access_key\": \"s\"}"),
                         -ENOENT);
        t_done(&t);

        /* "default" may be missing, even when named (as with the AWS CLI); others may not. */
        t_init(&t, NULL, NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"default\"}"), 0);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"other\"}"), -ENOENT);
        t_done(&t);
}
END_TEST

START_TEST(test_named_profile_skips_lower_credentials) {
        s3_settings_defaults d = { .profile = "credsonly" };
        T t;
        t_init(&t, "config", "credentials");
        env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT001");
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "envsecret");
        /* Named in the request: that profile's credentials, not the environment's. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"both\"}"), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIABOTHFILES00001");
        assert_has(t.s->credentials_searched, "options.s3 or the shared files (profile 'both')");
        /* Named by the daemon: the same. */
        ck_assert_int_eq(t_resolve(&t, &d, NULL), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIACREDSONLY00001");
        /* Named in the environment: the environment's keys still win, as with the AWS CLI. */
        env_set(&t.env, "AWS_PROFILE", "both");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIAENVIRONMENT001");
        /* Keys in the layer naming the profile beat the profile. */
        ck_assert_int_eq(t_resolve(&t, NULL,
                                   "{\"profile\": \"both\", \"access_key_id\": \"AKIAOPTIONS0000001\","
                                   " \"secret_access_key\": \"s\"}"),
                         0);
        ck_assert_str_eq(t.s->access_key_id, "AKIAOPTIONS0000001");
        t_done(&t);
}
END_TEST

START_TEST(test_partial_credentials) {
        s3_settings_defaults d = { .secret_access_key = "daemonsecret" };
        T t;
        t_init(&t, "config", "credentials");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"access_key_id\": \"AKIAOPTIONS0000001\"}"), -EINVAL);
        ck_assert_str_eq(t.err,
                         "partial credentials: options.s3 has access_key_id but not secret_access_key");
        ck_assert_int_eq(t_resolve(&t, &d, NULL), -EINVAL);
        ck_assert_str_eq(
                t.err,
                "partial credentials: the daemon defaults has secret_access_key but not access_key_id");
        env_set(&t.env, "AWS_SESSION_TOKEN", "leftover");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        ck_assert_str_eq(t.err, "partial credentials: the environment has AWS_SESSION_TOKEN but not "
                                "AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY");
        env_set(&t.env, "AWS_SESSION_TOKEN", NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"partial\"}"), -EINVAL);
        assert_has(t.err, "partial credentials: credentials file '");
        assert_has(t.err, "profile 'partial', has aws_access_key_id but not aws_secret_access_key");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"partialconf\"}"), -EINVAL);
        assert_has(t.err, "partial credentials: config file '");
        /* No secret in any message. */
        assert_lacks(t.err, "secret ");
        t_done(&t);
}
END_TEST

START_TEST(test_services_and_nested) {
        T t;
        t_init(&t, "config", "credentials");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"svc\"}"), 0);
        ck_assert_str_eq(t.s->endpoint_url, "http://services.example.com");
        assert_has(t.s->endpoint_origin, "services 'mysvc', s3.endpoint_url");
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_PATH);
        /* The environment beats the files' endpoints... */
        env_set(&t.env, "AWS_ENDPOINT_URL", "http://env.example.com");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"svc\"}"), 0);
        ck_assert_str_eq(t.s->endpoint_url, "http://env.example.com");
        /* ...unless configured endpoints are ignored. */
        env_set(&t.env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"svc\"}"), 0);
        ck_assert_str_eq(t.s->endpoint_url, "https://s3.us-east-1.amazonaws.com");
        t_done(&t);
}
END_TEST

START_TEST(test_more_config) {
        T t;
        t_init(&t, "config-more", NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->endpoint_url, "https://s3-fips.dualstack.us-gov-west-1.amazonaws.com");
        assert_has(t.s->endpoint_origin, "FIPS, dual-stack");
        /* [default] and [profile default] are one profile. */
        ck_assert_str_eq(t.s->access_key_id, "AKIAMERGEDDEFAULT1");
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_CONFIG_FILE);
        env_set(&t.env, "AWS_USE_FIPS_ENDPOINT", "false");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->endpoint_url, "https://s3.dualstack.us-gov-west-1.amazonaws.com");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"china\"}"), 0);
        ck_assert_str_eq(t.s->endpoint_url, "https://s3.cn-north-1.amazonaws.com.cn");
        ck_assert(t.s->endpoint_is_aws);
        /* The profile's own ignore_configure_endpoint_urls. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"custom\"}"), 0);
        ck_assert_str_eq(t.s->endpoint_url, "https://s3.eu-west-3.amazonaws.com");
        env_set(&t.env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"custom\"}"), 0);
        ck_assert_str_eq(t.s->endpoint_url, "http://minio.local:9000");
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_PATH);
        /* auto: the default for the endpoint, here an AWS one given explicitly. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"auto\"}"), 0);
        ck_assert(t.s->endpoint_is_aws);
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_VIRTUAL);
        assert_has(t.s->addressing_origin, "default for AWS endpoints, auto from config file");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"pathstyle\"}"), 0);
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_PATH);
        ck_assert_int_eq(
                t_resolve(&t, NULL, "{\"profile\": \"pathstyle\", \"addressing_style\": \"virtual\"}"), 0);
        ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_VIRTUAL);
        t_done(&t);
}
END_TEST

START_TEST(test_home_paths) {
        T t;
        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_CONFIG_FILE", NULL);
        env_set(&t.env, "AWS_SHARED_CREDENTIALS_FILE", NULL);
        env_set(&t.env, "HOME", t.home);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->region, "eu-north-1");
        ck_assert_str_eq(t.s->access_key_id, "AKIAHOMEDIR0000001");
        /* "~" in the variables is HOME too. */
        env_set(&t.env, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/config");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert(s3_settings_needs_imds(t.s));
        /* No HOME: no shared files, and a named profile cannot be found. */
        env_set(&t.env, "AWS_SHARED_CREDENTIALS_FILE", NULL);
        env_set(&t.env, "HOME", NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->region, "us-east-1");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"x\"}"), -ENOENT);
        assert_has(t.err, "HOME is not set");
        t_done(&t);
}
END_TEST

START_TEST(test_long_lines) {
        char token[16 * 35 + 1] = "";
        T t;
        for (int i = 0; i < 35; i++)
                strcat(token, "IQoJb3JpZ2luX2Vj");
        t_init(&t, NULL, "credentials-long");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->access_key_id, "AKIALONGTOKEN00001");
        ck_assert_str_eq(t.s->secret_access_key, "longsecret");
        ck_assert_str_eq(t.s->session_token, token);
        t_done(&t);
}
END_TEST

START_TEST(test_broken_files) {
        T t;
        t_init(&t, "config-broken", "credentials");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        assert_has(t.err, "config-broken' line 3 is not 'name = value', a [section] or a comment");
        assert_lacks(t.err, "AKIA");
        assert_lacks(t.err, "secretsecret");
        /* The same answer from the cache, without parsing again. */
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        assert_has(t.err, "line 3");
        ck_assert_uint_eq(s3_settings_context_parses(t.ctx), 1);
        t_done(&t);

        t_init(&t, "config-indented", NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        assert_has(t.err, "config-indented' line 3 is indented");
        t_done(&t);

}
END_TEST

/* What botocore does (os.path.isfile): a path that is not a regular file is
 * no file, and the credentials come from the layer that has them. */
START_TEST(test_not_a_regular_file_is_no_file) {
        static const char *const paths[] = { "/dev/null", "/" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                T t;
                t_init(&t, NULL, NULL);
                env_set(&t.env, "AWS_SHARED_CREDENTIALS_FILE", paths[i]);
                env_set(&t.env, "AWS_CONFIG_FILE", paths[i]);
                env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT001");
                env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "envsecret");
                ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
                ck_assert_str_eq(t.s->access_key_id, "AKIAENVIRONMENT001");
                ck_assert_str_eq(t.s->region, "us-east-1");
                ck_assert_uint_eq(s3_settings_context_parses(t.ctx), 0);
                t_done(&t);

                /* Nothing in the environment either: the instance's role. */
                t_init(&t, NULL, NULL);
                env_set(&t.env, "AWS_SHARED_CREDENTIALS_FILE", paths[i]);
                ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
                ck_assert(s3_settings_needs_imds(t.s));
                t_done(&t);
        }
}
END_TEST

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(text, f), 0);
        ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_cache) {
        char dir[] = "/tmp/fds-s3-settings-XXXXXX", path[PATH_MAX];
        T t;
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/config", dir);
        write_file(path, "[default]\nregion = eu-west-1\n");
        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_CONFIG_FILE", path);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->region, "eu-west-1");
        ck_assert_uint_eq(s3_settings_context_parses(t.ctx), 1);
        for (int i = 0; i < 5; i++)
                ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_uint_eq(s3_settings_context_parses(t.ctx), 1);
        /* Same size, new content: seen (mtime, ctime). */
        write_file(path, "[default]\nregion = eu-west-2\n");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->region, "eu-west-2");
        ck_assert_uint_eq(s3_settings_context_parses(t.ctx), 2);
        /* Gone: no file. */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->region, "us-east-1");
        ck_assert_int_eq(rmdir(dir), 0);
        t_done(&t);
}
END_TEST

/* ---- validation ---- */

START_TEST(test_endpoint_validation) {
        static const struct {
                const char *url, *why;
        } bad[] = {
                { "ftp://example.com", "must be http://HOST[:PORT] or https://HOST[:PORT]" },
                { "s3.amazonaws.com", "must be http://HOST[:PORT]" },
                { "http://", "has no valid host" },
                { "https://example.com/bucket", "must not have a path, query or fragment" },
                { "https://example.com?x=1", "must not have a path" },
                { "https://example.com#f", "must not have a path" },
                { "https://user:hunter2@example.com", "must not contain user information" },
                { "https://example.com:0", "has no valid port" },
                { "https://example.com:99999", "has no valid port" },
                { "https://example.com:", "has no valid port" },
                { "https://exa mple.com", "has no valid host" },
                { "https://[::1", "has no valid host" },
        };
        static const struct {
                const char *url, *normal;
        } good[] = {
                { "HTTPS://Example.COM:443/", "https://example.com" },
                { "http://127.0.0.1:80", "http://127.0.0.1" },
                { "http://[::1]:9000", "http://[::1]:9000" },
                { "https://s3.example.com:8443", "https://s3.example.com:8443" },
        };
        char json[256];
        T t;
        t_init(&t, NULL, NULL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(json, sizeof(json), "{\"endpoint_url\": \"%s\"}", bad[i].url);
                ck_assert_int_eq(t_resolve(&t, NULL, json), -EINVAL);
                assert_has(t.err, bad[i].why);
                assert_has(t.err, "(options.s3.endpoint_url)");
                assert_lacks(t.err, "hunter2");
        }
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                snprintf(json, sizeof(json), "{\"endpoint_url\": \"%s\"}", good[i].url);
                ck_assert_int_eq(t_resolve(&t, NULL, json), 0);
                ck_assert_str_eq(t.s->endpoint_url, good[i].normal);
                ck_assert_int_eq(t.s->addressing_style, S3_ADDRESSING_PATH);
        }
        /* From the environment the message says so. */
        env_set(&t.env, "AWS_ENDPOINT_URL_S3", "minio:9000");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        ck_assert_str_eq(t.err, "endpoint URL 'minio:9000' (environment (AWS_ENDPOINT_URL_S3)) must be "
                                "http://HOST[:PORT] or https://HOST[:PORT]");
        t_done(&t);
}
END_TEST

START_TEST(test_region_validation) {
        T t;
        t_init(&t, "config", "credentials");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"region\": \"eu_west_1\"}"), -EINVAL);
        ck_assert_str_eq(t.err,
                         "region 'eu_west_1' (options.s3.region) is not valid: use letters, digits and "
                         "'-', as in eu-west-1");
        env_set(&t.env, "AWS_REGION", "eu-west-1/../x");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        assert_has(t.err, "(environment (AWS_REGION))");
        env_set(&t.env, "AWS_REGION", NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"badregion\"}"), -EINVAL);
        assert_has(t.err, "region 'eu west 1' (config file '");
        assert_has(t.err, "profile 'badregion', region)");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"region\": \"EU-West-1\"}"), 0);
        t_done(&t);
}
END_TEST

START_TEST(test_check_defaults) {
        s3_settings_defaults d = { .endpoint_url = "https://x.example.com/path" };
        char *err = NULL;

        ck_assert_int_eq(s3_settings_check_defaults(&d, &err), -EINVAL);
        assert_has(err, "(daemon defaults) must not have a path");
        free(err);
        d = (s3_settings_defaults){ .addressing_style = "dns" };
        ck_assert_int_eq(s3_settings_check_defaults(&d, &err), -EINVAL);
        ck_assert_str_eq(err, "addressing_style 'dns' (daemon defaults) must be path, virtual or auto");
        free(err);
        d = (s3_settings_defaults){ .access_key_id = "AKIADAEMONDEFAULT1" };
        ck_assert_int_eq(s3_settings_check_defaults(&d, &err), -EINVAL);
        assert_has(err, "partial credentials: the daemon defaults");
        free(err);
        ck_assert_int_eq(s3_settings_check_defaults(&daemon_defaults, NULL), 0);
}
END_TEST

/* ---- addressing ---- */

START_TEST(test_virtual_or_path) {
        char *host = NULL;
        T t;
        t_init(&t, NULL, NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"region\": \"eu-west-1\"}"), 0);
        ck_assert(s3_settings_use_virtual(t.s, "my-bucket"));
        ck_assert_int_eq(s3_settings_bucket_host(t.s, "my-bucket", &host), 1);
        ck_assert_str_eq(host, "my-bucket.s3.eu-west-1.amazonaws.com");
        free(host);
        /* Dots over https: the wildcard certificate would not match. */
        ck_assert(!s3_settings_use_virtual(t.s, "my.bucket"));
        ck_assert_int_eq(s3_settings_bucket_host(t.s, "my.bucket", &host), 0);
        ck_assert_str_eq(host, "s3.eu-west-1.amazonaws.com");
        free(host);
        /* Names that are no DNS label. */
        ck_assert(!s3_settings_use_virtual(t.s, "My_Bucket"));
        ck_assert(!s3_settings_use_virtual(t.s, "ab"));
        ck_assert(!s3_settings_use_virtual(t.s, "-bucket"));
        ck_assert(!s3_settings_use_virtual(t.s, "192.168.1.1"));
        ck_assert_int_eq(s3_settings_bucket_host(t.s, "", &host), -EINVAL);

        /* Over http dots are fine. */
        ck_assert_int_eq(t_resolve(&t, NULL,
                                   "{\"endpoint_url\": \"http://minio.local:9000\","
                                   " \"addressing_style\": \"virtual\"}"),
                         0);
        ck_assert(s3_settings_use_virtual(t.s, "my.bucket"));
        ck_assert_int_eq(s3_settings_bucket_host(t.s, "my.bucket", &host), 1);
        ck_assert_str_eq(host, "my.bucket.minio.local:9000");
        free(host);
        /* Path style is path style. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"endpoint_url\": \"http://minio.local:9000\"}"), 0);
        ck_assert(!s3_settings_use_virtual(t.s, "bucket"));
        /* An IP address cannot carry a bucket label. */
        ck_assert_int_eq(t_resolve(&t, NULL,
                                   "{\"endpoint_url\": \"http://127.0.0.1:9000\","
                                   " \"addressing_style\": \"virtual\"}"),
                         0);
        ck_assert(!s3_settings_use_virtual(t.s, "bucket"));
        ck_assert_int_eq(t_resolve(&t, NULL,
                                   "{\"endpoint_url\": \"http://[::1]:9000\","
                                   " \"addressing_style\": \"virtual\"}"),
                         0);
        ck_assert(!s3_settings_use_virtual(t.s, "bucket"));
        t_done(&t);
}
END_TEST

/* ---- display ---- */

START_TEST(test_masking) {
        char buf[13], *text = NULL;
        T t;

        ck_assert_str_eq(s3_settings_mask_key_id("AKIAIOSFODNN7EXAMPLE", buf), "AKIA****MPLE");
        ck_assert_str_eq(s3_settings_mask_key_id("AKIA1234567", buf), "****");
        ck_assert_str_eq(s3_settings_mask_key_id(NULL, buf), "****");

        t_init(&t, NULL, NULL);
        ck_assert_int_eq(t_resolve(&t, NULL,
                                   "{\"access_key_id\": \"AKIAIOSFODNN7EXAMPLE\","
                                   " \"secret_access_key\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\","
                                   " \"session_token\": \"FwoGZXIvYXdzEXAMPLETOKEN\"}"),
                         0);
        ck_assert_int_eq(s3_settings_format(t.s, &text), 0);
        assert_has(text, "access_key_id      AKIA****MPLE  (options: options.s3.access_key_id)");
        assert_has(text, "secret_access_key  ****\n");
        assert_has(text, "session_token      ****\n");
        assert_has(text,
                   "endpoint_url       https://s3.us-east-1.amazonaws.com  (default for region us-east-1)");
        assert_has(text, "expiration         never\n");
        assert_lacks(text, "AKIAIOSFODNN7EXAMPLE");
        assert_lacks(text, "wJalr");
        assert_lacks(text, "EXAMPLEKEY");
        assert_lacks(text, "FwoGZXIvYXdz");
        free(text);

        /* Not yet fetched from IMDS. */
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_int_eq(s3_settings_format(t.s, &text), 0);
        assert_has(text,
                   "access_key_id      -  (none yet: instance metadata service at http://169.254.169.254, "
                   "not fetched yet)");
        free(text);
        t_done(&t);
}
END_TEST

/* ---- the metadata service ---- */

START_TEST(test_imds_endpoint) {
        char *e = NULL, *err = NULL;
        fake_env env = { .n = 0 };

        ck_assert_int_eq(s3_settings_imds_endpoint(fake_getenv, &env, &e, &err), 0);
        ck_assert_str_eq(e, "http://169.254.169.254");
        free(e);
        env_set(&env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "ipv6");
        ck_assert_int_eq(s3_settings_imds_endpoint(fake_getenv, &env, &e, &err), 0);
        ck_assert_str_eq(e, "http://[fd00:ec2::254]");
        free(e);
        env_set(&env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5");
        ck_assert_int_eq(s3_settings_imds_endpoint(fake_getenv, &env, &e, &err), -EINVAL);
        assert_has(err, "not IPv4 or IPv6");
        free(err);
        env_set(&env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8099/");
        ck_assert_int_eq(s3_settings_imds_endpoint(fake_getenv, &env, &e, &err), 0);
        ck_assert_str_eq(e, "http://127.0.0.1:8099");
        free(e);
        env_set(&env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "169.254.169.254");
        ck_assert_int_eq(s3_settings_imds_endpoint(fake_getenv, &env, &e, &err), -EINVAL);
        assert_has(err, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
        free(err);
}
END_TEST

START_TEST(test_imds_apply) {
        creds_value c = {
                .access_key_id = "ASIAIMDSEXAMPLE0001",
                .secret_access_key = "imdssecret",
                .session_token = "imdstoken",
                .expiration = 1700000000,
                .role = "my-role",
                .endpoint = "http://127.0.0.1:8099",
        };
        char *text = NULL, *err = NULL;
        T t;

        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8099");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert(s3_settings_needs_imds(t.s));
        ck_assert_str_eq(t.s->imds_endpoint, "http://127.0.0.1:8099");
        ck_assert_int_eq(s3_settings_apply_imds(t.s, -ECONNREFUSED, NULL,
                                                "the instance metadata service did not answer at "
                                                "http://127.0.0.1:8099 (Connection refused; 2 attempts)",
                                                &err),
                         -ECONNREFUSED);
        ck_assert_str_eq(
                err, "no credentials: not in options.s3, the daemon defaults, the environment or the "
                     "shared files (profile 'default'), and the instance metadata service did not answer "
                     "at http://127.0.0.1:8099 (Connection refused; 2 attempts)");
        free(err);
        ck_assert(s3_settings_needs_imds(t.s));
        ck_assert_int_eq(s3_settings_apply_imds(t.s, 0, &c, NULL, &err), 0);
        ck_assert(!s3_settings_needs_imds(t.s));
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_IMDS);
        ck_assert_str_eq(t.s->access_key_id, "ASIAIMDSEXAMPLE0001");
        ck_assert_str_eq(t.s->session_token, "imdstoken");
        ck_assert_int_eq(t.s->credentials_expiration, 1700000000);
        ck_assert_str_eq(t.s->credentials_origin, "instance metadata service at http://127.0.0.1:8099, role "
                                                  "'my-role'");
        ck_assert_int_eq(s3_settings_format(t.s, &text), 0);
        assert_has(text, "expiration         2023-11-14T22:13:20Z\n");
        assert_lacks(text, "imdssecret");
        assert_lacks(text, "imdstoken");
        free(text);
        /* Only once, and only for settings that needed it. */
        ck_assert_int_eq(s3_settings_apply_imds(t.s, 0, &c, NULL, &err), -EINVAL);
        t_done(&t);
}
END_TEST

/* botocore's ContainerProvider: after the shared files, before IMDS; the
 * relative URI wins over the full one, the token file over the token, and
 * plain http goes only to loopback or the ECS/EKS agents. */
START_TEST(test_container_credentials) {
        creds_value c = {
                .access_key_id = "ASIACONTAINER00001",
                .secret_access_key = "containersecret",
                .session_token = "containertoken",
                .expiration = 1700000000,
                .endpoint = "http://127.0.0.1:8099/creds",
        };
        char *err = NULL;
        T t;

        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8099/creds");
        env_set(&t.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert(s3_settings_needs_imds(t.s));
        ck_assert_str_eq(t.s->container_url, "http://127.0.0.1:8099/creds");
        ck_assert_str_eq(t.s->container_authorization, "tok");
        ck_assert_ptr_null(t.s->container_authorization_file);
        ck_assert_str_eq(t.s->credentials_origin,
                         "container credentials endpoint at http://127.0.0.1:8099/creds, not fetched yet");
        ck_assert_int_eq(s3_settings_apply_imds(t.s, 0, &c, NULL, &err), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_CONTAINER);
        ck_assert_str_eq(t.s->access_key_id, "ASIACONTAINER00001");
        ck_assert_str_eq(t.s->session_token, "containertoken");
        ck_assert_str_eq(t.s->credentials_origin, "container credentials endpoint at http://127.0.0.1:8099/creds");

        /* The token file wins over the token; the relative URI over the full one. */
        env_set(&t.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/token");
        env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->container_url, "http://169.254.170.2/v2/credentials/abc");
        ck_assert_str_eq(t.s->container_authorization_file, "/var/run/token");
        ck_assert_ptr_null(t.s->container_authorization);
        env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/credentials");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        assert_has(t.err, "must begin with '/'");
        env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", NULL);

        /* Which hosts plain http may go to. */
        static const char *const ok[] = { "http://localhost:80/x", "http://127.1.2.3/x", "http://[::1]:9/x",
                                          "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/x",
                                          "https://creds.example.com/x" };
        static const char *const bad[] = { "http://example.com/x", "http://10.0.0.1/x", "ftp://127.0.0.1/x",
                                           "127.0.0.1/x", "http://user@127.0.0.1/x", "http://127.0.0.1:99999/x" };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", ok[i]);
                ck_assert_msg(t_resolve(&t, NULL, NULL) == 0, "%s: %s", ok[i], t.err);
                ck_assert_str_eq(t.s->container_url, ok[i]);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", bad[i]);
                ck_assert_msg(t_resolve(&t, NULL, NULL) == -EINVAL, "%s", bad[i]);
                assert_has(t.err, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
        }
        env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/x");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        assert_has(t.err, "neither a loopback address nor 169.254.170.2");

        /* Keys in the environment and the shared files come first. */
        env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001");
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "s");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_ENVIRONMENT);
        ck_assert(!s3_settings_needs_imds(t.s));
        env_set(&t.env, "AWS_ACCESS_KEY_ID", NULL);
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", NULL);
        free(err);
        t_done(&t);

        t_init(&t, NULL, "credentials");
        env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8099/creds");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_CREDENTIALS_FILE);
        t_done(&t);
}
END_TEST

/* A shared file of the test's own, in a temporary directory. */
static void temp_file(char *path, size_t size, const char *name, const char *text) {
        static char dir[64];
        if (!dir[0]) {
                snprintf(dir, sizeof(dir), "/tmp/fds-settings-XXXXXX");
                ck_assert_ptr_nonnull(mkdtemp(dir));
        }
        snprintf(path, size, "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(text, f), 0);
        ck_assert_int_eq(fclose(f), 0);
}

/* botocore's order: the credentials file's keys, then credential_process
 * (the credentials file's over the config file's), then the config file's
 * keys; a role to assume beats it. */
START_TEST(test_credential_process) {
        char conf[PATH_MAX], cred[PATH_MAX];
        creds_value c = { .access_key_id = "AKIAPROCESS0000001", .secret_access_key = "ps", .expiration = 0 };
        char *err = NULL;
        T t;

        temp_file(conf, sizeof(conf), "config",
                  "[profile proc]\ncredential_process = /usr/bin/helper --profile 'a b'\n"
                  "aws_access_key_id = AKIACONFIG00000001\naws_secret_access_key = cs\n"
                  "[profile both]\ncredential_process = helper-from-config\n"
                  "[profile role]\ncredential_process = helper\nrole_arn = arn:aws:iam::1:role/r\n");
        temp_file(cred, sizeof(cred), "credentials",
                  "[both]\ncredential_process = helper-from-credentials\n"
                  "[keys]\naws_access_key_id = AKIACREDFILE000001\naws_secret_access_key = s\n");
        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_CONFIG_FILE", conf);
        env_set(&t.env, "AWS_SHARED_CREDENTIALS_FILE", cred);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"proc\"}"), 0);
        ck_assert(s3_settings_needs_imds(t.s));
        ck_assert_str_eq(t.s->credential_process, "/usr/bin/helper --profile 'a b'");
        assert_has(t.s->credentials_origin, "credential_process of config file '");
        ck_assert_int_eq(s3_settings_apply_imds(t.s, 0, &c, NULL, &err), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_PROCESS);
        ck_assert_str_eq(t.s->access_key_id, "AKIAPROCESS0000001");
        ck_assert_str_eq(t.s->credentials_origin, "credential_process of profile 'proc'");

        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"both\"}"), 0);
        ck_assert_str_eq(t.s->credential_process, "helper-from-credentials");

        /* role_arn goes first, and without a source it is a mistake, as in botocore. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"role\"}"), -EINVAL);
        assert_has(t.err, "profile 'role' has role_arn but neither source_profile nor credential_source");

        /* Keys above it in the chain win; a failed run is told with what was searched. */
        env_set(&t.env, "AWS_PROFILE", "proc");
        env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001");
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "s");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_ENVIRONMENT);
        env_set(&t.env, "AWS_ACCESS_KEY_ID", NULL);
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_int_eq(s3_settings_apply_imds(t.s, -EPERM, NULL,
                                                "credential_process of profile 'proc' exited with status 1: no",
                                                &err),
                         -EPERM);
        assert_has(err, "and credential_process of profile 'proc' exited with status 1: no");
        free(err);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"keys\"}"), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_CREDENTIALS_FILE);
        t_done(&t);
        unlink(conf);
        unlink(cred);
}
END_TEST

/* botocore's AssumeRoleProvider: right after the environment's keys,
 * role_arn signed with source_profile's keys or the environment's. */
START_TEST(test_assume_role) {
        char conf[PATH_MAX], cred[PATH_MAX];
        creds_value c = { .access_key_id = "ASIAASSUMED0000001", .secret_access_key = "as", .expiration = 1 };
        char *err = NULL;
        T t;

        temp_file(conf, sizeof(conf), "config-assume",
                  "[profile assume]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
                  "external_id = ext-1\nrole_session_name = my-session\n"
                  "aws_access_key_id = AKIAIGNORED0000001\naws_secret_access_key = x\n"
                  "[profile self]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = self\n"
                  "aws_access_key_id = AKIASELF0000000001\naws_secret_access_key = ss\n"
                  "[profile envrole]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
                  "[profile imdsrole]\nrole_arn = arn:aws:iam::1:role/i\ncredential_source = Ec2InstanceMetadata\n"
                  "[profile ecsrole]\nrole_arn = arn:aws:iam::1:role/ecs\ncredential_source = EcsContainer\n"
                  "[profile oddrole]\nrole_arn = arn:aws:iam::1:role/o\ncredential_source = Somewhere\n"
                  "[profile chain]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = assume\n"
                  "[profile nokeys]\nrole_arn = arn:aws:iam::1:role/n\nsource_profile = empty\n"
                  "[profile empty]\nregion = eu-west-1\n"
                  "[profile lost]\nrole_arn = arn:aws:iam::1:role/l\nsource_profile = nowhere\n"
                  "[profile mfa]\nrole_arn = arn:aws:iam::1:role/m\nsource_profile = base\nmfa_serial = arn:m\n");
        temp_file(cred, sizeof(cred), "credentials-assume",
                  "[base]\naws_access_key_id = AKIABASE0000000001\naws_secret_access_key = bs\n"
                  "aws_session_token = bt\n");
        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_CONFIG_FILE", conf);
        env_set(&t.env, "AWS_SHARED_CREDENTIALS_FILE", cred);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"assume\"}"), 0);
        ck_assert(s3_settings_needs_imds(t.s));
        ck_assert_str_eq(t.s->role_arn, "arn:aws:iam::1:role/r");
        ck_assert_ptr_null(t.s->web_identity_token_file);
        ck_assert_str_eq(t.s->source_access_key_id, "AKIABASE0000000001");
        ck_assert_str_eq(t.s->source_secret_access_key, "bs");
        ck_assert_str_eq(t.s->source_session_token, "bt");
        ck_assert_str_eq(t.s->external_id, "ext-1");
        ck_assert_str_eq(t.s->role_session_name, "my-session");
        ck_assert_str_eq(t.s->sts_endpoint, "https://sts.us-east-1.amazonaws.com");
        ck_assert_str_eq(t.s->credentials_origin, "role 'arn:aws:iam::1:role/r' assumed with source_profile 'base' "
                                                  "from STS at https://sts.us-east-1.amazonaws.com, not fetched yet");
        ck_assert_int_eq(s3_settings_apply_imds(t.s, 0, &c, NULL, &err), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_ASSUME_ROLE);

        /* A profile that is its own source uses its keys. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"self\"}"), 0);
        ck_assert_str_eq(t.s->source_access_key_id, "AKIASELF0000000001");

        /* credential_source = Environment: a profile named in the call skips
         * the environment's own provider, so its keys sign the AssumeRole. */
        env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001");
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "es");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"envrole\"}"), 0);
        ck_assert_str_eq(t.s->source_access_key_id, "AKIAENVIRONMENT0001");
        ck_assert_ptr_null(t.s->source_session_token);
        /* Named only by AWS_PROFILE, the environment's keys come first. */
        env_set(&t.env, "AWS_PROFILE", "envrole");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_ENVIRONMENT);
        env_set(&t.env, "AWS_PROFILE", NULL);
        env_set(&t.env, "AWS_ACCESS_KEY_ID", NULL);
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"envrole\"}"), -EINVAL);
        assert_has(t.err, "credential_source = Environment, but AWS_ACCESS_KEY_ID");

        /* Sources fetched first: IMDS, the container endpoint. */
        env_set(&t.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8099");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"imdsrole\"}"), 0);
        ck_assert_str_eq(t.s->role_arn, "arn:aws:iam::1:role/i");
        ck_assert_ptr_null(t.s->source_access_key_id);
        ck_assert_str_eq(t.s->imds_endpoint, "http://127.0.0.1:8099");
        assert_has(t.s->credentials_origin, "assumed with the instance metadata service at http://127.0.0.1:8099");
        env_set(&t.env, "AWS_EC2_METADATA_DISABLED", "true");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"imdsrole\"}"), -ENOKEY);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"ecsrole\"}"), -EINVAL);
        assert_has(t.err, "credential_source = EcsContainer, but neither");
        env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:8098/creds");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"ecsrole\"}"), 0);
        ck_assert_str_eq(t.s->container_url, "http://127.0.0.1:8098/creds");
        ck_assert_str_eq(t.s->role_arn, "arn:aws:iam::1:role/ecs");
        env_set(&t.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);

        /* What fds does not do, and mistakes, are told. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"oddrole\"}"), -EOPNOTSUPP);
        assert_has(t.err, "credential_source = Somewhere");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"chain\"}"), -EOPNOTSUPP);
        assert_has(t.err, "which assumes a role itself");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"nokeys\"}"), -EINVAL);
        assert_has(t.err, "source_profile 'empty', which has no aws_access_key_id");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"lost\"}"), -ENOENT);
        assert_has(t.err, "source_profile 'nowhere', which neither shared file has");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"mfa\"}"), -EOPNOTSUPP);
        assert_has(t.err, "mfa_serial");
        free(err);
        t_done(&t);
        unlink(conf);
        unlink(cred);
}
END_TEST

START_TEST(test_unsupported_providers) {
        T t;
        t_init(&t, "config", "credentials");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"sso\"}"), -EOPNOTSUPP);
        ck_assert_str_eq(t.err, "profile 'sso' gets its credentials through sso_session, which fds does not "
                                "support: give aws_access_key_id and aws_secret_access_key, or use the "
                                "instance's role");
        /* Keys from a higher layer make it irrelevant. */
        ck_assert_int_eq(t_resolve(&t, NULL,
                                   "{\"profile\": \"sso\", \"access_key_id\": \"AKIAOPTIONS0000001\","
                                   " \"secret_access_key\": \"s\"}"),
                         0);
        t_done(&t);
}
END_TEST

/* botocore's AssumeRoleWithWebIdentityProvider: after the environment's
 * keys, before the shared files'; each setting from the environment, else
 * the profile; STS's endpoint from the environment or the region. */
START_TEST(test_web_identity) {
        char conf[PATH_MAX], cred[PATH_MAX];
        creds_value c = { .access_key_id = "ASIAWEBIDENTITY001", .secret_access_key = "ws",
                          .session_token = "wt", .expiration = 1700000000 };
        char *err = NULL;
        T t;

        temp_file(conf, sizeof(conf), "config-web",
                  "[profile irsa]\nrole_arn = arn:aws:iam::1:role/from-profile\n"
                  "web_identity_token_file = /profile/token\nrole_session_name = profile-session\n");
        temp_file(cred, sizeof(cred), "credentials-web",
                  "[default]\naws_access_key_id = AKIACREDFILE000001\naws_secret_access_key = s\n");
        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_CONFIG_FILE", conf);
        env_set(&t.env, "AWS_SHARED_CREDENTIALS_FILE", cred);
        env_set(&t.env, "AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token");
        /* A token without a role is a mistake, as in botocore. */
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        assert_has(t.err, "a web identity token file is set (AWS_WEB_IDENTITY_TOKEN_FILE) but no role");

        /* It goes before the credentials file's keys. */
        env_set(&t.env, "AWS_ROLE_ARN", "arn:aws:iam::1:role/from-env");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert(s3_settings_needs_imds(t.s));
        ck_assert_str_eq(t.s->web_identity_token_file, "/var/run/secrets/token");
        ck_assert_str_eq(t.s->role_arn, "arn:aws:iam::1:role/from-env");
        ck_assert_ptr_null(t.s->role_session_name);
        ck_assert_str_eq(t.s->sts_endpoint, "https://sts.us-east-1.amazonaws.com");
        ck_assert_str_eq(t.s->credentials_origin, "web identity: role 'arn:aws:iam::1:role/from-env' from STS at "
                                                  "https://sts.us-east-1.amazonaws.com, not fetched yet");
        ck_assert_int_eq(s3_settings_apply_imds(t.s, 0, &c, NULL, &err), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_WEB_IDENTITY);
        ck_assert_str_eq(t.s->session_token, "wt");

        /* STS's endpoint. */
        env_set(&t.env, "AWS_STS_REGIONAL_ENDPOINTS", "legacy");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->sts_endpoint, "https://sts.amazonaws.com");
        /* Legacy mode is for botocore's 16 old regions only. */
        env_set(&t.env, "AWS_REGION", "eu-south-1");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->sts_endpoint, "https://sts.eu-south-1.amazonaws.com");
        env_set(&t.env, "AWS_REGION", "cn-north-1");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->sts_endpoint, "https://sts.cn-north-1.amazonaws.com.cn");
        env_set(&t.env, "AWS_ENDPOINT_URL", "http://127.0.0.1:7480");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->sts_endpoint, "http://127.0.0.1:7480");
        env_set(&t.env, "AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9999/");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->sts_endpoint, "http://127.0.0.1:9999");
        env_set(&t.env, "AWS_ENDPOINT_URL_STS", "ftp://x");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), -EINVAL);
        assert_has(t.err, "AWS_ENDPOINT_URL_STS");
        env_set(&t.env, "AWS_ENDPOINT_URL_STS", NULL);
        env_set(&t.env, "AWS_ENDPOINT_URL", NULL);
        env_set(&t.env, "AWS_REGION", NULL);
        env_set(&t.env, "AWS_STS_REGIONAL_ENDPOINTS", NULL);

        /* The environment's keys win; the profile's settings fill in, the environment's over them. */
        env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001");
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "s");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_ENVIRONMENT);
        env_set(&t.env, "AWS_ACCESS_KEY_ID", NULL);
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", NULL);
        env_set(&t.env, "AWS_WEB_IDENTITY_TOKEN_FILE", NULL);
        env_set(&t.env, "AWS_ROLE_ARN", NULL);
        env_set(&t.env, "AWS_ROLE_SESSION_NAME", "env-session");
        env_set(&t.env, "AWS_PROFILE", "irsa");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_str_eq(t.s->web_identity_token_file, "/profile/token");
        ck_assert_str_eq(t.s->role_arn, "arn:aws:iam::1:role/from-profile");
        ck_assert_str_eq(t.s->role_session_name, "env-session");
        env_set(&t.env, "AWS_PROFILE", NULL);
        /* Named in the call: botocore's explicit profile, no environment. */
        env_set(&t.env, "AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token");
        env_set(&t.env, "AWS_ROLE_ARN", "arn:aws:iam::1:role/from-env");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"irsa\"}"), 0);
        ck_assert_str_eq(t.s->web_identity_token_file, "/profile/token");
        ck_assert_str_eq(t.s->role_arn, "arn:aws:iam::1:role/from-profile");
        ck_assert_str_eq(t.s->role_session_name, "profile-session");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"default\"}"), 0);
        ck_assert_int_eq(t.s->credentials_source, S3_CREDENTIALS_CREDENTIALS_FILE);
        env_set(&t.env, "AWS_WEB_IDENTITY_TOKEN_FILE", NULL);
        env_set(&t.env, "AWS_ROLE_ARN", NULL);

        free(err);
        t_done(&t);
        unlink(conf);
        unlink(cred);
}
END_TEST

/* botocore's order: AWS_CA_BUNDLE, then the profile's ca_bundle; a path
 * that is relative, missing or not a file fails, naming where it came from. */
START_TEST(test_ca_bundle) {
        char conf[PATH_MAX], pem[PATH_MAX], other[PATH_MAX], bad[4 * PATH_MAX + 256];
        T t;

        temp_file(pem, sizeof(pem), "ca.pem", "not checked here\n");
        temp_file(other, sizeof(other), "other.pem", "not checked here\n");
        snprintf(bad, sizeof(bad), "[profile rel]\nca_bundle = no-such-ca.pem\n[profile missing]\nca_bundle = %s.gone\n"
                                   "[profile dir]\nca_bundle = /tmp\n[profile tls]\nca_bundle = %s\n"
                                   "[profile plain]\nendpoint_url = http://127.0.0.1:9\nca_bundle = %s.gone\n",
                 pem, pem, pem);
        temp_file(conf, sizeof(conf), "config-ca", bad);
        t_init(&t, NULL, NULL);
        env_set(&t.env, "AWS_CONFIG_FILE", conf);
        env_set(&t.env, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT0001");
        env_set(&t.env, "AWS_SECRET_ACCESS_KEY", "s");
        ck_assert_int_eq(t_resolve(&t, NULL, NULL), 0);
        ck_assert_ptr_null(t.s->ca_bundle);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"tls\"}"), 0);
        ck_assert_str_eq(t.s->ca_bundle, pem);
        assert_has(t.s->ca_bundle_origin, "profile 'tls', ca_bundle");
        env_set(&t.env, "AWS_CA_BUNDLE", other);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"tls\"}"), 0);
        ck_assert_str_eq(t.s->ca_bundle, other);
        ck_assert_str_eq(t.s->ca_bundle_origin, "environment (AWS_CA_BUNDLE)");
        env_set(&t.env, "AWS_CA_BUNDLE", NULL);
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"rel\"}"), -EINVAL);
        assert_has(t.err, "'no-such-ca.pem': no such file");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"missing\"}"), -EINVAL);
        assert_has(t.err, ".gone': no such file");
        assert_has(t.err, "profile 'missing', ca_bundle");
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"dir\"}"), -EINVAL);
        assert_has(t.err, "'/tmp' is not a regular file");
        /* No TLS, no check: the bundle would not be read. */
        ck_assert_int_eq(t_resolve(&t, NULL, "{\"profile\": \"plain\"}"), 0);
        t_done(&t);
        unlink(conf);
        unlink(pem);
        unlink(other);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("s3_settings");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_builtin_defaults);
        tcase_add_test(tc, test_metadata_disabled);
        tcase_add_test(tc, test_environment_layer);
        tcase_add_test(tc, test_defaults_beat_environment);
        tcase_add_test(tc, test_options_beat_defaults);
        tcase_add_test(tc, test_files_default_profile);
        tcase_add_test(tc, test_profile_sections);
        tcase_add_test(tc, test_profile_section_names);
        tcase_add_test(tc, test_profile_precedence);
        tcase_add_test(tc, test_missing_profile);
        tcase_add_test(tc, test_named_profile_skips_lower_credentials);
        tcase_add_test(tc, test_partial_credentials);
        tcase_add_test(tc, test_services_and_nested);
        tcase_add_test(tc, test_more_config);
        tcase_add_test(tc, test_home_paths);
        tcase_add_test(tc, test_long_lines);
        tcase_add_test(tc, test_broken_files);
        tcase_add_test(tc, test_not_a_regular_file_is_no_file);
        tcase_add_test(tc, test_cache);
        tcase_add_test(tc, test_endpoint_validation);
        tcase_add_test(tc, test_region_validation);
        tcase_add_test(tc, test_check_defaults);
        tcase_add_test(tc, test_virtual_or_path);
        tcase_add_test(tc, test_masking);
        tcase_add_test(tc, test_imds_endpoint);
        tcase_add_test(tc, test_imds_apply);
        tcase_add_test(tc, test_container_credentials);
        tcase_add_test(tc, test_credential_process);
        tcase_add_test(tc, test_unsupported_providers);
        tcase_add_test(tc, test_web_identity);
        tcase_add_test(tc, test_assume_role);
        tcase_add_test(tc, test_ca_bundle);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fixture_run(suite());
}
