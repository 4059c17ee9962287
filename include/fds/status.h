/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#include <fds/client.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What fdsd is doing, and its counters since it started (the Status call). */
typedef struct fds_status {
        char version[32];          /* fdsd's version */
        double uptime_seconds;
        uint64_t connections;      /* open now, this one included */
        uint64_t connections_total;
        uint64_t batches;          /* calls running now */
        uint64_t batches_total;
        uint64_t files_in_flight;
        uint64_t files_queued;     /* of running calls, not started yet */
        uint64_t files_ok;
        uint64_t files_failed;
        uint64_t bytes;            /* of files Copy and Read finished */
        uint64_t bytes_per_second; /* over the last few seconds */
        uint64_t s3_requests;      /* S3 requests sent, every try counted */
        uint64_t retries;          /* S3 requests tried again */
        uint64_t calls_failed;     /* InvalidRequest, ReadLimitExceeded */
} fds_status;

/* Ask the daemon for its status. 0 and *ret filled, or a negative errno
 * as for every call (fds/client.h). */
int fds_client_status(fds_client *c, fds_status *ret);

#ifdef __cplusplus
}
#endif
