/* SPDX-License-Identifier: MIT */
#include "job_s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int job_s3_set_error(job_file *f, const s3_result *r, const char *what) {
        char msg[640];
        fds_code code;

        switch (-r->error) {
        case ENOENT:
                code = FDS_CODE_NOT_FOUND;
                break;
        case EACCES:
                code = FDS_CODE_PERMISSION_DENIED;
                break;
        case ECANCELED:
                code = FDS_CODE_CANCELED;
                break;
        default:
                code = r->http_status ? FDS_CODE_S3_ERROR : fds_code_from_errno(r->error);
        }
        /* Status, S3 code and attempts travel as fields of their own. */
        snprintf(msg, sizeof(msg), "%s: %s", what, r->message);
        int q = file_error_set(&f->err, code, msg);
        if (q < 0)
                return q;
        f->err.http_status = (int) r->http_status;
        f->attempts = r->attempts;
        free(f->err.s3_code);
        f->err.s3_code = r->s3_code ? strdup(r->s3_code) : NULL;
        return 0;
}

void s3_kept_set(s3_kept *k, const s3_result *r) {
        k->r = *r;
        snprintf(k->msg, sizeof(k->msg), "%s", r->message);
        k->r.message = k->msg;
        k->r.s3_code = NULL;
        if (r->s3_code) {
                snprintf(k->code, sizeof(k->code), "%s", r->s3_code);
                k->r.s3_code = k->code;
        }
        k->r.xml = NULL;
        k->set = true;
}

s3_call_opts job_s3_list_opts(const job_env *env, const char *bucket, const sigv4_pair *q, size_t nq,
                              const s3_xml_callbacks *cbs) {
        fds_location l = { .kind = FDS_LOCATION_S3, .bucket = (char *) bucket };
        s3_call_opts o = job_s3_opts(env, &l);
        o.method = HTTP_GET;
        o.query = q;
        o.n_query = nq;
        o.parse_xml = true;
        o.xml_callbacks = cbs;
        return o;
}

s3_call_opts job_s3_opts(const job_env *env, const fds_location *l) {
        /* Both caps even when unset: either may be set while the request
         * runs (an unset one costs a branch per chunk). */
        return (s3_call_opts){
                .site = env->site,
                .bucket = l->bucket,
                .key = l->key,
                .max_attempts = env->settings.max_attempts,
                .retry_budget_ms = (uint64_t) env->settings.retry_budget_s * 1000,
                .throttles = { env->bandwidth, env->shared->bandwidth },
        };
}
