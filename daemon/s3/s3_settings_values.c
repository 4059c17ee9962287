/* SPDX-License-Identifier: MIT */
/* Single values of the S3 settings: checking endpoint URLs, regions and
 * addressing styles, the Host of a bucket, and the settings as text. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "macro.h"
#include "s3_settings.h"
#include "s3_settings_internal.h"
#include "xstr.h"

#define REGION_MAX 64
#define URL_SHOWN_MAX 256

/* ---- small helpers ---- */

int s3_settings_fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        *ret_error = s;
        return s ? r : -ENOMEM;
}

static bool is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

int s3_settings_set_string(char **dst, const char *value) {
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        free(*dst);
        *dst = v;
        return 0;
}

/* A URL as it may appear in a message: not when it could carry a password
 * (user:password@host) or bytes a terminal would interpret. */
const char *s3_settings_url_shown(const char *url) {
        if (strchr(url, '@') || strlen(url) > URL_SHOWN_MAX)
                return "(not shown)";
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return "(not shown)";
        return url;
}

char *s3_settings_mask_key_id(const char *key_id, char buf[static 13]) {
        size_t n = key_id ? strlen(key_id) : 0;

        if (n < 12) {
                strcpy(buf, "****");
                return buf;
        }
        memcpy(buf, key_id, 4);
        memcpy(buf + 4, "****", 4);
        memcpy(buf + 8, key_id + n - 4, 4);
        buf[12] = '\0';
        return buf;
}

const char *s3_settings_getenv_process(const char *name, void *userdata) {
        (void) userdata;
        return getenv(name);
}

/* ---- validation ---- */

int s3_settings_check_region(const char *region, const char *origin, char **ret_error) {
        size_t n = strlen(region);

        for (size_t i = 0; i < n; i++)
                if (!is_alnum(region[i]) && region[i] != '-')
                        n = 0;
        if (n == 0 || n > REGION_MAX)
                return s3_settings_fail(
                        ret_error, -EINVAL,
                        "region '%s' (%s) is not valid: use letters, digits and '-', as in eu-west-1",
                        s3_settings_url_shown(region), origin);
        return 0;
}

void s3_settings_endpoint_done(endpoint *e) {
        free(e->url);
        free(e->host);
}

static bool host_chars_ok(const char *h, size_t n, bool bracketed) {
        for (size_t i = 0; i < n; i++) {
                char c = h[i];
                if (bracketed ? !(is_alnum(c) || c == ':' || c == '.' || c == '%')
                              : !(is_alnum(c) || c == '.' || c == '-' || c == '_'))
                        return false;
        }
        return n > 0;
}

