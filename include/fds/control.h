/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fds/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One call the daemon is running (the Calls method). */
typedef struct fds_call_info {
        uint64_t id;
        char method[8];            /* "Copy", "Size", "Read", "List" */
        uint32_t uid;
        int32_t pid;
        char state[12];            /* "starting", "running", "paused", "canceling" */
        uint64_t files;            /* after expansion; 0 for List */
        uint64_t files_ok;
        uint64_t files_failed;
        uint64_t files_in_flight;
        uint64_t files_queued;
        uint64_t bytes;            /* moved so far */
        uint64_t bytes_per_second; /* bytes over the call's life */
        double seconds;            /* since it started */
        uint64_t max_bandwidth;    /* the call's cap; 0: none */
} fds_call_info;

/* The running calls, oldest first (*ret: free() it; NULL when none) and
 * the daemon's bandwidth cap (0: none; ret_max_bandwidth may be NULL).
 * 0, or a negative errno as for every call (fds/client.h). */
int fds_client_calls(fds_client *c, fds_call_info **ret, size_t *ret_n, uint64_t *ret_max_bandwidth);

/* Cancel call id: its unfinished files end with Canceled and its caller
 * gets every result. 1 canceled; 0 it was already ending; -EREMOTEIO with
 * fds_client_last_error() naming FDS_CALL_ERROR_NO_SUCH_CALL or
 * FDS_CALL_ERROR_NOT_PERMITTED (only its own user or root may). */
int fds_client_cancel(fds_client *c, uint64_t id, bool *ret_canceled);

/* A bandwidth cap in bytes per second, 1024..2^50 or 0 for none, while
 * transfers run: call id's, or with FDS_DAEMON_CAP the daemon's (root or
 * fdsd's own user). 0, or a negative errno as fds_client_cancel(). */
#define FDS_DAEMON_CAP UINT64_MAX
int fds_client_set_bandwidth(fds_client *c, uint64_t id, uint64_t bytes_per_second);

#ifdef __cplusplus
}
#endif
