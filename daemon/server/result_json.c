/* SPDX-License-Identifier: MIT */
#include "result_json.h"

json_t *result_error_json(const file_error *e) {
        json_t *o = json_pack("{s:s, s:s}", "code", fds_code_name(e->code), "message",
                              e->message ? e->message : "");
        if (o && e->http_status)
                json_object_set_new(o, "http_status", json_integer(e->http_status));
        if (o && e->s3_code)
                json_object_set_new(o, "s3_code", json_string(e->s3_code));
        return o;
}

json_t *result_copy_json(const job_file *f) {
        json_t *o = json_pack("{s:I, s:s, s:s, s:b, s:I}", "index", (json_int_t) f->entry->index,
                              "src", f->entry->src, "dst", f->entry->dst, "ok",
                              f->err.code == FDS_CODE_OK, "bytes", (json_int_t) f->bytes);
        if (o && f->err.code != FDS_CODE_OK)
                json_object_set_new(o, "error", result_error_json(&f->err));
        if (o && f->attempts)
                json_object_set_new(o, "attempts", json_integer(f->attempts));
        if (o && f->skipped)
                json_object_set_new(o, "skipped", json_true());
        if (o && f->err.code == FDS_CODE_OK && f->verified != FILE_VERIFIED_NA)
                json_object_set_new(o, "verified", json_boolean(f->verified == FILE_VERIFIED_YES));
        return o;
}

json_t *result_summary_json(const batch *b) {
        json_t *o = json_pack("{s:I, s:I, s:I, s:f}", "files_ok", (json_int_t) b->files_ok, "files_failed",
                              (json_int_t) b->files_failed, "bytes", (json_int_t) b->bytes, "seconds",
                              (double) batch_elapsed_ns(b) / 1e9);
        if (o && b->in.req.options.dry_run && json_object_set_new(o, "dry_run", json_true()) < 0) {
                json_decref(o);
                o = NULL;
        }
        if (o && b->in.req.options.no_clobber &&
            json_object_set_new(o, "files_skipped", json_integer((json_int_t) b->files_skipped)) < 0) {
                json_decref(o);
                o = NULL;
        }
        return o;
}
