/* SPDX-License-Identifier: MIT */
#pragma once

/* The state of one s3_settings_resolve() call, shared by s3_settings.c
 * (profile, files, region, endpoint, addressing) and s3_settings_creds.c
 * (the credential chain). Private to those two. */

#include <jansson.h>
#include <stdbool.h>
#include <strings.h>

#include "s3_settings.h"
#include "s3_settings_internal.h"

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

static inline const char *env(const resolver *rs, const char *name) {
        const char *v = rs->ctx->getenv_fn(name, rs->ctx->userdata);
        return empty(v) ? NULL : v;
}

static inline const char *opt(const resolver *rs, const char *name) {
        const char *v = json_string_value(json_object_get(rs->o, name));
        return empty(v) ? NULL : v;
}

static inline const char *conf(const resolver *rs, file_key k) {
        return rs->conf && !empty(rs->conf->v[k]) ? rs->conf->v[k] : NULL;
}

static inline const char *cred(const resolver *rs, file_key k) {
        return rs->cred && !empty(rs->cred->v[k]) ? rs->cred->v[k] : NULL;
}

/* The profile's value of k: the credentials file's, else the config file's
 * (botocore merges the two so). */
static inline const char *profile_value(const resolver *rs, file_key k) {
        const char *v = cred(rs, k);
        return v ? v : conf(rs, k);
}

static inline bool is_true(const char *v) {
        return v && strcasecmp(v, "true") == 0;
}

/* Where a value came from, for display ("environment (AWS_REGION)", ...),
 * malloc'd; NULL on -ENOMEM. (s3_settings.c) */
char *s3_settings_origin_of(const resolver *rs, layer l, const char *name);

/* ---- s3_settings_creds.c ---- */

extern const char *const s3_settings_option_names[3];
/* A layer giving credentials gives at least the key id and the secret:
 * 1 when it gives them, 0 when it gives nothing, -EINVAL otherwise. */
int s3_settings_check_whole(const char *const v[3], const char *const names[3], const char *where,
                            char **ret_error);
/* s->credentials_* from the first source of the chain that has them, or
 * what must be fetched. 0 or a negative errno (with *rs->ret_error). */
int s3_settings_resolve_credentials(resolver *rs);
