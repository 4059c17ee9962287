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
 * again when the service answers 401. Credentials are kept until 5 minutes
 * before their Expiration (at least a minute, so credentials that arrive
 * nearly expired or a skewed clock do not cause a fetch per request); if a
 * later fetch fails while the kept ones have not expired, they are used.
 *
 * One fetch at a time: whoever asks while it runs waits for it. Every
 * waiter is called back exactly once, always from the loop, never from
 * inside a call it made (a cache hit too is answered on the next loop
 * iteration). Requests use their own http_client with short timeouts, so a
 * machine without the service fails in about connect_timeout_ms per attempt
 * (at once when the address refuses). libcurl's proxy variables apply to
 * these requests too: set no_proxy=169.254.169.254 where a proxy is set.
 *
 * The same object fetches from the container credentials endpoint instead
 * (ECS tasks, EKS Pod Identity) when imds_config.credentials_url is set: one
 * GET of that URL, with "Authorization: TOKEN" when a token is configured,
 * answering the same JSON document (no Code, and no role). Keeping,
 * refreshing and waiting work as above; there is no session token step.
 *
 * Nothing here is thread-safe; everything runs on the loop's thread.
 */

#include <stdint.h>
#include <uv.h>

#include "http.h"

typedef struct imds imds;
typedef struct imds_wait imds_wait;

#define IMDS_TOKEN_TTL_S 21600
#define IMDS_REFRESH_BEFORE_S 300
#define IMDS_BODY_MAX (64u * 1024u)

typedef struct imds_config {
        const char *endpoint;    /* "http://169.254.169.254" (NULL); scheme://host[:port], copied */
        long connect_timeout_ms; /* 0: 1000 */
        long stall_timeout_s;    /* a request that receives nothing for this long fails; 0: 2 */
        unsigned attempts;       /* per step, after a network failure or a 5xx; 0: 2 */
        /* The container credentials endpoint, a whole http[s] URL: when set,
         * endpoint is ignored. The token of its Authorization header is
         * authorization_file's content (read at every fetch, one trailing
         * line break dropped), else authorization; neither: no header. */
        const char *credentials_url;
        const char *authorization;
        const char *authorization_file;
        /* The wall clock, Unix seconds (Expiration is wall-clock time); NULL: time(). */
        int64_t (*now)(void *userdata);
        void *now_userdata;
} imds_config;

/* Borrowed from the imds object: valid during the callback only. */
typedef struct imds_credentials {
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token;
        int64_t expiration; /* Unix seconds */
        const char *role;     /* NULL from a container endpoint */
        const char *endpoint; /* the container endpoint: its URL */
} imds_credentials;

/* error 0: creds is set, message NULL. Else a negative errno and a sentence
 * beginning "the instance metadata service ..." (or "the container
 * credentials endpoint ...") that names the endpoint:
 *   -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, ...  it did not answer
 *   -ENOENT      the instance has no IAM role
 *   -EPROTO      an unexpected HTTP status
 *   -EACCES      the container endpoint refused the token (401, 403)
 *   -EBADMSG     an answer that does not parse
 *   -ECANCELED   imds_wait_cancel() or imds_close()
 * Both pointers are valid during the call only. The callback may call any
 * imds_* function, imds_close() included. */
typedef void (*imds_credentials_fn)(int error, const imds_credentials *creds, const char *message,
                                    void *userdata);
typedef void (*imds_close_fn)(void *userdata);

/* An imds on loop. config may be NULL. 0, -EINVAL (endpoint not http[s]://...), -ENOMEM. */
int imds_new(uv_loop_t *loop, const imds_config *config, imds **ret_imds);

/* Ask for credentials. On success cb runs exactly once, later, from the loop,
 * and *ret_wait (when not NULL) is valid until it runs. On failure no callback
 * runs: -ENOMEM, -ESHUTDOWN after imds_close(). */
int imds_get_credentials(imds *m, imds_credentials_fn cb, void *userdata, imds_wait **ret_wait);

/* Stop waiting: the callback follows from the loop with -ECANCELED, unless its
 * outcome was already decided (then -EALREADY and it runs with that outcome).
 * The fetch goes on for the other waiters and the cache. NULL does nothing. */
int imds_wait_cancel(imds_wait *w);

/* Close: waiters not yet answered get -ECANCELED (from the loop, not from
 * inside this call), a fetch in flight is cancelled, and cb runs once every
 * HTTP request completed and every handle is closed, with m already freed.
 * Closing twice, or NULL, does nothing. cb may be NULL. */
void imds_close(imds *m, imds_close_fn cb, void *userdata);

const char *imds_endpoint(const imds *m);
/* Fetches started so far, for tests and statistics. */
unsigned imds_fetches(const imds *m);
