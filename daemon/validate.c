/* SPDX-License-Identifier: MIT */
#include "validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "batch.h"
#include "daemon.h"
#include "local.h"

struct validate_chunk {
        uv_work_t work;
        batch *b;
        size_t lo, hi;
        void (*done)(validate_chunk *c, void *userdata);
        void *userdata;
};

bool validate_needed(const batch *b) {
        return b->kind != BATCH_SIZE;
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

void validate_range(batch *b, size_t lo, size_t hi) {
        for (size_t i = lo; i < hi; i++) {
                batch_file *f = &b->files[i];
                const fds_entry *e = f->entry;
                if (!entry_parsed(e, false))
                        continue;
                if (e->src_loc.kind == FDS_LOCATION_LOCAL)
                        f->vr = source_check(e->src, &f->src_size);
                if (b->kind == BATCH_COPY && e->dst_loc.kind == FDS_LOCATION_LOCAL && e->dst_loc.path)
                        f->dvr = local_check_destination(e->dst);
        }
}

static void chunk_work(uv_work_t *w) {
        validate_chunk *c = w->data;
        validate_range(c->b, c->lo, c->hi);
}

static void chunk_after(uv_work_t *w, int status) {
        validate_chunk *c = w->data;
        c->done(c, c->userdata);
}

int validate_chunk_queue(batch *b, size_t lo, size_t hi,
                         void (*done)(validate_chunk *c, void *userdata), void *userdata) {
        validate_chunk *c = malloc(sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (validate_chunk){ .b = b, .lo = lo, .hi = hi, .done = done, .userdata = userdata };
        c->work.data = c;
        int r = uv_queue_work(b->daemon->loop, &c->work, chunk_work, chunk_after);
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
static int copy_collect(batch *b) {
        json_t *syntax = b->req.problems;
        json_t *all = json_array();
        size_t k = 0, n_syntax = json_array_size(syntax);
        int r = 0;

        if (!all)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_files && r >= 0; i++) {
                batch_file *f = &b->files[i];
                while (k < n_syntax && problem_index(json_array_get(syntax, k)) <= (json_int_t) f->entry->index)
                        json_array_append(all, json_array_get(syntax, k++));
                if (f->vr < 0)
                        r = fds_problem_add(all, f->entry, f->entry->src, source_reason(f->vr));
                if (r >= 0 && f->dvr < 0)
                        r = fds_problem_add(all, f->entry, f->entry->dst, destination_reason(f->dvr));
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
static int read_collect(batch *b) {
        uint64_t total = 0;
        for (size_t i = 0; i < b->n_files; i++) {
                batch_file *f = &b->files[i];
                if (f->vr < 0) {
                        if (file_error_set_errno(&f->err, f->vr, NULL) < 0)
                                return -ENOMEM;
                        batch_file_finish(b, f);
                } else
                        total += f->src_size;
        }
        b->read_requested = total;
        return total > b->read_limit ? -EFBIG : 0;
}

int validate_collect(batch *b) {
        if (b->kind == BATCH_COPY)
                return copy_collect(b);
        if (json_array_size(b->req.problems) > 0)
                return -EINVAL;
        if (b->kind == BATCH_READ)
                return read_collect(b);
        return 0;
}
