/* SPDX-License-Identifier: MIT */
/* Paths as the daemon wants them: absolute, or an S3 URL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdsctl.h"

int path_absolute(const char *path, const char *cwd, char **ret) {
        char *p;

        /* The daemon validates; joining is all we do, so "a/../b" stays. */
        if (path[0] == '/' || path[0] == '\0' || strncmp(path, "s3://", 5) == 0)
                p = strdup(path);
        else if (!cwd)
                return -ENOENT;
        else if (asprintf(&p, "%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/", path) < 0)
                p = NULL;
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}
