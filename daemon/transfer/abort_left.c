/* SPDX-License-Identifier: MIT */
#include "abort_left.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_client.h"
#include "s3_sites.h"

struct abort_left {
        abort_left_with with;
        uploads_left *u;
        abort_left_fn report;
        void *userdata;
        s3_site *site;
        s3_site_wait *wait;
        char endpoint[512];
};

typedef struct abort_one {
        abort_left *a;
        char *bucket, *key, *upload_id;
} abort_one;

static void one_free(abort_one *o) {
        free(o->bucket);
        free(o->key);
        free(o->upload_id);
        free(o);
}

static void forget(abort_left *a, const char *upload_id) {
        for (size_t i = 0; i < a->u->n; i++)
                if (strcmp(a->u->items[i].upload_id, upload_id) == 0) {
                        (void) uploads_left_remove(a->u, i);
                        return;
                }
}

static void on_aborted(s3_call *c, const s3_result *r, void *userdata) {
        abort_one *o = userdata;
        abort_left *a = o->a;
        /* NoSuchUpload: someone else aborted or completed it. */
        bool gone = r->error == 0 || (r->s3_code && strcmp(r->s3_code, "NoSuchUpload") == 0);
        char why[640];
        if (r->http_status)
                snprintf(why, sizeof(why), "%s (HTTP %ld%s%s)", r->message, r->http_status, r->s3_code ? " " : "",
                         r->s3_code ? r->s3_code : "");
        else
                snprintf(why, sizeof(why), "%s", r->message);
        if (gone)
                forget(a, o->upload_id);
        a->report(a->endpoint, o->bucket, o->key, o->upload_id, gone ? 0 : r->error, why, a->userdata);
        one_free(o);
}

static void abort_all(abort_left *a) {
        snprintf(a->endpoint, sizeof(a->endpoint), "%s://%s", a->site->scheme, a->site->host);
        for (size_t i = 0; i < a->u->n; i++) {
                const upload_left *l = &a->u->items[i];
                if (strcmp(l->endpoint, a->endpoint) != 0) {
                        a->report(l->endpoint, l->bucket, l->key, l->upload_id, -EXDEV,
                                  "on another endpoint than the daemon's default S3 settings", a->userdata);
                        continue;
                }
                abort_one *o = calloc(1, sizeof(*o));
                if (!o || !(o->bucket = strdup(l->bucket)) || !(o->key = strdup(l->key)) ||
                    !(o->upload_id = strdup(l->upload_id))) {
                        if (o)
                                one_free(o);
                        return;
                }
                o->a = a;
                sigv4_pair q = { "uploadId", o->upload_id };
                s3_call_opts opts = {
                        .site = a->site,
                        .method = HTTP_DELETE,
                        .bucket = o->bucket,
                        .key = o->key,
                        .query = &q,
                        .n_query = 1,
                        .max_attempts = a->with.max_attempts,
                        .retry_budget_ms = (uint64_t) a->with.retry_budget_s * 1000,
                        .on_done = on_aborted,
                        .userdata = o,
                };
                if (s3_call_start(a->with.s3, &opts, NULL) < 0) {
                        a->report(l->endpoint, l->bucket, l->key, l->upload_id, -ENOMEM, "out of memory",
                                  a->userdata);
                        one_free(o);
                }
        }
}

static void on_site(int r, s3_site *site, char *reason, void *userdata) {
        abort_left *a = userdata;
        a->wait = NULL;
        if (r < 0) {
                for (size_t i = 0; i < a->u->n; i++) {
                        const upload_left *l = &a->u->items[i];
                        a->report(l->endpoint, l->bucket, l->key, l->upload_id, r,
                                  reason ? reason : "no S3 settings", a->userdata);
                }
                free(reason);
                return;
        }
        a->site = site;
        abort_all(a);
}

int abort_left_start(const abort_left_with *with, uploads_left *u, abort_left_fn report, void *userdata,
                     abort_left **ret) {
        abort_left *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (abort_left){ .with = *with, .u = u, .report = report, .userdata = userdata };
        s3_site *site = NULL;
        char *reason = NULL;
        int r = s3_sites_resolve(with->sites, NULL, NULL, &site, &reason, on_site, a, &a->wait);
        if (r == 0)
                on_site(site ? 0 : -EINVAL, site, reason, a);
        else if (r < 0)
                on_site(r, NULL, reason, a);
        *ret = a;
        return 0;
}

void abort_left_stop(abort_left *a) {
        if (a && a->wait) {
                s3_site_cancel(a->wait);
                a->wait = NULL;
        }
}

abort_left *abort_left_free(abort_left *a) {
        if (!a)
                return NULL;
        s3_site_free(a->site);
        free(a);
        return NULL;
}
