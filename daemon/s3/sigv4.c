/* SPDX-License-Identifier: MIT */
#include "sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "xstr.h"

#define SHA256_LEN 32
#define AMZ_DATE_LEN 16 /* YYYYMMDDTHHMMSSZ */

/* A growing string whose first allocation failure sticks, so that building a
 * canonical request is a run of appends and one check at the end. */
typedef struct strbuf {
        char *s;
        size_t len;
        size_t cap;
        bool oom;
} strbuf;

static void sb_append(strbuf *b, const char *p, size_t n) {
        if (b->oom)
                return;
        if (b->cap - b->len <= n) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap - b->len <= n) {
                        if (cap > SIZE_MAX / 2) {
                                b->oom = true;
                                return;
                        }
                        cap *= 2;
                }
                char *s = realloc(b->s, cap);
                if (!s) {
                        b->oom = true;
                        return;
                }
                b->s = s;
                b->cap = cap;
        }
        memcpy(b->s + b->len, p, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void sb_puts(strbuf *b, const char *s) {
        sb_append(b, s, strlen(s));
}

static void sb_putc(strbuf *b, char c) {
        sb_append(b, &c, 1);
}

/* Hand the string over, or NULL if any append failed (the buffer is freed). */
static char *sb_steal(strbuf *b) {
        char *s = b->oom ? NULL : b->s;
        if (!s && !b->oom)
                s = strdup("");
        if (b->oom)
                free(b->s);
        *b = (strbuf){};
        return s;
}

static bool is_unreserved(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.' || c == '~';
}

static void uri_encode_append(strbuf *b, const char *s, bool keep_slash) {
        static const char hex[] = "0123456789ABCDEF";

        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (is_unreserved(*p) || (keep_slash && *p == '/')) {
                        sb_putc(b, (char) *p);
                        continue;
                }
                char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
                sb_append(b, e, sizeof(e));
        }
}

int sigv4_uri_encode(const char *s, bool keep_slash, char **ret) {
        strbuf b = {};

        uri_encode_append(&b, s, keep_slash);
        char *e = sb_steal(&b);
        if (!e)
                return -ENOMEM;
        *ret = e;
        return 0;
}

int sigv4_sha256_hex(const void *data, size_t len, char ret_hex[static SIGV4_SHA256_HEX_SIZE]) {
        unsigned char md[SHA256_LEN];
        unsigned int n = 0;

        if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != SHA256_LEN)
                return -EIO;
        hex_encode(md, n, ret_hex);
        return 0;
}

struct sigv4_sha256 {
        EVP_MD_CTX *ctx;
};

int sigv4_sha256_new(sigv4_sha256 **ret) {
        sigv4_sha256 *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx) {
                free(h);
                return -ENOMEM;
        }
        if (!EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
                sigv4_sha256_free(h);
                return -EIO;
        }
        *ret = h;
        return 0;
}

int sigv4_sha256_update(sigv4_sha256 *h, const void *data, size_t len) {
        return EVP_DigestUpdate(h->ctx, data, len) ? 0 : -EIO;
}

int sigv4_sha256_final_hex(sigv4_sha256 *h, char ret_hex[static SIGV4_SHA256_HEX_SIZE]) {
        unsigned char md[SHA256_LEN];
        unsigned int n = 0;

        if (!EVP_DigestFinal_ex(h->ctx, md, &n) || n != SHA256_LEN)
                return -EIO;
        hex_encode(md, n, ret_hex);
        return 0;
}

sigv4_sha256 *sigv4_sha256_free(sigv4_sha256 *h) {
        if (!h)
                return NULL;
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
}

static int hmac_sha256(const void *key, size_t key_len, const char *msg,
                       unsigned char out[static SHA256_LEN]) {
        unsigned int n = 0;

        if (key_len > INT_MAX)
                return -EINVAL;
        if (!HMAC(EVP_sha256(), key, (int) key_len, (const unsigned char *) msg, strlen(msg), out, &n) ||
            n != SHA256_LEN)
                return -EIO;
        return 0;
}

/* --- validation: anything that could break a header line or the Credential field is refused --- */

static bool is_tchar(unsigned char c) {
        return is_unreserved(c) || (c && strchr("!#$%&'*+^`|", c));
}

static bool is_token(const char *s) {
        if (!s || !*s)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (!is_tchar(*p))
                        return false;
        return true;
}

/* Non-empty, no blanks or control characters, and none of the separators of the
 * Authorization value (for the scope parts, the host and the payload hash). */
static bool is_word(const char *s) {
        if (!s || !*s)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p <= ' ' || *p == 0x7f || *p == '/' || *p == ',' || *p == ';' || *p == '=')
                        return false;
        return true;
}

