/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Credentials of the EC2 instance's IAM role from the instance metadata
 * service, IMDSv2, on the event loop through http.h:
 *
 *   PUT /latest/api/token                           X-aws-ec2-metadata-token-ttl-seconds: 21600
 *   GET /latest/meta-data/iam/security-credentials/        X-aws-ec2-metadata-token: T  -> role
 *   GET /latest/meta-data/iam/security-credentials/ROLE    X-aws-ec2-metadata-token: T  -> JSON
 *
 * The session token is kept for its lifetime (less a minute) and fetched
 * again when the service answers 401. The credentials are kept, refreshed
 * and waited for as creds.h says: imds_new() gives a creds object, used
 * with creds_get() and closed with creds_close(). Requests use their own
 * http_client with short timeouts, so a machine without the service fails
 * in about connect_timeout_ms per attempt (at once when the address
 * refuses). libcurl's proxy variables apply to
 * these requests too: set no_proxy=169.254.169.254 where a proxy is set.
 *
 * The same object fetches from the container credentials endpoint instead
 * (ECS tasks, EKS Pod Identity) when imds_config.credentials_url is set: one
 * GET of that URL, with "Authorization: TOKEN" when a token is configured,
 * answering the same JSON document (no Code, and no role); there is no
 * session token step.
 *
 * Nothing here is thread-safe; everything runs on the loop's thread.
 */

#include <stdint.h>
#include <uv.h>

#include "creds.h"
#include "http.h"

#define IMDS_TOKEN_TTL_S 21600
#define IMDS_BODY_MAX (64u * 1024u)

typedef struct imds_config {
        const char *endpoint;    /* "http://169.254.169.254" (NULL); scheme://host[:port], copied */
        /* The container credentials endpoint, a whole http[s] URL: when set,
         * endpoint is ignored. The token of its Authorization header is
         * authorization_file's content (read at every fetch, one trailing
         * line break dropped), else authorization; neither: no header. */
        const char *credentials_url;
        const char *authorization;
        const char *authorization_file;
        long connect_timeout_ms; /* 0: 1000 */
        long stall_timeout_s;    /* a request that receives nothing for this long fails; 0: 2 */
        unsigned attempts;       /* per step, after a network failure or a 5xx; 0: 2 */
        /* The wall clock, Unix seconds (Expiration is wall-clock time); NULL: time(). */
        int64_t (*now)(void *userdata);
        void *now_userdata;
} imds_config;

/*
 * A creds object fetching from IMDS (or the container endpoint). config may
 * be NULL. 0, -EINVAL (endpoint not http[s]://...), -ENOMEM.
 *
 * Its failures are a negative errno and a sentence beginning "the instance
 * metadata service ..." (or "the container credentials endpoint ...") that
 * names the endpoint:
 *   -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, ...  it did not answer
 *   -ENOENT      the instance has no IAM role; the token file is missing
 *   -EPROTO      an unexpected HTTP status
 *   -EACCES      the container endpoint refused the token (401, 403)
 *   -EBADMSG     an answer that does not parse
 *   -ECANCELED   creds_wait_cancel() or creds_close()
 */
int imds_new(uv_loop_t *loop, const imds_config *config, creds **ret);
