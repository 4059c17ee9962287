/* SPDX-License-Identifier: MIT */
#pragma once

/* Recursive copies: an entry naming a local directory or an S3 prefix
 * becomes one entry per file under it, keeping relative paths, before
 * validation sees the batch. Local trees are walked on a worker thread;
 * S3 prefixes are listed with ListObjectsV2, page by page. */

typedef struct batch_input batch_input;

/* 1: started, done(b) runs later from the loop; 0: nothing to expand;
 * negative errno: nothing started. */
int expand_start(batch_input *b, void (*done)(batch_input *b));
void expand_cancel(batch_input *b);
/* After done: replace the recursive entries with their files (problems for
 * what could not be listed go to the request's problems). 0 or -ENOMEM. */
int expand_apply(batch_input *b);
