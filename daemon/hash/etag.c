/* SPDX-License-Identifier: MIT */
#include "etag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "md5.h"
#include "xstr.h"

#define MIB (1024ULL * 1024)

etag_info etag_parse(const char *etag) {
        etag_info e = { .kind = ETAG_OPAQUE };
        if (!etag)
                return e;
        size_t n = strlen(etag);
        if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
                etag++, n -= 2;
        if (n < 32)
                return e;
        for (int i = 0; i < 16; i++) {
                int hi = hex_digit_value(etag[2 * i]), lo = hex_digit_value(etag[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return e;
                e.digest[i] = (uint8_t) (hi << 4 | lo);
        }
        if (n == 32) {
                e.kind = ETAG_MD5;
                return e;
        }
        if (etag[32] != '-' || n == 33 || n > 38)
                return e;
        unsigned parts = 0;
        for (size_t i = 33; i < n; i++) {
                if (etag[i] < '0' || etag[i] > '9')
                        return e;
                parts = parts * 10 + (unsigned) (etag[i] - '0');
        }
        if (parts == 0 || parts > 10000)
                return e;
        e.kind = ETAG_MULTIPART;
        e.n_parts = parts;
        return e;
}

static bool cuts_into(uint64_t size, uint64_t part, unsigned n) {
        if (part == 0)
                return false;
        uint64_t k = size == 0 ? 1 : (size + part - 1) / part;
        return k == n;
}

static void add(uint64_t ret[], unsigned *k, uint64_t size, unsigned n, uint64_t part) {
        /* One part: every size from the object's up cuts it the same. */
        if (n == 1 && part > size)
                part = size ? size : 1;
        if (*k >= ETAG_MAX_LAYOUTS || !cuts_into(size, part, n))
                return;
        for (unsigned i = 0; i < *k; i++)
                if (ret[i] == part)
                        return;
        ret[(*k)++] = part;
}

unsigned etag_layouts(uint64_t size, unsigned n, uint64_t hint, uint64_t ret[ETAG_MAX_LAYOUTS]) {
        static const uint64_t common[] = { 8, 5, 16, 15, 32, 64, 128 };
        unsigned k = 0;
        if (n == 0)
                return 0;
        if (n == 1) {
                ret[0] = size ? size : 1;
                return 1;
        }
        if (hint)
                add(ret, &k, size, n, hint);
        for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
                add(ret, &k, size, n, common[i] * MIB);
        /* Parts of p bytes cut size into n when size/n <= p < size/(n-1). */
        uint64_t even = (size + n - 1) / n;
        for (uint64_t p = (even + MIB - 1) / MIB * MIB; k < ETAG_MAX_LAYOUTS && cuts_into(size, p, n); p += MIB)
                add(ret, &k, size, n, p);
        add(ret, &k, size, n, even);
        return k;
}

uint64_t etag_meta_part_size(const char *value) {
        char *end;
        if (!value || *value < '0' || *value > '9')
                return 0;
        errno = 0;
        unsigned long long n = strtoull(value, &end, 10);
        if (errno || *end || n == 0 || n > 5ULL * 1024 * MIB)
                return 0;
        return n;
}

static int b64val(char c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
}

bool etag_meta_md5(const char *value, uint8_t ret[16]) {
        /* 16 bytes: 22 characters and "==". */
        if (!value || strlen(value) != 24 || value[22] != '=' || value[23] != '=')
                return false;
        uint32_t acc = 0;
        int bits = 0, k = 0;
        for (int i = 0; i < 22; i++) {
                int v = b64val(value[i]);
                if (v < 0)
                        return false;
                acc = acc << 6 | (uint32_t) v;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        ret[k++] = (uint8_t) (acc >> bits);
                }
        }
        return k == 16;
}

int etag_combine(const uint8_t *part_digests, unsigned n, uint8_t ret[16]) {
        return md5_digest(part_digests, (size_t) n * 16, ret);
}

/* MD5s of the parts of bytes [0, size) of fd, part_size each (the last
 * shorter), combined; or the whole file's MD5 with part_size 0. */
static int file_digest(int fd, uint64_t size, uint64_t part_size, unsigned n, uint8_t ret[16]) {
        enum { BUF = 1 << 20 };
        if (part_size == 0)
                return md5_file_digest(fd, size, ret);
        uint8_t *parts = malloc((size_t) n * 16);
        char *buf = malloc(BUF);
        md5_ctx *c = NULL;
        int r = parts && buf ? md5_new(&c) : -ENOMEM;
        uint64_t off = 0;
        for (unsigned i = 0; r >= 0 && i < n; i++) {
                uint64_t end = i + 1 == n ? size : off + part_size;
                if (i > 0)
                        r = md5_reset(c);
                while (r >= 0 && off < end) {
                        size_t want = end - off < BUF ? (size_t) (end - off) : BUF;
                        ssize_t got = fileio_pread_full(fd, buf, want, (off_t) off);
                        if (got < (ssize_t) want)
                                r = got < 0 ? (int) got : -ENODATA;
                        else {
                                r = md5_update(c, buf, want);
                                off += want;
                        }
                }
                if (r >= 0)
                        r = md5_final(c, parts + (size_t) i * 16);
        }
        if (r >= 0)
                r = etag_combine(parts, n, ret);
        md5_free(c);
        free(buf);
        free(parts);
        return r;
}

int etag_check_file(int fd, uint64_t size, const etag_info *e, uint64_t part_size) {
        uint8_t d[16];
        int r;
        if (e->kind == ETAG_OPAQUE)
                return -EINVAL;
        /* Parts of that size are not the object's n: no match. */
        if (e->kind == ETAG_MULTIPART && !cuts_into(size, part_size, e->n_parts))
                return 0;
        r = file_digest(fd, size, e->kind == ETAG_MULTIPART ? part_size : 0, e->n_parts, d);
        if (r < 0)
                return r;
        return memcmp(d, e->digest, 16) == 0;
}

int etag_check_layouts(int fd, uint64_t size, const etag_info *e, const uint64_t *layouts, unsigned n,
                       unsigned from) {
        for (unsigned i = from; i < n; i++) {
                int r = etag_check_file(fd, size, e, layouts[i]);
                if (r != 0)
                        return r;
        }
        return 0;
}
