/* SPDX-License-Identifier: MIT */
#include "notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "daemon.h"
#include "status.h"

#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define NOTIFY_STATUS_MS 1000

static void notify_send(const notify *n, const char *msg) {
#if HAVE_SYSTEMD
        if (n->enabled)
                (void) sd_notify(0, msg);
#endif
}

/* STATUS= when it changed since the last one sent. */
static void notify_status(notify *n, const char *prefix) {
        char line[200], msg[sizeof(n->last_status)];

        status_summary(n->daemon, line, sizeof(line));
        snprintf(msg, sizeof(msg), "STATUS=%s%s", prefix, line);
        if (strcmp(msg, n->last_status) == 0)
                return;
        memcpy(n->last_status, msg, sizeof(msg));
        notify_send(n, msg);
}

static void on_status_timer(uv_timer_t *t) {
        notify *n = t->data;
        notify_status(n, n->daemon->stopping ? "Stopping: " : "");
}

static void on_watchdog_timer(uv_timer_t *t) {
        notify_send(t->data, "WATCHDOG=1");
}

int notify_init(notify *n, fds_daemon *d) {
        int r;

        *n = (notify){ .daemon = d };
        r = uv_timer_init(d->loop, &n->status_timer);
        if (r < 0)
                return r;
        r = uv_timer_init(d->loop, &n->watchdog_timer);
        if (r < 0) {
                uv_close((uv_handle_t *) &n->status_timer, NULL);
                return r;
        }
        n->status_timer.data = n->watchdog_timer.data = n;
        n->initialized = true;
#if HAVE_SYSTEMD
        const char *e = getenv("NOTIFY_SOCKET");
        n->enabled = e && *e;
        /* Also checks WATCHDOG_PID, when set, against our pid. */
        if (n->enabled && sd_watchdog_enabled(0, &n->watchdog_usec) <= 0)
                n->watchdog_usec = 0;
#endif
        return 0;
}

void notify_ready(notify *n) {
        char status[200], msg[256];

        if (!n->enabled)
                return;
        status_summary(n->daemon, status, sizeof(status));
        snprintf(msg, sizeof(msg), "STATUS=%s", status);
        memcpy(n->last_status, msg, sizeof(msg));
        snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
        notify_send(n, msg);
        if (!uv_is_active((uv_handle_t *) &n->status_timer))
                uv_timer_start(&n->status_timer, on_status_timer, NOTIFY_STATUS_MS, NOTIFY_STATUS_MS);
        /* Half the interval, as sd_watchdog_enabled(3) advises. */
        if (n->watchdog_usec && !uv_is_active((uv_handle_t *) &n->watchdog_timer)) {
                uint64_t ms = n->watchdog_usec / 2000;
                notify_send(n, "WATCHDOG=1");
                uv_timer_start(&n->watchdog_timer, on_watchdog_timer, ms ? ms : 1, ms ? ms : 1);
        }
}

void notify_reloading(notify *n) {
        struct timespec ts;
        char msg[128];

        /* MONOTONIC_USEC lets systemd 253+ (Type=notify-reload) match the
         * READY=1 that follows to this reload. */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(msg, sizeof(msg), "RELOADING=1\nSTATUS=Reloading the configuration\nMONOTONIC_USEC=%" PRIu64,
                 (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000);
        notify_send(n, msg);
}

void notify_stopping(notify *n) {
        notify_send(n, "STOPPING=1\nSTATUS=Stopping: canceling work in flight");
        strcpy(n->last_status, "STATUS=Stopping: canceling work in flight");
}

void notify_failed(notify *n, int error, const char *what) {
        char msg[256];

        snprintf(msg, sizeof(msg), "STATUS=Failed: %s: %s\nERRNO=%d", what, strerror(error > 0 ? error : -error),
                 error > 0 ? error : -error);
        notify_send(n, msg);
}

void notify_close(notify *n) {
        if (!n->initialized)
                return;
        n->initialized = false;
        uv_close((uv_handle_t *) &n->status_timer, NULL);
        uv_close((uv_handle_t *) &n->watchdog_timer, NULL);
}
