/* SPDX-License-Identifier: MIT */
#pragma once

/* Logging for the daemon's top layers (main, session, method); engine
 * modules return errors and never log.
 *
 * Run by hand, fdsd writes "fdsd[level]: message" lines to stderr. Started
 * by systemd with stderr connected to the journal (JOURNAL_STREAM names
 * stderr's device and inode), it speaks the journal's native protocol, so
 * every record has its priority and, through log_struct(), fields such as
 * FDS_BATCH= that `journalctl -u fdsd FDS_BATCH=12` can match. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum log_level {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
        _LOG_LEVEL_MAX,
} log_level;

typedef enum log_target {
        LOG_TARGET_AUTO,    /* the journal when stderr is the journal's stream, else the console */
        LOG_TARGET_CONSOLE, /* stderr */
        LOG_TARGET_JOURNAL, /* the journal's native protocol */
        _LOG_TARGET_MAX,
} log_target;

/* Fields of one record for the journal. Zero/NULL members are left out. */
typedef struct log_fields {
        uint64_t batch;   /* FDS_BATCH= */
        bool peer;        /* FDS_PEER_UID= and FDS_PEER_PID= */
        uid_t peer_uid;
        pid_t peer_pid;
        const char *path; /* FDS_PATH= */
        const char *code; /* FDS_CODE=, an error code name such as NotFound */
} log_fields;

void log_set_level(log_level l);
log_level log_get_level(void);
/* The level's index, or -EINVAL. */
int log_level_parse(const char *s);
const char *log_level_name(log_level l);

int log_target_parse(const char *s);
const char *log_target_name(log_target t);
/* Choose where records go from now on (LOG_TARGET_AUTO is decided here,
 * from JOURNAL_STREAM and stderr); call again after stderr changed. Returns
 * the target chosen: never AUTO, and CONSOLE when built without libsystemd. */
log_target log_open(log_target t);
log_target log_get_target(void);

void log_write(log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_struct(log_level l, const log_fields *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
