/* SPDX-License-Identifier: MIT */
#pragma once

/* Telling systemd how the daemon is (sd_notify(3)): READY=1 once serving,
 * a STATUS= line kept current, RELOADING=1 around a SIGHUP, STOPPING=1,
 * and WATCHDOG=1 from a loop timer when the service has WatchdogSec=, so
 * a loop that is stuck stops petting the watchdog and gets restarted.
 * Everything is a no-op when NOTIFY_SOCKET is not set (or fdsd was built
 * without libsystemd). */

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct fds_daemon fds_daemon;

typedef struct notify {
        uv_timer_t status_timer;   /* .data points back */
        uv_timer_t watchdog_timer;
        fds_daemon *daemon;
        uint64_t watchdog_usec;    /* 0: no watchdog */
        bool enabled;              /* NOTIFY_SOCKET is set */
        bool initialized;
        char last_status[256];
} notify;

int notify_init(notify *n, fds_daemon *d);
/* The socket is listening. */
void notify_ready(notify *n);
void notify_reloading(notify *n);
void notify_stopping(notify *n);
/* Start-up failed: STATUS= and ERRNO= for `systemctl status`. */
void notify_failed(notify *n, int error, const char *what);
void notify_close(notify *n);
