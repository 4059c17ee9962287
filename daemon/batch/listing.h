/* SPDX-License-Identifier: MIT */
#pragma once

/* List: what is in one local directory or under one S3 prefix, in pages.
 *
 * S3 goes as `aws s3 ls`: the key as given is the prefix, and without
 * recursive the delimiter "/" turns what lies deeper into directory entries
 * (CommonPrefixes). Each ListObjectsV2 page is one page of the listing, and
 * the next is asked for only when the owner can take it, so memory stays at
 * a page whatever the prefix holds. A local directory is read on a worker
 * thread with the caller's identity (local_walk.h: what a recursive copy
 * would take, or with recursive off its files and directories); a file is
 * its own listing, as for ls. Its entries go out sorted, in pages of the
 * same size, and at most max_entries of them. A failed walk lists nothing;
 * a failed S3 page ends the listing after the pages before it.
 *
 * Objects whose keys end in '/' ("folder" markers) are not files to a
 * recursive copy, and are not listed either. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct batch_input batch_input;

typedef struct listing_entry {
        char *path;     /* "/dir/f" or "s3://bucket/key"; a directory ends in '/' */
        uint64_t size;  /* 0 for a directory */
        int64_t mtime_ms; /* last modified, ms since the epoch; LISTING_NO_TIME when not known */
        char *etag;     /* S3 objects: the ETag without its quotes; else NULL */
        bool dir;
} listing_entry;

/* What the listing hands its owner. */
typedef struct listing_ops {
        /* A page, when the owner streams (more): the entries are valid
         * during the call. The next page waits for listing_resume() when
         * the owner said it was paused. */
        void (*page)(batch_input *in, const listing_entry *e, size_t n);
        /* The end: 0, or a negative errno with the reason in the entry's
         * file (in->files[0].err). Without streaming, the entries are
         * listing_entries()'s until the batch is freed. */
        void (*done)(batch_input *in, int r);
} listing_ops;

#define LISTING_PAGE 1000
#define LISTING_NO_TIME INT64_MIN

/* in has one entry (src, recursive), settings resolved; paused as the
 * owner is now. 0: started; a negative errno: nothing started. */
int listing_start(batch_input *in, bool stream, bool paused, const listing_ops *ops);
/* Paused: hold the next page (S3: do not ask for it) until resumed. */
void listing_set_paused(batch_input *in, bool paused);
void listing_cancel(batch_input *in);
/* Without streaming, after done: every entry, in order. */
const listing_entry *listing_entries(const batch_input *in, size_t *ret_n);
void listing_free(batch_input *in);
