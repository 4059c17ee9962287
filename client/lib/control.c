/* SPDX-License-Identifier: MIT */
/* Calls, Cancel, SetBandwidth: the daemon's running calls, seen and steered. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "call.h"
#include "reply.h"
#include "fds/control.h"

#define FIELD(name) { #name, offsetof(fds_call_info, name) }

static const struct {
        const char *key;
        size_t offset;
} counts[] = {
        FIELD(id),           FIELD(files),           FIELD(files_ok),     FIELD(files_failed),
        FIELD(files_in_flight), FIELD(files_queued), FIELD(bytes),        FIELD(bytes_per_second),
        FIELD(max_bandwidth),
};

/* One reply, no more: its parameters (owned by the connection). */
static int control_call(fds_client *c, const char *method, json_t *params, json_t **ret) {
        bool continues;
        int r;

        if (!params)
                return -ENOMEM;
        r = call_start(c, method, params, NULL, false);
        json_decref(params);
        if (r < 0)
                return r;
        r = call_next(c, ret, &continues);
        if (r < 0)
                return r;
        if (continues) {
                conn_close(c);
                return -EBADMSG;
        }
        return 0;
}

static int call_info_parse(json_t *o, fds_call_info *ret) {
        fds_call_info ci = { 0 };
        const char *method = reply_get_string(o, "method"), *state = reply_get_string(o, "state");
        json_t *secs = json_object_get(o, "seconds");
        uint64_t uid, pid;

        if (!method || !state || !json_is_number(secs) || reply_get_uint64(o, "uid", &uid) != 1 ||
            reply_get_uint64(o, "pid", &pid) != 1)
                return -EBADMSG;
        for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
                if (reply_get_uint64(o, counts[i].key, (uint64_t *) (void *) ((char *) &ci + counts[i].offset)) != 1)
                        return -EBADMSG;
        snprintf(ci.method, sizeof(ci.method), "%s", method);
        snprintf(ci.state, sizeof(ci.state), "%s", state);
        ci.uid = (uint32_t) uid;
        ci.pid = (int32_t) pid;
        ci.seconds = json_number_value(secs);
        *ret = ci;
        return 0;
}

int fds_client_calls(fds_client *c, fds_call_info **ret, size_t *ret_n, uint64_t *ret_max_bandwidth) {
        json_t *p, *list, *o;
        fds_call_info *v = NULL;
        uint64_t cap;
        size_t i, n;
        int r;

        if (!c || !ret || !ret_n)
                return -EINVAL;
        r = control_call(c, "io.fds.Transfer.Calls", json_object(), &p);
        if (r < 0)
                return r;
        list = json_object_get(p, "calls");
        if (!json_is_array(list) || reply_get_uint64(p, "max_bandwidth", &cap) != 1)
                goto bad;
        n = json_array_size(list);
        if (n > 0 && !(v = calloc(n, sizeof(*v))))
                return -ENOMEM;
        json_array_foreach(list, i, o)
                if (call_info_parse(o, &v[i]) < 0) {
                        free(v);
                        goto bad;
                }
        *ret = v;
        *ret_n = n;
        if (ret_max_bandwidth)
                *ret_max_bandwidth = cap;
        return 0;
bad:
        conn_close(c);
        return -EBADMSG;
}

int fds_client_cancel(fds_client *c, uint64_t id, bool *ret_canceled) {
        json_t *p, *canceled;
        int r;

        if (!c || id > INT64_MAX)
                return -EINVAL;
        r = control_call(c, "io.fds.Transfer.Cancel", json_pack("{s:I}", "id", (json_int_t) id), &p);
        if (r < 0)
                return r;
        canceled = json_object_get(p, "canceled");
        if (!json_is_boolean(canceled)) {
                conn_close(c);
                return -EBADMSG;
        }
        if (ret_canceled)
                *ret_canceled = json_is_true(canceled);
        return json_is_true(canceled) ? 1 : 0;
}

int fds_client_set_bandwidth(fds_client *c, uint64_t id, uint64_t bytes_per_second) {
        json_t *p, *params;

        if (!c || bytes_per_second > INT64_MAX || (id != FDS_DAEMON_CAP && id > INT64_MAX))
                return -EINVAL;
        params = json_pack("{s:I}", "max_bandwidth", (json_int_t) bytes_per_second);
        if (params && id != FDS_DAEMON_CAP && json_object_set_new(params, "id", json_integer((json_int_t) id)) < 0) {
                json_decref(params);
                params = NULL;
        }
        return control_call(c, "io.fds.Transfer.SetBandwidth", params, &p);
}
