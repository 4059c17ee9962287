/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The crash journal: what a killed fdsd would leave behind, so the next
 * start can clean it up. Two kinds of records, each written when the
 * thing appears and again when it is gone:
 *
 *   - temporary files beside a destination (".<name>.fds-<hex>"): removed
 *     at the next start, so a destination is never left half-written and
 *     no stray temporary stays;
 *   - multipart uploads (endpoint, bucket, key, UploadId): handed to the
 *     next start, which aborts them (uploads_left.h), so none stays open
 *     and billed.
 *
 * One line per record, appended with one write(2) under a mutex (any
 * thread), so a killed process loses nothing the kernel took. Upload
 * records are fdatasync'd (a multipart upload is at least one 5 MiB
 * part: the sync is small against it); temporary-file records are not, so
 * a power cut may leave a temporary the next start does not know about.
 * The file is truncated whenever nothing it records is open, and read
 * back by the next start, which takes an exclusive lock on it first: a
 * second fdsd on the same state directory runs without a journal rather
 * than clean up the first one's work.
 *
 * The journal is the process's: journal_open sets it, and the record
 * functions are no-ops until then (unit tests, --check-config).
 */

#include <stdbool.h>

typedef struct journal_found {
        /* A temporary a killed run left: its full path. */
        void (*tmp)(const char *path, void *userdata);
        /* A multipart upload a killed run left open. */
        void (*upload)(const char *endpoint, const char *bucket, const char *key, const char *upload_id,
                       void *userdata);
        void *userdata;
} journal_found;

/* Open (creating dir 0700 and the file 0600) and lock the journal in dir,
 * report what the last run left open to found, and start afresh. 0;
 * -EBUSY when another process holds it (nothing is reported, and no
 * journal is kept); another negative errno. */
int journal_open(const char *dir, const journal_found *found);
void journal_close(void);

/* Records; any thread. dir is the temporary's directory, name its name.
 * A begin says whether it was recorded; only then may its end be. */
bool journal_tmp_begin(const char *dir, const char *name);
void journal_tmp_end(const char *dir, const char *name);
bool journal_upload_begin(const char *endpoint, const char *bucket, const char *key, const char *upload_id);
void journal_upload_end(const char *upload_id);
