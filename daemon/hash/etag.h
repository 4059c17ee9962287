/* SPDX-License-Identifier: MIT */
#pragma once

/* What an S3 ETag says about an object's bytes, and how to check them.
 *
 * A single-part upload's ETag is the object's MD5. A multipart upload's is
 * the MD5 of its parts' MD5s, concatenated, then "-N": checking it needs the
 * part layout. AWS tells it (partNumber=1); Ceph RGW ignores partNumber, so
 * the layouts that common uploaders produce for that size and N are tried:
 * every part but the last of one size. */

#include <stdbool.h>
#include <stdint.h>

typedef enum etag_kind {
        ETAG_OPAQUE,     /* nothing to check against (SSE-KMS, SSE-C, other forms) */
        ETAG_MD5,        /* digest is the object's MD5 */
        ETAG_MULTIPART,  /* digest is the MD5 of n_parts part MD5s */
} etag_kind;

typedef struct etag_info {
        etag_kind kind;
        uint8_t digest[16];
        unsigned n_parts;
} etag_info;

#define ETAG_MAX_LAYOUTS 16

/* User metadata fds's multipart uploads carry: their part size in bytes. */
#define ETAG_META_PART_SIZE "x-amz-meta-fds-part-size"
/* rclone's: the whole object's MD5, base64. */
#define ETAG_META_MD5 "x-amz-meta-md5chksum"

/* A metadata value as a part size, 0 if it is none. */
uint64_t etag_meta_part_size(const char *value);
/* rclone's MD5 metadata (24 base64 characters) as a digest. */
bool etag_meta_md5(const char *value, uint8_t ret[16]);

/* Parse an ETag (quoted or not). Never fails: an unknown form is opaque. */
etag_info etag_parse(const char *etag);

/* Part sizes an uploader may have used for size bytes in n parts, most
 * likely first: hint (the part size fds itself would use, 0: none), then
 * 8 MiB (boto3, awscli, fds), 5, 16, 15, 32, 64, 128 MiB, then the whole
 * MiB sizes that cut size into n parts (smallest first), then size/n
 * rounded up. Only sizes that cut size into exactly n parts, each once, at
 * most ETAG_MAX_LAYOUTS. Returns how many were stored in ret. */
unsigned etag_layouts(uint64_t size, unsigned n, uint64_t hint, uint64_t ret[ETAG_MAX_LAYOUTS]);

/* The multipart ETag digest of n part digests (16 bytes each). */
int etag_combine(const uint8_t *part_digests, unsigned n, uint8_t ret[16]);

/* Whether bytes [0, size) of fd hash to e with parts of part_size
 * (multipart) or as a whole (MD5). 1 match, 0 mismatch, <0 read error.
 * Reads the file with pread: worker threads only. */
int etag_check_file(int fd, uint64_t size, const etag_info *e, uint64_t part_size);

/* Check fd against e: a multipart ETag with each of layouts[from..n).
 * 1 one matched, 0 none did, <0 read error. Worker threads only. */
int etag_check_layouts(int fd, uint64_t size, const etag_info *e, const uint64_t *layouts, unsigned n,
                       unsigned from);
