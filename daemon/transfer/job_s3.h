/* SPDX-License-Identifier: MIT */
#pragma once

/* What the S3 job types share. */

#include "job.h"
#include "s3_client.h"

/* Buffer of one job's file I/O; two per streaming job. */
#define JOB_S3_BUF_SIZE (256 * 1024)

/* An S3 result kept past its callback (whose strings die with it). */
typedef struct s3_kept {
        s3_result r;
        char msg[512];
        char code[64];
        bool set;
} s3_kept;

void s3_kept_set(s3_kept *k, const s3_result *r);

/* Fill f->err from a failed S3 call (code, message, HTTP status, S3 code). */
int job_s3_set_error(job_file *f, const s3_result *r, const char *what);

/* The call options every S3 request of a call starts from. */
s3_call_opts job_s3_opts(const job_env *env, const fds_location *l);
/* One ListObjectsV2 page of bucket: q (list-type=2 and the rest) and cbs
 * are the caller's, as are on_done and userdata. */
s3_call_opts job_s3_list_opts(const job_env *env, const char *bucket, const sigv4_pair *q, size_t nq,
                              const s3_xml_callbacks *cbs);
