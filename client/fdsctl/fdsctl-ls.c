/* SPDX-License-Identifier: MIT */
/* fdsctl ls: a listing for people (names below what was listed, as aws s3
 * ls and ls show them), or one JSON object per entry. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fdsctl.h"
#include "location.h"

/* Where names start: a local directory's path (as the daemon normalizes
 * it) and '/'; an S3 URL up to its last '/' (s3://b/data lists data/ and
 * data.csv under s3://b/). A local file that lists itself keeps its name as
 * given. NULL when out of memory. */
static char *ls_base(const char *path) {
        fds_location l;
        char *base;
        if (strncmp(path, "s3://", 5) == 0) {
                const char *slash = strrchr(path + 5, '/');
                if (slash)
                        return strndup(path, (size_t) (slash - path) + 1);
                return asprintf(&base, "%s/", path) < 0 ? NULL : base; /* s3://bucket */
        }
        if (fds_location_parse(path, &l, NULL) < 0)
                return strdup(path); /* the daemon will say why */
        int r = asprintf(&base, "%s%s", l.path, strcmp(l.path, "/") == 0 ? "" : "/");
        fds_location_done(&l);
        return r < 0 ? NULL : base;
}

static const char *ls_name(const ls_state *s, const char *path) {
        size_t n = strlen(s->base);
        if (strncmp(path, s->base, n) == 0 && path[n])
                return path + n;
        return s->shown; /* the file itself */
}

static void ls_time(double mtime, char *buf, size_t size) {
        time_t t = (time_t) mtime;
        struct tm tm;
        if (mtime < 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "%19s", "");
}

static int ls_entry(const fds_list_entry *e, void *userdata) {
        ls_state *s = userdata;
        s->n_entries++;
        if (!e->dir) {
                s->n_files++;
                s->bytes += e->size;
        }
        if (s->json) {
                json_t *o = json_pack("{s:s}", "path", e->path);
                if (o && e->dir)
                        json_object_set_new(o, "dir", json_true());
                else if (o)
                        json_object_set_new(o, "size", json_integer((json_int_t) e->size));
                if (o && e->mtime >= 0)
                        json_object_set_new(o, "mtime", json_real(e->mtime));
                if (o && e->etag)
                        json_object_set_new(o, "etag", json_string(e->etag));
                if (!o || json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(15)) < 0) {
                        json_decref(o);
                        return -ENOMEM;
                }
                json_decref(o);
                fputc('\n', stdout);
        } else if (s->long_format) {
                char when[32];
                ls_time(e->mtime, when, sizeof(when));
                if (e->dir)
                        printf("%s %10s %s\n", when, s->s3 ? "PRE" : "DIR", ls_name(s, e->path));
                else
                        printf("%s %10" PRIu64 " %s\n", when, e->size, ls_name(s, e->path));
        } else
                printf("%s\n", ls_name(s, e->path));
        return ferror(stdout) ? -EIO : 0;
}

int ls_init(ls_state *s, const char *path, const char *shown) {
        *s = (ls_state){ .path = path, .shown = shown, .s3 = strncmp(path, "s3://", 5) == 0, .base = ls_base(path) };
        return s->base ? 0 : -ENOMEM;
}

void ls_done(ls_state *s) {
        free(s->base);
        s->base = NULL;
}

int ls_run(fds_client *c, ls_state *s, bool recursive, const fds_options *opts, fds_file_error *ret_error) {
        return fds_client_list(c, s->path, recursive, opts, ls_entry, s, ret_error);
}
