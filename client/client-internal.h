/* SPDX-License-Identifier: MIT */
#pragma once

/* What the files of libfds share; nothing here is installed. */

#include <jansson.h>
#include <stdbool.h>

#include "fds/client.h"
#include "fds/error.h"
#include "fds/options.h"
#include "frame.h"

/* The varlink error that ended the last call, and what owns its strings. */
typedef struct call_error {
        bool set;
        fds_call_error pub;
        json_t *reply; /* pub's strings point into it */
        fds_problem *problems;
        char *message;
        char *parameters_json;
} call_error;

struct fds_client {
        int fd; /* -1 once the client is unusable */
        fds_frame frame;
        json_t *reply; /* last reply read; borrowed pointers point into it */
        call_error error;
};

/* conn.c: blocking framed I/O. A failed receive closes the connection; a
 * failed send leaves closing to the caller. */
int conn_send(fds_client *c, json_t *msg);
int conn_recv(fds_client *c, json_t **ret_msg);
void conn_close(fds_client *c);

/* call.c: one call's request and replies. */
int call_start(fds_client *c, const char *method, json_t *parameters, const fds_options *opts, bool more);
int call_next(fds_client *c, json_t **ret_parameters, bool *ret_continues);
int call_get_uint64(json_t *obj, const char *key, uint64_t *ret);
const char *call_get_string(json_t *obj, const char *key);

/* error.c */
void call_error_clear(call_error *e);
int call_error_set(call_error *e, json_t *reply);

/* options.c */
json_t *options_json(const fds_options *o);

/* file-error.c: FileError from a reply (borrowed strings), owned copies. */
int file_error_parse(json_t *obj, fds_file_error *ret);
int file_error_dup(const fds_file_error *from, fds_file_error *ret);
void file_error_done(fds_file_error *e);
