/* SPDX-License-Identifier: MIT */
/* List: entries streamed page by page to the caller's callback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "file_error.h"
#include "fds/list.h"
#include "reply.h"

/* One ListEntry; its strings are borrowed from obj. */
static int list_parse_entry(json_t *obj, fds_list_entry *ret) {
        json_t *size = json_object_get(obj, "size"), *dir = json_object_get(obj, "dir");
        json_t *mtime = json_object_get(obj, "mtime"), *etag = json_object_get(obj, "etag");
        fds_list_entry e = {.mtime = -1};

        if (!json_is_object(obj) || !(e.path = reply_get_string(obj, "path")))
                return -EBADMSG;
        if (dir && !json_is_null(dir) && !json_is_boolean(dir))
                return -EBADMSG;
        e.dir = json_is_true(dir);
        if (size && !json_is_null(size)) {
                if (!json_is_integer(size) || json_integer_value(size) < 0)
                        return -EBADMSG;
                e.size = (uint64_t) json_integer_value(size);
        }
        if (mtime && !json_is_null(mtime)) {
                if (!json_is_number(mtime))
                        return -EBADMSG;
                e.mtime = json_number_value(mtime);
        }
        if (etag && !json_is_null(etag)) {
                if (!json_is_string(etag))
                        return -EBADMSG;
                e.etag = json_string_value(etag);
        }
        *ret = e;
        return 0;
}

/* One reply: its entries to the callback, its error (the last reply's) to
 * *err. 1 when it carried an error. */
static int list_take_reply(json_t *parameters, fds_list_entry_fn on_entry, void *userdata,
                           fds_file_error *err) {
        json_t *entries = json_object_get(parameters, "entries"), *error = json_object_get(parameters, "error");
        json_t *v;
        size_t i;
        int r;

        if (!json_is_array(entries))
                return -EBADMSG;
        json_array_foreach(entries, i, v) {
                fds_list_entry e;
                if ((r = list_parse_entry(v, &e)) < 0)
                        return r;
                if (on_entry && (r = on_entry(&e, userdata)) < 0)
                        return r;
        }
        if (!error || json_is_null(error))
                return 0;
        if ((r = file_error_parse(error, err)) < 0)
                return r;
        return 1;
}

int fds_client_list(fds_client *c, const char *path, bool recursive, const fds_options *opts,
                    fds_list_entry_fn on_entry, void *userdata, fds_file_error *ret_error) {
        fds_file_error borrowed = {.code = NULL};
        bool continues = true, failed = false;
        json_t *request;
        int r;

        if (!c || !path)
                return -EINVAL;
        request = json_pack("{s:s, s:b}", "path", path, "recursive", recursive);
        if (!request)
                return -EINVAL; /* not UTF-8 */
        r = call_start(c, "io.fds.Transfer.List", request, opts, true);
        json_decref(request);
        if (r < 0)
                return r;
        while (continues) {
                json_t *parameters;
                if ((r = call_next(c, &parameters, &continues)) < 0)
                        return r;
                r = list_take_reply(parameters, on_entry, userdata, &borrowed);
                if (r < 0 || (r > 0 && continues)) {
                        /* A bad reply, or the caller asked to stop. */
                        conn_close(c);
                        return r < 0 ? r : -EBADMSG;
                }
                if (r > 0) {
                        failed = true;
                        if (ret_error && file_error_dup(&borrowed, ret_error) < 0)
                                return -ENOMEM;
                }
        }
        return failed ? 1 : 0;
}

void fds_file_error_done(fds_file_error *e) {
        if (e)
                file_error_done(e);
}
