/* SPDX-License-Identifier: MIT */
#include "s3_site.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

int s3_site_parse_endpoint(const char *url, char **ret_scheme, char **ret_host) {
        const char *rest;
        const char *scheme;

        if (strncmp(url, "https://", 8) == 0)
                scheme = "https", rest = url + 8;
        else if (strncmp(url, "http://", 7) == 0)
                scheme = "http", rest = url + 7;
        else
                return -EINVAL;
        size_t n = strcspn(rest, "/?#");
        if (n == 0 || (rest[n] && strcmp(rest + n, "/") != 0))
                return -EINVAL;
        char *host = strndup(rest, n);
        char *s = strdup(scheme);
        if (!host || !s) {
                free(host);
                free(s);
                return -ENOMEM;
        }
        size_t hl = strlen(host);
        const char *dflt = strcmp(scheme, "https") == 0 ? ":443" : ":80";
        if (hl > strlen(dflt) && strcmp(host + hl - strlen(dflt), dflt) == 0)
                host[hl - strlen(dflt)] = '\0';
        *ret_scheme = s;
        *ret_host = host;
        return 0;
}

static const char *pick(json_t *o, const char *key, const char *env1, const char *env2) {
        json_t *v = o ? json_object_get(o, key) : NULL;
        if (json_is_string(v) && *json_string_value(v))
                return json_string_value(v);
        const char *e = env1 ? getenv(env1) : NULL;
        if (e && *e)
                return e;
        e = env2 ? getenv(env2) : NULL;
        return e && *e ? e : NULL;
}

int s3_site_resolve(fds_daemon *d, json_t *o, s3_site **ret, char **ret_reason) {
        s3_site *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        const char *region = pick(o, "region", "AWS_REGION", "AWS_DEFAULT_REGION");
        const char *endpoint = pick(o, "endpoint_url", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
        const char *style = pick(o, "addressing_style", NULL, NULL);
        const char *id = pick(o, "access_key_id", "AWS_ACCESS_KEY_ID", NULL);
        const char *secret = pick(o, "secret_access_key", "AWS_SECRET_ACCESS_KEY", NULL);
        const char *token = pick(o, "session_token", "AWS_SESSION_TOKEN", NULL);

        s->region = strdup(region ? region : "us-east-1");
        if (!s->region)
                goto oom;
        if (endpoint) {
                r = s3_site_parse_endpoint(endpoint, &s->scheme, &s->host);
                if (r == -ENOMEM)
                        goto oom;
                if (r < 0) {
                        if (asprintf(ret_reason, "invalid S3 endpoint URL '%s' (expected http(s)://host[:port])",
                                     endpoint) < 0)
                                *ret_reason = NULL;
                        s3_site_free(s);
                        return -EINVAL;
                }
                s->path_style = !style || strcmp(style, "path") == 0;
        } else {
                s->aws = true;
                s->scheme = strdup("https");
                if (!s->scheme || s3_site_aws_host(s->region, &s->host) < 0)
                        goto oom;
                s->path_style = style && strcmp(style, "path") == 0;
        }
        if (!id || !secret) {
                *ret_reason = strdup(id ? "S3 secret access key missing (options.s3 or AWS_SECRET_ACCESS_KEY)"
                                        : "no S3 credentials (options.s3, AWS_ACCESS_KEY_ID and "
                                          "AWS_SECRET_ACCESS_KEY)");
                s3_site_free(s);
                return -ENOKEY;
        }
        s->access_key_id = strdup(id);
        s->secret_access_key = strdup(secret);
        s->session_token = token ? strdup(token) : NULL;
        if (!s->access_key_id || !s->secret_access_key || (token && !s->session_token))
                goto oom;
        *ret = s;
        return 0;
oom:
        s3_site_free(s);
        return -ENOMEM;
}
