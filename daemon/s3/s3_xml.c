/* SPDX-License-Identifier: MIT */
#include "s3_xml.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "xstr.h"

_Static_assert(sizeof(XML_Char) == 1, "expat must hand out UTF-8");

/* Namespaced names arrive as "URI<sep>Local"; a space cannot occur in a URI. */
#define NS_SEP ' '

const s3_xml_limits s3_xml_default_limits = {
        .max_text = 64 * 1024,
        .max_items = 100000,
        .max_depth = 32,
        .max_body = 64 * 1024 * 1024,
};

/* What an element means to us, given the document kind and its parent. */
typedef enum field {
        F_NONE,
        F_CODE,
        F_MESSAGE,
        F_REQUEST_ID,
        F_REGION,
        F_ENDPOINT,
        F_BUCKET,
        F_KEY,
        F_UPLOAD_ID,
        F_LOCATION,
        F_ETAG,
        F_LAST_MODIFIED,
        F_IS_TRUNCATED,
        F_NEXT_CONTINUATION_TOKEN,
        F_KEY_COUNT,
        F_NEXT_KEY_MARKER,
        F_NEXT_UPLOAD_ID_MARKER,
        /* entries: one callback each */
        F_CONTENTS,
        F_COMMON_PREFIXES,
        F_UPLOAD,
        /* inside an entry */
        F_ITEM_KEY,
        F_ITEM_SIZE,
        F_ITEM_ETAG,
        F_ITEM_LAST_MODIFIED,
        F_ITEM_UPLOAD_ID,
        F_ITEM_PREFIX,
} field;

static const struct {
        const char *name;
        s3_xml_kind kind;
} roots[] = {
        {"Error", S3_XML_ERROR},
        {"ListBucketResult", S3_XML_LIST_BUCKET},
        {"InitiateMultipartUploadResult", S3_XML_INITIATE_MULTIPART},
        {"CompleteMultipartUploadResult", S3_XML_COMPLETE_MULTIPART},
        {"CopyObjectResult", S3_XML_COPY_OBJECT},
        {"CopyPartResult", S3_XML_COPY_PART},
        {"ListMultipartUploadsResult", S3_XML_LIST_MULTIPART_UPLOADS},
};

