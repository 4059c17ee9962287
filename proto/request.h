/* SPDX-License-Identifier: MIT */
#pragma once

/* The parameters of Copy, Size, Read and List, checked for shape (types, unknown
 * fields) and for every problem that needs no file system: paths, URLs,
 * duplicate destinations. Problems are collected, never stopped at. */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "location.h"

#define FDS_PRIORITY_DEFAULT 10
#define FDS_PRIORITY_MAX 100

typedef struct fds_options {
        unsigned parallelism; /* 0: the daemon default */
        unsigned priority;    /* share of file starts, 1..100; 0: the default (10) */
        uint64_t max_bytes;   /* 0: the daemon default */
        json_t *s3;           /* borrowed; NULL if absent */
        unsigned max_attempts; /* transfer.max_attempts; 0: the daemon default */
        bool has_retry_time_budget;
        unsigned retry_time_budget; /* transfer.retry_time_budget, seconds */
        /* transfer.*: has_* says the caller set it (else the daemon default). */
        bool has_multipart, multipart;
        uint64_t multipart_threshold; /* 0: default */
        uint64_t multipart_chunksize; /* 0: default */
        uint64_t copy_cutoff;         /* S3->S3: one CopyObject up to this; 0: default */
        unsigned max_concurrency;     /* 0: default */
        uint64_t max_bandwidth;       /* bytes/s for this call; 0: no cap */
        bool verify;                  /* local copies: compare after copying */
        bool dry_run;                 /* Copy: validate and report, move nothing */
        bool no_clobber;              /* Copy: leave existing destinations alone */
        bool no_validate;      /* validate: false — skip the existence pass */
} fds_options;

typedef struct fds_entry {
        uint32_t index;       /* position in copies[], or order in files{} */
        const char *key;      /* Size/Read: the caller's key (in the request's strings) */
        const char *src;      /* as given (the same) */
        const char *dst;      /* Copy only, as given (the same) */
        fds_location src_loc;
        fds_location dst_loc;
        bool recursive;       /* Copy: src is a directory or an S3 prefix */
        bool expanded;        /* one of the files a recursive entry found */
        const json_t *filters; /* recursive Copy: [{"include": GLOB} | {"exclude": GLOB}], held by the request; NULL: all */
} fds_entry;

/* Filters one entry may have. */
#define FDS_FILTERS_MAX 100

/* Whether a file found under a recursive entry, at rel (its path below the
 * source directory or prefix), is copied: as aws s3 cp --include/--exclude,
 * all files unless a filter says otherwise, and of the filters whose glob
 * (fnmatch(3), '*' matching '/' too) matches rel, the last decides. */
bool fds_entry_wanted(const fds_entry *e, const char *rel);

typedef struct fds_request {
        fds_entry *entries;
        size_t n_entries;
        fds_options options;
        json_t *problems;     /* array of Problem objects; empty when valid */
        fds_strpool strings;  /* every entry's strings and its locations' */
        json_t *held;         /* what entries and options point into: filters, options.s3 */
} fds_request;

typedef struct fds_request_limits {
        size_t max_entries;   /* more is a problem of the whole call */
        bool s3_available;
} fds_request_limits;

/* Shape errors (wrong type, unknown field) return -EINVAL with the offending
 * parameter's name in *ret_param (malloc'd), for varlink's InvalidParameter.
 * Everything else lands in ret->problems. The request keeps what it needs
 * of params (strings copied, JSON values referenced): params may be
 * dropped once it is parsed, its entries first, which are most of it. */
int fds_request_parse_copy(json_t *params, const fds_request_limits *lim, fds_request *ret,
                           char **ret_param);
int fds_request_parse_files(json_t *params, const fds_request_limits *lim, fds_request *ret,
                            char **ret_param);
/* List: one entry, src the path (a local directory or file, an S3 URL
 * that may end at the bucket or a prefix), recursive as asked. */
int fds_request_parse_list(json_t *params, const fds_request_limits *lim, fds_request *ret,
                           char **ret_param);
void fds_request_done(fds_request *r);

int fds_options_parse(json_t *options, fds_options *ret, char **ret_param);

/* Append a Problem ({index|key, path, reason}) to an array. */
/* Values echoed in errors are cut to this many bytes, plus their length. */
#define FDS_ECHO_MAX 256
/* s, or its first FDS_ECHO_MAX bytes and "...(N bytes)"; malloc'd, NULL
 * when out of memory. */
char *fds_echo(const char *s);

int fds_problem_add(json_t *problems, const fds_entry *e, const char *path, const char *reason);
