/* SPDX-License-Identifier: MIT */
#include "s3_stats.h"

#include <string.h>
#include <strings.h>

static const char *const op_names[_S3_OP_MAX] = {
        [S3_OP_GET_OBJECT] = "GetObject",
        [S3_OP_HEAD_OBJECT] = "HeadObject",
        [S3_OP_PUT_OBJECT] = "PutObject",
        [S3_OP_COPY_OBJECT] = "CopyObject",
        [S3_OP_DELETE_OBJECT] = "DeleteObject",
        [S3_OP_CREATE_MULTIPART_UPLOAD] = "CreateMultipartUpload",
        [S3_OP_UPLOAD_PART] = "UploadPart",
        [S3_OP_UPLOAD_PART_COPY] = "UploadPartCopy",
        [S3_OP_COMPLETE_MULTIPART_UPLOAD] = "CompleteMultipartUpload",
        [S3_OP_ABORT_MULTIPART_UPLOAD] = "AbortMultipartUpload",
        [S3_OP_LIST_PARTS] = "ListParts",
        [S3_OP_LIST_MULTIPART_UPLOADS] = "ListMultipartUploads",
        [S3_OP_LIST_OBJECTS_V2] = "ListObjectsV2",
        [S3_OP_HEAD_BUCKET] = "HeadBucket",
        [S3_OP_OTHER] = "Other",
};

const char *s3_op_name(s3_op op) {
        return op >= 0 && op < _S3_OP_MAX ? op_names[op] : op_names[S3_OP_OTHER];
}

/* Query names are case-sensitive, header names are not. */
static bool has_pair(const sigv4_pair *p, size_t n, const char *name, bool header) {
        for (size_t i = 0; i < n; i++)
                if ((header ? strcasecmp(p[i].name, name) : strcmp(p[i].name, name)) == 0)
                        return true;
        return false;
}

/* S3 names an operation by its method and the subresource in the query
 * (uploads, uploadId, partNumber, list-type); a copy by its header. */
s3_op s3_op_classify(http_method method, bool has_key, const sigv4_pair *query, size_t n_query,
                     const sigv4_pair *headers, size_t n_headers) {
        bool upload_id = has_pair(query, n_query, "uploadId", false);
        bool uploads = has_pair(query, n_query, "uploads", false);
        bool copy = has_pair(headers, n_headers, "x-amz-copy-source", true);

        switch (method) {
        case HTTP_GET:
                if (has_key)
                        return upload_id ? S3_OP_LIST_PARTS : S3_OP_GET_OBJECT;
                if (uploads)
                        return S3_OP_LIST_MULTIPART_UPLOADS;
                return has_pair(query, n_query, "list-type", false) ? S3_OP_LIST_OBJECTS_V2 : S3_OP_OTHER;
        case HTTP_HEAD:
                return has_key ? S3_OP_HEAD_OBJECT : S3_OP_HEAD_BUCKET;
        case HTTP_PUT:
                if (!has_key)
                        return S3_OP_OTHER;
                if (upload_id && has_pair(query, n_query, "partNumber", false))
                        return copy ? S3_OP_UPLOAD_PART_COPY : S3_OP_UPLOAD_PART;
                return copy ? S3_OP_COPY_OBJECT : S3_OP_PUT_OBJECT;
        case HTTP_POST:
                if (has_key && uploads)
                        return S3_OP_CREATE_MULTIPART_UPLOAD;
                return has_key && upload_id ? S3_OP_COMPLETE_MULTIPART_UPLOAD : S3_OP_OTHER;
        case HTTP_DELETE:
                if (!has_key)
                        return S3_OP_OTHER;
                return upload_id ? S3_OP_ABORT_MULTIPART_UPLOAD : S3_OP_DELETE_OBJECT;
        default:
                return S3_OP_OTHER;
        }
}

void s3_stats_count(s3_stats *s, s3_op op, long status) {
        s3_op_stats *o = &s->ops[op >= 0 && op < _S3_OP_MAX ? op : S3_OP_OTHER];
        uint16_t st = status > 0 && status < 1000 ? (uint16_t) status : 0;

        for (size_t i = 0; i < S3_STATS_STATUSES; i++) {
                s3_status_count *c = &o->by_status[i];
                if (c->n == 0)
                        c->status = st;
                if (c->status == st) {
                        c->n++;
                        return;
                }
        }
        o->other++;
}
