/* SPDX-License-Identifier: MIT */
#include "local_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct walk {
        bool recursive;
        local_walk_fn found;
        void *userdata;
        char *rel; /* PATH_MAX bytes */
} walk;

/* What name in d is, symlinks followed: 1 with *st filled, 0 to pass over
 * (gone meanwhile, dangling); *is_link tells whether name itself is one. */
static int walk_stat(DIR *d, const char *name, struct stat *st, bool *is_link) {
        struct stat lst;
        if (fstatat(dirfd(d), name, &lst, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        *is_link = S_ISLNK(lst.st_mode);
        if (!*is_link) {
                *st = lst;
                return 1;
        }
        return fstatat(dirfd(d), name, st, 0) < 0 ? 0 : 1;
}

static int walk_dir(walk *w, int dfd, size_t len, unsigned depth) {
        DIR *d = fdopendir(dfd);
        struct dirent *de;
        int r = 0;

        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }
        while (r >= 0) {
                errno = 0;
                if (!(de = readdir(d))) {
                        /* An error ends the directory too: it must not pass for its end. */
                        if (errno != 0)
                                r = -errno;
                        break;
                }
                const char *name = de->d_name;
                struct stat st;
                bool is_link;
                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                        continue;
                size_t nl = strlen(name);
                if (len + nl + 2 > PATH_MAX) {
                        r = -ENAMETOOLONG;
                        break;
                }
                if (walk_stat(d, name, &st, &is_link) == 0)
                        continue;
                memcpy(w->rel + len, name, nl + 1);
                if (S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && !w->recursive))
                        r = w->found(w->rel, len + nl, &st, w->userdata);
                else if (S_ISDIR(st.st_mode) && !is_link) {
                        if (depth >= LOCAL_WALK_MAX_DEPTH) {
                                r = -ELOOP;
                                break;
                        }
                        int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = -errno;
                                break;
                        }
                        w->rel[len + nl] = '/';
                        r = walk_dir(w, sub, len + nl + 1, depth + 1);
                }
        }
        closedir(d);
        return r;
}

int local_walk(int dfd, bool recursive, local_walk_fn found, void *userdata) {
        walk w = { .recursive = recursive, .found = found, .userdata = userdata, .rel = malloc(PATH_MAX) };
        if (!w.rel) {
                close(dfd);
                return -ENOMEM;
        }
        int r = walk_dir(&w, dfd, 0, 0);
        free(w.rel);
        return r;
}
