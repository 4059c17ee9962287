/* SPDX-License-Identifier: MIT */
#pragma once

/* MD5 for S3's Content-MD5 and single-part ETags (integrity, not security). */

#include <stddef.h>
#include <stdint.h>

int md5_digest(const void *data, size_t len, uint8_t ret[16]);
