/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Multipart uploads fdsd could not abort (the server kept failing the
 * AbortMultipartUpload past its retry budget): their parts stay billed
 * until someone aborts them. They are kept, one JSON line each, in a file
 * of the daemon's state directory and aborted at the next start with the
 * daemon's default S3 settings (the durability journal takes this over
 * when it lands). File I/O is small and synchronous; loop thread only.
 */

#include <stdbool.h>
#include <stddef.h>

typedef struct upload_left {
        char *endpoint;   /* "http://127.0.0.1:7480" */
        char *bucket;
        char *key;
        char *upload_id;
} upload_left;

typedef struct uploads_left {
        char *path;       /* NULL: nowhere to keep them (only logged) */
        upload_left *items;
        size_t n;
} uploads_left;

/* The state directory fdsd keeps this in: $STATE_DIRECTORY (systemd's
 * StateDirectory=), else $XDG_STATE_HOME/fds, else ~/.local/state/fds, and
 * /var/lib/fds for root. malloc'd, or NULL without any. */
char *uploads_left_dir(void);

/* Load the file in dir (missing: none). Lines that do not parse are
 * dropped. */
int uploads_left_load(uploads_left *u, const char *dir);
void uploads_left_free(uploads_left *u);
/* Keep one more (appended, fsync'd). */
int uploads_left_add(uploads_left *u, const char *endpoint, const char *bucket, const char *key,
                     const char *upload_id);
/* Forget item i (the file is rewritten). */
int uploads_left_remove(uploads_left *u, size_t i);
