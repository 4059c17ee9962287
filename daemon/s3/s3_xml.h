/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * S3 response bodies, parsed with expat as they arrive. Pure: no I/O, no
 * global state. Memory stays bounded whatever the server sends: text is
 * capped per element, items per body, nesting depth and body size too, and
 * list entries (Contents, CommonPrefixes, Upload) go to callbacks one at a
 * time instead of into an array.
 *
 * The document kind comes from the root element, not from the HTTP status:
 * S3 may answer 200 to CompleteMultipartUpload, CopyObject and UploadPartCopy
 * and then send <Error> in the body, so a caller must check result->kind.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum s3_xml_kind {
        S3_XML_UNKNOWN,                /* a well-formed document with some other root element */
        S3_XML_ERROR,                  /* <Error> */
        S3_XML_LIST_BUCKET,            /* <ListBucketResult> (ListObjectsV2) */
        S3_XML_INITIATE_MULTIPART,     /* <InitiateMultipartUploadResult> */
        S3_XML_COMPLETE_MULTIPART,     /* <CompleteMultipartUploadResult> */
        S3_XML_COPY_OBJECT,            /* <CopyObjectResult> */
        S3_XML_COPY_PART,              /* <CopyPartResult> */
        S3_XML_LIST_MULTIPART_UPLOADS, /* <ListMultipartUploadsResult> */
} s3_xml_kind;

/* One <Contents> of a listing; the strings live until the callback returns. */
typedef struct s3_xml_object {
        const char *key;
        uint64_t size;
        const char *etag;          /* as sent, quotes included; NULL if absent */
        const char *last_modified; /* ISO 8601 as sent; NULL if absent */
} s3_xml_object;

/* Callbacks return 0 to go on or a negative errno, which stops the parse and is
 * returned by s3_xml_parser_feed()/s3_xml_parser_finish(). */
typedef struct s3_xml_callbacks {
        int (*object)(const s3_xml_object *o, void *userdata); /* ListBucketResult/Contents */
        int (*prefix)(const char *prefix, void *userdata);     /* CommonPrefixes/Prefix */
        int (*upload)(const char *key, const char *upload_id, void *userdata); /* Upload */
        void *userdata;
} s3_xml_callbacks;

typedef struct s3_xml_limits {
        size_t max_text;  /* bytes of one element's text (a key is at most 1024) */
        size_t max_items; /* Contents + CommonPrefixes + Upload entries in one body */
        size_t max_depth; /* element nesting */
        size_t max_body;  /* bytes fed in all */
        bool url_decode;  /* the request asked for encoding-type=url: decode keys, prefixes and
                           * NextKeyMarker (%XX, '+' for space); tokens stay as sent */
} s3_xml_limits;

/* 64 KiB of text, 100,000 items, depth 32, 64 MiB of body, no url decoding. */
extern const s3_xml_limits s3_xml_default_limits;

typedef struct s3_xml_result {
        s3_xml_kind kind;
        /* <Error>; message is "" when sent empty (RGW does), NULL when absent */
        char *code;
        char *message;
        char *request_id;
        char *region;   /* <Region> or <BucketRegion>: where the bucket lives */
        char *endpoint; /* <Endpoint> of a PermanentRedirect / TemporaryRedirect */
        /* Initiate/CompleteMultipartUpload, ListMultipartUploads */
        char *bucket;
        char *key;
        char *upload_id;
        char *location;
        /* CompleteMultipartUpload, CopyObject, CopyPart */
        char *etag; /* quotes included */
        char *last_modified;
        /* ListBucketResult, ListMultipartUploadsResult */
        bool is_truncated;
        char *next_continuation_token;
        char *next_key_marker;
        char *next_upload_id_marker;
        bool has_key_count;
        uint64_t key_count; /* <KeyCount> as sent */
        /* Entries met, whether or not a callback was set. */
        uint64_t n_objects;
        uint64_t n_prefixes;
        uint64_t n_uploads;
} s3_xml_result;

typedef struct s3_xml_parser s3_xml_parser;

/* cb and limits may be NULL (no callbacks, default limits); cb is copied.
 * Returns 0, or -ENOMEM. */
int s3_xml_parser_new(const s3_xml_callbacks *cb, const s3_xml_limits *limits, s3_xml_parser **ret);
s3_xml_parser *s3_xml_parser_free(s3_xml_parser *p);

/* Feed the next bytes of the body, in pieces of any size. Returns 0, or a negative errno
 * that also sticks for later calls: -EBADMSG (not well-formed, a DOCTYPE, a bad number or
 * boolean, an entry missing Key/Size/UploadId), -EMSGSIZE (a limit was passed), -ENOMEM,
 * or what a callback returned. */
int s3_xml_parser_feed(s3_xml_parser *p, const void *data, size_t len);

/* The body is complete. Returns 0 and hands over the result, -ENODATA for an empty
 * (or all-whitespace) body, -EBADMSG for a truncated one, or the error that stopped
 * the parse. The parser can then only be freed. */
int s3_xml_parser_finish(s3_xml_parser *p, s3_xml_result **ret);

s3_xml_result *s3_xml_result_free(s3_xml_result *r);

/* new + feed + finish + free for a body held whole. */
int s3_xml_parse(const void *data, size_t len, const s3_xml_callbacks *cb, const s3_xml_limits *limits,
                 s3_xml_result **ret);
