/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Standard base64 with padding; returns a malloc'd NUL-terminated string. */
char *base64_encode(const void *data, size_t len);

/* Decode standard base64 (RFC 4648, "+/", padding optional). Returns a
 * malloc'd buffer with a NUL after the data. -EINVAL for anything but the
 * alphabet and trailing padding, -ENOMEM. */
int base64_decode(const char *in, size_t len, uint8_t **ret_data, size_t *ret_size);
