/* SPDX-License-Identifier: MIT */
/* Size and Read: named paths in, one answer per name out. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "call.h"
#include "file_error.h"
#include "fds/files.h"

/* Send the call and read its one reply; *ret_answers and *ret_errors are
 * borrowed from the reply (the key answers_key, then "errors"), and every
 * name is in exactly one of them. */
static int files_call(fds_client *c, const char *method, const char *answers_key,
                      const fds_named_path *files, size_t n, const fds_options *opts, json_t **ret_answers,
                      json_t **ret_errors) {
        json_t *map = NULL, *request = NULL, *parameters, *answers, *errors;
        bool continues;
        size_t i;
        int r;

        if (!c || (n > 0 && !files))
                return -EINVAL;
        if (n > INT_MAX)
                return -E2BIG;
        map = json_object();
        if (!map)
                return -ENOMEM;
        for (i = 0; i < n; i++) {
                json_t *path;

                if (!files[i].name || !files[i].path || json_object_get(map, files[i].name)) {
                        r = -EINVAL;
                        goto finish;
                }
                path = json_string(files[i].path);
                if (!path || json_object_set_new(map, files[i].name, path) < 0) {
                        r = -EINVAL; /* not UTF-8 */
                        goto finish;
                }
        }
        request = json_pack("{s:O}", "files", map);
        if (!request) {
                r = -ENOMEM;
                goto finish;
        }
        r = call_start(c, method, request, opts, false);
        if (r < 0)
                goto finish;
        r = call_next(c, &parameters, &continues);
        if (r < 0)
                goto finish;

        answers = json_object_get(parameters, answers_key);
        errors = json_object_get(parameters, "errors");
        r = -EBADMSG;
        if (continues || (answers && !json_is_object(answers)) || (errors && !json_is_object(errors)))
                goto bad;
        if (json_object_size(answers) + json_object_size(errors) != n)
                goto bad;
        for (i = 0; i < n; i++)
                if (!json_object_get(answers, files[i].name) == !json_object_get(errors, files[i].name))
                        goto bad;
        *ret_answers = answers;
        *ret_errors = errors;
        r = 0;
        goto finish;
bad:
        conn_close(c);
finish:
        json_decref(request);
        json_decref(map);
        return r;
}

/* name, path, and when the daemon reported an error for name, the error. */
static int files_fill_common(const fds_named_path *file, json_t *errors, const char **ret_name,
                             const char **ret_path, fds_file_error *ret_error) {
        json_t *err = json_object_get(errors, file->name);
        fds_file_error borrowed;
        char *name, *path;
        int r;

        name = strdup(file->name);
        path = strdup(file->path);
        if (!name || !path) {
                r = -ENOMEM;
                goto fail;
        }
        if (err) {
                r = file_error_parse(err, &borrowed);
                if (r < 0)
                        goto fail;
                r = file_error_dup(&borrowed, ret_error);
                if (r < 0)
                        goto fail;
        }
        *ret_name = name;
        *ret_path = path;
        return err ? 0 : 1;
fail:
        free(name);
        free(path);
        return r;
}

int fds_client_size(fds_client *c, const fds_named_path *files, size_t n, const fds_options *opts,
                    fds_size_result **ret_results) {
        fds_size_result *results = NULL;
        json_t *sizes, *errors;
        size_t i;
        int r;

        if (!ret_results)
                return -EINVAL;
        r = files_call(c, "io.fds.Transfer.Size", "sizes", files, n, opts, &sizes, &errors);
        if (r < 0)
                return r;
        results = calloc(n ? n : 1, sizeof(*results));
        if (!results)
                return -ENOMEM;
        for (i = 0; i < n; i++) {
                fds_size_result *res = &results[i];
                json_t *size;

                r = files_fill_common(&files[i], errors, &res->name, &res->path, &res->error);
                if (r < 0)
                        goto fail;
                res->ok = r > 0;
                if (!res->ok)
                        continue;
                size = json_object_get(sizes, files[i].name);
                if (!json_is_integer(size) || json_integer_value(size) < 0) {
                        r = -EBADMSG;
                        goto fail;
                }
                res->size = (uint64_t) json_integer_value(size);
        }
        *ret_results = results;
        return (int) n;
fail:
        if (r == -EBADMSG)
                conn_close(c);
        fds_size_results_free(results, n);
        return r;
}

fds_size_result *fds_size_results_free(fds_size_result *results, size_t n) {
        size_t i;

        if (!results)
                return NULL;
        for (i = 0; i < n; i++) {
                free((char *) results[i].name);
                free((char *) results[i].path);
                file_error_done(&results[i].error);
        }
        free(results);
        return NULL;
}

int fds_client_read(fds_client *c, const fds_named_path *files, size_t n, const fds_options *opts,
                    fds_read_result **ret_results) {
        fds_read_result *results = NULL;
        json_t *contents, *errors;
        size_t i;
        int r;

        if (!ret_results)
                return -EINVAL;
        r = files_call(c, "io.fds.Transfer.Read", "contents", files, n, opts, &contents, &errors);
        if (r < 0)
                return r;
        results = calloc(n ? n : 1, sizeof(*results));
        if (!results)
                return -ENOMEM;
        for (i = 0; i < n; i++) {
                fds_read_result *res = &results[i];
                json_t *text;

                r = files_fill_common(&files[i], errors, &res->name, &res->path, &res->error);
                if (r < 0)
                        goto fail;
                res->ok = r > 0;
                if (!res->ok)
                        continue;
                text = json_object_get(contents, files[i].name);
                if (!json_is_string(text)) {
                        r = -EBADMSG;
                        goto fail;
                }
                r = base64_decode(json_string_value(text), json_string_length(text), &res->data, &res->size);
                if (r < 0) {
                        r = r == -EINVAL ? -EBADMSG : r;
                        goto fail;
                }
        }
        *ret_results = results;
        return (int) n;
fail:
        if (r == -EBADMSG)
                conn_close(c);
        fds_read_results_free(results, n);
        return r;
}

fds_read_result *fds_read_results_free(fds_read_result *results, size_t n) {
        size_t i;

        if (!results)
                return NULL;
        for (i = 0; i < n; i++) {
                free((char *) results[i].name);
                free((char *) results[i].path);
                free(results[i].data);
                file_error_done(&results[i].error);
        }
        free(results);
        return NULL;
}
