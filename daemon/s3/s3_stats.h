/* SPDX-License-Identifier: MIT */
#pragma once

/* What the S3 client counts: requests, retries, redirects, waits, and the
 * answers of each operation by HTTP status, for the server's metrics.
 * Fixed tables, no allocation per request. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "sigv4.h"

/* The S3 operations fdsd sends, told apart by method, query and headers. */
typedef enum s3_op {
        S3_OP_GET_OBJECT,
        S3_OP_HEAD_OBJECT,
        S3_OP_PUT_OBJECT,
        S3_OP_COPY_OBJECT,
        S3_OP_DELETE_OBJECT,
        S3_OP_CREATE_MULTIPART_UPLOAD,
        S3_OP_UPLOAD_PART,
        S3_OP_UPLOAD_PART_COPY,
        S3_OP_COMPLETE_MULTIPART_UPLOAD,
        S3_OP_ABORT_MULTIPART_UPLOAD,
        S3_OP_LIST_PARTS,
        S3_OP_LIST_MULTIPART_UPLOADS,
        S3_OP_LIST_OBJECTS_V2,
        S3_OP_HEAD_BUCKET,
        S3_OP_OTHER,
        _S3_OP_MAX,
} s3_op;

/* Distinct statuses kept per operation; more fall into `other`. */
#define S3_STATS_STATUSES 16

typedef struct s3_status_count {
        uint16_t status; /* 0: no answer (a transport failure) */
        uint64_t n;      /* 0: the slot is free */
} s3_status_count;

typedef struct s3_op_stats {
        s3_status_count by_status[S3_STATS_STATUSES];
        uint64_t other;  /* answers whose status found no free slot */
} s3_op_stats;

typedef struct s3_stats {
        uint64_t requests;
        uint64_t retries;
        uint64_t redirects;
        uint64_t waits;         /* requests that waited for an endpoint to come back */
        uint64_t coalesced;     /* calls that sent nothing: they took an identical one's answer */
        s3_op_stats ops[_S3_OP_MAX]; /* answered attempts (canceled ones are not) */
} s3_stats;

/* The operation of a request; has_key: it names an object. */
s3_op s3_op_classify(http_method method, bool has_key, const sigv4_pair *query, size_t n_query,
                     const sigv4_pair *headers, size_t n_headers);
/* "GetObject", "UploadPart", ... (S3's own names). */
const char *s3_op_name(s3_op op);
/* One attempt of op ended with status (0: no answer). */
void s3_stats_count(s3_stats *s, s3_op op, long status);
