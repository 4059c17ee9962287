/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"

#if HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static log_level current = LOG_LEVEL_INFO;
static log_target target = LOG_TARGET_CONSOLE;

static const char *const level_names[_LOG_LEVEL_MAX] = { "error", "warning", "info", "debug" };
static const char *const target_names[_LOG_TARGET_MAX] = { "auto", "console", "journal" };
/* syslog(3) priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int priorities[_LOG_LEVEL_MAX] = { 3, 4, 6, 7 };

void log_set_level(log_level l) {
        current = l;
}

log_level log_get_level(void) {
        return current;
}

int log_level_parse(const char *s) {
        for (unsigned i = 0; i < _LOG_LEVEL_MAX; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

const char *log_level_name(log_level l) {
        return (unsigned) l < _LOG_LEVEL_MAX ? level_names[l] : "?";
}

int log_target_parse(const char *s) {
        for (unsigned i = 0; i < _LOG_TARGET_MAX; i++)
                if (strcmp(s, target_names[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

const char *log_target_name(log_target t) {
        return (unsigned) t < _LOG_TARGET_MAX ? target_names[t] : "?";
}

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected to
 * stderr; when stderr is still that stream, the journal is listening. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        uint64_t dev, ino;
        struct stat st;
        char tail;

        if (!e || sscanf(e, "%" SCNu64 ":%" SCNu64 "%c", &dev, &ino, &tail) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (uint64_t) st.st_dev == dev && (uint64_t) st.st_ino == ino;
}

log_target log_open(log_target t) {
        if (t == LOG_TARGET_AUTO)
                t = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
        /* sd_journal_send() drops records silently when there is no
         * journal: better stderr than nothing. */
        if (!HAVE_SYSTEMD || access(JOURNAL_SOCKET, F_OK) < 0)
                t = LOG_TARGET_CONSOLE;
        target = t;
        return t;
}

log_target log_get_target(void) {
        return target;
}

static void console_write(log_level l, const char *msg) {
        fprintf(stderr, "fdsd[%s]: %s\n", level_names[l], msg);
}

#if HAVE_SYSTEMD
/* One record through the journal's native protocol. Fields that cannot be
 * formatted (out of memory) are left out rather than losing the record. */
static int journal_write(log_level l, const log_fields *f, const char *msg) {
        char *fields[8] = { 0 };
        struct iovec iov[9];
        size_t n = 0;
        int r;

        /* A failed asprintf() allocates nothing: its slot is reused. */
        if (asprintf(&fields[n], "MESSAGE=%s", msg) >= 0)
                n++;
        if (asprintf(&fields[n], "PRIORITY=%d", priorities[l]) >= 0)
                n++;
        if (f && f->batch && asprintf(&fields[n], "FDS_BATCH=%" PRIu64, f->batch) >= 0)
                n++;
        if (f && f->peer && asprintf(&fields[n], "FDS_PEER_UID=%u", (unsigned) f->peer_uid) >= 0)
                n++;
        if (f && f->peer && asprintf(&fields[n], "FDS_PEER_PID=%d", (int) f->peer_pid) >= 0)
                n++;
        if (f && f->path && asprintf(&fields[n], "FDS_PATH=%s", f->path) >= 0)
                n++;
        if (f && f->code && asprintf(&fields[n], "FDS_CODE=%s", f->code) >= 0)
                n++;
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec){ .iov_base = fields[i], .iov_len = strlen(fields[i]) };
        iov[n++] = (struct iovec){ .iov_base = (char *) "SYSLOG_IDENTIFIER=fdsd",
                                   .iov_len = strlen("SYSLOG_IDENTIFIER=fdsd") };
        r = sd_journal_sendv(iov, (int) n);
        for (size_t i = 0; i < n - 1; i++)
                free(fields[i]);
        return r;
}
#endif

static void log_emit(log_level l, const log_fields *f, const char *fmt, va_list ap) {
        char *msg;

        if (l > current || (unsigned) l >= _LOG_LEVEL_MAX)
                return;
        if (vasprintf(&msg, fmt, ap) < 0) {
                console_write(l, "(out of memory formatting a log message)");
                return;
        }
#if HAVE_SYSTEMD
        /* A journal that went away: the record still goes somewhere. */
        if (target == LOG_TARGET_JOURNAL && journal_write(l, f, msg) >= 0) {
                free(msg);
                return;
        }
#endif
        console_write(l, msg);
        free(msg);
}

void log_write(log_level l, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_emit(l, NULL, fmt, ap);
        va_end(ap);
}

void log_struct(log_level l, const log_fields *f, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_emit(l, f, fmt, ap);
        va_end(ap);
}
