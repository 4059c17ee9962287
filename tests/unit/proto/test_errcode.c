/* SPDX-License-Identifier: MIT */
/* FileError.code: stable names, and the errno each one stands for. */
#include "errcode.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static const struct {
        fds_code code;
        const char *name;
} names[] = {
        { FDS_CODE_OK, "OK" },
        { FDS_CODE_NOT_FOUND, "NotFound" },
        { FDS_CODE_PERMISSION_DENIED, "PermissionDenied" },
        { FDS_CODE_IS_A_DIRECTORY, "IsADirectory" },
        { FDS_CODE_NOT_A_DIRECTORY, "NotADirectory" },
        { FDS_CODE_NO_SPACE, "NoSpace" },
        { FDS_CODE_IO_ERROR, "IOError" },
        { FDS_CODE_CANCELED, "Canceled" },
        { FDS_CODE_EXISTS, "Exists" },
        { FDS_CODE_INVALID_PATH, "InvalidPath" },
        { FDS_CODE_SAME_FILE, "SameFile" },
        { FDS_CODE_TOO_LARGE, "TooLarge" },
        { FDS_CODE_S3_ERROR, "S3Error" },
        { FDS_CODE_INTERNAL, "InternalError" },
};

START_TEST(test_every_code_has_its_wire_name) {
        ck_assert_int_eq((int) (sizeof(names) / sizeof(names[0])), _FDS_CODE_MAX);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                ck_assert_str_eq(fds_code_name(names[i].code), names[i].name);
}
END_TEST

START_TEST(test_unknown_code_is_internal_error) {
        ck_assert_str_eq(fds_code_name(_FDS_CODE_MAX), "InternalError");
        ck_assert_str_eq(fds_code_name((fds_code) -1), "InternalError");
        ck_assert_str_eq(fds_code_name((fds_code) 1000), "InternalError");
}
END_TEST

static const struct {
        int err;
        fds_code code;
} from_errno[] = {
        { 0, FDS_CODE_OK },
        { ENOENT, FDS_CODE_NOT_FOUND },
        { EACCES, FDS_CODE_PERMISSION_DENIED },
        { EPERM, FDS_CODE_PERMISSION_DENIED },
        { EROFS, FDS_CODE_PERMISSION_DENIED },
        { EISDIR, FDS_CODE_IS_A_DIRECTORY },
        { ENOTDIR, FDS_CODE_NOT_A_DIRECTORY },
        { ENOSPC, FDS_CODE_NO_SPACE },
        { EDQUOT, FDS_CODE_NO_SPACE },
        { ECANCELED, FDS_CODE_CANCELED },
        { EEXIST, FDS_CODE_EXISTS },
        { EINVAL, FDS_CODE_INVALID_PATH },
        { ELOOP, FDS_CODE_INVALID_PATH },
        { ENAMETOOLONG, FDS_CODE_INVALID_PATH },
        { EFBIG, FDS_CODE_TOO_LARGE },
        { ENOMEM, FDS_CODE_INTERNAL },
        { EIO, FDS_CODE_IO_ERROR },
        { ECONNRESET, FDS_CODE_IO_ERROR },
        { 9999, FDS_CODE_IO_ERROR },
};

START_TEST(test_errno_maps_to_code_whatever_its_sign) {
        int err = from_errno[_i].err;

        ck_assert_str_eq(fds_code_name(fds_code_from_errno(err)), fds_code_name(from_errno[_i].code));
        ck_assert_str_eq(fds_code_name(fds_code_from_errno(-err)), fds_code_name(from_errno[_i].code));
}
END_TEST

START_TEST(test_every_code_sent_is_documented_in_the_interface) {
        /* The .varlink file is the protocol's one description: FileError's
         * comment lists the codes a client must expect. */
        const char *dir = getenv("FDS_TEST_DATA");
        char path[4096], doc[4096] = "";
        FILE *fp;

        ck_assert_msg(dir != NULL, "FDS_TEST_DATA not set");
        snprintf(path, sizeof(path), "%s/../../proto/io.fds.Transfer.varlink", dir);
        fp = fopen(path, "re");
        ck_assert_msg(fp != NULL, "%s: %m", path);
        /* The comment block right before "type FileError". */
        char line[512];
        while (fgets(line, sizeof(line), fp)) {
                if (line[0] == '#')
                        strncat(doc, line, sizeof(doc) - strlen(doc) - 1);
                else if (strncmp(line, "type FileError", 14) == 0)
                        break;
                else
                        doc[0] = '\0';
        }
        fclose(fp);
        ck_assert_msg(doc[0], "no comment before type FileError in %s", path);
        char missing[512] = "";
        for (fds_code c = FDS_CODE_OK + 1; c < _FDS_CODE_MAX; c++) {
                char word[64];
                snprintf(word, sizeof(word), " %s", fds_code_name(c));
                if (!strstr(doc, word))
                        strncat(missing, word, sizeof(missing) - strlen(missing) - 1);
        }
        ck_assert_msg(missing[0] == '\0', "codes not in FileError's comment:%s", missing);
}
END_TEST

static Suite *errcode_suite(void) {
        Suite *s = suite_create("errcode");
        TCase *tc = tcase_create("codes");

        tcase_add_test(tc, test_every_code_has_its_wire_name);
        tcase_add_test(tc, test_unknown_code_is_internal_error);
        tcase_add_loop_test(tc, test_errno_maps_to_code_whatever_its_sign, 0,
                            (int) (sizeof(from_errno) / sizeof(from_errno[0])));
        tcase_add_test(tc, test_every_code_sent_is_documented_in_the_interface);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return fixture_run(errcode_suite());
}
