/* SPDX-License-Identifier: MIT */
#include "job_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int file_error_set(file_error *e, fds_code code, const char *message) {
        char *m = strdup(message ? message : "");
        if (!m)
                return -ENOMEM;
        free(e->message);
        e->message = m;
        e->code = code;
        return 0;
}

int file_error_set_errno(file_error *e, int err, const char *what) {
        char buf[256];
        if (what)
                snprintf(buf, sizeof(buf), "%s: %s", what, strerror(abs(err)));
        else
                snprintf(buf, sizeof(buf), "%s", strerror(abs(err)));
        return file_error_set(e, fds_code_from_errno(err), buf);
}

void file_error_done(file_error *e) {
        free(e->message);
        free(e->s3_code);
        *e = (file_error){ 0 };
}

void job_file_done(job_file *f) {
        file_error_done(&f->err);
        free(f->data);
        free(f->etag);
        free(f->vreason);
        free(f->dreason);
        f->data = f->etag = f->vreason = f->dreason = NULL;
}
