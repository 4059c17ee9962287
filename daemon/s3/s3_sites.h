/* SPDX-License-Identifier: MIT */
#pragma once

/* The S3 settings one call runs with: its options.s3 over the daemon's
 * defaults over the environment over the shared AWS files over the
 * container credentials endpoint or the instance metadata service
 * (s3_settings.c, imds.c), as an s3_site the request layer uses. One
 * s3_sites per process keeps the parsed shared files and the clients that
 * fetch credentials (and keep them until they are due) between calls. */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "s3_client.h"
#include "s3_settings.h"

typedef struct creds creds;
typedef struct s3_site_wait s3_site_wait;
typedef struct s3_fetcher s3_fetcher;

typedef struct s3_sites {
        uv_loop_t *loop;
        s3_settings_defaults defaults;  /* the daemon's [s3] settings (strings borrowed) */
        s3_settings_context *files;     /* parsed shared files, cached */
        creds *imds;                    /* IMDS, created when first needed */
        s3_fetcher *fetchers;           /* one per container endpoint and token, and
                                         * per credential_process, profile and caller */
} s3_sites;

/* Who a call is for: credentials are kept per caller, and a root daemon
 * runs a caller's credential_process as the caller (switch_user). */
typedef struct s3_caller {
        uid_t uid;
        gid_t gid;
        bool switch_user;
} s3_caller;

/* r 0 and a site, or a negative errno and a malloc'd reason (no secrets). */
typedef void (*s3_site_fn)(int r, s3_site *site, char *reason, void *userdata);

/* defaults' strings must outlive s (the daemon's configuration). */
void s3_sites_init(s3_sites *s, uv_loop_t *loop, const s3_settings_defaults *defaults);
/* 0: answered now (*ret_site, or an error with *ret_reason). 1: the
 * credentials must be fetched (credential_process, container endpoint,
 * IMDS); cb runs later from
 * the loop and *ret_wait can cancel it. */
int s3_sites_resolve(s3_sites *s, json_t *options_s3, const s3_caller *caller, s3_site **ret_site,
                     char **ret_reason, s3_site_fn cb, void *userdata, s3_site_wait **ret_wait);
/* cb follows with -ECANCELED. */
void s3_site_cancel(s3_site_wait *w);
/* At shutdown, once nothing resolves any more: close the metadata client. */
void s3_sites_shutdown(s3_sites *s);
