/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * AWS Signature Version 4, Authorization-header form, as S3 checks it.
 * Built on OpenSSL so that signing does not change with the libcurl version.
 * Pure: no I/O, no clock (the caller passes the time), no global state.
 *
 * S3 differs from the generic SigV4 rules in two ways that matter here: the
 * path is encoded once (not twice) and is never normalized ("a//b/./c" is
 * signed as written), and every request carries x-amz-content-sha256.
 */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Hex SHA-256 of the empty string: the payload hash of a request without body. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* Payload hash for a body that is not hashed (S3 accepts it over TLS). */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* 64 hex digits and a NUL. */
#define SIGV4_SHA256_HEX_SIZE 65
/* Headers sigv4_sign() asks the caller to send: Authorization, x-amz-date,
 * x-amz-content-sha256, x-amz-security-token. */
#define SIGV4_OUT_HEADERS_MAX 4

typedef struct sigv4_pair {
        const char *name;
        const char *value;
} sigv4_pair;

typedef struct sigv4_credentials {
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token; /* NULL or "" when there is none */
} sigv4_credentials;

typedef struct sigv4_request {
        const char *method;      /* "GET", "PUT", ... as sent */
        const char *host;        /* the Host header exactly as sent, "h:port" for a non-default port */
        const char *path;        /* unencoded, starting with '/': "/bucket/my key" */
        const sigv4_pair *query; /* unencoded name/value pairs; value NULL for a bare name ("uploads") */
        size_t n_query;
        const sigv4_pair *headers; /* further headers to sign (Range, Content-Type, x-amz-copy-source,
                                    * ...); the caller sends them itself with these values. Repeated
                                    * names are joined with ',' in the given order. Must not name
                                    * host, authorization or the x-amz-* headers the signer adds. */
        size_t n_headers;
        const char *payload_hash; /* hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD; NULL: no body */
        const char *region;       /* "us-east-1" */
        const char *service;      /* "s3" */
        time_t time;              /* signing time; S3 refuses more than 15 minutes of skew */
        bool omit_content_sha256; /* do not add x-amz-content-sha256: only for services other than S3
                                   * (AWS's generic test suite); S3 requires the header */
} sigv4_request;

typedef struct sigv4_signed {
        /* Encoded path and canonical query, to append to "scheme://host" as is:
         * "/bucket/my%20key?partNumber=1&uploadId=abc". */
        char *path_query;
        /* Header lines to add to the request, "Name: value", NULL-terminated:
         * Authorization, x-amz-date, x-amz-content-sha256 (unless omitted),
         * x-amz-security-token (with a session token). */
        char *header_lines[SIGV4_OUT_HEADERS_MAX + 1];
        size_t n_header_lines;
        /* The same values on their own, and the intermediate stages for tests and
         * for debugging a SignatureDoesNotMatch (S3 returns its own canonical request). */
        char *authorization;
        char *amz_date; /* YYYYMMDDTHHMMSSZ */
        char *canonical_request;
        char *string_to_sign;
        char *signature; /* 64 lowercase hex digits */
} sigv4_signed;

/* Sign a request. Returns 0 and a new sigv4_signed in *ret, -EINVAL for a malformed request
 * (missing field, path not starting with '/', CR/LF or other control characters in a header,
 * a header the signer owns among req->headers, a time outside years 1970-9999), -ENOMEM, or
 * -EIO when OpenSSL fails. */
int sigv4_sign(const sigv4_request *req, const sigv4_credentials *creds, sigv4_signed **ret);
sigv4_signed *sigv4_signed_free(sigv4_signed *s);

/* AWS URI encoding of a NUL-terminated string: every byte but A-Za-z0-9-_.~ becomes %XX
 * (uppercase hex, UTF-8 bytes one by one); '/' is kept when keep_slash (object paths) and
 * encoded otherwise (query names and values). Returns 0 and a new string in *ret, or -ENOMEM. */
int sigv4_uri_encode(const char *s, bool keep_slash, char **ret);

/* Hex SHA-256 of a buffer into ret_hex (lowercase, NUL-terminated). Returns 0 or -EIO. */
int sigv4_sha256_hex(const void *data, size_t len, char ret_hex[static SIGV4_SHA256_HEX_SIZE]);

/* Incremental SHA-256, for a body read in pieces. */
typedef struct sigv4_sha256 sigv4_sha256;
int sigv4_sha256_new(sigv4_sha256 **ret);                               /* 0, -ENOMEM or -EIO */
int sigv4_sha256_update(sigv4_sha256 *h, const void *data, size_t len); /* 0 or -EIO */
/* Finish into ret_hex; h can then only be freed. Returns 0 or -EIO. */
int sigv4_sha256_final_hex(sigv4_sha256 *h, char ret_hex[static SIGV4_SHA256_HEX_SIZE]);
sigv4_sha256 *sigv4_sha256_free(sigv4_sha256 *h);
