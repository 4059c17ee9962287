/* SPDX-License-Identifier: MIT */
#pragma once

/* The stable per-file error codes of the protocol (FileError.code). */

typedef enum fds_code {
        FDS_CODE_OK = 0,
        FDS_CODE_NOT_FOUND,
        FDS_CODE_PERMISSION_DENIED,
        FDS_CODE_IS_A_DIRECTORY,
        FDS_CODE_NOT_A_DIRECTORY,
        FDS_CODE_NO_SPACE,
        FDS_CODE_IO_ERROR,
        FDS_CODE_CANCELED,
        FDS_CODE_EXISTS,
        FDS_CODE_INVALID_PATH,
        FDS_CODE_SAME_FILE,
        FDS_CODE_TOO_LARGE,
        FDS_CODE_S3_ERROR,
        FDS_CODE_INTERNAL,
        _FDS_CODE_MAX,
} fds_code;

const char *fds_code_name(fds_code c);
/* Map a (positive or negative) errno to the code a user should see. */
fds_code fds_code_from_errno(int err);
