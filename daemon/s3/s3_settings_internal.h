/* SPDX-License-Identifier: MIT */
#pragma once

/* What the parts of s3_settings (s3_settings.c resolving, s3_settings_files.c
 * the shared files, s3_settings_values.c single values) share. Not for
 * other modules: the public interface is s3_settings.h. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "s3_settings.h"

/* Parsed shared files kept by a context: the config and credentials files
 * of the environment, and room for a change of AWS_CONFIG_FILE. */
#define CACHE_FILES 4

static inline bool empty(const char *s) {
        return !s || !*s;
}

/* Returns r; with ret_error set, *ret_error becomes the formatted message
 * (-ENOMEM instead when that fails). */
int s3_settings_fail(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Replace *dst with a copy of value; 0 or -ENOMEM. */
int s3_settings_set_string(char **dst, const char *value);
/* A URL as it may appear in a message, or "(not shown)". */
const char *s3_settings_url_shown(const char *url);

/* ---- single values (s3_settings_values.c) ---- */

typedef struct endpoint {
        char *url;  /* scheme://host[:port] */
        char *host; /* host[:port] */
        bool https;
        bool is_aws;
} endpoint;

void s3_settings_endpoint_done(endpoint *e);
/* Parse an endpoint URL given by origin; 0 or -EINVAL (with *ret_error), -ENOMEM. */
int s3_settings_endpoint_parse(const char *url, const char *origin, endpoint *ret, char **ret_error);
int s3_settings_check_region(const char *region, const char *origin, char **ret_error);
int s3_settings_check_addressing(const char *v, const char *origin, char **ret_error);
/* The container credentials URL of AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * (relative, which wins) or _FULL_URI (full), checked as botocore checks it:
 * plain http only to loopback or the ECS/EKS agents' addresses. 0, -EINVAL
 * (with *ret_error) or -ENOMEM. */
/* STS's endpoint: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL (unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), else the region's
 * (https://sts.REGION.amazonaws.com[.cn]; the global https://sts.amazonaws.com
 * with AWS_STS_REGIONAL_ENDPOINTS=legacy for botocore's 16 legacy regions). 0, -EINVAL (with *ret_error), -ENOMEM. */
int s3_settings_sts_endpoint(s3_settings_getenv_fn getenv_fn, void *userdata, const char *region, char **ret,
                             char **ret_error);
int s3_settings_container_url(const char *relative, const char *full, char **ret_url, char **ret_error);

/* ---- the shared files (s3_settings_files.c) ---- */

typedef enum file_key {
        K_REGION,
        K_ENDPOINT_URL,
        K_ACCESS_KEY_ID,
        K_SECRET_ACCESS_KEY,
        K_SESSION_TOKEN,
        K_SECURITY_TOKEN, /* the old name of aws_session_token, still read by the CLI */
        K_S3_ADDRESSING_STYLE,
        K_S3_ENDPOINT_URL,
        K_SERVICES,
        K_USE_FIPS,
        K_USE_DUALSTACK,
        K_IGNORE_ENDPOINT_URLS,
        K_CREDENTIAL_PROCESS,
        K_ROLE_ARN,
        K_SOURCE_PROFILE,
        K_CREDENTIAL_SOURCE,
        K_EXTERNAL_ID,
        K_MFA_SERIAL,
        K_ROLE_SESSION_NAME,
        K_WEB_IDENTITY_TOKEN_FILE,
        K_CA_BUNDLE,
        K_UNSUPPORTED, /* holds the name of a credential provider fds lacks */
        _K_MAX,
} file_key;

typedef enum section_kind {
        SECTION_PROFILE,
        SECTION_SERVICES,
} section_kind;

typedef struct file_section {
        char *name;
        section_kind kind;
        char *v[_K_MAX];
} file_section;

typedef struct shared_file {
        char *path;
        bool config;    /* config file rules: [default], [profile x], [services x] */
        struct stat st; /* of the bytes parsed */
        file_section *sections;
        size_t n_sections, n_alloc;
        int error; /* the file does not parse: kept, with its reason, until it changes */
        char *error_msg;
        uint64_t used;
} shared_file;

struct s3_settings_context {
        s3_settings_getenv_fn getenv_fn;
        void *userdata;
        shared_file *files[CACHE_FILES];
        uint64_t clock;
        unsigned parses;
};

/* The section kind/name of f, or NULL (also when f is NULL). */
const file_section *s3_settings_file_find(const shared_file *f, section_kind kind, const char *name);
/* The parsed file at path, from the cache while the file is unchanged;
 * *ret NULL when there is no such file. A returned file stays valid until
 * CACHE_FILES - 1 other files were loaded (the least recently used goes). */
int s3_settings_context_load(s3_settings_context *ctx, const char *path, bool config,
                             const shared_file **ret, char **ret_error);
