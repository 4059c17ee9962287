/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Coalescing of identical S3 reads in flight. A call that asks for it
 * (s3_call_opts.shareable: HEAD, or GET into memory) and finds another in
 * flight with the same method, site, credentials, bucket, key, query and
 * headers sends nothing: it follows that one, and when it ends gets its
 * response headers, body and result replayed. Never across credentials:
 * the whole identity (key id, secret, token, endpoint, region, CA) is part
 * of the match, so a caller whose secret is wrong gets its own 403.
 *
 * This file keeps the table and what the leader received; s3_client.c
 * does the following and the replay.
 */

#include <stdbool.h>
#include <stddef.h>

#include "list.h"
#include "s3_client.h"

/* The most body kept for followers; past it they send their own. */
#define S3_SHARE_BODY_MAX (64u << 20)

typedef struct s3_share_hdr {
        char *name, *value;
} s3_share_hdr;

typedef struct s3_share {
        list_node link;          /* in the context's table while the leader runs */
        char *key;               /* everything the match compares */
        size_t key_len;
        list_node followers;     /* s3_call.share_link */
        s3_share_hdr *headers;
        size_t n_headers;
        char *body;
        size_t len, cap;
        bool overflow;           /* more body than kept: followers send their own */
        bool body_started;       /* nobody joins once the body flows */
} s3_share;

/* The one in flight for these options, or NULL. */
s3_share *s3_share_find(list_node *table, const s3_call_opts *o);
/* A new entry in table for a call about to be sent. 0 or -ENOMEM. */
int s3_share_new(list_node *table, const s3_call_opts *o, s3_share **ret);
/* What the leader received (2xx responses only). The body is kept only
 * while someone follows; nobody can join once it has begun. */
void s3_share_header(s3_share *s, const char *name, const char *value);
void s3_share_body(s3_share *s, const void *data, size_t len);
/* The leader starts over (a retry): forget what it received. */
void s3_share_reset(s3_share *s);
/* Out of the table and freed (followers are the caller's by then). */
void s3_share_free(s3_share *s);
