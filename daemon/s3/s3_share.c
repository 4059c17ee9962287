/* SPDX-License-Identifier: MIT */
#include "s3_share.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each part as its length and bytes, so no value can pass for another. */
static void key_put(char **p, size_t *left, size_t *need, const char *s) {
        size_t n = s ? strlen(s) : 0;
        int w = snprintf(*p, *left, "%zu:", n);
        *need += (size_t) w + n + 1;
        if (*left > (size_t) w + n) {
                memcpy(*p + w, s ? s : "", n);
                (*p)[w + n] = s ? '|' : '-';
                *p += (size_t) w + n + 1;
                *left -= (size_t) w + n + 1;
        } else
                *left = 0;
}

static size_t key_build(const s3_call_opts *o, char *buf, size_t size) {
        const s3_site *s = o->site;
        char method[16];
        char *p = buf;
        size_t left = size, need = 0;

        snprintf(method, sizeof(method), "%d", (int) o->method);
        const char *fixed[] = { method, s->scheme, s->host, s->region, s->path_style ? "path" : "virtual",
                                s->access_key_id, s->secret_access_key, s->session_token, s->ca_bundle,
                                o->bucket, o->key };
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                key_put(&p, &left, &need, fixed[i]);
        for (size_t i = 0; i < o->n_query; i++) {
                key_put(&p, &left, &need, o->query[i].name);
                key_put(&p, &left, &need, o->query[i].value);
        }
        key_put(&p, &left, &need, "headers");
        for (size_t i = 0; i < o->n_headers; i++) {
                key_put(&p, &left, &need, o->headers[i].name);
                key_put(&p, &left, &need, o->headers[i].value);
        }
        return need;
}

static char *key_new(const s3_call_opts *o, size_t *ret_len) {
        size_t n = key_build(o, NULL, 0);
        char *k = malloc(n + 1);
        if (!k)
                return NULL;
        key_build(o, k, n + 1);
        *ret_len = n;
        return k;
}

static void key_free(char *k, size_t len) {
        if (!k)
                return;
        explicit_bzero(k, len); /* it holds the secret */
        free(k);
}

s3_share *s3_share_find(list_node *table, const s3_call_opts *o) {
        size_t len;
        char *k = key_new(o, &len);
        s3_share *found = NULL;
        if (!k)
                return NULL;
        for (list_node *i = table->next; i != table && !found; i = i->next) {
                s3_share *s = list_entry(i, s3_share, link);
                if (!s->body_started && s->key_len == len && memcmp(s->key, k, len) == 0)
                        found = s;
        }
        key_free(k, len);
        return found;
}

int s3_share_new(list_node *table, const s3_call_opts *o, s3_share **ret) {
        s3_share *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->key = key_new(o, &s->key_len);
        if (!s->key) {
                free(s);
                return -ENOMEM;
        }
        list_init(&s->followers);
        list_add_tail(table, &s->link);
        *ret = s;
        return 0;
}

void s3_share_header(s3_share *s, const char *name, const char *value) {
        s3_share_hdr *h = realloc(s->headers, (s->n_headers + 1) * sizeof(*h));
        if (!h) {
                s->overflow = true;
                return;
        }
        s->headers = h;
        h[s->n_headers] = (s3_share_hdr){ strdup(name), strdup(value) };
        if (!h[s->n_headers].name || !h[s->n_headers].value)
                s->overflow = true;
        s->n_headers++;
}

void s3_share_body(s3_share *s, const void *data, size_t len) {
        s->body_started = true;
        if (s->overflow || list_empty(&s->followers))
                return;
        if (s->len + len > S3_SHARE_BODY_MAX) {
                s->overflow = true;
                list_del(&s->link); /* nobody new joins a body that does not fit */
                free(s->body);
                s->body = NULL;
                s->len = s->cap = 0;
                return;
        }
        if (s->len + len > s->cap) {
                size_t cap = s->cap ? s->cap : 64 * 1024;
                while (cap < s->len + len)
                        cap *= 2;
                char *p = realloc(s->body, cap);
                if (!p) {
                        s->overflow = true;
                        return;
                }
                s->body = p;
                s->cap = cap;
        }
        memcpy(s->body + s->len, data, len);
        s->len += len;
}

void s3_share_reset(s3_share *s) {
        for (size_t i = 0; i < s->n_headers; i++) {
                free(s->headers[i].name);
                free(s->headers[i].value);
        }
        free(s->headers);
        s->headers = NULL;
        s->n_headers = 0;
        free(s->body);
        s->body = NULL;
        s->len = s->cap = 0;
        s->body_started = false;
}

void s3_share_free(s3_share *s) {
        if (!s)
                return;
        if (list_linked(&s->link))
                list_del(&s->link);
        s3_share_reset(s);
        key_free(s->key, s->key_len);
        free(s);
}
