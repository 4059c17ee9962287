/* SPDX-License-Identifier: MIT */
#include "validate.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "batch_input.h"
#include "fsq.h"
#include "job.h"
#include "job_s3.h"
#include "local.h"
#include "s3_client.h"
#include "s3_sites.h"

struct validate_chunk {
        uv_work_t work;
        batch_input *b;
        size_t lo, hi;
        void (*done)(validate_chunk *c, void *userdata);
        void *userdata;
};

bool validate_needed(const batch_input *b) {
        /* Read needs the sizes to hold its limit, whatever the caller says. */
        return b->kind == TRANSFER_READ || (b->kind == TRANSFER_COPY && !b->req.options.no_validate);
}

/* A file whose path did not parse is already a problem; nothing to check. */
static bool entry_parsed(const fds_entry *e, bool with_dst) {
        bool src = e->src_loc.path || e->src_loc.bucket;
        bool dst = !with_dst || e->dst_loc.path || e->dst_loc.bucket;
        return src && dst;
}

static int source_check(const char *path, uint64_t *ret_size) {
        local_source_info info;
        int r = local_stat_source(path, &info);
        if (r < 0)
                return r;
        if (info.type == LOCAL_FILE_DIRECTORY)
                return -EISDIR;
        if (info.type != LOCAL_FILE_REGULAR)
                return -EBADFD;
        if (!info.readable)
                return -EACCES;
        *ret_size = info.size;
        return 0;
}

void validate_range(batch_input *b, size_t lo, size_t hi) {
        for (size_t i = lo; i < hi; i++) {
                job_file *f = &b->files[i];
                const fds_entry *e = f->entry;
                /* A recursive entry left here could not be expanded: its own
                 * problem is reported already. */
                if (!entry_parsed(e, false) || e->recursive)
                        continue;
                if (e->src_loc.kind == FDS_LOCATION_LOCAL)
                        f->vr = source_check(e->src, &f->src_size);
                if (b->kind == TRANSFER_COPY && e->dst_loc.kind == FDS_LOCATION_LOCAL && e->dst_loc.path) {
                        f->dvr = local_check_destination(e->dst);
                        struct stat st;
                        /* A link there counts: it is not ours to replace either. */
                        if (b->req.options.no_clobber && f->dvr == 0 && lstat(e->dst, &st) == 0)
                                f->dst_exists = true;
                }
        }
}

static void chunk_work(uv_work_t *w) {
        validate_chunk *c = w->data;
        validate_range(c->b, c->lo, c->hi);
}

static void chunk_after(uv_work_t *w, int status) {
        validate_chunk *c = w->data;
        /* Not checked (canceled, or the peer's identity could not be
         * taken): every source of the chunk fails rather than passes. */
        for (size_t i = c->lo; status < 0 && i < c->hi; i++)
                c->b->files[i].vr = status;
        c->done(c, c->userdata);
}

int validate_chunk_queue(batch_input *b, size_t lo, size_t hi,
                         void (*done)(validate_chunk *c, void *userdata), void *userdata) {
        validate_chunk *c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (validate_chunk){ .b = b, .lo = lo, .hi = hi, .done = done, .userdata = userdata };
        c->work.data = c;
        int r = fsq_queue(b->engine->shared.fsq, &b->env, batch_input_creds(b), &c->work, chunk_work, chunk_after);
        if (r < 0) {
                free(c);
                return r;
        }
        return 0;
}

void validate_chunk_free(validate_chunk *c) {
        free(c);
}

static const char *source_reason(int r) {
        switch (-r) {
        case ENOENT:
                return "source does not exist";
        case EISDIR:
                return "source is a directory";
        case EBADFD:
                return "source is not a regular file";
        case EACCES:
        case EPERM:
                return "source is not readable (permission denied)";
        case ENOTDIR:
                return "a component of the source path is not a directory";
        case EINVAL:
                return "invalid source path";
        default:
                return strerror(-r);
        }
}

static const char *destination_reason(int r) {
        switch (-r) {
        case EISDIR:
                return "destination is a directory";
        case EBADFD:
                return "destination exists and is not a regular file";
        case ENOTDIR:
                return "a parent of the destination is not a directory";
        case EACCES:
        case EPERM:
                return "destination directory is not accessible (permission denied)";
        case EINVAL:
                return "destination has a '.' or '..' component";
        case ENAMETOOLONG:
                return "destination path too long";
        default:
                return strerror(-r);
        }
}

static json_int_t problem_index(json_t *p) {
        return json_integer_value(json_object_get(p, "index"));
}

/* Merge the problems found here into the (index-ordered) syntax problems,
 * so the error reads in the order of the request. */