static const struct rule {
        s3_xml_kind kind;
        field parent; /* F_NONE: a child of the root */
        const char *name;
        field f;
} rules[] = {
        {S3_XML_ERROR, F_NONE, "Code", F_CODE},
        {S3_XML_ERROR, F_NONE, "Message", F_MESSAGE},
        {S3_XML_ERROR, F_NONE, "RequestId", F_REQUEST_ID},
        {S3_XML_ERROR, F_NONE, "Region", F_REGION},
        {S3_XML_ERROR, F_NONE, "BucketRegion", F_REGION},
        {S3_XML_ERROR, F_NONE, "Endpoint", F_ENDPOINT},

        {S3_XML_LIST_BUCKET, F_NONE, "IsTruncated", F_IS_TRUNCATED},
        {S3_XML_LIST_BUCKET, F_NONE, "NextContinuationToken", F_NEXT_CONTINUATION_TOKEN},
        {S3_XML_LIST_BUCKET, F_NONE, "KeyCount", F_KEY_COUNT},
        {S3_XML_LIST_BUCKET, F_NONE, "Contents", F_CONTENTS},
        {S3_XML_LIST_BUCKET, F_NONE, "CommonPrefixes", F_COMMON_PREFIXES},
        {S3_XML_LIST_BUCKET, F_CONTENTS, "Key", F_ITEM_KEY},
        {S3_XML_LIST_BUCKET, F_CONTENTS, "Size", F_ITEM_SIZE},
        {S3_XML_LIST_BUCKET, F_CONTENTS, "ETag", F_ITEM_ETAG},
        {S3_XML_LIST_BUCKET, F_CONTENTS, "LastModified", F_ITEM_LAST_MODIFIED},
        {S3_XML_LIST_BUCKET, F_COMMON_PREFIXES, "Prefix", F_ITEM_PREFIX},

        {S3_XML_INITIATE_MULTIPART, F_NONE, "Bucket", F_BUCKET},
        {S3_XML_INITIATE_MULTIPART, F_NONE, "Key", F_KEY},
        {S3_XML_INITIATE_MULTIPART, F_NONE, "UploadId", F_UPLOAD_ID},

        {S3_XML_COMPLETE_MULTIPART, F_NONE, "Location", F_LOCATION},
        {S3_XML_COMPLETE_MULTIPART, F_NONE, "Bucket", F_BUCKET},
        {S3_XML_COMPLETE_MULTIPART, F_NONE, "Key", F_KEY},
        {S3_XML_COMPLETE_MULTIPART, F_NONE, "ETag", F_ETAG},

        {S3_XML_COPY_OBJECT, F_NONE, "ETag", F_ETAG},
        {S3_XML_COPY_OBJECT, F_NONE, "LastModified", F_LAST_MODIFIED},
        {S3_XML_COPY_PART, F_NONE, "ETag", F_ETAG},
        {S3_XML_COPY_PART, F_NONE, "LastModified", F_LAST_MODIFIED},

        {S3_XML_LIST_MULTIPART_UPLOADS, F_NONE, "Bucket", F_BUCKET},
        {S3_XML_LIST_MULTIPART_UPLOADS, F_NONE, "IsTruncated", F_IS_TRUNCATED},
        {S3_XML_LIST_MULTIPART_UPLOADS, F_NONE, "NextKeyMarker", F_NEXT_KEY_MARKER},
        {S3_XML_LIST_MULTIPART_UPLOADS, F_NONE, "NextUploadIdMarker", F_NEXT_UPLOAD_ID_MARKER},
        {S3_XML_LIST_MULTIPART_UPLOADS, F_NONE, "Upload", F_UPLOAD},
        {S3_XML_LIST_MULTIPART_UPLOADS, F_NONE, "CommonPrefixes", F_COMMON_PREFIXES},
        {S3_XML_LIST_MULTIPART_UPLOADS, F_UPLOAD, "Key", F_ITEM_KEY},
        {S3_XML_LIST_MULTIPART_UPLOADS, F_UPLOAD, "UploadId", F_ITEM_UPLOAD_ID},
        {S3_XML_LIST_MULTIPART_UPLOADS, F_COMMON_PREFIXES, "Prefix", F_ITEM_PREFIX},
};

/* The entry being assembled between <Contents>/<CommonPrefixes>/<Upload> and its end. */
typedef struct item {
        char *key;
        char *etag;
        char *last_modified;
        char *upload_id;
        char *prefix;
        uint64_t size;
        bool has_size;
} item;

struct s3_xml_parser {
        XML_Parser xp;
        s3_xml_callbacks cb;
        s3_xml_limits lim;
        s3_xml_result *res;
        int error;    /* first failure; every later call returns it */
        bool started; /* a non-blank byte was fed */
        bool finished;
        size_t fed;
        size_t depth;  /* of the element we are in; 1 is the root */
        field entry;   /* the entry at depth 2, or F_NONE */
        field capture; /* the field whose text is being collected, at depth capture_depth */
        size_t capture_depth;
        char *text;
        size_t text_len;
        size_t text_cap;
        uint64_t n_items;
        item cur;
};

static void fail(s3_xml_parser *p, int r) {
        if (!p->error)
                p->error = r;
        XML_StopParser(p->xp, XML_FALSE);
}

static const char *local_name(const XML_Char *name) {
        const char *sep = strrchr(name, NS_SEP);
        return sep ? sep + 1 : name;
}

static field field_lookup(s3_xml_kind kind, field parent, const char *name) {
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
                if (rules[i].kind == kind && rules[i].parent == parent && strcmp(rules[i].name, name) == 0)
                        return rules[i].f;
        return F_NONE;
}

static bool is_entry(field f) {
        return f == F_CONTENTS || f == F_COMMON_PREFIXES || f == F_UPLOAD;
}