/* A header value: tab and bytes from space up, except DEL; CR and LF above all. */
static bool is_field_value(const char *s) {
        if (!s)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p < ' ' && *p != '\t') || *p == 0x7f)
                        return false;
        return true;
}

static bool is_signer_header(const char *name) {
        static const char *const owned[] = {
                "host", "authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
        };
        for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
                if (strcasecmp(name, owned[i]) == 0)
                        return true;
        return false;
}

static bool has_token(const sigv4_credentials *c) {
        return c->session_token && *c->session_token;
}

static int validate(const sigv4_request *req, const sigv4_credentials *creds) {
        if (!is_token(req->method) || !is_word(req->host) || !req->path || req->path[0] != '/' ||
            !is_word(req->region) || !is_word(req->service))
                return -EINVAL;
        if (req->payload_hash && !is_word(req->payload_hash))
                return -EINVAL;
        if (!is_word(creds->access_key_id) || !creds->secret_access_key || !*creds->secret_access_key)
                return -EINVAL;
        if (has_token(creds) && !is_field_value(creds->session_token))
                return -EINVAL;
        if (req->n_query > 0 && !req->query)
                return -EINVAL;
        for (size_t i = 0; i < req->n_query; i++)
                if (!req->query[i].name)
                        return -EINVAL;
        if ((req->n_headers > 0 && !req->headers) || req->n_headers > SIZE_MAX / 2)
                return -EINVAL;
        for (size_t i = 0; i < req->n_headers; i++)
                if (!is_token(req->headers[i].name) || is_signer_header(req->headers[i].name) ||
                    !is_field_value(req->headers[i].value))
                        return -EINVAL;
        return 0;
}

/* --- canonical query --- */

typedef struct enc_pair {
        char *name;
        char *value;
} enc_pair;

static int enc_pair_cmp(const void *a, const void *b) {
        const enc_pair *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c ? c : strcmp(x->value, y->value);
}

static void enc_pairs_free(enc_pair *p, size_t n) {
        for (size_t i = 0; p && i < n; i++) {
                free(p[i].name);
                free(p[i].value);
        }
        free(p);
}

/* Encoded "a=1&b=2", sorted by encoded name, then encoded value; a bare name gets '='. */
static int canonical_query(const sigv4_pair *q, size_t n, char **ret) {
        enc_pair *e = NULL;
        strbuf b = {};
        char *cq;
        int r = -ENOMEM;

        if (n > 0) {
                e = calloc(n, sizeof(*e));
                if (!e)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (sigv4_uri_encode(q[i].name, false, &e[i].name) < 0 ||
                    sigv4_uri_encode(q[i].value ? q[i].value : "", false, &e[i].value) < 0)
                        goto finish;
        if (n > 0)
                qsort(e, n, sizeof(*e), enc_pair_cmp);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        sb_putc(&b, '&');
                sb_puts(&b, e[i].name);
                sb_putc(&b, '=');
                sb_puts(&b, e[i].value);
        }
        cq = sb_steal(&b);
        if (!cq)
                goto finish;
        *ret = cq;
        r = 0;
finish:
        enc_pairs_free(e, n);
        return r;
}

/* --- canonical headers --- */

typedef struct sig_header {
        char *name; /* lowercased copy */
        const char *value;
        size_t order; /* keeps repeated names in the caller's order through qsort */
} sig_header;

static int sig_header_cmp(const void *a, const void *b) {
        const sig_header *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        if (c)
                return c;
        return x->order < y->order ? -1 : x->order > y->order;
}

static void sig_headers_free(sig_header *h, size_t n) {
        for (size_t i = 0; h && i < n; i++)
                free(h[i].name);
        free(h);
}

