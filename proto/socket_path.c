/* SPDX-License-Identifier: MIT */
#include "socket_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fds_socket_path_default(char **ret) {
        const char *env = getenv("FDS_SOCKET");
        char *p = NULL;

        if (env && *env)
                p = strdup(env);
        else {
                const char *xdg = getenv("XDG_RUNTIME_DIR");
                if (geteuid() != 0 && xdg && xdg[0] == '/') {
                        if (asprintf(&p, "%s/fds/fdsd.sock", xdg) < 0)
                                p = NULL;
                } else
                        p = strdup("/run/fds/fdsd.sock");
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}
