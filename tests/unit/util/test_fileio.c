/* SPDX-License-Identifier: MIT */
/* Whole-buffer file I/O: a write larger than one write call (fileio.c
 * caps each call) lands whole, at its offset, and reads back the same;
 * bad offsets are refused. */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "fixture.h"

/* Sizes around and well past the per-call step, and odd ones. */
static const size_t sizes[] = {
        1, 4095, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 100 * 1024 + 3, 1024 * 1024 + 7};

static int temp_file(void) {
        char path[] = "/tmp/fds-test-fileio-XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(unlink(path), 0);
        return fd;
}

static unsigned char *pattern(size_t n, uint64_t seed) {
        unsigned char *p = malloc(n);
        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < n; i++)
                p[i] = (unsigned char) fixture_rng(&seed);
        return p;
}

static off_t file_size(int fd) {
        struct stat st;
        ck_assert_int_eq(fstat(fd, &st), 0);
        return st.st_size;
}

START_TEST(test_pwrite_lands_whole_at_its_offset) {
        size_t n = sizes[_i];
        const off_t off = 12345;
        int fd = temp_file();
        unsigned char *data = pattern(n, 7 + n);
        unsigned char *back = malloc(n + 1);
        ck_assert_ptr_nonnull(back);

        ck_assert_int_eq(fileio_pwrite_full(fd, data, n, off), 0);
        ck_assert_int_eq(file_size(fd), off + (off_t) n);
        ck_assert_int_eq(fileio_pread_full(fd, back, n + 1, off), (ssize_t) n); /* short only at EOF */
        ck_assert(memcmp(back, data, n) == 0);
        /* The hole before it reads as zeros. */
        unsigned char head[64];
        ck_assert_int_eq(fileio_pread_full(fd, head, sizeof(head), 0), (ssize_t) sizeof(head));
        for (size_t i = 0; i < sizeof(head); i++)
                ck_assert_uint_eq(head[i], 0);
        free(back);
        free(data);
        close(fd);
}
END_TEST

START_TEST(test_write_appends_at_the_current_offset) {
        size_t n = sizes[_i];
        int fd = temp_file();
        unsigned char *data = pattern(2 * n, 11 + n);
        unsigned char *back = malloc(2 * n);
        ck_assert_ptr_nonnull(back);

        ck_assert_int_eq(fileio_write_full(fd, data, n), 0);
        ck_assert_int_eq(fileio_write_full(fd, data + n, n), 0);
        ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t) (2 * n));
        ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
        ck_assert_int_eq(fileio_read_full(fd, back, 2 * n), (ssize_t) (2 * n));
        ck_assert(memcmp(back, data, 2 * n) == 0);
        free(back);
        free(data);
        close(fd);
}
END_TEST

START_TEST(test_errors) {
        int fd = temp_file();
        char b[8] = {0};
        ck_assert_int_eq(fileio_pwrite_full(fd, b, sizeof(b), -1), -EINVAL);
        ck_assert_int_eq(fileio_pread_full(fd, b, sizeof(b), -1), -EINVAL);
        close(fd);
        ck_assert_int_eq(fileio_pwrite_full(fd, b, sizeof(b), 0), -EBADF);
        ck_assert_int_eq(fileio_write_full(fd, b, sizeof(b)), -EBADF);
}
END_TEST

int main(void) {
        Suite *s = suite_create("fileio");
        TCase *tc = tcase_create("core");
        int n = (int) (sizeof(sizes) / sizeof(sizes[0]));
        tcase_add_loop_test(tc, test_pwrite_lands_whole_at_its_offset, 0, n);
        tcase_add_loop_test(tc, test_write_appends_at_the_current_offset, 0, n);
        tcase_add_test(tc, test_errors);
        suite_add_tcase(s, tc);
        return fixture_run(s);
}