static int copy_collect(batch_input *b) {
        json_t *syntax = b->req.problems;
        json_t *all = json_array();
        size_t k = 0, n_syntax = json_array_size(syntax);
        int r = 0;

        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_files && r >= 0; i++) {
                job_file *f = &b->files[i];
                while (k < n_syntax && problem_index(json_array_get(syntax, k)) <= (json_int_t) f->entry->index)
                        json_array_append(all, json_array_get(syntax, k++));
                if (f->vr < 0)
                        r = fds_problem_add(all, f->entry, f->entry->src,
                                            f->vreason ? f->vreason : source_reason(f->vr));
                if (r >= 0 && f->dvr < 0)
                        r = fds_problem_add(all, f->entry, f->entry->dst,
                                            f->dreason ? f->dreason : destination_reason(f->dvr));
        }
        while (k < n_syntax)
                json_array_append(all, json_array_get(syntax, k++));
        json_decref(b->req.problems);
        b->req.problems = all;
        if (r < 0)
                return r;
        return json_array_size(all) > 0 ? -EINVAL : 0;
}

/* Read: a missing file is that key's error, but the sum of the sizes must
 * fit the limit before anything is read. */
static int read_collect(batch_input *b) {
        uint64_t total = 0;
        for (size_t i = 0; i < b->n_files; i++) {
                job_file *f = &b->files[i];
                if (f->vr < 0) {
                        if (f->vreason) {
                                if (file_error_set(&f->err, fds_code_from_errno(f->vr), f->vreason) < 0)
                                        return -ENOMEM;
                                f->err.http_status = f->vhttp;
                        } else
                                job_local_set_error(f, f->vr);
                } else
                        total += f->src_size;
        }
        b->read_requested = total;
        return total > b->read_limit ? -EFBIG : 0;
}

int validate_collect(batch_input *b) {
        if (b->kind == TRANSFER_COPY)
                return copy_collect(b);
        if (json_array_size(b->req.problems) > 0)
                return -EINVAL;
        if (b->kind == TRANSFER_READ)
                return read_collect(b);
        return 0;
}

/* S3 sources: HEAD, many at a time. What it learns (size, ETag) goes to the
 * transfer so nothing is fetched twice. */
typedef struct head_check {
        batch_input *b;
        job_file *f;
        bool dst;               /* no_clobber: whether the destination exists */
        s3_call *call;
        void (*done)(batch_input *b);
        list_node link;
        uint64_t size;
        char *etag;
} head_check;

static int head_header(http_request *req, const char *name, const char *value, void *userdata) {
        head_check *h = userdata;
        if (strcasecmp(name, "content-length") == 0)
                h->size = strtoull(value, NULL, 10);
        else if (strcasecmp(name, "etag") == 0) {
                free(h->etag);
                h->etag = strdup(value);
        }
        return 0;
}

static void head_done(s3_call *c, const s3_result *r, void *userdata) {
        head_check *h = userdata;
        job_file *f = h->f;

        list_del(&h->link);
        if (h->dst) {
                if (r->error == 0)
                        f->dst_exists = true;
                else if (r->http_status != 404) {
                        char why[640];
                        f->dvr = r->error;
                        snprintf(why, sizeof(why),
                                 "cannot tell whether the destination exists (no_clobber): %s (HTTP %ld%s%s)",
                                 r->message, r->http_status, r->s3_code ? " " : "", r->s3_code ? r->s3_code : "");
                        free(f->dreason);
                        f->dreason = strdup(why);
                }
        } else if (r->error == 0) {
                f->src_size = h->size;
                f->etag = h->etag;
                h->etag = NULL;
        } else {
                char why[640];
                f->vr = r->error;
                f->vhttp = (int) r->http_status;
                if (r->http_status == 404)
                        snprintf(why, sizeof(why), "source object does not exist (HTTP 404)");
                else if (r->http_status)
                        snprintf(why, sizeof(why), "source object: %s (HTTP %ld%s%s)", r->message,
                                 r->http_status, r->s3_code ? " " : "", r->s3_code ? r->s3_code : "");
                else
                        snprintf(why, sizeof(why), "source object: %s (%u attempts)", r->message, r->attempts);
                f->vreason = strdup(why);
        }
        free(h->etag);
        void (*done)(batch_input *) = h->done;
        batch_input *b = h->b;
        free(h);
        done(b);
}

static int head_start(batch_input *b, job_file *f, bool dst, void (*done)(batch_input *b)) {
        const fds_entry *e = f->entry;
        head_check *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        *h = (head_check){ .b = b, .f = f, .dst = dst, .done = done };
        s3_call_opts o = job_s3_opts(&b->env, dst ? &e->dst_loc : &e->src_loc);
        o.method = HTTP_HEAD;
        o.on_header = head_header;
        o.shareable = true; /* other calls' checks of the same object take its answer */
        o.on_done = head_done;
        o.userdata = h;
        int r = s3_call_start(b->engine->s3, &o, &h->call);
        if (r < 0) {
                free(h);
                *(dst ? &f->dvr : &f->vr) = r;
                return r;
        }
        list_add_tail(&b->heads, &h->link);
        return 1;
}

