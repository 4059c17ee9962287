/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* A reply worth sending again: 5xx, SlowDown, RequestTimeout, and a body
 * that arrived corrupted (BadDigest, XAmzContentSHA256Mismatch). */
bool s3_error_is_transient(long status, const char *code);

/* The errno a file's result carries: -ENOENT, -EACCES, -ESTALE (the object
 * changed under a conditional request) or -EIO. code may be NULL. */
int s3_errno_from_status(long status, const char *code);

/* Words for the codes users meet most, or for the status; NULL when there
 * are none better than the code itself. */
const char *s3_error_words(const char *code, long status);
