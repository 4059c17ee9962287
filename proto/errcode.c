/* SPDX-License-Identifier: MIT */
#include "errcode.h"

#include <errno.h>
#include <stdlib.h>

static const char *const names[_FDS_CODE_MAX] = {
        [FDS_CODE_OK] = "OK",
        [FDS_CODE_NOT_FOUND] = "NotFound",
        [FDS_CODE_PERMISSION_DENIED] = "PermissionDenied",
        [FDS_CODE_IS_A_DIRECTORY] = "IsADirectory",
        [FDS_CODE_NOT_A_DIRECTORY] = "NotADirectory",
        [FDS_CODE_NO_SPACE] = "NoSpace",
        [FDS_CODE_IO_ERROR] = "IOError",
        [FDS_CODE_CANCELED] = "Canceled",
        [FDS_CODE_EXISTS] = "Exists",
        [FDS_CODE_INVALID_PATH] = "InvalidPath",
        [FDS_CODE_SAME_FILE] = "SameFile",
        [FDS_CODE_TOO_LARGE] = "TooLarge",
        [FDS_CODE_S3_ERROR] = "S3Error",
        [FDS_CODE_INTERNAL] = "InternalError",
};

const char *fds_code_name(fds_code c) {
        if ((unsigned) c >= _FDS_CODE_MAX)
                return "InternalError";
        return names[c];
}

fds_code fds_code_from_errno(int err) {
        switch (abs(err)) {
        case 0:
                return FDS_CODE_OK;
        case ENOENT:
                return FDS_CODE_NOT_FOUND;
        case EACCES:
        case EPERM:
        case EROFS:
                return FDS_CODE_PERMISSION_DENIED;
        case EISDIR:
                return FDS_CODE_IS_A_DIRECTORY;
        case ENOTDIR:
                return FDS_CODE_NOT_A_DIRECTORY;
        case ENOSPC:
        case EDQUOT:
                return FDS_CODE_NO_SPACE;
        case ECANCELED:
                return FDS_CODE_CANCELED;
        case EEXIST:
                return FDS_CODE_EXISTS;
        case EINVAL:
        case ELOOP:
        case ENAMETOOLONG:
                return FDS_CODE_INVALID_PATH;
        case EFBIG:
                return FDS_CODE_TOO_LARGE;
        case ENOMEM:
                return FDS_CODE_INTERNAL;
        default:
                return FDS_CODE_IO_ERROR;
        }
}
