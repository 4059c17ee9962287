/* SPDX-License-Identifier: MIT */
/* What an S3 error reply means: retry or not, which errno, and words for a
 * person (RGW sends empty messages). */
#include "s3_error.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

bool s3_error_is_transient(long status, const char *code) {
        if (status == 500 || status == 502 || status == 503 || status == 504)
                return true;
        if (!code)
                return false;
        /* The body arrived corrupted on its way (Content-MD5 or the signed
         * SHA-256 disagree): sending it again is the cure, as for a 500. */
        return strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
               strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0 ||
               strcmp(code, "BadDigest") == 0 || strcmp(code, "XAmzContentSHA256Mismatch") == 0;
}

int s3_errno_from_status(long status, const char *code) {
        if (code && (strcmp(code, "NoSuchKey") == 0 || strcmp(code, "NoSuchBucket") == 0))
                return -ENOENT;
        switch (status) {
        case 404:
                return -ENOENT;
        case 401:
        case 403:
                return -EACCES;
        case 412:
                return -ESTALE; /* the object changed under a conditional request */
        default:
                return -EIO;
        }
}

const char *s3_error_words(const char *code, long status) {
        static const struct {
                const char *code, *words;
        } table[] = {
                { "NoSuchKey", "the object does not exist" },
                { "NoSuchBucket", "the bucket does not exist" },
                { "AccessDenied", "access denied" },
                { "SignatureDoesNotMatch", "the secret access key does not match (signature rejected)" },
                { "InvalidAccessKeyId", "the access key id is not known to the server" },
                { "SlowDown", "the server asks to slow down" },
                { "RequestTimeTooSkewed", "this machine's clock differs too much from the server's" },
                { "InvalidBucketName", "invalid bucket name" },
                { "PreconditionFailed", "the object changed while it was being read" },
                { "BadDigest", "the data arrived corrupted (checksum mismatch)" },
                { "EntityTooLarge", "the object is too large for a single request" },
        };
        for (size_t i = 0; code && i < sizeof(table) / sizeof(table[0]); i++)
                if (strcmp(code, table[i].code) == 0)
                        return table[i].words;
        switch (status) {
        case 404:
                return "not found";
        case 403:
                return "access denied";
        default:
                return NULL;
        }
}
