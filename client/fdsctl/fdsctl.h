/* SPDX-License-Identifier: MIT */
#pragma once

/* The parts of fdsctl; none of this is in libfds. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <fds/fds.h>

/* fdsctl-batch.c: a batch file, one copy per line. */
#define BATCH_MAX_LINE (64 * 1024)
#define BATCH_MAX_ENTRIES (1000 * 1000)

typedef struct batch_entry {
        char *src;
        char *dst;
        size_t line; /* 1-based line number in the file */
} batch_entry;

typedef struct batch_error {
        size_t line; /* 0: not about one line (read error, too many) */
        char reason[256];
} batch_error;

/* Entries of f in order; blank lines skipped. -EINVAL with err filled for
 * a malformed or too long line, too many entries, or a read error; -ENOMEM. */
int batch_parse(FILE *f, batch_entry **ret_entries, size_t *ret_n, batch_error *err);
batch_entry *batch_free(batch_entry *entries, size_t n);

/* fdsctl-path.c: relative local paths joined to cwd; s3:// URLs and
 * absolute paths as they are. Nothing else is normalized. */
int path_absolute(const char *path, const char *cwd, char **ret);

/* progress.c: one line on stderr, redrawn in place. */
typedef struct progress {
        bool enabled;
        size_t total;
        size_t done;
        uint64_t bytes;
        double started;
        double drawn; /* when the line was last drawn, 0 = not shown */
} progress;

void progress_init(progress *p, size_t total, bool enabled);
/* One more file finished with bytes copied. */
void progress_file_done(progress *p, uint64_t bytes);
/* Erase the line (before other output on stderr, and at the end). */
void progress_clear(progress *p);
double progress_now(void);

/* fdsctl-s3.c: S3 settings from flags, else from the caller's environment
 * (AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL, AWS_REGION/AWS_DEFAULT_REGION,
 * AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN),
 * into the call's options.s3. Unset ones are left to the daemon. */
typedef struct s3_flags {
        const char *endpoint;
        const char *region;
        const char *profile;
        bool path_style;
} s3_flags;

int s3_options_apply(fds_options *o, const s3_flags *f);

/* fdsctl-usage.c: the help text; a usage error on stderr, -EINVAL. */
void usage(FILE *f);
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fdsctl-ls.c: one listing, printed as it streams. */
typedef struct ls_state {
        const char *path;  /* absolute, as sent */
        const char *shown; /* as the user wrote it */
        char *base;        /* names are what follows it in an entry's path */
        bool s3, long_format, json;
        uint64_t n_entries, n_files, bytes;
} ls_state;

int ls_init(ls_state *s, const char *path, const char *shown);
void ls_done(ls_state *s);
/* What fds_client_list() returns; -EIO when stdout failed. */
int ls_run(fds_client *c, ls_state *s, bool recursive, const fds_options *opts, fds_file_error *ret_error);

/* fdsctl-status.c: the daemon's status for people, or as one JSON object. */
int status_print(const fds_status *st, bool json);
/* "12.3 GiB" and "3d 04h 05m 06s", for people. */
const char *human_bytes(uint64_t v, char buf[static 32]);
const char *human_duration(double seconds, char buf[static 48]);

/* fdsctl-calls.c: calls, cancel and bwlimit, each a command of its own
 * that prints what it did and returns fdsctl's exit status. */
bool control_is_command(const char *command);
/* 0, or a usage error for these operands. */
int control_check(const char *command, char **operands, size_t n);
int control_run(fds_client *c, const char *command, char **operands, size_t n, bool json, bool quiet);
