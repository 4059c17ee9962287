/* SPDX-License-Identifier: MIT */
#include "md5.h"

#include <errno.h>
#include <openssl/evp.h>

int md5_digest(const void *data, size_t len, uint8_t ret[16]) {
        unsigned n = 0;
        if (EVP_Digest(data, len, ret, &n, EVP_md5(), NULL) != 1 || n != 16)
                return -EIO;
        return 0;
}
