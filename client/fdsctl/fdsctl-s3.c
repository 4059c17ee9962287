/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "fdsctl.h"

static const char *env2(const char *a, const char *b) {
        const char *v = getenv(a);
        if (v && *v)
                return v;
        v = b ? getenv(b) : NULL;
        return v && *v ? v : NULL;
}

static int set(fds_options *o, const char *key, const char *flag, const char *e1, const char *e2) {
        const char *v = flag ? flag : env2(e1, e2);
        return v ? fds_options_set_string(o, key, v) : 0;
}

int s3_options_apply(fds_options *o, const s3_flags *f) {
        int r;

        if ((r = set(o, "s3.endpoint_url", f->endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")) < 0 ||
            (r = set(o, "s3.region", f->region, "AWS_REGION", "AWS_DEFAULT_REGION")) < 0 ||
            (r = set(o, "s3.profile", f->profile, "AWS_PROFILE", NULL)) < 0)
                return r;
        if (f->path_style && (r = fds_options_set_string(o, "s3.addressing_style", "path")) < 0)
                return r;
        /* Keys travel only as a pair, so a half-set environment cannot mix
         * with the daemon's own credentials. */
        const char *id = env2("AWS_ACCESS_KEY_ID", NULL), *secret = env2("AWS_SECRET_ACCESS_KEY", NULL);
        if (id && secret) {
                if ((r = fds_options_set_string(o, "s3.access_key_id", id)) < 0 ||
                    (r = fds_options_set_string(o, "s3.secret_access_key", secret)) < 0 ||
                    (r = set(o, "s3.session_token", NULL, "AWS_SESSION_TOKEN", NULL)) < 0)
                        return r;
        }
        return 0;
}