static void item_clear(item *it) {
        free(it->key);
        free(it->etag);
        free(it->last_modified);
        free(it->upload_id);
        free(it->prefix);
        *it = (item){};
}

static void on_root(s3_xml_parser *p, const char *name) {
        for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
                if (strcmp(roots[i].name, name) == 0)
                        p->res->kind = roots[i].kind;
}

static void XMLCALL on_start(void *userdata, const XML_Char *name, const XML_Char **attrs) {
        s3_xml_parser *p = userdata;
        const char *local = local_name(name);

        (void) attrs;
        /* expat may still call a handler or two after XML_StopParser(). */
        if (p->error)
                return;
        if (++p->depth > p->lim.max_depth) {
                fail(p, -EMSGSIZE);
                return;
        }
        if (p->depth == 1) {
                on_root(p, local);
                return;
        }
        field f = F_NONE;
        if (p->depth == 2)
                f = field_lookup(p->res->kind, F_NONE, local);
        else if (p->depth == 3 && p->entry != F_NONE)
                f = field_lookup(p->res->kind, p->entry, local);
        if (f == F_NONE)
                return;
        if (is_entry(f)) {
                if (++p->n_items > p->lim.max_items) {
                        fail(p, -EMSGSIZE);
                        return;
                }
                item_clear(&p->cur);
                p->entry = f;
                return;
        }
        p->capture = f;
        p->capture_depth = p->depth;
        p->text_len = 0;
}

static void XMLCALL on_text(void *userdata, const XML_Char *s, int len) {
        s3_xml_parser *p = userdata;
        size_t n = (size_t) len;

        if (p->error || p->capture == F_NONE || p->depth != p->capture_depth || len <= 0)
                return;
        if (n > p->lim.max_text - p->text_len) {
                fail(p, -EMSGSIZE);
                return;
        }
        if (p->text_cap - p->text_len <= n) {
                /* No overflow: text_len + n <= max_text, which new() keeps far from SIZE_MAX. */
                size_t need = p->text_len + n + 1;
                size_t cap = p->text_cap ? p->text_cap * 2 : 256;
                if (cap < need)
                        cap = need;
                char *t = realloc(p->text, cap);
                if (!t) {
                        fail(p, -ENOMEM);
                        return;
                }
                p->text = t;
                p->text_cap = cap;
        }
        memcpy(p->text + p->text_len, s, n);
        p->text_len += n;
}

/* XML whitespace. */
static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Surrounding whitespace is allowed around numbers and booleans, nothing else. */
static void trim_blank(const char **s, size_t *len) {
        while (*len > 0 && is_blank((*s)[0]))
                (*s)++, (*len)--;
        while (*len > 0 && is_blank((*s)[*len - 1]))
                (*len)--;
}

