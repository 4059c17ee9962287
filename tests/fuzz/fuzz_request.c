/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target over what a hostile client controls first: the bytes
 * on the socket. They go through the NUL framing in pieces whose sizes
 * come from the input, each whole message through JSON decoding and, for
 * the transfer methods, request validation, exactly as method.c does.
 * Crashes, leaks and sanitizer reports are findings.
 */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "message.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_message(const char *msg, size_t len, bool s3) {
        fds_call call;
        const char *reason = NULL;
        if (fds_call_parse(msg, len, &call, &reason) < 0)
                return;
        fds_request_limits lim = { .max_entries = 1000, .s3_available = s3 };
        fds_request req = { 0 };
        char *param = NULL;
        int r = -1;
        if (strcmp(call.method, FDS_INTERFACE ".Copy") == 0)
                r = fds_request_parse_copy(call.parameters, &lim, &req, &param);
        else if (strcmp(call.method, FDS_INTERFACE ".Size") == 0 || strcmp(call.method, FDS_INTERFACE ".Read") == 0)
                r = fds_request_parse_files(call.parameters, &lim, &req, &param);
        if (r == 0) {
                /* The daemon encodes these as an error reply: do the same. */
                char *buf;
                size_t n;
                if (fds_error_encode(FDS_ERROR_INVALID_REQUEST, json_pack("{s:O}", "problems", req.problems), &buf,
                                     &n) == 0)
                        free(buf);
                fds_request_done(&req);
        }
        free(param);
        fds_call_done(&call);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        /* First byte: piece size for feeding; second: S3 available or not. */
        size_t piece = (size_t) data[0] + 1;
        bool s3 = data[1] & 1;
        data += 2;
        size -= 2;

        fds_frame f;
        fds_frame_init(&f, 4096);
        for (size_t off = 0; off < size;) {
                size_t n = size - off < piece ? size - off : piece;
                if (fds_frame_feed(&f, data + off, n) < 0)
                        break;
                off += n;
                const char *msg;
                size_t len;
                int r;
                while ((r = fds_frame_next(&f, &msg, &len)) == 1)
                        one_message(msg, len, s3);
                if (r < 0)
                        break;
        }
        fds_frame_done(&f);
        return 0;
}
