/* SPDX-License-Identifier: MIT */
#include "xstr.h"

#include <stdarg.h>
#include <stdio.h>

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}
