/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static log_level current = LOG_LEVEL_INFO;

static const char *const names[] = { "error", "warning", "info", "debug" };

void log_set_level(log_level l) {
        current = l;
}

int log_level_parse(const char *s) {
        for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(s, names[i]) == 0)
                        return (int) i;
        return -1;
}

void log_write(log_level l, const char *fmt, ...) {
        if (l > current)
                return;
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "fdsd[%s]: ", names[l]);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}
