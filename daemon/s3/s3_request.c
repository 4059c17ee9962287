/* SPDX-License-Identifier: MIT */
#include "s3_request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xstr.h"

/* Where this attempt goes: the host (the bucket in it for virtual-hosted
 * addressing) and the path. */
int s3_request_target(const s3_call_opts *o, const char *base_host, char **ret_host, char **ret_path) {
        const char *key = o->key ? o->key : "";
        char *host, *path;
        int r;

        if (s3_site_virtual(o->site, o->bucket)) {
                host = xasprintf("%s.%s", o->bucket, base_host);
                path = xasprintf("/%s", key);
        } else {
                host = strdup(base_host);
                path = xasprintf("/%s%s%s", o->bucket, o->key ? "/" : "", key);
        }
        r = host && path ? 0 : -ENOMEM;
        if (r < 0) {
                free(host);
                free(path);
                return r;
        }
        *ret_host = host;
        *ret_path = path;
        return 0;
}

int s3_request_sign(const s3_call_opts *o, const char *region, const char *host, const char *path,
                    sigv4_signed **ret) {
        sigv4_request sreq = {
                .method = http_method_to_string(o->method),
                .host = host,
                .path = path,
                .query = o->query,
                .n_query = o->n_query,
                .headers = o->headers,
                .n_headers = o->n_headers,
                .payload_hash = o->payload_hash ? o->payload_hash
                                : o->has_body   ? SIGV4_UNSIGNED_PAYLOAD
                                                : SIGV4_EMPTY_SHA256,
                .region = region,
                .service = "s3",
                .time = time(NULL),
        };
        sigv4_credentials creds = {
                .access_key_id = o->site->access_key_id,
                .secret_access_key = o->site->secret_access_key,
                .session_token = o->site->session_token,
        };

        return sigv4_sign(&sreq, &creds, ret);
}

void s3_request_header_lines_free(const s3_call_opts *o, char **owned) {
        if (owned)
                for (size_t i = 0; i < o->n_headers; i++)
                        free(owned[i]);
        free(owned);
}

/* The request's header lines: the caller's ("Name: value", in *ret_owned,
 * o->n_headers of them) and then the signature's (borrowed from sig). */
int s3_request_header_lines(const s3_call_opts *o, const sigv4_signed *sig, const char ***ret_lines,
                            char ***ret_owned) {
        const char **lines = calloc(o->n_headers + sig->n_header_lines + 1, sizeof(char *));
        char **owned = calloc(o->n_headers + 1, sizeof(char *));
        size_t i, k = 0;

        if (!lines || !owned)
                goto oom;
        for (i = 0; i < o->n_headers; i++) {
                owned[i] = xasprintf("%s: %s", o->headers[i].name, o->headers[i].value);
                if (!owned[i])
                        goto oom;
                lines[k++] = owned[i];
        }
        for (i = 0; i < sig->n_header_lines; i++)
                lines[k++] = sig->header_lines[i];
        *ret_lines = lines;
        *ret_owned = owned;
        return 0;
oom:
        s3_request_header_lines_free(o, owned);
        free(lines);
        return -ENOMEM;
}
