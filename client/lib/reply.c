/* SPDX-License-Identifier: MIT */
#include "reply.h"

#include <errno.h>

int reply_get_uint64(json_t *obj, const char *key, uint64_t *ret) {
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return -EBADMSG;
        *ret = (uint64_t) json_integer_value(v);
        return 1;
}

const char *reply_get_string(json_t *obj, const char *key) {
        return json_string_value(json_object_get(obj, key));
}
