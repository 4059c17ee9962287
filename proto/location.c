/* SPDX-License-Identifier: MIT */
#include "location.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void fds_location_done(fds_location *l) {
        if (!l)
                return;
        if (!l->pooled) {
                free(l->path);
                free(l->bucket);
                free(l->key);
        }
        *l = (fds_location){ 0 };
}

bool fds_location_is_s3(const char *s) {
        return strncmp(s, "s3://", 5) == 0;
}

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* S3's rules for bucket names created today: 3-63 characters of lowercase
 * letters, digits, '.' and '-', starting and ending with a letter or digit,
 * no "..", and not shaped like an IPv4 address. */
bool fds_s3_bucket_name_valid(const char *b, size_t n) {
        if (n < 3 || n > 63)
                return false;
        if (!is_lower_alnum(b[0]) || !is_lower_alnum(b[n - 1]))
                return false;
        bool all_digits_and_dots = true;
        unsigned dots = 0;
        for (size_t i = 0; i < n; i++) {
                char c = b[i];
                if (!is_lower_alnum(c) && c != '.' && c != '-')
                        return false;
                if (c == '.' && b[i + 1] == '.')
                        return false;
                if (c == '.')
                        dots++;
                else if (c < '0' || c > '9')
                        all_digits_and_dots = false;
        }
        return !(all_digits_and_dots && dots == 3);
}

static int parse_s3(const char *s, fds_strpool *pool, fds_location *ret, const char **ret_reason) {
        const char *b = s + 5;
        const char *slash = strchr(b, '/');
        size_t blen = slash ? (size_t) (slash - b) : strlen(b);

        if (blen == 0) {
                *ret_reason = "S3 URL has no bucket (expected s3://bucket/key)";
                return -EINVAL;
        }
        if (!fds_s3_bucket_name_valid(b, blen)) {
                *ret_reason = "invalid S3 bucket name (3-63 lowercase letters, digits, '.' or '-')";
                return -EINVAL;
        }
        const char *key = slash ? slash + 1 : "";
        if (strlen(key) > FDS_S3_KEY_MAX) {
                *ret_reason = "S3 key longer than 1024 bytes";
                return -ENAMETOOLONG;
        }
        fds_location l = { .kind = FDS_LOCATION_S3, .pooled = pool != NULL };
        if (pool) {
                l.bucket = fds_strpool_dupn_repeat(pool, b, blen);
                l.key = (char *) key;
        } else {
                l.bucket = strndup(b, blen);
                l.key = strdup(key);
        }
        if (!l.bucket || !l.key) {
                fds_location_done(&l);
                return -ENOMEM;
        }
        *ret = l;
        return 0;
}

/* s without repeated slashes and "." components, into out (as long as s
 * and its NUL); returns the length, which is strlen(s) when s is normal. */
static size_t normalize_local(const char *s, char *out) {
        size_t o = 0;
        const char *p = s;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *e = strchrnul(p, '/');
                size_t len = (size_t) (e - p);
                if (len == 0 || (len == 1 && p[0] == '.')) {
                        p = e;
                        continue;
                }
                out[o++] = '/';
                memcpy(out + o, p, len);
                o += len;
                p = e;
        }
        if (o == 0)
                out[o++] = '/';
        out[o] = '\0';
        return o;
}

static int parse_local(const char *s, fds_strpool *pool, fds_location *ret) {
        char buf[PATH_MAX];
        size_t n = normalize_local(s, buf);
        char *p;
        if (pool)
                /* Normalizing only drops characters: the same length is the same path. */
                p = n == strlen(s) ? (char *) s : fds_strpool_dupn(pool, buf, n);
        else
                p = strndup(buf, n);
        if (!p)
                return -ENOMEM;
        *ret = (fds_location){ .kind = FDS_LOCATION_LOCAL, .pooled = pool != NULL, .path = p };
        return 0;
}

int fds_location_parse_in(const char *s, fds_strpool *pool, fds_location *ret, const char **ret_reason) {
        const char *reason_dummy;
        if (!ret_reason)
                ret_reason = &reason_dummy;

        if (!s || !*s) {
                *ret_reason = "empty path";
                return -EINVAL;
        }
        if (fds_location_is_s3(s))
                return parse_s3(s, pool, ret, ret_reason);
        if (s[0] != '/' && strstr(s, "://")) {
                *ret_reason = "unsupported URL scheme (only s3:// and absolute local paths)";
                return -EINVAL;
        }
        if (s[0] != '/') {
                *ret_reason = "relative path (local paths must be absolute)";
                return -EINVAL;
        }
        if (strlen(s) >= PATH_MAX) {
                *ret_reason = "path longer than PATH_MAX";
                return -ENAMETOOLONG;
        }
        return parse_local(s, pool, ret);
}

int fds_location_parse(const char *s, fds_location *ret, const char **ret_reason) {
        return fds_location_parse_in(s, NULL, ret, ret_reason);
}