static int parse_u64(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        trim_blank(&s, &len);
        if (len == 0)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                unsigned d = (unsigned) (s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

static int parse_bool(const char *s, size_t len, bool *ret) {
        trim_blank(&s, &len);
        if (len == 4 && memcmp(s, "true", 4) == 0)
                *ret = true;
        else if (len == 5 && memcmp(s, "false", 5) == 0)
                *ret = false;
        else
                return -EBADMSG;
        return 0;
}

/* encoding-type=url as S3 does it: %XX, and '+' for a space. In place: never longer. */
static int url_decode(char *s) {
        char *w = s;

        for (const char *r = s; *r; r++) {
                if (*r == '+') {
                        *w++ = ' ';
                } else if (*r == '%') {
                        int hi = hex_digit_value(r[1]), lo = hi < 0 ? -1 : hex_digit_value(r[2]);
                        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                                return -EBADMSG;
                        *w++ = (char) (hi << 4 | lo);
                        r += 2;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
        return 0;
}

/* Replace *slot with a copy of the collected text. */
static int take_text(s3_xml_parser *p, char **slot) {
        char *s = strndup(p->text ? p->text : "", p->text_len);
        if (!s)
                return -ENOMEM;
        free(*slot);
        *slot = s;
        return 0;
}

static int take_name(s3_xml_parser *p, char **slot) {
        int r = take_text(p, slot);
        if (r < 0 || !p->lim.url_decode)
                return r;
        return url_decode(*slot);
}

static char **string_slot(s3_xml_parser *p, field f) {
        s3_xml_result *res = p->res;

        switch (f) {
        case F_CODE:
                return &res->code;
        case F_MESSAGE:
                return &res->message;
        case F_REQUEST_ID:
                return &res->request_id;
        case F_REGION:
                return &res->region;
        case F_ENDPOINT:
                return &res->endpoint;
        case F_BUCKET:
                return &res->bucket;
        case F_KEY:
                return &res->key;
        case F_UPLOAD_ID:
                return &res->upload_id;
        case F_LOCATION:
                return &res->location;
        case F_ETAG:
                return &res->etag;
        case F_LAST_MODIFIED:
                return &res->last_modified;
        case F_NEXT_CONTINUATION_TOKEN:
                return &res->next_continuation_token;
        case F_NEXT_KEY_MARKER:
                return &res->next_key_marker;
        case F_NEXT_UPLOAD_ID_MARKER:
                return &res->next_upload_id_marker;
        case F_ITEM_ETAG:
                return &p->cur.etag;
        case F_ITEM_LAST_MODIFIED:
                return &p->cur.last_modified;
        case F_ITEM_UPLOAD_ID:
                return &p->cur.upload_id;
        default:
                return NULL;
        }
}

static int store_field(s3_xml_parser *p, field f) {
        const char *t = p->text ? p->text : "";

        switch (f) {
        case F_IS_TRUNCATED:
                return parse_bool(t, p->text_len, &p->res->is_truncated);
        case F_KEY_COUNT:
                p->res->has_key_count = true;
                return parse_u64(t, p->text_len, &p->res->key_count);
        case F_ITEM_SIZE:
                p->cur.has_size = true;
                return parse_u64(t, p->text_len, &p->cur.size);
        case F_ITEM_KEY:
                return take_name(p, &p->cur.key);
        case F_ITEM_PREFIX:
                return take_name(p, &p->cur.prefix);
        case F_NEXT_KEY_MARKER:
                return take_name(p, &p->res->next_key_marker);
        default: {
                char **slot = string_slot(p, f);
                return slot ? take_text(p, slot) : 0;
        }
        }
}

static int deliver_entry(s3_xml_parser *p) {
        const s3_xml_callbacks *cb = &p->cb;
        item *it = &p->cur;

        switch (p->entry) {
        case F_CONTENTS:
                if (!it->key || !it->has_size)
                        return -EBADMSG;
                p->res->n_objects++;
                if (!cb->object)
                        return 0;
                return cb->object(&(s3_xml_object){.key = it->key,
                                                   .size = it->size,
                                                   .etag = it->etag,
                                                   .last_modified = it->last_modified},
                                  cb->userdata);
        case F_COMMON_PREFIXES:
                if (!it->prefix)
                        return -EBADMSG;
                p->res->n_prefixes++;
                return cb->prefix ? cb->prefix(it->prefix, cb->userdata) : 0;
        case F_UPLOAD:
                if (!it->key || !it->upload_id)
                        return -EBADMSG;
                p->res->n_uploads++;
                return cb->upload ? cb->upload(it->key, it->upload_id, cb->userdata) : 0;
        default:
                return 0;
        }
}

static void XMLCALL on_end(void *userdata, const XML_Char *name) {
        s3_xml_parser *p = userdata;
        int r = 0;

        (void) name;
        if (p->error)
                return;
        if (p->capture != F_NONE && p->depth == p->capture_depth) {
                r = store_field(p, p->capture);
                p->capture = F_NONE;
        } else if (p->depth == 2 && p->entry != F_NONE) {
                r = deliver_entry(p);
                item_clear(&p->cur);
                p->entry = F_NONE;
        }
        p->depth--;
        if (r < 0)
                fail(p, r);
}

/* S3 never sends a DTD; refusing one rules out entity expansion attacks. */
static void XMLCALL on_doctype(void *userdata, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
        (void) name, (void) sysid, (void) pubid, (void) has_internal_subset;
        fail(userdata, -EBADMSG);
}

int s3_xml_parser_new(const s3_xml_callbacks *cb, const s3_xml_limits *limits, s3_xml_parser **ret) {
        s3_xml_parser *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->cb = cb ? *cb : (s3_xml_callbacks){};
        p->lim = limits ? *limits : s3_xml_default_limits;
        if (p->lim.max_text > SIZE_MAX / 4)
                p->lim.max_text = SIZE_MAX / 4;
        p->res = calloc(1, sizeof(*p->res));
        p->xp = XML_ParserCreateNS(NULL, NS_SEP);
        if (!p->res || !p->xp) {
                s3_xml_parser_free(p);
                return -ENOMEM;
        }
        XML_SetUserData(p->xp, p);
        XML_SetElementHandler(p->xp, on_start, on_end);
        XML_SetCharacterDataHandler(p->xp, on_text);
        XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
        *ret = p;
        return 0;
}

s3_xml_parser *s3_xml_parser_free(s3_xml_parser *p) {
        if (!p)
                return NULL;
        if (p->xp)
                XML_ParserFree(p->xp);
        s3_xml_result_free(p->res);
        item_clear(&p->cur);
        free(p->text);
        free(p);
        return NULL;
}

/* After XML_Parse failed: a handler's reason if it stopped the parse, else expat's. */
static int parse_error(s3_xml_parser *p) {
        if (!p->error)
                p->error = XML_GetErrorCode(p->xp) == XML_ERROR_NO_MEMORY ? -ENOMEM : -EBADMSG;
        return p->error;
}

int s3_xml_parser_feed(s3_xml_parser *p, const void *data, size_t len) {
        const char *d = data;

        if (p->error)
                return p->error;
        if (p->finished)
                return -EINVAL;
        if (len > p->lim.max_body - p->fed)
                return (p->error = -EMSGSIZE);
        p->fed += len;
        /* S3 may send blanks before the document to keep a slow CompleteMultipartUpload
         * or CopyObject alive; before an XML declaration expat would refuse them. */
        if (!p->started) {
                while (len > 0 && is_blank(*d))
                        d++, len--;
                p->started = len > 0;
        }
        while (len > 0) {
                int n = len > INT_MAX ? INT_MAX : (int) len;
                if (XML_Parse(p->xp, d, n, XML_FALSE) != XML_STATUS_OK)
                        return parse_error(p);
                d += n;
                len -= (size_t) n;
        }
        return 0;
}

int s3_xml_parser_finish(s3_xml_parser *p, s3_xml_result **ret) {
        if (p->error)
                return p->error;
        if (p->finished)
                return -EINVAL;
        if (!p->started)
                return (p->error = -ENODATA);
        if (XML_Parse(p->xp, NULL, 0, XML_TRUE) != XML_STATUS_OK)
                return parse_error(p);
        p->finished = true;
        *ret = p->res;
        p->res = NULL;
        return 0;
}

s3_xml_result *s3_xml_result_free(s3_xml_result *r) {
        if (!r)
                return NULL;
        free(r->code);
        free(r->message);
        free(r->request_id);
        free(r->region);
        free(r->endpoint);
        free(r->bucket);
        free(r->key);
        free(r->upload_id);
        free(r->location);
        free(r->etag);
        free(r->last_modified);
        free(r->next_continuation_token);
        free(r->next_key_marker);
        free(r->next_upload_id_marker);
        free(r);
        return NULL;
}

int s3_xml_parse(const void *data, size_t len, const s3_xml_callbacks *cb, const s3_xml_limits *limits,
                 s3_xml_result **ret) {
        s3_xml_parser *p = NULL;
        int r;

        r = s3_xml_parser_new(cb, limits, &p);
        if (r < 0)
                return r;
        r = s3_xml_parser_feed(p, data, len);
        if (r >= 0)
                r = s3_xml_parser_finish(p, ret);
        s3_xml_parser_free(p);
        return r;
}
