/* SPDX-License-Identifier: MIT */
/* FileError: why one file failed, as data. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "file_error.h"
#include "reply.h"

/* Strings are borrowed from obj. */
int file_error_parse(json_t *obj, fds_file_error *ret) {
        json_t *status = json_object_get(obj, "http_status");
        json_t *s3_code = json_object_get(obj, "s3_code");
        fds_file_error e = {.code = NULL};

        if (!json_is_object(obj))
                return -EBADMSG;
        e.code = reply_get_string(obj, "code");
        e.message = reply_get_string(obj, "message");
        if (!e.code || !e.message)
                return -EBADMSG;
        if (status && !json_is_null(status)) {
                if (!json_is_integer(status) || json_integer_value(status) < 0 ||
                    json_integer_value(status) > INT_MAX)
                        return -EBADMSG;
                e.http_status = (int) json_integer_value(status);
        }
        if (s3_code && !json_is_null(s3_code)) {
                if (!json_is_string(s3_code))
                        return -EBADMSG;
                e.s3_code = json_string_value(s3_code);
        }
        *ret = e;
        return 0;
}

int file_error_dup(const fds_file_error *from, fds_file_error *ret) {
        fds_file_error e = {.http_status = from->http_status};

        if (from->code && !(e.code = strdup(from->code)))
                goto oom;
        if (from->message && !(e.message = strdup(from->message)))
                goto oom;
        if (from->s3_code && !(e.s3_code = strdup(from->s3_code)))
                goto oom;
        *ret = e;
        return 0;
oom:
        file_error_done(&e);
        return -ENOMEM;
}

void file_error_done(fds_file_error *e) {
        free((char *) e->code);
        free((char *) e->message);
        free((char *) e->s3_code);
        *e = (fds_file_error){.code = NULL};
}
