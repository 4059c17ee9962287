/* SPDX-License-Identifier: MIT */

/* S3 -> S3 above the multipart threshold (and always above 5 GiB, S3's
 * limit for CopyObject): a multipart upload whose parts are UploadPartCopy
 * requests, so no byte passes through the daemon. Every part is pinned to
 * the source ETag validation saw. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "job_s3.h"
#include "s3_multipart.h"
#include "sigv4.h"

static void on_part_copied(s3_call *c, const s3_result *r, void *userdata) {
        mp_part_done(userdata, r->error, r);
}

static void mcopy_part_start(mp_part *p) {
        mp_file *f = p->file;
        const fds_entry *e = f->bf->entry;
        char *key = NULL, *source = NULL, range[64];
        int r = sigv4_uri_encode(e->src_loc.key, true, &key);
        if (r >= 0 && asprintf(&source, "/%s/%s", e->src_loc.bucket, key) < 0) {
                source = NULL;
                r = -ENOMEM;
        }
        free(key);
        if (r < 0) {
                mp_part_done(p, r, NULL);
                return;
        }
        snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, p->slot.off, p->slot.off + p->slot.len - 1);
        sigv4_pair h[3] = {
                { "x-amz-copy-source", source },
                { "x-amz-copy-source-range", range },
                { "x-amz-copy-source-if-match", f->bf->etag },
        };
        sigv4_pair q[2];
        char number[16];
        s3_call_opts o = mp_part_opts(p, q, number);
        o.headers = h;
        o.n_headers = f->bf->etag ? 3 : 2;
        o.payload_hash = SIGV4_EMPTY_SHA256;
        o.parse_xml = true;
        o.on_header = NULL; /* the part's ETag is in the body */
        o.on_done = on_part_copied;
        o.userdata = p;
        r = s3_call_start(f->env->shared->s3, &o, &p->slot.call);
        free(source);
        if (r < 0)
                mp_part_done(p, r, NULL);
}

static void mcopy_finished(mp_file *f) {
        f->on_end(f);
}

static const mp_ops mcopy_ops = {
        .buffered = false,
        .part_start = mcopy_part_start,
        .finished = mcopy_finished,
};

int mcopy_begin(mp_file *f, const job_env *env, job_file *bf, void (*done)(mp_file *f)) {
        int r = mp_start(f, env, bf, &bf->entry->dst_loc, bf->src_size, &mcopy_ops);
        if (r < 0)
                return r;
        f->fd = -1;
        f->on_end = done;
        return 0;
}