static bool ends_with(const char *s, size_t n, const char *suffix) {
        size_t k = strlen(suffix);
        return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Split authority [auth, end) into host and port; 0 or -EINVAL with a reason. */
static int split_authority(const char *auth, const char *end, size_t *ret_host_len, long *ret_port,
                           const char **ret_why) {
        const char *host_end, *p;
        bool bracketed = *auth == '[';
        long port = 0;

        if (bracketed) {
                host_end = memchr(auth, ']', (size_t) (end - auth));
                if (!host_end || !host_chars_ok(auth + 1, (size_t) (host_end - auth - 1), true))
                        return (*ret_why = "has no valid host", -EINVAL);
                host_end++;
        } else {
                host_end = memchr(auth, ':', (size_t) (end - auth));
                if (!host_end)
                        host_end = end;
                if (!host_chars_ok(auth, (size_t) (host_end - auth), false))
                        return (*ret_why = "has no valid host", -EINVAL);
        }
        if (host_end < end) {
                if (*host_end != ':' || end - host_end < 2 || end - host_end > 6)
                        return (*ret_why = "has no valid port", -EINVAL);
                for (p = host_end + 1; p < end; p++) {
                        if (*p < '0' || *p > '9')
                                return (*ret_why = "has no valid port", -EINVAL);
                        port = port * 10 + (*p - '0');
                }
                if (port < 1 || port > 65535)
                        return (*ret_why = "has no valid port", -EINVAL);
        }
        *ret_host_len = (size_t) (host_end - auth);
        *ret_port = port;
        return 0;
}

/* "scheme://host[:port][/]" with scheme http or https: normalized to lower
 * case, without the default port and the slash. */
int s3_settings_endpoint_parse(const char *url, const char *origin, endpoint *ret, char **ret_error) {
        const char *sep = strstr(url, "://"), *auth, *end, *why = NULL;
        size_t scheme_len, host_len;
        long port;
        endpoint e = { 0 };

        scheme_len = sep ? (size_t) (sep - url) : 0;
        if (scheme_len == 5 && strncasecmp(url, "https", 5) == 0)
                e.https = true;
        else if (!(scheme_len == 4 && strncasecmp(url, "http", 4) == 0))
                return s3_settings_fail(
                        ret_error, -EINVAL,
                        "endpoint URL '%s' (%s) must be http://HOST[:PORT] or https://HOST[:PORT]",
                        s3_settings_url_shown(url), origin);
        auth = sep + 3;
        end = auth + strcspn(auth, "/?#");
        if (*end && strcmp(end, "/") != 0)
                why = "must not have a path, query or fragment";
        else if (memchr(auth, '@', (size_t) (end - auth)))
                why = "must not contain user information";
        else
                (void) split_authority(auth, end, &host_len, &port, &why);
        if (why)
                return s3_settings_fail(ret_error, -EINVAL, "endpoint URL '%s' (%s) %s",
                                        s3_settings_url_shown(url), origin, why);

        if ((e.https && port == 443) || (!e.https && port == 80))
                port = 0;
        e.host = port ? xasprintf("%.*s:%ld", (int) host_len, auth, port) : strndup(auth, host_len);
        if (!e.host)
                return -ENOMEM;
        for (char *p = e.host; *p; p++)
                *p = lower(*p);
        e.url = xasprintf("%s://%s", e.https ? "https" : "http", e.host);
        if (!e.url) {
                s3_settings_endpoint_done(&e);
                return -ENOMEM;
        }
        e.is_aws = ends_with(auth, host_len, ".amazonaws.com") ||
                   ends_with(auth, host_len, ".amazonaws.com.cn");
        *ret = e;
        return 0;
}

/* Hosts botocore's container provider fetches from over plain http besides
 * loopback addresses: ECS's and EKS Pod Identity's agents. */
static bool container_host_allowed(const char *host, size_t n) {
        static const char *const allowed[] = { "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "localhost" };
        char buf[64];
        struct in_addr a4;
        struct in6_addr a6;

        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (strlen(allowed[i]) == n && strncasecmp(host, allowed[i], n) == 0)
                        return true;
        if (n >= sizeof(buf))
                return false;
        memcpy(buf, host, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET, buf, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (n > 2 && buf[0] == '[' && buf[n - 1] == ']') {
                buf[n - 1] = '\0';
                if (inet_pton(AF_INET6, buf + 1, &a6) == 1)
                        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
        }
        return false;
}

int s3_settings_sts_endpoint(s3_settings_getenv_fn getenv_fn, void *userdata, const char *region, char **ret,
                             char **ret_error) {
        const char *ignore = getenv_fn("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", userdata);
        const char *v = getenv_fn("AWS_ENDPOINT_URL_STS", userdata);
        const char *mode = getenv_fn("AWS_STS_REGIONAL_ENDPOINTS", userdata);
        const char *origin = "AWS_ENDPOINT_URL_STS";
        endpoint e;
        int r;

        if (!empty(ignore) && strcasecmp(ignore, "true") == 0)
                v = NULL;
        else if (empty(v)) {
                v = getenv_fn("AWS_ENDPOINT_URL", userdata);
                origin = "AWS_ENDPOINT_URL";
        }
        if (!empty(v)) {
                r = s3_settings_endpoint_parse(v, origin, &e, ret_error);
                if (r < 0)
                        return r;
                *ret = e.url;
                e.url = NULL;
                s3_settings_endpoint_done(&e);
                return 0;
        }
        /* botocore's legacy mode sends these regions to the global endpoint. */
        static const char *const legacy[] = { "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
                                              "aws-global",     "ca-central-1", "eu-central-1", "eu-north-1",
                                              "eu-west-1",      "eu-west-2",  "eu-west-3",      "sa-east-1",
                                              "us-east-1",      "us-east-2",  "us-west-1",      "us-west-2" };
        bool cn = strncmp(region, "cn-", 3) == 0, global = false;
        for (size_t i = 0; i < ELEMENTSOF(legacy) && !empty(mode) && strcasecmp(mode, "legacy") == 0; i++)
                global = global || strcmp(region, legacy[i]) == 0;
        if (global)
                *ret = strdup(S3_SETTINGS_STS_GLOBAL);
        else
                *ret = xasprintf("https://sts.%s.amazonaws.com%s", region, cn ? ".cn" : "");
        return *ret ? 0 : -ENOMEM;
}

int s3_settings_container_url(const char *relative, const char *full, char **ret_url, char **ret_error) {
        const char *sep, *auth, *end, *why = NULL;
        size_t host_len;
        long port;
        bool https;

        for (const char *c = relative ? relative : full; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f)
                        return s3_settings_fail(ret_error, -EINVAL, "%s holds a space or a control character",
                                                relative ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                                                         : "AWS_CONTAINER_CREDENTIALS_FULL_URI");
        if (relative) {
                if (relative[0] != '/')
                        return s3_settings_fail(ret_error, -EINVAL,
                                                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI '%s' must begin with '/'",
                                                s3_settings_url_shown(relative));
                *ret_url = xasprintf("http://" S3_SETTINGS_CONTAINER_HOST "%s", relative);
                return *ret_url ? 0 : -ENOMEM;
        }
        sep = strstr(full, "://");
        https = sep && sep - full == 5 && strncasecmp(full, "https", 5) == 0;
        if (!sep || !(https || (sep - full == 4 && strncasecmp(full, "http", 4) == 0)))
                why = "must be an http:// or https:// URL";
        else {
                auth = sep + 3;
                end = auth + strcspn(auth, "/?#");
                if (memchr(auth, '@', (size_t) (end - auth)))
                        why = "must not contain user information";
                else if (split_authority(auth, end, &host_len, &port, &why) == 0 && !https &&
                         !container_host_allowed(auth, host_len))
                        why = "is plain http to a host that is neither a loopback address nor 169.254.170.2, "
                              "169.254.170.23, fd00:ec2::23 or localhost (use https)";
        }
        if (why)
                return s3_settings_fail(ret_error, -EINVAL, "AWS_CONTAINER_CREDENTIALS_FULL_URI '%s' %s",
                                        s3_settings_url_shown(full), why);
        *ret_url = strdup(full);
        return *ret_url ? 0 : -ENOMEM;
}

int s3_settings_check_addressing(const char *v, const char *origin, char **ret_error) {
        if (strcmp(v, "path") == 0 || strcmp(v, "virtual") == 0 || strcmp(v, "auto") == 0)
                return 0;
        return s3_settings_fail(ret_error, -EINVAL,
                                "addressing_style '%s' (%s) must be path, virtual or auto",
                                s3_settings_url_shown(v), origin);
}

/* ---- addressing ---- */

static bool is_ipv4(const char *h, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
                        return false;
        return n > 0;
}

/* A bucket name that is also a DNS label sequence: 3-63 of a-z 0-9 . -,
 * starting and ending with a letter or digit, no empty label, not an IPv4 address. */
static bool bucket_dns_compatible(const char *b) {
        size_t n = strlen(b);

        if (n < 3 || n > 63 || !is_alnum(b[0]) || !is_alnum(b[n - 1]) || is_ipv4(b, n))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = b[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
                        return false;
                if (c == '.' && (b[i - 1] == '.' || b[i - 1] == '-' || b[i + 1] == '-'))
                        return false;
        }
        return true;
}

bool s3_settings_use_virtual(const s3_settings *s, const char *bucket) {
        const char *h = s->endpoint_host;
        size_t hn = strcspn(h, ":");

        if (s->addressing_style != S3_ADDRESSING_VIRTUAL || !bucket_dns_compatible(bucket))
                return false;
        if (s->endpoint_https && strchr(bucket, '.'))
                return false;
        return h[0] != '[' && !is_ipv4(h, hn);
}

int s3_settings_bucket_host(const s3_settings *s, const char *bucket, char **ret_host) {
        char *h;
        bool virt;

        if (empty(bucket))
                return -EINVAL;
        virt = s3_settings_use_virtual(s, bucket);
        h = virt ? xasprintf("%s.%s", bucket, s->endpoint_host) : strdup(s->endpoint_host);
        if (!h)
                return -ENOMEM;
        *ret_host = h;
        return virt ? 1 : 0;
}

/* ---- display ---- */

static const char *const source_names[_S3_CREDENTIALS_SOURCE_MAX] = {
        [S3_CREDENTIALS_NONE] = "none yet",
        [S3_CREDENTIALS_OPTIONS] = "options",
        [S3_CREDENTIALS_DEFAULTS] = "daemon defaults",
        [S3_CREDENTIALS_ENVIRONMENT] = "environment",
        [S3_CREDENTIALS_CREDENTIALS_FILE] = "credentials file",
        [S3_CREDENTIALS_CONFIG_FILE] = "config file",
        [S3_CREDENTIALS_ASSUME_ROLE] = "assumed role (STS)",
        [S3_CREDENTIALS_WEB_IDENTITY] = "web identity (STS)",
        [S3_CREDENTIALS_PROCESS] = "credential_process",
        [S3_CREDENTIALS_CONTAINER] = "container credentials endpoint",
        [S3_CREDENTIALS_IMDS] = "instance metadata service",
};

int s3_settings_format(const s3_settings *s, char **ret_text) {
        char key[13], expiry[32] = "never";
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        if (s->credentials_expiration != 0) {
                time_t t = (time_t) s->credentials_expiration;
                struct tm tm;
                if (gmtime_r(&t, &tm))
                        strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        fprintf(f, "%-18s %s  (%s)\n", "endpoint_url", s->endpoint_url, s->endpoint_origin);
        fprintf(f, "%-18s %s  (%s)\n", "region", s->region, s->region_origin);
        fprintf(f, "%-18s %s  (%s)\n", "addressing_style",
                s->addressing_style == S3_ADDRESSING_PATH ? "path" : "virtual", s->addressing_origin);
        fprintf(f, "%-18s %s  (%s)\n", "profile", s->profile, s->profile_origin);
        if (s->ca_bundle)
                fprintf(f, "%-18s %s  (%s)\n", "ca_bundle", s->ca_bundle, s->ca_bundle_origin);
        fprintf(f, "%-18s %s  (%s: %s)\n", "access_key_id",
                s->access_key_id ? s3_settings_mask_key_id(s->access_key_id, key) : "-",
                source_names[s->credentials_source], s->credentials_origin);
        fprintf(f, "%-18s %s\n", "secret_access_key", s->secret_access_key ? "****" : "-");
        fprintf(f, "%-18s %s\n", "session_token", s->session_token ? "****" : "-");
        fprintf(f, "%-18s %s\n", "expiration", s->access_key_id ? expiry : "-");
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        return 0;
}
