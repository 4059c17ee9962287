/* SPDX-License-Identifier: MIT */
/* Standard base64 (RFC 4648) both ways, for the daemon (Read replies,
 * Content-MD5) and libfds (Read contents), so neither needs a crypto
 * library for it. */
#include "base64.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len) {
        const uint8_t *in = data;
        size_t out_len = (len + 2) / 3 * 4;
        char *out = malloc(out_len + 1);
        if (!out)
                return NULL;
        char *o = out;
        size_t i = 0;
        for (; i + 3 <= len; i += 3) {
                uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
                *o++ = alphabet[v >> 18];
                *o++ = alphabet[(v >> 12) & 63];
                *o++ = alphabet[(v >> 6) & 63];
                *o++ = alphabet[v & 63];
        }
        if (i < len) {
                uint32_t v = (uint32_t) in[i] << 16 | (i + 1 < len ? (uint32_t) in[i + 1] << 8 : 0);
                *o++ = alphabet[v >> 18];
                *o++ = alphabet[(v >> 12) & 63];
                *o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
                *o++ = '=';
        }
        *o = '\0';
        return out;
}

static int base64_value(char ch) {
        if (ch >= 'A' && ch <= 'Z')
                return ch - 'A';
        if (ch >= 'a' && ch <= 'z')
                return ch - 'a' + 26;
        if (ch >= '0' && ch <= '9')
                return ch - '0' + 52;
        if (ch == '+')
                return 62;
        if (ch == '/')
                return 63;
        return -1;
}

int base64_decode(const char *in, size_t len, uint8_t **ret_data, size_t *ret_size) {
        uint8_t *out;
        uint32_t acc = 0;
        size_t i, n = 0, bits = 0;

        /* Up to two '=' end the text and only complete a group of four. */
        if (len % 4 == 0 && len > 0 && in[len - 1] == '=') {
                len--;
                if (in[len - 1] == '=')
                        len--;
        }
        if (len % 4 == 1)
                return -EINVAL;

        out = malloc(len / 4 * 3 + 3);
        if (!out)
                return -ENOMEM;
        for (i = 0; i < len; i++) {
                int v = base64_value(in[i]);

                if (v < 0) {
                        free(out);
                        return -EINVAL;
                }
                acc = (acc << 6) | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        out[n++] = (uint8_t) (acc >> bits);
                        acc &= (1u << bits) - 1;
                }
        }
        /* Bits left over from a short last group must be zero. */
        if (acc != 0) {
                free(out);
                return -EINVAL;
        }
        out[n] = 0;
        *ret_data = out;
        *ret_size = n;
        return 0;
}
