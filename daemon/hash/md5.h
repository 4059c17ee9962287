/* SPDX-License-Identifier: MIT */
#pragma once

/* MD5 for S3's Content-MD5 and single-part ETags (integrity, not security). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int md5_digest(const void *data, size_t len, uint8_t ret[16]);
/* A digest in base64, as Content-MD5 writes it (24 characters). 0 or -ENOMEM. */
int md5_base64(const uint8_t d[16], char ret[25]);
/* A digest in lower-case hex, as ETags write it. */
void md5_hex(const uint8_t d[16], char ret[33]);

typedef struct md5_ctx md5_ctx;
int md5_new(md5_ctx **ret);
int md5_update(md5_ctx *c, const void *data, size_t len);
int md5_reset(md5_ctx *c);
int md5_final(md5_ctx *c, uint8_t ret[16]);
int md5_final_hex(md5_ctx *c, char ret[33]);
md5_ctx *md5_free(md5_ctx *c);
/* MD5 of bytes [0, size) of fd, read with pread (worker threads only). */
int md5_file_digest(int fd, uint64_t size, uint8_t ret[16]);
int md5_file_hex(int fd, uint64_t size, char ret[33]);

/* The hex MD5 an ETag stands for, when it is one: a quoted 32-digit hex
 * string (a single-part upload without SSE-KMS/SSE-C). */
bool md5_from_etag(const char *etag, char ret[33]);
