/* SPDX-License-Identifier: MIT */
#pragma once

/* Validation of S3 sources by listing: files that share a bucket and a
 * directory are looked up with ListObjectsV2 pages instead of a HEAD each.
 * Files found get their size and ETag (src_known); the rest keep their HEAD.
 * Without validation only S3 -> S3 copies are looked up: they need their
 * source's size before they start anyway. */

typedef struct batch_input batch_input;

/* Start one listing per directory worth listing; each calls done once when
 * it ends (found what it could, failed, or was canceled). Returns how many
 * started (0: none, the HEADs do all the work). */
int validate_lists_start(batch_input *b, void (*done)(batch_input *b));
void validate_lists_cancel(batch_input *b);
