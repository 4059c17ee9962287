/* SPDX-License-Identifier: MIT */
/* libcurl's result codes as negative errnos, and method names. */
#include <errno.h>

#include "http.h"

/* ---- error mapping ---- */

int http_errno_from_curlcode(CURLcode code) {
        switch (code) {
        case CURLE_OK:
                return 0;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_URL_MALFORMAT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_UNKNOWN_OPTION:
                return -EINVAL;
        case CURLE_NOT_BUILT_IN:
                return -EOPNOTSUPP;
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_HTTP3:
        case CURLE_BAD_CONTENT_ENCODING:
                return -EPROTO;
        case CURLE_PARTIAL_FILE:
                return -EPIPE;
        case CURLE_WRITE_ERROR:
        case CURLE_READ_ERROR:
                return -EIO;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
                return -ECONNRESET;
        case CURLE_SEND_FAIL_REWIND:
                return -ESPIPE;
        case CURLE_SSL_CONNECT_ERROR:
                return -ECONNABORTED;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                return -EKEYREJECTED;
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
                return -ENOKEY;
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_AGAIN:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

bool http_curlcode_is_transient(CURLcode code) {
        switch (code) {
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_PARTIAL_FILE:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_FAIL_REWIND:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
                return true;
        default:
                return false;
        }
}

int http_errno_from_curlmcode(CURLMcode code) {
        switch (code) {
        case CURLM_OK:
                return 0;
        case CURLM_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLM_BAD_HANDLE:
        case CURLM_BAD_EASY_HANDLE:
        case CURLM_BAD_SOCKET:
                return -EBADF;
        case CURLM_ADDED_ALREADY:
                return -EEXIST;
        case CURLM_RECURSIVE_API_CALL:
                return -EDEADLK;
        case CURLM_UNKNOWN_OPTION:
                return -EINVAL;
        default:
                return -EIO;
        }
}

const char *http_method_to_string(http_method m) {
        static const char *const table[_HTTP_METHOD_MAX] = {
                [HTTP_GET] = "GET",   [HTTP_HEAD] = "HEAD",     [HTTP_PUT] = "PUT",
                [HTTP_POST] = "POST", [HTTP_DELETE] = "DELETE",
        };
        if ((unsigned) m >= _HTTP_METHOD_MAX)
                return NULL;
        return table[m];
}
