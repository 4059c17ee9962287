/* SPDX-License-Identifier: MIT */
#include "uploads_left.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_NAME "uploads-left.jsonl"

char *uploads_left_dir(void) {
        const char *s = getenv("STATE_DIRECTORY");
        char *dir = NULL;
        if (s && *s) {
                /* systemd may list several, colon-separated: the first. */
                size_t n = strcspn(s, ":");
                return strndup(s, n);
        }
        if ((s = getenv("XDG_STATE_HOME")) && *s == '/')
                return asprintf(&dir, "%s/fds", s) < 0 ? NULL : dir;
        if (geteuid() == 0)
                return strdup("/var/lib/fds");
        if ((s = getenv("HOME")) && *s == '/')
                return asprintf(&dir, "%s/.local/state/fds", s) < 0 ? NULL : dir;
        return NULL;
}

static void item_free(upload_left *i) {
        free(i->endpoint);
        free(i->bucket);
        free(i->key);
        free(i->upload_id);
}

static int push(uploads_left *u, const char *endpoint, const char *bucket, const char *key, const char *id) {
        upload_left *items = realloc(u->items, (u->n + 1) * sizeof(*items));
        if (!items)
                return -ENOMEM;
        u->items = items;
        upload_left *i = &items[u->n];
        *i = (upload_left){ strdup(endpoint), strdup(bucket), strdup(key), strdup(id) };
        if (!i->endpoint || !i->bucket || !i->key || !i->upload_id) {
                item_free(i);
                return -ENOMEM;
        }
        u->n++;
        return 0;
}

int uploads_left_load(uploads_left *u, const char *dir) {
        *u = (uploads_left){ 0 };
        if (!dir)
                return 0;
        if (asprintf(&u->path, "%s/" FILE_NAME, dir) < 0) {
                u->path = NULL;
                return -ENOMEM;
        }
        FILE *f = fopen(u->path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        char *line = NULL;
        size_t cap = 0;
        int r = 0;
        while (r >= 0 && getline(&line, &cap, f) > 0) {
                json_t *o = json_loads(line, 0, NULL);
                const char *e = json_string_value(json_object_get(o, "endpoint"));
                const char *b = json_string_value(json_object_get(o, "bucket"));
                const char *k = json_string_value(json_object_get(o, "key"));
                const char *id = json_string_value(json_object_get(o, "upload_id"));
                if (e && b && k && id)
                        r = push(u, e, b, k, id);
                json_decref(o);
        }
        free(line);
        fclose(f);
        return r;
}

void uploads_left_free(uploads_left *u) {
        for (size_t i = 0; i < u->n; i++)
                item_free(&u->items[i]);
        free(u->items);
        free(u->path);
        *u = (uploads_left){ 0 };
}

static int write_line(int fd, const upload_left *i) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "endpoint", i->endpoint, "bucket", i->bucket, "key",
                              i->key, "upload_id", i->upload_id);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!s)
                return -ENOMEM;
        size_t n = strlen(s);
        s[n] = '\n'; /* over the NUL: written by length */
        int r = write(fd, s, n + 1) == (ssize_t) (n + 1) ? 0 : -EIO;
        free(s);
        return r;
}

static int make_dir(const char *path) {
        char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (slash)
                *slash = '\0';
        int r = mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
        free(dir);
        return r;
}

int uploads_left_add(uploads_left *u, const char *endpoint, const char *bucket, const char *key,
                     const char *upload_id) {
        int r = push(u, endpoint, bucket, key, upload_id);
        if (r < 0 || !u->path)
                return r;
        if ((r = make_dir(u->path)) < 0)
                return r;
        int fd = open(u->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = write_line(fd, &u->items[u->n - 1]);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

int uploads_left_remove(uploads_left *u, size_t i) {
        if (i >= u->n)
                return -EINVAL;
        item_free(&u->items[i]);
        memmove(&u->items[i], &u->items[i + 1], (u->n - i - 1) * sizeof(*u->items));
        u->n--;
        if (!u->path)
                return 0;
        if (u->n == 0)
                return unlink(u->path) < 0 && errno != ENOENT ? -errno : 0;
        char *tmp;
        if (asprintf(&tmp, "%s.new", u->path) < 0)
                return -ENOMEM;
        int r = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                r = -errno;
        for (size_t k = 0; r >= 0 && k < u->n; k++)
                r = write_line(fd, &u->items[k]);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (fd >= 0)
                close(fd);
        if (r >= 0 && rename(tmp, u->path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        free(tmp);
        return r;
}
