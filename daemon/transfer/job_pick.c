/* SPDX-License-Identifier: MIT */
#include "job.h"

const job_type *job_type_for(transfer_op op, const job_file *f) {
        bool src_s3 = f->entry->src_loc.kind == FDS_LOCATION_S3;
        bool dst_s3 = f->entry->dst_loc.kind == FDS_LOCATION_S3;

        switch (op) {
        case TRANSFER_COPY:
                if (src_s3)
                        return dst_s3 ? &job_s3_copy : &job_s3_get;
                return dst_s3 ? &job_s3_put : &job_local_copy;
        case TRANSFER_SIZE:
                return src_s3 ? &job_s3_head : &job_local_size;
        case TRANSFER_READ:
                return src_s3 ? &job_s3_read : &job_local_read;
        case TRANSFER_LIST:
                break;
        }
        return NULL;
}