static int sig_header_set(sig_header *h, size_t order, const char *name, const char *value) {
        h->name = strdup(name);
        if (!h->name)
                return -ENOMEM;
        for (char *p = h->name; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
        h->value = value;
        h->order = order;
        return 0;
}

/* Leading and trailing blanks dropped, inner runs of blanks made one space. */
static void trimmed_value_append(strbuf *b, const char *v) {
        bool pending_space = false, started = false;

        for (; *v; v++) {
                if (*v == ' ' || *v == '\t') {
                        pending_space = started;
                        continue;
                }
                if (pending_space)
                        sb_putc(b, ' ');
                sb_putc(b, *v);
                pending_space = false;
                started = true;
        }
}

/* Appends "name:v1,v2\n" for each name to *canon and "a;b;c" to *signed_names. */
static void canonical_headers_append(const sig_header *h, size_t n, strbuf *canon, strbuf *signed_names) {
        for (size_t i = 0; i < n; i++) {
                bool same = i > 0 && strcmp(h[i - 1].name, h[i].name) == 0;
                if (same) {
                        sb_putc(canon, ',');
                } else {
                        if (i > 0) {
                                sb_putc(canon, '\n');
                                sb_putc(signed_names, ';');
                        }
                        sb_puts(canon, h[i].name);
                        sb_putc(canon, ':');
                        sb_puts(signed_names, h[i].name);
                }
                trimmed_value_append(canon, h[i].value);
        }
        sb_putc(canon, '\n');
}

typedef struct sign_ctx {
        const sigv4_request *req;
        const sigv4_credentials *creds;
        const char *payload_hash;
        char amz_date[AMZ_DATE_LEN + 1];
        char *query; /* canonical query */
        char *signed_names;
} sign_ctx;

/* The headers to sign, the signer's own and the caller's, sorted by name. */
static int sig_headers_build(const sign_ctx *ctx, sig_header **ret, size_t *ret_n) {
        const sigv4_request *req = ctx->req;
        size_t n = 0;
        int r = 0;

        sig_header *h = calloc(req->n_headers + 4, sizeof(*h));
        if (!h)
                return -ENOMEM;
        r = sig_header_set(&h[n++], 0, "host", req->host);
        if (r >= 0)
                r = sig_header_set(&h[n++], 0, "x-amz-date", ctx->amz_date);
        if (r >= 0 && !req->omit_content_sha256)
                r = sig_header_set(&h[n++], 0, "x-amz-content-sha256", ctx->payload_hash);
        if (r >= 0 && has_token(ctx->creds))
                r = sig_header_set(&h[n++], 0, "x-amz-security-token", ctx->creds->session_token);
        for (size_t i = 0; r >= 0 && i < req->n_headers; i++)
                r = sig_header_set(&h[n++], i, req->headers[i].name, req->headers[i].value);
        if (r < 0) {
                sig_headers_free(h, n);
                return r;
        }
        qsort(h, n, sizeof(*h), sig_header_cmp);
        *ret = h;
        *ret_n = n;
        return 0;
}

/* Builds the canonical request; also sets ctx->signed_names. */
static int canonical_request(sign_ctx *ctx, char **ret) {
        strbuf canon = {}, names = {}, out = {};
        sig_header *h = NULL;
        size_t n = 0;
        int r;

        r = sig_headers_build(ctx, &h, &n);
        if (r < 0)
                return r;
        canonical_headers_append(h, n, &canon, &names);
        sig_headers_free(h, n);

        sb_puts(&out, ctx->req->method);
        sb_putc(&out, '\n');
        uri_encode_append(&out, ctx->req->path, true);
        sb_putc(&out, '\n');
        sb_puts(&out, ctx->query);
        sb_putc(&out, '\n');
        sb_append(&out, canon.s ? canon.s : "", canon.len);
        sb_putc(&out, '\n');
        sb_append(&out, names.s ? names.s : "", names.len);
        sb_putc(&out, '\n');
        sb_puts(&out, ctx->payload_hash);
        free(canon.s);
        if (canon.oom || names.oom || out.oom) {
                free(names.s);
                free(out.s);
                return -ENOMEM;
        }
        ctx->signed_names = names.s;
        *ret = out.s;
        return 0;
}

static int amz_date_format(time_t t, char out[static AMZ_DATE_LEN + 1]) {
        struct tm tm;
        char buf[64];

        if (!gmtime_r(&t, &tm) || tm.tm_year < 70 || tm.tm_year > 9999 - 1900)
                return -EINVAL;
        if (strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm) != AMZ_DATE_LEN)
                return -EINVAL;
        memcpy(out, buf, AMZ_DATE_LEN + 1);
        return 0;
}

/* The scope "YYYYMMDD/region/service/aws4_request". */
static char *credential_scope(const sign_ctx *ctx) {
        strbuf b = {};

        sb_append(&b, ctx->amz_date, 8);
        sb_putc(&b, '/');
        sb_puts(&b, ctx->req->region);
        sb_putc(&b, '/');
        sb_puts(&b, ctx->req->service);
        sb_puts(&b, "/aws4_request");
        return sb_steal(&b);
}

