/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Temporary credentials, kept until they are due, and the calls waiting for
 * them: what every fetched source of credentials shares (imds.c for the
 * instance metadata service and the container endpoint, credproc.c for a
 * profile's credential_process). A source supplies the fetch; this keeps
 * the result.
 *
 * Credentials are kept until 5 minutes before their expiration (at least a
 * minute, so credentials that arrive nearly expired or a skewed clock do
 * not cause a fetch per request); if a later fetch fails while the kept
 * ones have not expired, they are used. Credentials without an expiration
 * are kept until the object is closed.
 *
 * One fetch at a time: whoever asks while it runs waits for it. Every
 * waiter is called back exactly once, always from the loop, never from
 * inside a call it made (a cache hit too is answered on the next loop
 * iteration).
 *
 * Nothing here is thread-safe; everything runs on the loop's thread.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct creds creds;
typedef struct creds_wait creds_wait;

#define CREDS_REFRESH_BEFORE_S 300

/* Borrowed from the creds object: valid during the callback only. */
typedef struct creds_value {
        const char *access_key_id;
        const char *secret_access_key;
        const char *session_token; /* NULL: none */
        int64_t expiration;        /* Unix seconds; 0: does not expire */
        const char *role;          /* IMDS's role; NULL from other sources */
        const char *endpoint;      /* where they came from, for messages */
} creds_value;

/* error 0: value is set, message NULL. Else a negative errno and a sentence
 * from the source ("the instance metadata service at ... did not answer");
 * -ECANCELED after creds_wait_cancel() or creds_close(). The callback may
 * call any creds_* function, creds_close() included. */
typedef void (*creds_fn)(int error, const creds_value *value, const char *message, void *userdata);
typedef void (*creds_close_fn)(void *userdata);

/* What a source does. fetch starts one fetch, which ends (later, or from
 * inside fetch) with creds_fetch_end(). close cancels a fetch in flight
 * and closes the source's handles, then calls creds_source_closed(); it
 * runs once. */
typedef struct creds_ops {
        void (*fetch)(creds *k, void *source);
        void (*close)(creds *k, void *source);
} creds_ops;

typedef struct creds_config {
        const char *endpoint; /* for creds_value.endpoint and messages, copied */
        const char *name;     /* "the instance metadata service": for messages, borrowed */
        /* The wall clock, Unix seconds; NULL: time(). */
        int64_t (*now)(void *userdata);
        void *now_userdata;
} creds_config;

/* 0, -EINVAL, -ENOMEM. ops and source stay the caller's. */
int creds_new(uv_loop_t *loop, const creds_config *config, const creds_ops *ops, void *source, creds **ret);

/* Ask for credentials. On success cb runs exactly once, later, from the loop,
 * and *ret_wait (when not NULL) is valid until it runs. On failure no
 * callback runs: -EINVAL, -ENOMEM, -ESHUTDOWN after creds_close(). */
int creds_get(creds *k, creds_fn cb, void *userdata, creds_wait **ret_wait);

/* Stop waiting: the callback follows from the loop with -ECANCELED, unless
 * its outcome was already decided (then -EALREADY and it runs with that
 * outcome). The fetch goes on for the other waiters. NULL does nothing. */
int creds_wait_cancel(creds_wait *w);

/* Close: waiters not yet answered get -ECANCELED (from the loop), the
 * source is closed, and cb runs once every handle is closed, with k and
 * the source already freed (the source frees itself before calling
 * creds_source_closed()). Twice, or NULL, does nothing. cb may be NULL. */
void creds_close(creds *k, creds_close_fn cb, void *userdata);

const char *creds_endpoint(const creds *k);
const char *creds_name(const creds *k);
/* Fetches started so far, for tests and statistics. */
unsigned creds_fetches(const creds *k);

/* ---- for sources ---- */

int64_t creds_now(const creds *k);
bool creds_closing(const creds *k);
/* The fetch is over: error 0 after creds_keep(), else a negative errno and
 * a message (NULL only for -ENOMEM). Kept credentials that have not expired
 * beat a failure. Nothing happens while closing. */
void creds_fetch_end(creds *k, int error, const char *message);
/* printf-style message. */
void creds_fetch_fail(creds *k, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Keep these (copied; token NULL or "": none; expiration 0: none). 0 or -ENOMEM. */
int creds_keep(creds *k, const char *id, const char *secret, const char *token, int64_t expiration,
               const char *role);
/* Keep the credentials of a JSON document: AccessKeyId, SecretAccessKey,
 * the session token under token_key ("Token", "SessionToken"), and an ISO
 * 8601 Expiration (needed when expiration_required). role may be NULL.
 * 0, -EBADMSG with *ret_why, -ENOMEM. */
int creds_keep_json(creds *k, json_t *doc, const char *token_key, bool expiration_required, const char *role,
                    const char **ret_why);
/* The source has closed its handles and freed itself. */
void creds_source_closed(creds *k);

/* Append n bytes of a source's HTTP answer to *body (kept NUL-terminated),
 * at most max bytes in all: 0, -EFBIG, -ENOMEM. */
int creds_body_add(char **body, size_t *len, size_t max, const void *data, size_t n);

/* "2024-05-01T12:34:56Z", with fractional seconds and an offset too. 0 or -EINVAL. */
int creds_parse_time(const char *s, int64_t *ret);
/* free() after overwriting. */
void creds_secret_free(char *s);
