/* SPDX-License-Identifier: MIT */
#include "md5.h"

#include "fileio.h"
#include "base64.h"
#include "xstr.h"

#include <errno.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct md5_ctx {
        EVP_MD_CTX *evp;
};

int md5_digest(const void *data, size_t len, uint8_t ret[16]) {
        unsigned n = 0;
        if (EVP_Digest(data, len, ret, &n, EVP_md5(), NULL) != 1 || n != 16)
                return -EIO;
        return 0;
}

int md5_new(md5_ctx **ret) {
        md5_ctx *c = calloc(1, sizeof(*c));
        if (!c || !(c->evp = EVP_MD_CTX_new())) {
                free(c);
                return -ENOMEM;
        }
        if (EVP_DigestInit_ex(c->evp, EVP_md5(), NULL) != 1) {
                md5_free(c);
                return -EIO;
        }
        *ret = c;
        return 0;
}

int md5_update(md5_ctx *c, const void *data, size_t len) {
        return EVP_DigestUpdate(c->evp, data, len) == 1 ? 0 : -EIO;
}

int md5_reset(md5_ctx *c) {
        return EVP_DigestInit_ex(c->evp, EVP_md5(), NULL) == 1 ? 0 : -EIO;
}

void md5_hex(const uint8_t d[16], char out[33]) {
        hex_encode(d, 16, out);
}

int md5_base64(const uint8_t d[16], char ret[25]) {
        char *b64 = base64_encode(d, 16);
        if (!b64)
                return -ENOMEM;
        snprintf(ret, 25, "%s", b64);
        free(b64);
        return 0;
}

int md5_final(md5_ctx *c, uint8_t ret[16]) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        if (EVP_DigestFinal_ex(c->evp, d, &n) != 1 || n != 16)
                return -EIO;
        memcpy(ret, d, 16);
        return 0;
}

int md5_final_hex(md5_ctx *c, char ret[33]) {
        uint8_t d[16];
        int r = md5_final(c, d);
        if (r >= 0)
                md5_hex(d, ret);
        return r;
}

md5_ctx *md5_free(md5_ctx *c) {
        if (!c)
                return NULL;
        EVP_MD_CTX_free(c->evp);
        free(c);
        return NULL;
}

int md5_file_digest(int fd, uint64_t size, uint8_t ret[16]) {
        enum { BUF = 1 << 20 };
        md5_ctx *c = NULL;
        char *buf = malloc(BUF);
        int r = buf ? md5_new(&c) : -ENOMEM;
        for (uint64_t off = 0; r >= 0 && off < size;) {
                size_t want = size - off < BUF ? (size_t) (size - off) : BUF;
                ssize_t n = fileio_pread_full(fd, buf, want, (off_t) off);
                if (n < (ssize_t) want)
                        r = n < 0 ? (int) n : -ENODATA;
                else {
                        r = md5_update(c, buf, want);
                        off += want;
                }
        }
        if (r >= 0)
                r = md5_final(c, ret);
        md5_free(c);
        free(buf);
        return r;
}

int md5_file_hex(int fd, uint64_t size, char ret[33]) {
        uint8_t d[16];
        int r = md5_file_digest(fd, size, d);
        if (r >= 0)
                md5_hex(d, ret);
        return r;
}

bool md5_from_etag(const char *etag, char ret[33]) {
        if (!etag)
                return false;
        size_t n = strlen(etag);
        const char *p = etag;
        if (n == 34 && etag[0] == '"' && etag[33] == '"')
                p = etag + 1, n = 32;
        if (n != 32)
                return false;
        for (size_t i = 0; i < 32; i++) {
                char c = p[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
                        return false;
                ret[i] = (char) (c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
        }
        ret[32] = '\0';
        return true;
}