static int string_to_sign(const sign_ctx *ctx, const char *canon, const char *scope, char **ret) {
        char hash[SIGV4_SHA256_HEX_SIZE];
        strbuf b = {};
        int r;

        r = sigv4_sha256_hex(canon, strlen(canon), hash);
        if (r < 0)
                return r;
        sb_puts(&b, "AWS4-HMAC-SHA256\n");
        sb_puts(&b, ctx->amz_date);
        sb_putc(&b, '\n');
        sb_puts(&b, scope);
        sb_putc(&b, '\n');
        sb_puts(&b, hash);
        char *sts = sb_steal(&b);
        if (!sts)
                return -ENOMEM;
        *ret = sts;
        return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
 * then the signature is hex(HMAC(kSigning, string to sign)). */
static int signature(const sign_ctx *ctx, const char *sts, char ret_hex[static SIGV4_SHA256_HEX_SIZE]) {
        unsigned char k1[SHA256_LEN], k2[SHA256_LEN], sig[SHA256_LEN];
        char date[9];
        strbuf secret = {};
        int r;

        memcpy(date, ctx->amz_date, 8);
        date[8] = '\0';
        sb_puts(&secret, "AWS4");
        sb_puts(&secret, ctx->creds->secret_access_key);
        if (secret.oom)
                return -ENOMEM;
        r = hmac_sha256(secret.s, secret.len, date, k1);
        if (r >= 0)
                r = hmac_sha256(k1, sizeof(k1), ctx->req->region, k2);
        if (r >= 0)
                r = hmac_sha256(k2, sizeof(k2), ctx->req->service, k1);
        if (r >= 0)
                r = hmac_sha256(k1, sizeof(k1), "aws4_request", k2);
        if (r >= 0)
                r = hmac_sha256(k2, sizeof(k2), sts, sig);
        if (r >= 0)
                hex_encode(sig, sizeof(sig), ret_hex);
        /* The derived keys are as good as the secret for a day: do not leave them behind. */
        OPENSSL_cleanse(secret.s, secret.len);
        OPENSSL_cleanse(k1, sizeof(k1));
        OPENSSL_cleanse(k2, sizeof(k2));
        free(sb_steal(&secret));
        return r;
}

static char *path_query(const sign_ctx *ctx) {
        strbuf b = {};

        uri_encode_append(&b, ctx->req->path, true);
        if (ctx->query[0]) {
                sb_putc(&b, '?');
                sb_puts(&b, ctx->query);
        }
        return sb_steal(&b);
}

static int header_line_add(sigv4_signed *s, const char *name, const char *value) {
        char *line;

        if (asprintf(&line, "%s: %s", name, value) < 0)
                return -ENOMEM;
        s->header_lines[s->n_header_lines++] = line;
        return 0;
}

static int output_fill(const sign_ctx *ctx, sigv4_signed *s, const char *scope) {
        if (asprintf(&s->authorization, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                     ctx->creds->access_key_id, scope, ctx->signed_names, s->signature) < 0) {
                s->authorization = NULL;
                return -ENOMEM;
        }
        s->amz_date = strdup(ctx->amz_date);
        s->path_query = path_query(ctx);
        if (!s->amz_date || !s->path_query)
                return -ENOMEM;
        if (header_line_add(s, "Authorization", s->authorization) < 0 ||
            header_line_add(s, "x-amz-date", ctx->amz_date) < 0)
                return -ENOMEM;
        if (!ctx->req->omit_content_sha256 &&
            header_line_add(s, "x-amz-content-sha256", ctx->payload_hash) < 0)
                return -ENOMEM;
        if (has_token(ctx->creds) &&
            header_line_add(s, "x-amz-security-token", ctx->creds->session_token) < 0)
                return -ENOMEM;
        return 0;
}

int sigv4_sign(const sigv4_request *req, const sigv4_credentials *creds, sigv4_signed **ret) {
        sign_ctx ctx = {.req = req, .creds = creds};
        char sig[SIGV4_SHA256_HEX_SIZE];
        char *scope = NULL;
        sigv4_signed *s = NULL;
        int r;

        r = validate(req, creds);
        if (r < 0)
                return r;
        ctx.payload_hash = req->payload_hash ? req->payload_hash : SIGV4_EMPTY_SHA256;
        r = amz_date_format(req->time, ctx.amz_date);
        if (r < 0)
                return r;
        r = -ENOMEM;
        s = calloc(1, sizeof(*s));
        scope = credential_scope(&ctx);
        if (!s || !scope)
                goto finish;
        r = canonical_query(req->query, req->n_query, &ctx.query);
        if (r < 0)
                goto finish;
        r = canonical_request(&ctx, &s->canonical_request);
        if (r < 0)
                goto finish;
        r = string_to_sign(&ctx, s->canonical_request, scope, &s->string_to_sign);
        if (r < 0)
                goto finish;
        r = signature(&ctx, s->string_to_sign, sig);
        if (r < 0)
                goto finish;
        s->signature = strdup(sig);
        r = s->signature ? output_fill(&ctx, s, scope) : -ENOMEM;
        if (r < 0)
                goto finish;
        *ret = s;
        s = NULL;
finish:
        sigv4_signed_free(s);
        free(scope);
        free(ctx.query);
        free(ctx.signed_names);
        return r;
}

sigv4_signed *sigv4_signed_free(sigv4_signed *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_header_lines; i++)
                free(s->header_lines[i]);
        free(s->path_query);
        free(s->authorization);
        free(s->amz_date);
        free(s->canonical_request);
        free(s->string_to_sign);
        free(s->signature);
        free(s);
        return NULL;
}
