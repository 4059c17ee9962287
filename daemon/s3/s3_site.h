/* SPDX-License-Identifier: MIT */
#pragma once

/* The S3 settings one call runs with: its options.s3 over the daemon's
 * defaults over the environment over the shared AWS files over the
 * instance metadata service (s3_settings.c, imds.c), as an s3_site the
 * request layer uses. */

#include <jansson.h>

#include "s3_client.h"
#include "s3_settings.h"

typedef struct fds_daemon fds_daemon;
typedef struct s3_site_wait s3_site_wait;
typedef struct daemon_config daemon_config;

/* r 0 and a site, or a negative errno and a malloc'd reason (no secrets). */
typedef void (*s3_site_fn)(int r, s3_site *site, char *reason, void *userdata);

/* 0: answered now (*ret_site, or an error with *ret_reason). 1: the
 * credentials come from the instance metadata service; cb runs later from
 * the loop and *ret_wait can cancel it. */
int s3_site_resolve(fds_daemon *d, json_t *options_s3, s3_site **ret_site, char **ret_reason,
                    s3_site_fn cb, void *userdata, s3_site_wait **ret_wait);
/* The daemon's [s3] settings as the layer under the call's options (the
 * strings stay cfg's). */
s3_settings_defaults s3_site_defaults(const daemon_config *cfg);
/* cb follows with -ECANCELED. */
void s3_site_cancel(s3_site_wait *w);
/* At shutdown, once no batch is left: close the metadata client. */
void s3_site_shutdown(fds_daemon *d);
