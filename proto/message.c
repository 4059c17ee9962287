/* SPDX-License-Identifier: MIT */
#include "message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Deeply nested input would only cost stack in the decoder. */
#define MESSAGE_MAX_DEPTH 32

static bool too_deep(const char *msg, size_t len) {
        unsigned depth = 0;
        bool in_string = false;
        for (size_t i = 0; i < len; i++) {
                char c = msg[i];
                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '{' || c == '[') {
                        if (++depth > MESSAGE_MAX_DEPTH)
                                return true;
                } else if ((c == '}' || c == ']') && depth > 0)
                        depth--;
        }
        return false;
}

/* A "\u0000" in a string: allowed only where a path goes (copies[].src,
 * copies[].dst, the values of files), where the request names the entry
 * ("path contains a NUL byte"); anywhere else the message is refused. The
 * depth is bounded by too_deep(). */
static bool nul_outside_paths(json_t *v, const char *key, bool in_files) {
        if (json_is_string(v))
                return strlen(json_string_value(v)) != json_string_length(v) && !in_files && !(key &&
                       (strcmp(key, "src") == 0 || strcmp(key, "dst") == 0));
        if (json_is_array(v)) {
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x)
                        if (nul_outside_paths(x, NULL, false))
                                return true;
                return false;
        }
        if (json_is_object(v)) {
                const char *k;
                json_t *x;
                json_object_foreach(v, k, x)
                        if (nul_outside_paths(x, k, json_is_string(x) && key && strcmp(key, "files") == 0))
                                return true;
        }
        return false;
}

int fds_call_parse(const char *msg, size_t len, fds_call *ret, const char **ret_reason) {
        json_error_t jerr;
        fds_call c = { 0 };

        if (too_deep(msg, len)) {
                *ret_reason = "JSON nested too deeply";
                return -EBADMSG;
        }
        /* jansson rejects invalid UTF-8; "\u0000" is let through only to be
         * named as what is wrong (nul_outside_paths). */
        c.root = json_loadb(msg, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!c.root) {
                /* jansson takes 64-bit integers and doubles only. */
                *ret_reason = strstr(jerr.text, "too big") || strstr(jerr.text, "overflow")
                                      ? "a number is out of range (64-bit integers and doubles only)"
                                      : "not valid JSON";
                return -EBADMSG;
        }
        if (!json_is_object(c.root)) {
                *ret_reason = "message is not a JSON object";
                goto fail;
        }
        if (nul_outside_paths(c.root, NULL, false)) {
                *ret_reason = "a string contains a NUL byte (\\u0000)";
                goto fail;
        }
        json_t *m = json_object_get(c.root, "method");
        if (!json_is_string(m)) {
                *ret_reason = "\"method\" missing or not a string";
                goto fail;
        }
        c.method = json_string_value(m);
        json_t *p = json_object_get(c.root, "parameters");
        if (p && !json_is_object(p)) {
                *ret_reason = "\"parameters\" is not an object";
                goto fail;
        }
        if (!p) {
                p = json_object();
                if (!p || json_object_set_new(c.root, "parameters", p) < 0) {
                        json_decref(c.root);
                        return -ENOMEM;
                }
        }
        c.parameters = p;
        json_t *more = json_object_get(c.root, "more");
        json_t *oneway = json_object_get(c.root, "oneway");
        if ((more && !json_is_boolean(more)) || (oneway && !json_is_boolean(oneway))) {
                *ret_reason = "\"more\" and \"oneway\" must be booleans";
                goto fail;
        }
        c.more = json_is_true(more);
        c.oneway = json_is_true(oneway);
        *ret = c;
        return 0;
fail:
        json_decref(c.root);
        return -EBADMSG;
}

void fds_call_done(fds_call *c) {
        if (!c)
                return;
        json_decref(c->root);
        *c = (fds_call){ 0 };
}

static int encode(json_t *msg, char **ret, size_t *ret_len) {
        if (!msg)
                return -ENOMEM;
        size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
        char *buf = n ? malloc(n + 1) : NULL;
        if (!buf) {
                json_decref(msg);
                return -ENOMEM;
        }
        json_dumpb(msg, buf, n, JSON_COMPACT);
        json_decref(msg);
        buf[n] = '\0';
        *ret = buf;
        *ret_len = n + 1;
        return 0;
}

int fds_reply_encode(json_t *parameters, bool continues, char **ret, size_t *ret_len) {
        json_t *msg = json_pack("{s:o}", "parameters", parameters ? parameters : json_object());
        if (msg && continues && json_object_set_new(msg, "continues", json_true()) < 0) {
                json_decref(msg);
                return -ENOMEM;
        }
        return encode(msg, ret, ret_len);
}

int fds_error_encode(const char *name, json_t *parameters, char **ret, size_t *ret_len) {
        json_t *msg = json_pack("{s:s, s:o}", "error", name, "parameters",
                                parameters ? parameters : json_object());
        return encode(msg, ret, ret_len);
}
