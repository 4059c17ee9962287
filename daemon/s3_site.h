/* SPDX-License-Identifier: MIT */
#pragma once

/* The S3 settings one call runs with: its options.s3 over the daemon's
 * defaults over the environment and shared AWS files. */

#include <jansson.h>

#include "s3_client.h"

typedef struct fds_daemon fds_daemon;

/* Returns 0 and a new site, -ENOMEM, or another negative errno with a
 * malloc'd reason for the user (never containing a secret). */
int s3_site_resolve(fds_daemon *d, json_t *options_s3, s3_site **ret, char **ret_reason);

/* Split "scheme://host[:port]" into its parts, dropping a default port so
 * the Host header we sign is the one curl sends. */
int s3_site_parse_endpoint(const char *url, char **ret_scheme, char **ret_host);
