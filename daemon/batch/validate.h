/* SPDX-License-Identifier: MIT */
#pragma once

/* The pass that runs before anything moves: every source exists and can be
 * read, every destination can be created. Checks run on worker threads in
 * chunks; the findings become one error that lists every problem. */

#include <stdbool.h>
#include <stddef.h>

typedef struct batch_input batch_input;
typedef struct validate_chunk validate_chunk;
typedef struct job_file job_file;

#define VALIDATE_CHUNK 512

bool validate_needed(const batch_input *b);
/* Check files [lo, hi) on a worker thread, then call done on the loop. */
int validate_chunk_queue(batch_input *b, size_t lo, size_t hi,
                         void (*done)(validate_chunk *c, void *userdata), void *userdata);
void validate_chunk_free(validate_chunk *c);
/* The checks themselves (any thread). */
void validate_range(batch_input *b, size_t lo, size_t hi);
/* A daemon that cannot act as the peer refuses its local paths, each a
 * problem saying why. 0 or -ENOMEM. */
int validate_identity(batch_input *b);
/* Resolve the S3 settings when any path is s3://; a failure is a problem of
 * the request. 0: done; 1: waiting for the instance metadata service, cont
 * runs later; -ENOMEM. */
int validate_site(batch_input *b, void (*cont)(batch_input *b));
void validate_site_cancel(batch_input *b);
/* HEAD f's S3 source, and with no_clobber its S3 destination: how many were
 * started (done is called once for each, later), or a negative errno. */
int validate_head_start(batch_input *b, job_file *f, void (*done)(batch_input *b));
void validate_heads_cancel(batch_input *b);
/* On the loop, after all chunks: 0 go ahead, -EINVAL problems found
 * (batch_problems), -EFBIG a Read over its limit, -ENOMEM. */
int validate_collect(batch_input *b);