int validate_head_start(batch_input *b, job_file *f, void (*done)(batch_input *b)) {
        const fds_entry *e = f->entry;
        int n = 0, r;
        if (b->kind == TRANSFER_SIZE || !b->env.site || !entry_parsed(e, false))
                return 0;
        if (!f->src_known && e->src_loc.kind == FDS_LOCATION_S3 && e->src_loc.key && *e->src_loc.key) {
                r = head_start(b, f, false, done);
                if (r < 0)
                        return r;
                n += r;
        }
        if (b->kind == TRANSFER_COPY && b->req.options.no_clobber && e->dst_loc.kind == FDS_LOCATION_S3 &&
            e->dst_loc.key && *e->dst_loc.key) {
                r = head_start(b, f, true, done);
                if (r < 0)
                        return n > 0 ? n : r;
                n += r;
        }
        return n;
}

void validate_heads_cancel(batch_input *b) {
        list_node *n, *t;
        list_for_each_safe(n, t, &b->heads)
                s3_call_cancel(list_entry(n, head_check, link)->call);
}

static bool batch_uses_s3(const batch_input *b) {
        for (size_t i = 0; i < b->n_files; i++) {
                const fds_entry *e = b->files[i].entry;
                if (e->src_loc.kind == FDS_LOCATION_S3 || e->dst_loc.kind == FDS_LOCATION_S3)
                        return true;
        }
        return false;
}

int validate_identity(batch_input *b) {
        char why[200];
        if (!b->local_denied)
                return 0;
        snprintf(why, sizeof(why),
                 "local paths are refused: fdsd runs as uid %u, not as you (uid %u), so it cannot use your "
                 "permissions; S3 paths work",
                 (unsigned) geteuid(), (unsigned) b->peer_uid);
        for (size_t i = 0; i < b->n_files; i++) {
                const fds_entry *e = b->files[i].entry;
                int r = 0;
                if (e->src_loc.kind == FDS_LOCATION_LOCAL && e->src_loc.path)
                        r = fds_problem_add(b->req.problems, e, e->src, why);
                if (r >= 0 && b->kind == TRANSFER_COPY && e->dst_loc.kind == FDS_LOCATION_LOCAL && e->dst_loc.path)
                        r = fds_problem_add(b->req.problems, e, e->dst, why);
                if (r < 0)
                        return r;
        }
        /* Nothing local is touched: validation of these paths stops here. */
        for (size_t i = 0; i < b->n_files; i++) {
                fds_entry *e = (fds_entry *) b->files[i].entry;
                if (e->src_loc.kind == FDS_LOCATION_LOCAL)
                        fds_location_done(&e->src_loc);
                if (e->dst_loc.kind == FDS_LOCATION_LOCAL)
                        fds_location_done(&e->dst_loc);
        }
        return 0;
}

static void site_problem(batch_input *b, const char *reason) {
        /* One problem, on the first entry that needs S3. */
        for (size_t i = 0; i < b->n_files; i++) {
                const fds_entry *e = b->files[i].entry;
                if (e->src_loc.kind == FDS_LOCATION_S3 || e->dst_loc.kind == FDS_LOCATION_S3) {
                        fds_problem_add(b->req.problems, e, e->src_loc.kind == FDS_LOCATION_S3 ? e->src : e->dst,
                                        reason ? reason : "S3 settings are incomplete");
                        return;
                }
        }
}

static void on_site(int r, s3_site *site, char *reason, void *userdata) {
        batch_input *b = userdata;
        b->site_wait = NULL;
        if (r >= 0)
                b->env.site = site;
        else if (r != -ECANCELED)
                site_problem(b, reason);
        free(reason);
        b->validating--;
        b->site_cont(b);
}

int validate_site(batch_input *b, void (*cont)(batch_input *b)) {
        char *reason = NULL;

        if (!batch_uses_s3(b))
                return 0;
        s3_caller caller = { .uid = b->peer_uid, .gid = b->creds.gid, .switch_user = b->as_peer };
        int r = s3_sites_resolve(b->engine->sites, b->req.options.s3, &caller, &b->env.site, &reason, on_site, b,
                                 &b->site_wait);
        if (r == 1) {
                b->validating++;
                b->site_cont = cont;
                return 1;
        }
        if (r < 0 && r != -ENOMEM)
                site_problem(b, reason);
        free(reason);
        return r == -ENOMEM ? r : 0;
}

void validate_site_cancel(batch_input *b) {
        if (b->site_wait)
                s3_site_cancel(b->site_wait);
}
