/* SPDX-License-Identifier: MIT */
#include "conf_ids.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

typedef int (*id_lookup_fn)(const char *name, char *buf, size_t size, uint32_t *ret);

static int lookup_user(const char *name, char *buf, size_t size, uint32_t *ret) {
        struct passwd pw, *res = NULL;
        int r = getpwnam_r(name, &pw, buf, size, &res);
        if (r == 0 && res)
                *ret = res->pw_uid;
        return r ? r : res ? 0 : ENOENT;
}

static int lookup_group(const char *name, char *buf, size_t size, uint32_t *ret) {
        struct group grp, *res = NULL;
        int r = getgrnam_r(name, &grp, buf, size, &res);
        if (r == 0 && res)
                *ret = res->gr_gid;
        return r ? r : res ? 0 : ENOENT;
}

int conf_id_resolve(const char *s, bool group, uint32_t *ret) {
        id_lookup_fn lookup = group ? lookup_group : lookup_user;
        size_t size = 16384;

        if (*s && strspn(s, "0123456789") == strlen(s)) {
                errno = 0;
                unsigned long long v = strtoull(s, NULL, 10);
                if (errno == ERANGE || v >= (uint32_t) -1)
                        return -ERANGE;
                *ret = (uint32_t) v;
                return 0;
        }
        /* The buffer the entry needs is not known beforehand. */
        for (;;) {
                char *buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                int r = lookup(s, buf, size, ret);
                free(buf);
                if (r != ERANGE || size >= 1024 * 1024)
                        return -r;
                size *= 2;
        }
}

int conf_id_resolve_list(const char *value, bool groups, uint32_t **ret, size_t *ret_n) {
        char *copy = strdup(value), *save = NULL;
        size_t n = 0, cap = 8;
        uint32_t *ids = malloc(cap * sizeof(uint32_t));
        int r = 0;

        if (!copy || !ids) {
                r = -ENOMEM;
                goto out;
        }
        for (char *w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save)) {
                if (n == cap) {
                        uint32_t *p = realloc(ids, (cap *= 2) * sizeof(uint32_t));
                        if (!p) {
                                r = -ENOMEM;
                                goto out;
                        }
                        ids = p;
                }
                r = conf_id_resolve(w, groups, &ids[n++]);
                if (r < 0)
                        goto out;
        }
        if (n == 0) {
                r = -EINVAL;
                goto out;
        }
        *ret = ids;
        *ret_n = n;
        ids = NULL;
out:
        free(ids);
        free(copy);
        return r;
}
