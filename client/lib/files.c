/* SPDX-License-Identifier: MIT */
/* Size and Read: named paths in, one answer per name out. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
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

/* What every result begins with: fds_size_result and fds_read_result share
 * this initial sequence (checked below), so one loop fills either. */
typedef struct files_result_head {
        const char *name;
        const char *path;
        bool ok;
} files_result_head;

#define FILES_HEAD_CHECK(type)                                                                        \
        _Static_assert(offsetof(type, name) == offsetof(files_result_head, name) &&                   \
                               offsetof(type, path) == offsetof(files_result_head, path) &&           \
                               offsetof(type, ok) == offsetof(files_result_head, ok),                 \
                       #type " must begin as files_result_head")
FILES_HEAD_CHECK(fds_size_result);
FILES_HEAD_CHECK(fds_read_result);

/* One method: its reply's answers key and what an answer is. */
typedef struct files_kind {
        const char *method;
        const char *answers_key;
        size_t result_size;
        size_t error_offset;
        /* Reads one file's answer into its result; -EBADMSG when it is not one. */
        int (*take)(void *result, json_t *answer);
        /* Frees what take stored; NULL when nothing. */
        void (*release)(void *result);
} files_kind;

/* n results of kind k: names, paths, errors and what take stored. */
static void files_free(const files_kind *k, void *results, size_t n) {
        if (!results)
                return;
        for (size_t i = 0; i < n; i++) {
                char *res = (char *) results + i * k->result_size;
                files_result_head *head = (files_result_head *) res;

                free((char *) head->name);
                free((char *) head->path);
                file_error_done((fds_file_error *) (res + k->error_offset));
                if (k->release)
                        k->release(res);
        }
        free(results);
}

/* Size and Read are one path: the call, one result per name in the caller's
 * order, a reply that does not add up closes the connection. */
static int files_run(fds_client *c, const files_kind *k, const fds_named_path *files, size_t n,
                     const fds_options *opts, void **ret_results) {
        json_t *answers, *errors;
        char *results;
        size_t i;
        int r;

        r = files_call(c, k->method, k->answers_key, files, n, opts, &answers, &errors);
        if (r < 0)
                return r;
        results = calloc(n ? n : 1, k->result_size);
        if (!results)
                return -ENOMEM;
        for (i = 0; i < n; i++) {
                char *res = results + i * k->result_size;
                files_result_head *head = (files_result_head *) res;

                r = files_fill_common(&files[i], errors, &head->name, &head->path,
                                      (fds_file_error *) (res + k->error_offset));
                if (r < 0)
                        goto fail;
                head->ok = r > 0;
                if (!head->ok)
                        continue;
                r = k->take(res, json_object_get(answers, files[i].name));
                if (r < 0)
                        goto fail;
        }
        *ret_results = results;
        return (int) n;
fail:
        if (r == -EBADMSG)
                conn_close(c);
        files_free(k, results, n);
        return r;
}

static int size_take(void *result, json_t *answer) {
        fds_size_result *res = result;

        if (!json_is_integer(answer) || json_integer_value(answer) < 0)
                return -EBADMSG;
        res->size = (uint64_t) json_integer_value(answer);
        return 0;
}

static const files_kind files_size = {
        .method = "io.fds.Transfer.Size",
        .answers_key = "sizes",
        .result_size = sizeof(fds_size_result),
        .error_offset = offsetof(fds_size_result, error),
        .take = size_take,
};

int fds_client_size(fds_client *c, const fds_named_path *files, size_t n, const fds_options *opts,
                    fds_size_result **ret_results) {
        void *results;
        int r;

        if (!ret_results)
                return -EINVAL;
        r = files_run(c, &files_size, files, n, opts, &results);
        if (r >= 0)
                *ret_results = results;
        return r;
}

fds_size_result *fds_size_results_free(fds_size_result *results, size_t n) {
        files_free(&files_size, results, n);
        return NULL;
}

static int read_take(void *result, json_t *answer) {
        fds_read_result *res = result;
        int r;

        if (!json_is_string(answer))
                return -EBADMSG;
        r = base64_decode(json_string_value(answer), json_string_length(answer), &res->data, &res->size);
        return r == -EINVAL ? -EBADMSG : r;
}

static void read_release(void *result) {
        free(((fds_read_result *) result)->data);
}

static const files_kind files_read = {
        .method = "io.fds.Transfer.Read",
        .answers_key = "contents",
        .result_size = sizeof(fds_read_result),
        .error_offset = offsetof(fds_read_result, error),
        .take = read_take,
        .release = read_release,
};

int fds_client_read(fds_client *c, const fds_named_path *files, size_t n, const fds_options *opts,
                    fds_read_result **ret_results) {
        void *results;
        int r;

        if (!ret_results)
                return -EINVAL;
        r = files_run(c, &files_read, files, n, opts, &results);
        if (r >= 0)
                *ret_results = results;
        return r;
}

fds_read_result *fds_read_results_free(fds_read_result *results, size_t n) {
        files_free(&files_read, results, n);
        return NULL;
}
