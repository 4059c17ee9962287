/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Credentials of a role from STS: AssumeRole signed (SigV4, service "sts")
 * with the keys of a profile's source_profile or of the environment, or
 * AssumeRoleWithWebIdentity with a web identity token, as Kubernetes
 * service accounts get them (EKS IRSA), an unsigned call:
 *
 *   POST ENDPOINT/   Content-Type: application/x-www-form-urlencoded
 *   Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=...
 *          &RoleSessionName=...&WebIdentityToken=...
 *
 * answered with <AssumeRoleWithWebIdentityResponse> (<AssumeRoleResponse>) holding
 * Credentials/{AccessKeyId,SecretAccessKey,SessionToken,Expiration}, or an
 * <ErrorResponse> whose Code and Message go into the error. The token file
 * is read at every fetch: the kubelet rotates it. Kept and refreshed as
 * creds.h says. A network failure or a 5xx is tried again (attempts).
 */

#include <stdint.h>
#include <uv.h>

#include "creds.h"

#define STS_TOKEN_MAX (32u * 1024u)
#define STS_BODY_MAX (64u * 1024u)

typedef struct sts_config {
        const char *endpoint;          /* http[s]://host[:port] of STS, copied */
        const char *role_arn;          /* copied */
        const char *role_session_name; /* copied; NULL: "fds-session-UNIXTIME" at each fetch */
        const char *token_file;        /* web identity: copied */
        /* AssumeRole: signed with these, or with what source gives at each
         * fetch (borrowed; it must outlive the sts), for region, with
         * external_id (NULL: none). Copied. */
        const char *access_key_id, *secret_access_key, *session_token;
        creds *source;
        const char *region;
        const char *external_id;
        const char *ca_bundle;         /* PEM file trusted alone over TLS; NULL: the system's */
        long connect_timeout_ms;       /* 0: 5000 */
        unsigned attempts;             /* 0: 3 */
        int64_t (*now)(void *userdata);
        void *now_userdata;
} sts_config;

/*
 * A creds object assuming role_arn with the token of token_file. 0, -EINVAL,
 * -ENOMEM. Its failures are a negative errno and a sentence beginning "STS
 * AssumeRoleWithWebIdentity at ENDPOINT (role 'ARN')":
 *   -ENOENT, -EACCES, ...  the token file could not be read
 *   -EACCES      STS refused (a 4xx; its Code and Message follow)
 *   -EPROTO      another status
 *   -ECONNREFUSED, -ETIMEDOUT, ...  it did not answer
 *   -EBADMSG     an answer that does not parse
 */
int sts_web_identity_new(uv_loop_t *loop, const sts_config *config, creds **ret);

/* A creds object assuming role_arn with the keys given, or source's
 * (AssumeRole).
 * Failures as above, beginning "STS AssumeRole at ENDPOINT (role 'ARN')";
 * -EACCES also when STS refuses the keys (InvalidClientTokenId,
 * SignatureDoesNotMatch, AccessDenied). */
int sts_assume_role_new(uv_loop_t *loop, const sts_config *config, creds **ret);

/* The bodies of the requests, form-encoded; NULL on -ENOMEM. */
char *sts_web_identity_body(const char *role_arn, const char *session_name, const char *token);
char *sts_assume_role_body(const char *role_arn, const char *session_name, const char *external_id);
