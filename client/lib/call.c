/* SPDX-License-Identifier: MIT */
/* One varlink call: the request, and each reply checked for its shape. */
#include <errno.h>
#include <string.h>

#include "call.h"
#include "call_error.h"
#include "options_json.h"
#include "reply.h"

int call_start(fds_client *c, const char *method, json_t *parameters, const fds_options *opts, bool more) {
        json_t *msg = NULL;
        int r;

        call_error_clear(&c->error);
        json_decref(c->reply);
        c->reply = NULL;
        if (c->fd < 0)
                return -ENOTCONN;

        /* Empty options are left out: the daemon defaults are the same. */
        if (opts && json_object_size(options_json(opts)) > 0 &&
            json_object_set(parameters, "options", options_json(opts)) < 0)
                return -ENOMEM;
        msg = json_pack("{s:s, s:O}", "method", method, "parameters", parameters);
        if (!msg)
                return -ENOMEM;
        if (more && json_object_set_new(msg, "more", json_true()) < 0) {
                r = -ENOMEM;
                goto finish;
        }
        r = conn_send(c, msg);
        if (r < 0) {
                json_t *p;
                bool continues;

                /* A daemon that refuses a connection (TooManyConnections)
                 * says why before closing: report that, not the EPIPE. */
                if ((r == -EPIPE || r == -ECONNRESET) && call_next(c, &p, &continues) == -EREMOTEIO)
                        r = -EREMOTEIO;
                conn_close(c);
        }
finish:
        json_decref(msg);
        return r;
}

/* The next reply of the current call. *ret_parameters is borrowed and valid
 * until the next call_next() or call_start(). A varlink error reply is
 * stored in c->error and ends the call with -EREMOTEIO. */
int call_next(fds_client *c, json_t **ret_parameters, bool *ret_continues) {
        json_t *reply, *error, *parameters, *continues;
        int r;

        json_decref(c->reply);
        c->reply = NULL;
        r = conn_recv(c, &reply);
        if (r < 0)
                return r;
        c->reply = reply;
        if (!json_is_object(reply))
                goto bad;

        parameters = json_object_get(reply, "parameters");
        if (parameters && !json_is_object(parameters))
                goto bad;
        error = json_object_get(reply, "error");
        if (error) {
                if (!json_is_string(error))
                        goto bad;
                /* The daemon closes the connection after these. */
                if (strcmp(json_string_value(error), FDS_CALL_ERROR_MESSAGE_TOO_LARGE) == 0 ||
                    strcmp(json_string_value(error), FDS_CALL_ERROR_TOO_MANY_CONNECTIONS) == 0)
                        conn_close(c);
                r = call_error_set(&c->error, reply);
                return r < 0 ? r : -EREMOTEIO;
        }
        continues = json_object_get(reply, "continues");
        if (continues && !json_is_boolean(continues))
                goto bad;
        if (!parameters) {
                /* varlink allows leaving out empty parameters. */
                parameters = json_object();
                if (!parameters || json_object_set_new(reply, "parameters", parameters) < 0)
                        return -ENOMEM;
        }
        *ret_parameters = parameters;
        *ret_continues = json_is_true(continues);
        return 0;
bad:
        /* The stream can no longer be trusted to be in step with the call. */
        conn_close(c);
        return -EBADMSG;
}
