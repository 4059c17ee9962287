/* SPDX-License-Identifier: MIT */
/* Call-level errors: a varlink error reply made inspectable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_error.h"
#include "reply.h"

void call_error_clear(call_error *e) {
        json_decref(e->reply);
        free(e->problems);
        free(e->message);
        free(e->parameters_json);
        *e = (call_error){.set = false};
}

static int error_parse_problems(call_error *e, json_t *parameters) {
        json_t *list = json_object_get(parameters, "problems"), *p;
        size_t i;

        if (!json_is_array(list) || json_array_size(list) == 0)
                return 0;
        e->problems = calloc(json_array_size(list), sizeof(fds_problem));
        if (!e->problems)
                return -ENOMEM;
        json_array_foreach(list, i, p) {
                json_t *index = json_object_get(p, "index");
                fds_problem *q = &e->problems[i];

                q->index = json_is_integer(index) ? json_integer_value(index) : -1;
                q->key = reply_get_string(p, "key");
                q->path = reply_get_string(p, "path");
                q->reason = reply_get_string(p, "reason");
                if (!q->path)
                        q->path = "";
                if (!q->reason)
                        q->reason = "(no reason given)";
        }
        e->pub.problems = e->problems;
        e->pub.n_problems = json_array_size(list);
        return 0;
}

static char *error_format_message(const call_error *e, json_t *parameters) {
        const char *name = e->pub.name;
        const char *reason = reply_get_string(parameters, "reason");
        const char *parameter = reply_get_string(parameters, "parameter");
        const char *method = reply_get_string(parameters, "method");
        char *m = NULL;
        int k;

        if (strcmp(name, FDS_CALL_ERROR_INVALID_REQUEST) == 0)
                k = asprintf(&m, "invalid request (%zu problem%s)", e->pub.n_problems,
                             e->pub.n_problems == 1 ? "" : "s");
        else if (strcmp(name, FDS_CALL_ERROR_READ_LIMIT_EXCEEDED) == 0)
                k = asprintf(&m, "read would return %lld bytes, over the limit of %lld",
                             (long long) e->pub.requested, (long long) e->pub.limit);
        else if (strcmp(name, FDS_CALL_ERROR_MESSAGE_TOO_LARGE) == 0)
                k = asprintf(&m, "request larger than the daemon accepts (%lld bytes)",
                             (long long) e->pub.limit);
        else if (strcmp(name, FDS_CALL_ERROR_TOO_MANY_CONNECTIONS) == 0)
                k = asprintf(&m, "the daemon serves its limit of %lld connections; try again later",
                             (long long) e->pub.limit);
        else if (strcmp(name, FDS_CALL_ERROR_INVALID_MESSAGE) == 0)
                k = asprintf(&m, "daemon rejected the message: %s", reason ? reason : "(no reason given)");
        else if (strcmp(name, FDS_CALL_ERROR_NO_SUCH_CALL) == 0)
                k = asprintf(&m, "no running call has id %lld", (long long) e->pub.id);
        else if (strcmp(name, FDS_CALL_ERROR_NOT_PERMITTED) == 0)
                k = asprintf(&m, "not permitted: %s", reason ? reason : "(no reason given)");
        else if (strcmp(name, FDS_CALL_ERROR_INVALID_PARAMETER) == 0 && parameter)
                k = asprintf(&m, "invalid parameter '%s'", parameter);
        else if (strcmp(name, FDS_CALL_ERROR_METHOD_NOT_FOUND) == 0 && method)
                k = asprintf(&m, "the daemon has no method %s", method);
        else
                k = asprintf(&m, "daemon answered %s %s", name, e->pub.parameters_json);
        return k < 0 ? NULL : m;
}

/* Takes its own reference to reply. */
int call_error_set(call_error *e, json_t *reply) {
        json_t *parameters = json_object_get(reply, "parameters");
        json_t *v;
        int r;

        call_error_clear(e);
        e->reply = json_incref(reply);
        e->pub.name = reply_get_string(reply, "error");
        if (!json_is_object(parameters))
                parameters = NULL;

        e->parameters_json =
                parameters ? json_dumps(parameters, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
        if (!e->parameters_json) {
                r = -ENOMEM;
                goto fail;
        }
        e->pub.parameters_json = e->parameters_json;

        v = json_object_get(parameters, "limit");
        if (json_is_integer(v))
                e->pub.limit = json_integer_value(v);
        v = json_object_get(parameters, "id");
        if (json_is_integer(v))
                e->pub.id = json_integer_value(v);
        v = json_object_get(parameters, "requested");
        if (json_is_integer(v))
                e->pub.requested = json_integer_value(v);
        r = error_parse_problems(e, parameters);
        if (r < 0)
                goto fail;

        e->message = error_format_message(e, parameters);
        if (!e->message) {
                r = -ENOMEM;
                goto fail;
        }
        e->pub.message = e->message;
        e->set = true;
        return 0;
fail:
        call_error_clear(e);
        return r;
}
