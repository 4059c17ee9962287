/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * One S3 operation as the engine sees it: a signed HTTP request through the
 * shared http_client, retried with exponential back-off and full jitter when
 * the failure is transient, redirected when the bucket lives in another
 * region, and finished with the S3 error code and message parsed from the
 * error body. All on the loop thread; callbacks never run from inside a
 * call the caller made.
 */

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "delay.h"
#include "http.h"
#include "throttle.h"
#include "s3_stats.h"
#include "s3_xml.h"
#include "sigv4.h"

typedef struct s3_ctx s3_ctx;
typedef struct s3_call s3_call;

/* Where and as whom: resolved settings of one call's S3 side. */
typedef struct s3_site {
        char *scheme;           /* "http" or "https" */
        char *host;             /* "s3.us-east-1.amazonaws.com", "127.0.0.1:7480" */
        bool aws;               /* an AWS endpoint: follows a bucket's region to its host */
        bool https;
        bool path_style;
        char *region;
        char *access_key_id;
        char *secret_access_key;
        char *session_token;    /* NULL if none */
        char *ca_bundle;        /* PEM file trusted alone over TLS; NULL: the daemon's */
} s3_site;

s3_site *s3_site_free(s3_site *s);
/* The AWS endpoint of a region, "s3.<region>.amazonaws.com". */
int s3_site_aws_host(const char *region, char **ret);
/* Whether bucket goes in the host name: not for path style, not for names
 * that are no DNS label, not for dotted names over TLS (the certificate's
 * wildcard covers one label). */
bool s3_site_virtual(const s3_site *site, const char *bucket);

typedef struct s3_result {
        int error;              /* 0, or a negative errno (-ENOENT, -EACCES, -EIO, -ECANCELED, ...) */
        long http_status;       /* 0 when no response arrived */
        const char *s3_code;    /* "NoSuchKey", ...; NULL if none */
        const char *message;    /* for people; never NULL */
        unsigned attempts;
        const s3_xml_result *xml; /* parse_xml calls: the parsed body of a success */
        http_stats stats;       /* of the last attempt */
} s3_result;

typedef struct s3_call_opts {
        const s3_site *site;
        http_method method;
        const char *bucket;
        const char *key;                /* NULL for a bucket-level request */
        const sigv4_pair *query;        /* unencoded */
        size_t n_query;
        const sigv4_pair *headers;      /* signed and sent */
        size_t n_headers;
        const void *body;               /* in memory, or streamed through read */
        uint64_t body_length;
        bool has_body;                  /* send a body (PUT/POST), even of 0 bytes */
        const char *payload_hash;       /* NULL: UNSIGNED-PAYLOAD with a body, the empty hash without */
        unsigned max_attempts;          /* 0: 5 */
        /* How long a request waits for an endpoint that fails everything
         * (s3_health.h), from its first failure, without spending its
         * attempts; 0: no waiting, attempts only. */
        uint64_t retry_budget_ms;
        bool parse_xml;                 /* a success carries an XML document (and may be an <Error>) */
        /* A HEAD or a GET into memory that may follow an identical one in
         * flight (s3_share.h): its on_header and on_body are then called
         * with req NULL, all at once, when that one ends. */
        bool shareable;
        const s3_xml_callbacks *xml_callbacks;
        /* Success responses only; see http.h for the contracts. */
        http_header_fn on_header;
        http_body_fn on_body;
        http_read_fn read;
        http_rewind_fn rewind;
        /* Bandwidth caps this request's bytes count against (the call's and
         * the daemon's); NULL for none. */
        throttle *throttles[2];
        /* Before every attempt after the first: start the sink or source over. */
        int (*on_retry)(s3_call *c, void *userdata);
        void (*on_done)(s3_call *c, const s3_result *r, void *userdata);
        void *userdata;
} s3_call_opts;

int s3_ctx_new(http_client *http, delay_queue *delay, s3_ctx **ret);
s3_ctx *s3_ctx_free(s3_ctx *ctx);
const s3_stats *s3_ctx_stats(const s3_ctx *ctx);

/* query, headers and xml_callbacks are copied; site, bucket, key and an
 * in-memory body are borrowed until on_done. On success on_done runs
 * exactly once, later, from the loop. */
int s3_call_start(s3_ctx *ctx, const s3_call_opts *opts, s3_call **ret);
/* on_done follows with -ECANCELED (or the result that was already due). */
void s3_call_cancel(s3_call *c);
/* Pause and resume the transfer (bandwidth, back-pressure). */
void s3_call_pause(s3_call *c, bool pause);

