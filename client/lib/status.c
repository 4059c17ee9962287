/* SPDX-License-Identifier: MIT */
/* Status: the daemon's state and counters. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "call.h"
#include "reply.h"
#include "fds/status.h"

#define COUNTER(name) { #name, offsetof(fds_status, name) }

static const struct {
        const char *key;
        size_t offset;
} counters[] = {
        COUNTER(connections),     COUNTER(connections_total), COUNTER(batches),
        COUNTER(batches_total),   COUNTER(files_in_flight),   COUNTER(files_queued),
        COUNTER(files_ok),        COUNTER(files_failed),      COUNTER(bytes),
        COUNTER(bytes_per_second), COUNTER(s3_requests),      COUNTER(retries),
        COUNTER(calls_failed),
};

int fds_client_status(fds_client *c, fds_status *ret) {
        fds_status st = { 0 };
        json_t *request, *parameters, *uptime;
        const char *version;
        bool continues;
        int r;

        if (!c || !ret)
                return -EINVAL;
        request = json_object();
        if (!request)
                return -ENOMEM;
        r = call_start(c, "io.fds.Transfer.Status", request, NULL, false);
        json_decref(request);
        if (r < 0)
                return r;
        r = call_next(c, &parameters, &continues);
        if (r < 0)
                return r;
        version = reply_get_string(parameters, "version");
        uptime = json_object_get(parameters, "uptime_seconds");
        if (continues || !version || !json_is_number(uptime))
                goto bad;
        for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
                if (reply_get_uint64(parameters, counters[i].key,
                                    (uint64_t *) (void *) ((char *) &st + counters[i].offset)) != 1)
                        goto bad;
        snprintf(st.version, sizeof(st.version), "%s", version);
        st.uptime_seconds = json_number_value(uptime);
        *ret = st;
        return 0;
bad:
        conn_close(c);
        return -EBADMSG;
}
