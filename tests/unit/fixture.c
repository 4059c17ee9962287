/* SPDX-License-Identifier: MIT */
#include "fixture.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *fixture_read(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t len = 0, cap = 0, n;
        char chunk[4096];
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
                if (len + n + 1 > cap) {
                        cap = (len + n + 1) * 2;
                        char *p = realloc(buf, cap);
                        if (!p) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = p;
                }
                memcpy(buf + len, chunk, n);
                len += n;
        }
        fclose(f);
        if (!buf && !(buf = malloc(1)))
                return NULL;
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        return buf;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int fixture_list(const char *dir, fixture_keep_fn keep, char ***ret, size_t *ret_n) {
        DIR *d = opendir(dir);
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                errno = 0;
                char *kept = keep(dir, de->d_name);
                if (!kept) {
                        if (errno == ENOMEM)
                                goto oom;
                        continue;
                }
                char **p = realloc(names, (n + 1) * sizeof(*names));
                if (!p) {
                        free(kept);
                        goto oom;
                }
                names = p;
                names[n++] = kept;
        }
        closedir(d);
        if (n > 1)
                qsort(names, n, sizeof(*names), name_cmp);
        *ret = names;
        *ret_n = n;
        return 0;
oom:
        closedir(d);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return -ENOMEM;
}

uint64_t fixture_rng(uint64_t *state) {
        uint64_t x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *state = x;
}

int fixture_run(Suite *s) {
        SRunner *sr = srunner_create(s);
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
