/* SPDX-License-Identifier: MIT */
#pragma once

/* What the daemon is doing, for the Status method, `fdsctl status` and
 * systemd's STATUS= line: connections, batches and files in flight and
 * queued, counters since start, and the transfer rate, which a timer
 * samples once a second over the last few seconds. */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct fds_daemon fds_daemon;
typedef struct batch batch;
typedef struct job_file job_file;
typedef struct fds_call fds_call;
typedef struct session session;

#define STATUS_RATE_WINDOW 5 /* seconds the rate is averaged over */

typedef struct status_meter {
        uv_timer_t timer; /* timer.data points back */
        fds_daemon *daemon;
        uint64_t at_ns[STATUS_RATE_WINDOW + 1];
        uint64_t bytes[STATUS_RATE_WINDOW + 1];
        unsigned n;    /* samples taken, up to the window */
        unsigned next; /* ring position of the next sample */
} status_meter;

/* Sets d->started_ns and starts sampling d->stats.bytes_moved. */
int status_meter_start(status_meter *m, fds_daemon *d);
void status_meter_close(status_meter *m);

/* Answer a Status call on s (it takes no parameters). */
void status_call(session *s, const fds_call *call);
/* The parameters of a Status reply (a new reference; NULL on ENOMEM). */
json_t *status_json(const fds_daemon *d);
/* One line for people: "2 connections, 1 batch, 8 files in flight, ...". */
void status_summary(const fds_daemon *d, char *buf, size_t size);

/* Files not yet started, of every call (Calls' files_queued, summed). */
uint64_t status_files_queued(const fds_daemon *d);

/* The batch's owner reports each finished file and each ended call here. */
void status_file_done(fds_daemon *d, const batch *b, const job_file *f);
void status_batch_end(fds_daemon *d, const batch *b, int status);

/* The owner of a call whose client went away (userdata: the daemon): what
 * still ends is counted, and the batch is freed at its end. */
extern const struct batch_owner status_detached_owner;
