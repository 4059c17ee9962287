/* SPDX-License-Identifier: MIT */
#pragma once

/* One attempt of an S3 call, as the HTTP client needs it: where it goes,
 * its SigV4 signature and its header lines. */

#include "s3_client.h"
#include "sigv4.h"

/* The host (with the bucket in it for virtual-hosted addressing) and the
 * path, for a call sent to base_host. */
int s3_request_target(const s3_call_opts *o, const char *base_host, char **ret_host, char **ret_path);
int s3_request_sign(const s3_call_opts *o, const char *region, const char *host, const char *path,
                    sigv4_signed **ret);
/* The caller's headers ("Name: value", in *ret_owned, o->n_headers of
 * them) and then the signature's (borrowed from sig). */
int s3_request_header_lines(const s3_call_opts *o, const sigv4_signed *sig, const char ***ret_lines,
                            char ***ret_owned);
void s3_request_header_lines_free(const s3_call_opts *o, char **owned);
