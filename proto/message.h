/* SPDX-License-Identifier: MIT */
#pragma once

/* varlink messages: decoding a call, encoding replies and errors. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define FDS_INTERFACE "io.fds.Transfer"
#define FDS_ERROR_INVALID_REQUEST FDS_INTERFACE ".InvalidRequest"
#define FDS_ERROR_READ_LIMIT FDS_INTERFACE ".ReadLimitExceeded"
#define FDS_ERROR_TOO_LARGE FDS_INTERFACE ".MessageTooLarge"
#define FDS_ERROR_INVALID_MESSAGE FDS_INTERFACE ".InvalidMessage"
#define FDS_ERROR_NO_SUCH_CALL FDS_INTERFACE ".NoSuchCall"
#define FDS_ERROR_NOT_PERMITTED FDS_INTERFACE ".NotPermitted"

#define VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define VARLINK_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"

typedef struct fds_call {
        json_t *root;          /* owned */
        const char *method;    /* borrowed from root */
        json_t *parameters;    /* borrowed from root; an empty object if absent */
        bool more;
        bool oneway;
} fds_call;

/* Decode one message (without its NUL). On -EBADMSG, *ret_reason is a
 * static description of what is wrong. */
int fds_call_parse(const char *msg, size_t len, fds_call *ret, const char **ret_reason);
void fds_call_done(fds_call *c);

/* Encode {"parameters": parameters[, "continues": true]} plus the NUL.
 * `parameters` is consumed (its reference stolen), also on failure.
 * *ret_len counts the NUL. */
int fds_reply_encode(json_t *parameters, bool continues, char **ret, size_t *ret_len);
/* Encode {"error": name, "parameters": parameters} plus the NUL; consumes
 * parameters (which may be NULL for {}). */
int fds_error_encode(const char *name, json_t *parameters, char **ret, size_t *ret_len);

/* For the interface description embedded at build time. */
extern const char fds_interface_description[];
extern const size_t fds_interface_description_len;
