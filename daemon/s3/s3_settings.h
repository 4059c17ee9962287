/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The S3 endpoint, region, addressing style, profile and credentials one
 * request uses, resolved the way the AWS CLI and SDKs resolve them.
 *
 * Each setting comes from the first of these layers that gives it:
 *   1. the request's options.s3,
 *   2. the daemon's defaults (s3_settings_defaults, from flags and config),
 *   3. the environment (AWS_REGION, AWS_ENDPOINT_URL_S3, AWS_PROFILE, ...),
 *   4. the shared files for the selected profile: the config file
 *      (~/.aws/config, sections [default] and [profile NAME]) and the
 *      credentials file (~/.aws/credentials, sections [NAME]),
 *   5. built-in defaults: region us-east-1, the AWS endpoint of the region,
 *      virtual-hosted addressing for AWS and path style for other endpoints.
 * An empty string counts as not given, in every layer. A shared file that
 * does not exist or is not a regular file (AWS_SHARED_CREDENTIALS_FILE=
 * /dev/null, a directory) gives nothing, as botocore's os.path.isfile test.
 *
 * Credentials come whole from one layer: a layer that gives any of key id,
 * secret and session token must give the key id and the secret, or resolving
 * fails naming that layer. Within the shared files the credentials file goes
 * first; for the other settings the config file does. A profile named in
 * options.s3 or in the daemon defaults means "that profile's credentials":
 * credentials in the layers below the one naming it (daemon defaults,
 * environment) are then skipped, as the AWS CLI skips AWS_ACCESS_KEY_ID under
 * --profile. The profile's credential_process comes after the credentials
 * file's keys and before the config file's. When no layer gives credentials
 * they come, as botocore's chain goes on, from the container credentials
 * endpoint when
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI is set (ECS, EKS Pod
 * Identity), else from the EC2 instance metadata service:
 * s3_settings_needs_imds() says they must be fetched, the caller fetches
 * them (imds.h does both) and hands them over with s3_settings_apply_imds().
 *
 * TLS: AWS_CA_BUNDLE, else the profile's ca_bundle (config file), names
 * the PEM file trusted alone. With an https endpoint it must be a regular
 * file, checked here so that a typo fails with its name, not with a TLS
 * error on the first request.
 *
 * Endpoints: options.s3.endpoint_url, the daemon default, AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL, then from the config file the profile's nested
 * "s3 = / endpoint_url = ...", the "[services NAME]" section its
 * "services = NAME" points at, and the profile's endpoint_url.
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (or the profile's
 * ignore_configure_endpoint_urls = true) skips the environment and the
 * files. Without an endpoint, AWS's: https://s3.REGION.amazonaws.com
 * (".com.cn" for cn- regions), with AWS_USE_FIPS_ENDPOINT and
 * AWS_USE_DUALSTACK_ENDPOINT (or use_fips_endpoint, use_dualstack_endpoint)
 * honoured.
 *
 * Not supported, and refused with -EOPNOTSUPP rather than silently replaced
 * by another identity: profiles whose credentials come from role_arn,
 * sso_session/sso_start_url or web_identity_token_file,
 * and web identity credentials (AWS_WEB_IDENTITY_TOKEN_FILE).
 *
 * Cost: s3_settings_resolve() reads a few environment variables, stat()s the
 * two shared files and parses a file only when its path, inode, size, mtime
 * or ctime changed since the context last parsed it; a few small
 * allocations otherwise. Cheap enough per request. Nothing here is
 * thread-safe: one context per thread (the event loop's).
 *
 * Errors: functions return 0 or a negative errno; those taking ret_error
 * also set *ret_error on failure (when not NULL) to a malloc'd sentence for
 * the user, except for -ENOMEM and for -EINVAL from a NULL argument or a
 * call out of turn, which leave it alone. No string produced here contains
 * a secret access key or a session token, and access key ids appear masked
 * ("AKIA****MPLE").
 *
 * Shared files are parsed with inih; the one liberty taken is that lines
 * longer than inih's line buffer (session tokens) are read whole.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct creds_value;

/* Where the shared files are looked for when the environment does not name them. */
#define S3_SETTINGS_CONFIG_FILE "~/.aws/config"
#define S3_SETTINGS_CREDENTIALS_FILE "~/.aws/credentials"
#define S3_SETTINGS_IMDS_ENDPOINT "http://169.254.169.254"
#define S3_SETTINGS_IMDS_ENDPOINT_IPV6 "http://[fd00:ec2::254]"
#define S3_SETTINGS_CONTAINER_HOST "169.254.170.2" /* of AWS_CONTAINER_CREDENTIALS_RELATIVE_URI */
#define S3_SETTINGS_STS_GLOBAL "https://sts.amazonaws.com" /* signed for us-east-1 */
#define S3_SETTINGS_DEFAULT_REGION "us-east-1"
/* A shared file larger than this is refused (-EFBIG). */
#define S3_SETTINGS_FILE_MAX (1u << 20)

/* getenv(3) for the resolver: returns the variable's value or NULL. The
 * string must stay valid until the call that asked for it returns. */
typedef const char *(*s3_settings_getenv_fn)(const char *name, void *userdata);

/* The process environment, through getenv(3); userdata is unused. */
const char *s3_settings_getenv_process(const char *name, void *userdata);

/* The daemon's defaults (layer 2). Every field is a borrowed string, NULL or
 * "" when not set; addressing_style is "path", "virtual" or "auto". */
typedef struct s3_settings_defaults {
        const char *endpoint_url;
        const char *region;
        const char *addressing_style;
        const char *profile;
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token;
} s3_settings_defaults;

typedef enum s3_addressing_style {
        S3_ADDRESSING_VIRTUAL, /* https://bucket.host/key */
        S3_ADDRESSING_PATH,    /* https://host/bucket/key */
} s3_addressing_style;

typedef enum s3_credentials_source {
        S3_CREDENTIALS_NONE, /* not yet: s3_settings_needs_imds() */
        S3_CREDENTIALS_OPTIONS,
        S3_CREDENTIALS_DEFAULTS,
        S3_CREDENTIALS_ENVIRONMENT,
        S3_CREDENTIALS_CREDENTIALS_FILE,
        S3_CREDENTIALS_CONFIG_FILE,
        S3_CREDENTIALS_ASSUME_ROLE,
        S3_CREDENTIALS_WEB_IDENTITY,
        S3_CREDENTIALS_PROCESS,
        S3_CREDENTIALS_CONTAINER,
        S3_CREDENTIALS_IMDS,
        _S3_CREDENTIALS_SOURCE_MAX,
} s3_credentials_source;

/* The resolved settings of one request; everything is owned by the struct.
 * Read the fields freely; change them only through the functions below. */
typedef struct s3_settings {
        char *endpoint_url;  /* "scheme://host[:port]": lower case, no default port, no '/' */
        char *endpoint_host; /* "host[:port]" of endpoint_url: the Host header of path style */
        bool endpoint_https;
        bool endpoint_is_aws; /* *.amazonaws.com[.cn], given or built */
        char *region;
        s3_addressing_style addressing_style;
        char *profile; /* "default" unless one was named */
        /* A PEM file trusted alone over TLS: AWS_CA_BUNDLE, else the profile's
         * ca_bundle (botocore's order); NULL: the daemon's trust store. */
        char *ca_bundle;
        char *ca_bundle_origin;

        char *access_key_id; /* NULL while source is S3_CREDENTIALS_NONE */
        char *secret_access_key;
        char *session_token; /* NULL when there is none */
        s3_credentials_source credentials_source;
        int64_t credentials_expiration; /* Unix seconds; 0: does not expire */

        /* Where to fetch credentials when source is S3_CREDENTIALS_NONE: the
         * profile's credential_process when set, else the container endpoint
         * when container_url is set, else IMDS. */
        char *web_identity_token_file; /* with role_arn: STS AssumeRoleWithWebIdentity */
        char *role_arn;                /* without a token file: STS AssumeRole signed with these */
        char *source_access_key_id, *source_secret_access_key, *source_session_token;
        char *external_id;
        char *role_session_name; /* NULL: made up at each fetch */
        char *sts_endpoint;
        char *credential_process;
        char *container_url;
        char *container_authorization;      /* AWS_CONTAINER_AUTHORIZATION_TOKEN, a secret */
        char *container_authorization_file; /* ..._TOKEN_FILE, read at each fetch, wins */
        char *imds_endpoint;
        char *credentials_searched; /* "options.s3, ... or the shared files (profile 'x')", for messages */

        /* Where each setting came from, for display: "options.s3.region",
         * "environment (AWS_REGION)", "config file '/root/.aws/config',
         * profile 'x', region", "default", ... */
        char *endpoint_origin;
        char *region_origin;
        char *addressing_origin;
        char *profile_origin;
        char *credentials_origin;
} s3_settings;

typedef struct s3_settings_context s3_settings_context;

/* A context for resolving: reads the environment through getenv_fn and
 * caches parsed shared files. getenv_fn NULL means s3_settings_getenv_process.
 * Returns 0 or -ENOMEM. */
int s3_settings_context_new(s3_settings_getenv_fn getenv_fn, void *userdata, s3_settings_context **ret_ctx);
s3_settings_context *s3_settings_context_free(s3_settings_context *ctx);
/* Shared files parsed so far (cache misses), for tests and statistics. */
unsigned s3_settings_context_parses(const s3_settings_context *ctx);

/* Check the daemon's defaults once at start-up: endpoint URL, region and
 * addressing style well formed, credentials whole. 0 or -EINVAL. */
int s3_settings_check_defaults(const s3_settings_defaults *defaults, char **ret_error);

/*
 * Resolve the settings of a request. defaults may be NULL (none);
 * options_s3 is the request's options.s3 object as checked by
 * fds_options_parse(), or NULL. Besides -ENOMEM:
 *   -EINVAL      a malformed endpoint URL, region or addressing style,
 *                partial credentials, or a shared file that does not parse
 *   -ENOENT      a profile named explicitly is in neither shared file
 *                ("default" excepted, as with the AWS CLI)
 *   -EOPNOTSUPP  the credentials would come from a provider fds lacks
 *   -ENOKEY      no credentials anywhere and the metadata service is
 *                disabled (AWS_EC2_METADATA_DISABLED=true)
 *   -EACCES, -EIO, -EFBIG, ...   a shared file could not be read
 */
int s3_settings_resolve(s3_settings_context *ctx, const s3_settings_defaults *defaults,
                        const json_t *options_s3, s3_settings **ret_settings, char **ret_error);

s3_settings *s3_settings_free(s3_settings *s);

/* True when the credentials must still be fetched: by running
 * s->credential_process, from the container endpoint at s->container_url,
 * or from the instance metadata service at s->imds_endpoint, the first set. */
bool s3_settings_needs_imds(const s3_settings *s);

/* The endpoint of the instance metadata service this environment names
 * (AWS_EC2_METADATA_SERVICE_ENDPOINT, else by AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE
 * IPv4 or IPv6): what the daemon gives imds_new(). 0, -EINVAL or -ENOMEM. */
int s3_settings_imds_endpoint(s3_settings_getenv_fn getenv_fn, void *userdata, char **ret_endpoint,
                              char **ret_error);

/* Complete settings that needed IMDS with the outcome of imds_get_credentials():
 * error 0 and creds copies the credentials (source S3_CREDENTIALS_IMDS,
 * S3_CREDENTIALS_CONTAINER or S3_CREDENTIALS_PROCESS) and
 * returns 0; a negative error returns it again with *ret_error "no credentials:
 * not in options, ..., and " followed by imds_message. -EINVAL if s did not need
 * IMDS. */
int s3_settings_apply_imds(s3_settings *s, int error, const struct creds_value *creds,
                           const char *imds_message, char **ret_error);

/* Whether requests for bucket are virtual-hosted (bucket.host/key) rather
 * than path style (host/bucket/key): the addressing style says virtual and
 * the bucket can be a host name label under the endpoint. Names that are not
 * DNS-compatible (upper case, '_', too short or long) and, over https,
 * names with dots (the certificate's *.host would not match them) fall back
 * to path style, as does an endpoint given as an IP address. */
bool s3_settings_use_virtual(const s3_settings *s, const char *bucket);

/* The Host of requests for bucket: "bucket.s3.eu-west-1.amazonaws.com" when
 * virtual-hosted (returns 1; the path is "/KEY"), else endpoint_host
 * (returns 0; the path is "/BUCKET/KEY"). The URL is "http[s]://" HOST PATH.
 * -EINVAL for an empty bucket, -ENOMEM. */
int s3_settings_bucket_host(const s3_settings *s, const char *bucket, char **ret_host);

/* The settings as text for display, one "name  value  (origin)" line each,
 * with the access key id masked and the secret and token shown as "****". */
int s3_settings_format(const s3_settings *s, char **ret_text);

/* "AKIA****MPLE": the first and last four characters of an access key id of
 * 12 characters or more, else "****". buf needs 13 bytes. Returns buf. */
char *s3_settings_mask_key_id(const char *key_id, char buf[static 13]);
