/* SPDX-License-Identifier: MIT */
#include "local.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fixture.h"

/* The test's own directory, made fresh by setup() in each test's process. */
static char dir[PATH_MAX];

static const char *at(char buf[static PATH_MAX], const char *rel) {
        int n = snprintf(buf, PATH_MAX, "%s/%s", dir, rel);
        ck_assert(n > 0 && n < PATH_MAX);
        return buf;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_msg(fd >= 0, "open %s: %m", path);
        ck_assert(write(fd, data, len) == (ssize_t) len);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        ck_assert_int_eq(close(fd), 0);
}

static void write_str(const char *path, const char *s) {
        write_file(path, s, strlen(s), 0644);
}

/* Pseudo-random bytes (xorshift64), so chunk boundaries cannot hide a shift. */
static char *make_data(size_t len) {
        char *p = malloc(len);
        uint64_t x = 0x2545f4914f6cdd1dULL;

        ck_assert(p);
        for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p[i] = (char) x;
        }
        return p;
}

/* Whole file, independent of local_read; the caller frees it. */
static char *slurp(const char *path, size_t *ret_len) {
        size_t len = 0, cap = 4096;
        char *p = malloc(cap);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        ck_assert_msg(fd >= 0, "open %s: %m", path);
        ck_assert(p);
        while ((n = read(fd, p + len, cap - len)) > 0) {
                len += (size_t) n;
                if (len == cap) {
                        cap *= 2;
                        p = realloc(p, cap);
                        ck_assert(p);
                }
        }
        ck_assert_int_eq(n, 0);
        close(fd);
        *ret_len = len;
        return p;
}

static void assert_content(const char *path, const void *data, size_t len) {
        size_t got_len;
        char *got = slurp(path, &got_len);

        ck_assert_uint_eq(got_len, len);
        ck_assert(memcmp(got, data, len) == 0);
        free(got);
}

static void assert_same_content(const char *a, const char *b) {
        size_t len;
        char *data = slurp(a, &len);

        assert_content(b, data, len);
        free(data);
}

static int no_temporary(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        const char *name = path + ftw->base;

        (void) st;
        (void) type;
        ck_assert_msg(!(name[0] == '.' && strstr(name, ".fds-")), "temporary left: %s", path);
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) type;
        (void) ftw;
        ck_assert_msg(remove(path) == 0, "remove %s: %m", path);
        return 0;
}

static void setup(void) {
        const char *base = getenv("TMPDIR");

        snprintf(dir, sizeof dir, "%s/fds-test-local.XXXXXX", base && *base ? base : "/tmp");
        ck_assert_msg(mkdtemp(dir), "mkdtemp: %m");
}

/* Every test ends with no temporaries anywhere under its directory. */
static void teardown(void) {
        ck_assert_int_eq(nftw(dir, no_temporary, 16, FTW_PHYS), 0);
        ck_assert_int_eq(nftw(dir, remove_one, 16, FTW_PHYS | FTW_DEPTH), 0);
}

static void assert_ts_eq(struct timespec a, struct timespec b) {
        ck_assert_int_eq(a.tv_sec, b.tv_sec);
        ck_assert_int_eq(a.tv_nsec, b.tv_nsec);
}

START_TEST(test_copy_preserves_content_mode_times) {
        char s[PATH_MAX], d[PATH_MAX];
        const struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
        const char data[] = "hello, fds\nsecond line\n";
        _Atomic uint64_t progress = 0;
        struct stat st;
        uint64_t bytes = 0;

        write_file(at(s, "src"), data, sizeof data - 1, 0640);
        ck_assert_int_eq(utimensat(AT_FDCWD, s, ts, 0), 0);
        ck_assert_int_eq(local_copy(s, at(d, "dst"), NULL, NULL, &progress, &bytes), 0);
        ck_assert_uint_eq(bytes, sizeof data - 1);
        ck_assert_uint_eq(atomic_load(&progress), sizeof data - 1);

        /* stat before reading: reading can move atime. */
        ck_assert_int_eq(stat(d, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0640);
        assert_ts_eq(st.st_atim, ts[0]);
        assert_ts_eq(st.st_mtim, ts[1]);
        assert_content(d, data, sizeof data - 1);
}
END_TEST

START_TEST(test_copy_drops_setuid) {
        char s[PATH_MAX], d[PATH_MAX];
        struct stat st;
        uint64_t bytes;

        write_file(at(s, "src"), "x", 1, 04755);
        ck_assert_int_eq(local_copy(s, at(d, "dst"), NULL, NULL, NULL, &bytes), 0);
        ck_assert_int_eq(stat(d, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
}
END_TEST

START_TEST(test_copy_empty) {
        char s[PATH_MAX], d[PATH_MAX];
        uint64_t bytes = 1;
        struct stat st;

        write_file(at(s, "empty"), "", 0, 0600);
        ck_assert_int_eq(local_copy(s, at(d, "copy"), NULL, NULL, NULL, &bytes), 0);
        ck_assert_uint_eq(bytes, 0);
        ck_assert_int_eq(stat(d, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(st.st_size, 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
}
END_TEST

START_TEST(test_copy_20mib) {
        const size_t len = 20u << 20;
        const local_copy_options checked = {.fsync = true, .verify = true};
        char s[PATH_MAX], d[PATH_MAX], d2[PATH_MAX];
        _Atomic uint64_t progress = 0;
        char *data = make_data(len);
        uint64_t bytes;

        write_file(at(s, "big"), data, len, 0644);
        ck_assert_int_eq(local_copy(s, at(d, "big.copy"), NULL, NULL, &progress, &bytes), 0);
        ck_assert_uint_eq(bytes, len);
        ck_assert_uint_eq(atomic_load(&progress), len);
        assert_content(d, data, len);

        ck_assert_int_eq(local_copy(s, at(d2, "big.checked"), &checked, NULL, NULL, &bytes), 0);
        ck_assert_uint_eq(bytes, len);
        assert_content(d2, data, len);
        free(data);
}
END_TEST

START_TEST(test_copy_creates_parents) {
        char s[PATH_MAX], d[PATH_MAX], p[PATH_MAX];
        const char *parents[] = {"a", "a/b", "a/b/c"};
        struct stat st;
        uint64_t bytes;

        /* The test's process, not the module, sets the umask. */
        umask(022);
        write_str(at(s, "src"), "nested\n");
        ck_assert_int_eq(local_copy(s, at(d, "a//b/c/out"), NULL, NULL, NULL, &bytes), 0);
        assert_content(d, "nested\n", 7);
        for (size_t i = 0; i < sizeof parents / sizeof *parents; i++) {
                ck_assert_int_eq(stat(at(p, parents[i]), &st), 0);
                ck_assert(S_ISDIR(st.st_mode));
                ck_assert_uint_eq(st.st_mode & 07777, 0755);
        }
}
END_TEST

START_TEST(test_copy_overwrites) {
        char s[PATH_MAX], d[PATH_MAX], l[PATH_MAX];
        struct stat before, after;
        uint64_t bytes;

        write_file(at(s, "src"), "new content\n", 12, 0644);
        write_file(at(d, "dst"), "old\n", 4, 0600);
        ck_assert_int_eq(link(d, at(l, "old-link")), 0);
        ck_assert_int_eq(stat(d, &before), 0);

        ck_assert_int_eq(local_copy(s, d, NULL, NULL, NULL, &bytes), 0);
        ck_assert_uint_eq(bytes, 12);
        assert_content(d, "new content\n", 12);
        ck_assert_int_eq(stat(d, &after), 0);
        ck_assert_uint_eq(after.st_mode & 07777, 0644);
        /* Replaced by rename: a new inode, old hard links keep the old data. */
        ck_assert(after.st_ino != before.st_ino);
        assert_content(l, "old\n", 4);
}
END_TEST

/* no_replace: a destination there at the rename (one that appeared after
 * any check before the copy) is kept, the copy fails -EEXIST and leaves no
 * temporary (teardown checks); with none there it is an ordinary copy. */
START_TEST(test_copy_no_replace) {
        char s[PATH_MAX], d[PATH_MAX], n[PATH_MAX];
        local_copy_options o = { .no_replace = true };
        uint64_t bytes;

        write_str(at(s, "src"), "new\n");
        write_str(at(d, "dst"), "theirs\n");
        ck_assert_int_eq(local_copy(s, d, &o, NULL, NULL, &bytes), -EEXIST);
        assert_content(d, "theirs\n", 7);
        ck_assert_int_eq(local_copy(s, at(n, "fresh"), &o, NULL, NULL, &bytes), 0);
        assert_content(n, "new\n", 4);
}
END_TEST

START_TEST(test_copy_replaces_symlink) {
        char s[PATH_MAX], d[PATH_MAX], o[PATH_MAX];
        struct stat st;
        uint64_t bytes;

        write_str(at(s, "src"), "src\n");
        write_str(at(o, "other"), "other\n");
        ck_assert_int_eq(symlink(o, at(d, "dst")), 0);
        ck_assert_int_eq(local_copy(s, d, NULL, NULL, NULL, &bytes), 0);
        ck_assert_int_eq(lstat(d, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        assert_content(d, "src\n", 4);
        assert_content(o, "other\n", 6);
}
END_TEST

START_TEST(test_copy_parent_is_file) {
        char s[PATH_MAX], d[PATH_MAX], f[PATH_MAX];
        uint64_t bytes = 7;

        write_str(at(s, "src"), "x");
        write_str(at(f, "file"), "y");
        ck_assert_int_eq(local_copy(s, at(d, "file/out"), NULL, NULL, NULL, &bytes), -ENOTDIR);
        ck_assert_int_eq(local_copy(s, at(d, "file/sub/out"), NULL, NULL, NULL, &bytes), -ENOTDIR);
        ck_assert_uint_eq(bytes, 7);
        assert_content(f, "y", 1);
}
END_TEST

START_TEST(test_copy_source_missing) {
        char s[PATH_MAX], d[PATH_MAX], p[PATH_MAX];
        uint64_t bytes;

        ck_assert_int_eq(local_copy(at(s, "nope"), at(d, "new/dst"), NULL, NULL, NULL, &bytes), -ENOENT);
        /* The source is opened first: no directory was made for nothing. */
        ck_assert_int_eq(access(at(p, "new"), F_OK), -1);
        ck_assert_int_eq(local_copy(at(s, "nodir/nope"), d, NULL, NULL, NULL, &bytes), -ENOENT);
}
END_TEST

START_TEST(test_copy_directories) {
        char s[PATH_MAX], d[PATH_MAX], sub[PATH_MAX], l[PATH_MAX];
        uint64_t bytes;

        write_str(at(s, "src"), "x");
        ck_assert_int_eq(mkdir(at(sub, "sub"), 0755), 0);
        ck_assert_int_eq(local_copy(sub, at(d, "dst"), NULL, NULL, NULL, &bytes), -EISDIR);
        ck_assert_int_eq(local_copy(s, sub, NULL, NULL, NULL, &bytes), -EISDIR);
        ck_assert_int_eq(local_copy(s, at(d, "sub/"), NULL, NULL, NULL, &bytes), -EISDIR);
        ck_assert_int_eq(local_copy(s, at(d, "dst/"), NULL, NULL, NULL, &bytes), -EISDIR);
        /* A symlink to a directory stands for the directory. */
        ck_assert_int_eq(symlink(sub, at(l, "link")), 0);
        ck_assert_int_eq(local_copy(s, l, NULL, NULL, NULL, &bytes), -EISDIR);
        ck_assert_int_eq(access(at(d, "dst"), F_OK), -1);
}
END_TEST

START_TEST(test_copy_special_files) {
        char s[PATH_MAX], d[PATH_MAX], f[PATH_MAX];
        uint64_t bytes;

        write_str(at(s, "src"), "x");
        ck_assert_int_eq(mkfifo(at(f, "fifo"), 0600), 0);
        /* Neither blocks waiting for a writer nor replaces the FIFO. */
        ck_assert_int_eq(local_copy(f, at(d, "dst"), NULL, NULL, NULL, &bytes), -EBADFD);
        ck_assert_int_eq(local_copy(s, f, NULL, NULL, NULL, &bytes), -EBADFD);
        ck_assert_int_eq(local_copy("/dev/null", d, NULL, NULL, NULL, &bytes), -EBADFD);
        ck_assert_int_eq(access(d, F_OK), -1);
}
END_TEST

START_TEST(test_copy_unreadable) {
        char s[PATH_MAX], d[PATH_MAX];
        uint64_t bytes;

        write_file(at(s, "secret"), "x", 1, 0000);
        if (geteuid() == 0) {
                fprintf(stderr, "note: test_copy_unreadable: running as root, which reads "
                                "mode 000 files; -EACCES not asserted here "
                                "(test_per_thread_credentials covers it)\n");
                return;
        }
        ck_assert_int_eq(local_copy(s, at(d, "dst"), NULL, NULL, NULL, &bytes), -EACCES);
        ck_assert_int_eq(access(d, F_OK), -1);
}
END_TEST

START_TEST(test_copy_same_file) {
        char s[PATH_MAX], l[PATH_MAX], h[PATH_MAX];
        uint64_t bytes;

        write_str(at(s, "src"), "precious\n");
        ck_assert_int_eq(symlink(s, at(l, "link")), 0);
        ck_assert_int_eq(link(s, at(h, "hard")), 0);
        ck_assert_int_eq(local_copy(s, s, NULL, NULL, NULL, &bytes), -LOCAL_ESAME);
        ck_assert_int_eq(local_copy(l, s, NULL, NULL, NULL, &bytes), -LOCAL_ESAME);
        ck_assert_int_eq(local_copy(s, l, NULL, NULL, NULL, &bytes), -LOCAL_ESAME);
        ck_assert_int_eq(local_copy(s, h, NULL, NULL, NULL, &bytes), -LOCAL_ESAME);
        ck_assert_int_eq(local_copy(h, s, NULL, NULL, NULL, &bytes), -LOCAL_ESAME);
        assert_content(s, "precious\n", 9);
}
END_TEST

START_TEST(test_copy_cancel_before) {
        char s[PATH_MAX], d[PATH_MAX], p[PATH_MAX];
        _Atomic uint64_t progress = 0;
        atomic_bool cancel = true;
        uint64_t bytes;

        write_str(at(s, "src"), "new\n");
        write_str(at(d, "dst"), "old\n");
        ck_assert_int_eq(local_copy(s, d, NULL, &cancel, &progress, &bytes), -ECANCELED);
        assert_content(d, "old\n", 4);
        ck_assert_uint_eq(atomic_load(&progress), 0);
        ck_assert_int_eq(local_copy(s, at(d, "new/dst"), NULL, &cancel, NULL, &bytes), -ECANCELED);
        ck_assert_int_eq(access(at(p, "new"), F_OK), -1);
}
END_TEST

typedef struct canceller {
        _Atomic uint64_t progress;
        atomic_bool cancel;
        atomic_bool done;
} canceller;

/* Sets the flag as soon as the copy has reported its first chunk. */
static void *cancel_on_progress(void *arg) {
        canceller *c = arg;

        while (!atomic_load(&c->done)) {
                if (atomic_load(&c->progress) > 0) {
                        atomic_store(&c->cancel, true);
                        break;
                }
                sched_yield();
        }
        return NULL;
}

START_TEST(test_copy_cancel_during) {
        const size_t len = 64u << 20;
        char s[PATH_MAX], d[PATH_MAX];
        char *data = make_data(len);
        int cancels = 0;

        write_file(at(s, "big"), data, len, 0644);
        free(data);
        /* A race by nature: the copy may win on a fast disk; it must lose
         * at least once in a few tries, and every loss must be clean. */
        for (int i = 0; i < 10 && cancels < 3; i++) {
                canceller c = {0};
                pthread_t t;
                uint64_t bytes;
                int r;

                write_str(at(d, "dst"), "old\n");
                ck_assert_int_eq(pthread_create(&t, NULL, cancel_on_progress, &c), 0);
                r = local_copy(s, d, NULL, &c.cancel, &c.progress, &bytes);
                atomic_store(&c.done, true);
                ck_assert_int_eq(pthread_join(t, NULL), 0);
                ck_assert_msg(r == 0 || r == -ECANCELED, "r = %d", r);
                if (r == -ECANCELED) {
                        cancels++;
                        ck_assert_uint_gt(atomic_load(&c.progress), 0);
                        ck_assert_uint_lt(atomic_load(&c.progress), len);
                        assert_content(d, "old\n", 4);
                        ck_assert_int_eq(nftw(dir, no_temporary, 16, FTW_PHYS), 0);
                } else {
                        ck_assert_uint_eq(bytes, len);
                }
        }
        ck_assert_int_gt(cancels, 0);
}
END_TEST

START_TEST(test_copy_proc_file) {
        const local_copy_options verify = {.verify = true};
        char d[PATH_MAX];
        uint64_t bytes = 0, size;

        /* stat says 0 bytes; the copy must read to EOF regardless. */
        ck_assert_int_eq(local_size("/proc/version", &size), 0);
        ck_assert_uint_eq(size, 0);
        ck_assert_int_eq(local_copy("/proc/version", at(d, "version"), &verify, NULL, NULL, &bytes), 0);
        ck_assert_uint_gt(bytes, 0);
        assert_same_content("/proc/version", d);
}
END_TEST

START_TEST(test_copy_verify_mismatch) {
        const local_copy_options verify = {.verify = true};
        char d[PATH_MAX];
        uint64_t bytes;

        /* Reading /proc/self/io changes it (rchar): verify sees a
         * different source the second time. */
        if (access("/proc/self/io", R_OK) != 0) {
                fprintf(stderr, "note: test_copy_verify_mismatch: no /proc/self/io, skipped\n");
                return;
        }
        write_str(at(d, "dst"), "old\n");
        ck_assert_int_eq(local_copy("/proc/self/io", d, &verify, NULL, NULL, &bytes), -LOCAL_EVERIFY);
        assert_content(d, "old\n", 4);
}
END_TEST

START_TEST(test_copy_long_name) {
        char s[PATH_MAX], d[PATH_MAX], name[NAME_MAX + 2];
        uint64_t bytes;

        write_str(at(s, "src"), "long\n");
        memset(name, 'n', NAME_MAX);
        name[NAME_MAX] = '\0';
        /* The temporary's name is cut to fit; the final one is kept whole. */
        ck_assert_int_eq(local_copy(s, at(d, name), NULL, NULL, NULL, &bytes), 0);
        assert_content(d, "long\n", 5);
        strcat(name, "n");
        ck_assert_int_eq(local_copy(s, at(d, name), NULL, NULL, NULL, &bytes), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_copy_no_space) {
        const size_t len = 2u << 20;
        char s[PATH_MAX], m[PATH_MAX], d[PATH_MAX];
        char *data = make_data(len);
        uint64_t bytes;

        /* A 1 MiB tmpfs in a mount namespace of this test's own process. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "note: test_copy_no_space: cannot make a mount namespace (%m), "
                                "skipped\n");
                free(data);
                return;
        }
        ck_assert_int_eq(mkdir(at(m, "small"), 0755), 0);
        ck_assert_msg(mount("fds-test", m, "tmpfs", 0, "size=1m") == 0, "mount: %m");
        write_file(at(s, "big"), data, len, 0644);
        write_str(at(d, "small/dst"), "old\n");
        ck_assert_int_eq(local_copy(s, d, NULL, NULL, NULL, &bytes), -ENOSPC);
        assert_content(d, "old\n", 4);
        ck_assert_int_eq(nftw(m, no_temporary, 16, FTW_PHYS), 0);
        ck_assert_int_eq(umount2(m, MNT_DETACH), 0);
        free(data);
}
END_TEST

START_TEST(test_copy_bad_paths) {
        char s[PATH_MAX];
        uint64_t bytes;

        write_str(at(s, "src"), "x");
        ck_assert_int_eq(local_copy("src", "/tmp/x", NULL, NULL, NULL, &bytes), -EINVAL);
        ck_assert_int_eq(local_copy("", "/tmp/x", NULL, NULL, NULL, &bytes), -EINVAL);
        ck_assert_int_eq(local_copy(s, "dst", NULL, NULL, NULL, &bytes), -EINVAL);
        ck_assert_int_eq(local_copy(s, "", NULL, NULL, NULL, &bytes), -EINVAL);
        ck_assert_int_eq(local_copy(s, "/tmp/../x", NULL, NULL, NULL, &bytes), -EINVAL);
}
END_TEST

START_TEST(test_path_syntax) {
        static const struct {
                const char *path;
                int dst, src;
        } cases[] = {
                {"", -EINVAL, -EINVAL},    {"relative/x", -EINVAL, -EINVAL},
                {"./x", -EINVAL, -EINVAL}, {"/a/b", 0, 0},
                {"//a///b", 0, 0},         {"/a/.b", 0, 0},
                {"/a/..b", 0, 0},          {"/a/b..", 0, 0},
                {"/a/./b", -EINVAL, 0},    {"/a/../b", -EINVAL, 0},
                {"/a/..", -EINVAL, 0},     {"/..", -EINVAL, 0},
                {"/a/b/", -EISDIR, 0},     {"/a/b//", -EISDIR, 0},
                {"/", -EISDIR, 0},
        };
        char name[NAME_MAX + 3], *huge;

        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
                ck_assert_msg(local_check_destination_path(cases[i].path) == cases[i].dst,
                              "destination \"%s\"", cases[i].path);
                ck_assert_msg(local_check_source_path(cases[i].path) == cases[i].src, "source \"%s\"",
                              cases[i].path);
        }
        ck_assert_int_eq(local_check_destination_path(NULL), -EINVAL);
        ck_assert_int_eq(local_check_source_path(NULL), -EINVAL);

        name[0] = '/';
        memset(name + 1, 'n', NAME_MAX + 1);
        name[NAME_MAX + 2] = '\0';
        ck_assert_int_eq(local_check_destination_path(name), -ENAMETOOLONG);
        name[NAME_MAX + 1] = '\0';
        ck_assert_int_eq(local_check_destination_path(name), 0);

        huge = malloc(PATH_MAX + 1);
        ck_assert(huge);
        for (size_t i = 0; i < PATH_MAX; i++)
                huge[i] = i % 2 ? 'x' : '/';
        huge[PATH_MAX] = '\0';
        ck_assert_int_eq(local_check_destination_path(huge), -ENAMETOOLONG);
        ck_assert_int_eq(local_check_source_path(huge), -ENAMETOOLONG);
        free(huge);
}
END_TEST

START_TEST(test_size) {
        char f[PATH_MAX], l[PATH_MAX], p[PATH_MAX];
        uint64_t size = 99;

        write_file(at(f, "f"), "12345", 5, 0644);
        ck_assert_int_eq(symlink(f, at(l, "l")), 0);
        ck_assert_int_eq(local_size(f, &size), 0);
        ck_assert_uint_eq(size, 5);
        size = 0;
        ck_assert_int_eq(local_size(l, &size), 0);
        ck_assert_uint_eq(size, 5);
        size = 99;
        ck_assert_int_eq(local_size(dir, &size), -EISDIR);
        ck_assert_int_eq(local_size(at(p, "missing"), &size), -ENOENT);
        ck_assert_int_eq(local_size(at(p, "f/x"), &size), -ENOTDIR);
        ck_assert_int_eq(mkfifo(at(p, "fifo"), 0600), 0);
        ck_assert_int_eq(local_size(p, &size), -EBADFD);
        ck_assert_int_eq(local_size("f", &size), -EINVAL);
        ck_assert_uint_eq(size, 99);
}
END_TEST

START_TEST(test_read) {
        char f[PATH_MAX], e[PATH_MAX], p[PATH_MAX];
        char *data = NULL;
        size_t len = 0;

        write_file(at(f, "f"), "abcdef", 6, 0644);
        ck_assert_int_eq(local_read(f, 6, &data, &len), 0);
        ck_assert_uint_eq(len, 6);
        ck_assert_str_eq(data, "abcdef");
        free(data);
        data = NULL;
        ck_assert_int_eq(local_read(f, 5, &data, &len), -EFBIG);
        ck_assert_ptr_null(data);

        write_file(at(e, "empty"), "", 0, 0644);
        ck_assert_int_eq(local_read(e, 0, &data, &len), 0);
        ck_assert_ptr_nonnull(data);
        ck_assert_uint_eq(len, 0);
        ck_assert_int_eq(data[0], '\0');
        free(data);
        data = NULL;

        ck_assert_int_eq(local_read(dir, 100, &data, &len), -EISDIR);
        ck_assert_int_eq(local_read(at(p, "missing"), 100, &data, &len), -ENOENT);
        ck_assert_int_eq(mkfifo(at(p, "fifo"), 0600), 0);
        ck_assert_int_eq(local_read(p, 100, &data, &len), -EBADFD);
        ck_assert_ptr_null(data);
}
END_TEST

/* stat says 0 bytes: the buffer grows with what is read, up to the bound. */
START_TEST(test_read_proc) {
        char *data = NULL;
        size_t len = 0;

        ck_assert_int_eq(local_read("/proc/self/status", 10, &data, &len), -EFBIG);
        ck_assert_ptr_null(data);
        ck_assert_int_eq(local_read("/proc/self/status", 1 << 20, &data, &len), 0);
        ck_assert_uint_gt(len, 10);
        ck_assert_uint_eq(strlen(data), len);
        ck_assert_ptr_nonnull(strstr(data, "Name:"));
        free(data);
        ck_assert_int_eq(local_read("/proc/version", SIZE_MAX, &data, &len), 0);
        ck_assert_uint_gt(len, 0);
        free(data);
}
END_TEST

START_TEST(test_stat_source) {
        char f[PATH_MAX], p[PATH_MAX];
        local_source_info info = {0};

        write_file(at(f, "f"), "12345", 5, 0644);
        ck_assert_int_eq(local_stat_source(f, &info), 0);
        ck_assert_int_eq(info.type, LOCAL_FILE_REGULAR);
        ck_assert_uint_eq(info.size, 5);
        ck_assert(info.readable);

        ck_assert_int_eq(local_stat_source(dir, &info), 0);
        ck_assert_int_eq(info.type, LOCAL_FILE_DIRECTORY);
        ck_assert_int_eq(mkfifo(at(p, "fifo"), 0600), 0);
        ck_assert_int_eq(local_stat_source(p, &info), 0);
        ck_assert_int_eq(info.type, LOCAL_FILE_OTHER);

        info.size = 77;
        ck_assert_int_eq(local_stat_source(at(p, "missing"), &info), -ENOENT);
        ck_assert_int_eq(local_stat_source("rel", &info), -EINVAL);
        ck_assert_uint_eq(info.size, 77);

        write_file(at(p, "secret"), "x", 1, 0000);
        ck_assert_int_eq(local_stat_source(p, &info), 0);
        if (geteuid() == 0)
                fprintf(stderr, "note: test_stat_source: running as root, unreadable not "
                                "asserted here (test_per_thread_credentials covers it)\n");
        else
                ck_assert(!info.readable);
}
END_TEST

START_TEST(test_check_destination) {
        char p[PATH_MAX], f[PATH_MAX];

        write_str(at(f, "file"), "x");
        ck_assert_int_eq(local_check_destination(at(p, "new")), 0);
        ck_assert_int_eq(local_check_destination(at(p, "a/b/c/new")), 0);
        ck_assert_int_eq(local_check_destination(f), 0);
        ck_assert_int_eq(local_check_destination(dir), -EISDIR);
        ck_assert_int_eq(local_check_destination(at(p, "new/")), -EISDIR);
        ck_assert_int_eq(local_check_destination(at(p, "file/new")), -ENOTDIR);
        ck_assert_int_eq(local_check_destination(at(p, "file/a/new")), -ENOTDIR);
        ck_assert_int_eq(local_check_destination(at(p, "a/../new")), -EINVAL);
        ck_assert_int_eq(local_check_destination("new"), -EINVAL);
        ck_assert_int_eq(local_check_destination(""), -EINVAL);
        ck_assert_int_eq(symlink(at(f, "nowhere"), at(p, "dangling")), 0);
        ck_assert_int_eq(local_check_destination(p), 0);
        ck_assert_int_eq(symlink(dir, at(p, "dirlink")), 0);
        ck_assert_int_eq(local_check_destination(p), -EISDIR);
        ck_assert_int_eq(mkfifo(at(p, "fifo"), 0600), 0);
        ck_assert_int_eq(local_check_destination(p), -EBADFD);
}
END_TEST

/* What the daemon's credential threads will do: switch this thread's
 * filesystem identity, call the module, let the thread end. */
typedef struct as_user {
        char secret[PATH_MAX], open[PATH_MAX];
        char secret_dst[PATH_MAX], root_dst[PATH_MAX], shared_dst[PATH_MAX];
        int stat_r, secret_copy, root_copy, shared_copy;
        local_source_info secret_info, open_info;
        struct stat shared_st;
} as_user;

static void *run_as_nobody(void *arg) {
        as_user *u = arg;
        uint64_t bytes;

        /* setgroups() in glibc changes every thread; the raw syscall one. */
        if (syscall(SYS_setgroups, 0, NULL) < 0)
                return NULL;
        setfsgid(65534);
        setfsuid(65534);
        if (setfsuid((uid_t) -1) != 65534 || setfsgid((gid_t) -1) != 65534)
                return NULL;

        u->stat_r = local_stat_source(u->secret, &u->secret_info);
        if (u->stat_r == 0)
                u->stat_r = local_stat_source(u->open, &u->open_info);
        u->secret_copy = local_copy(u->secret, u->secret_dst, NULL, NULL, NULL, &bytes);
        u->root_copy = local_copy(u->open, u->root_dst, NULL, NULL, NULL, &bytes);
        u->shared_copy = local_copy(u->open, u->shared_dst, NULL, NULL, NULL, &bytes);
        if (u->shared_copy == 0 && stat(u->shared_dst, &u->shared_st) < 0)
                u->shared_copy = -errno;
        return NULL;
}

START_TEST(test_per_thread_credentials) {
        as_user u = {.stat_r = 1, .secret_copy = 1, .root_copy = 1, .shared_copy = 1};
        char p[PATH_MAX];
        pthread_t t;

        if (geteuid() != 0) {
                fprintf(stderr, "note: test_per_thread_credentials: needs root, skipped\n");
                return;
        }
        /* mkdtemp made the directory 0700; nobody must get through it. */
        ck_assert_int_eq(chmod(dir, 0755), 0);
        write_file(at(u.secret, "secret"), "s", 1, 0600);
        write_file(at(u.open, "open"), "o", 1, 0644);
        ck_assert_int_eq(mkdir(at(p, "rootonly"), 0755), 0);
        ck_assert_int_eq(mkdir(at(p, "shared"), 0755), 0);
        ck_assert_int_eq(chmod(p, 0777), 0);
        at(u.secret_dst, "shared/from-secret");
        at(u.root_dst, "rootonly/out");
        at(u.shared_dst, "shared/new/out");

        ck_assert_int_eq(pthread_create(&t, NULL, run_as_nobody, &u), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        ck_assert_msg(u.stat_r == 0, "could not switch credentials or stat: %d", u.stat_r);
        ck_assert(!u.secret_info.readable);
        ck_assert(u.open_info.readable);
        ck_assert_int_eq(u.secret_copy, -EACCES);
        ck_assert_int_eq(u.root_copy, -EACCES);
        ck_assert_int_eq(u.shared_copy, 0);
        ck_assert_uint_eq(u.shared_st.st_uid, 65534);
        /* This thread kept its own identity. */
        ck_assert_int_eq(setfsuid((uid_t) -1), 0);
        ck_assert_int_eq(access(u.secret, R_OK), 0);
}
END_TEST

static Suite *local_suite(void) {
        Suite *s = suite_create("local");
        TCase *copy = tcase_create("copy");
        TCase *other = tcase_create("other");

        tcase_add_checked_fixture(copy, setup, teardown);
        tcase_set_timeout(copy, 120);
        tcase_add_test(copy, test_copy_preserves_content_mode_times);
        tcase_add_test(copy, test_copy_drops_setuid);
        tcase_add_test(copy, test_copy_empty);
        tcase_add_test(copy, test_copy_20mib);
        tcase_add_test(copy, test_copy_creates_parents);
        tcase_add_test(copy, test_copy_overwrites);
        tcase_add_test(copy, test_copy_no_replace);
        tcase_add_test(copy, test_copy_replaces_symlink);
        tcase_add_test(copy, test_copy_parent_is_file);
        tcase_add_test(copy, test_copy_source_missing);
        tcase_add_test(copy, test_copy_directories);
        tcase_add_test(copy, test_copy_special_files);
        tcase_add_test(copy, test_copy_unreadable);
        tcase_add_test(copy, test_copy_same_file);
        tcase_add_test(copy, test_copy_cancel_before);
        tcase_add_test(copy, test_copy_cancel_during);
        tcase_add_test(copy, test_copy_proc_file);
        tcase_add_test(copy, test_copy_verify_mismatch);
        tcase_add_test(copy, test_copy_long_name);
        tcase_add_test(copy, test_copy_no_space);
        tcase_add_test(copy, test_copy_bad_paths);
        tcase_add_test(copy, test_per_thread_credentials);
        suite_add_tcase(s, copy);

        tcase_add_checked_fixture(other, setup, teardown);
        tcase_add_test(other, test_path_syntax);
        tcase_add_test(other, test_size);
        tcase_add_test(other, test_read);
        tcase_add_test(other, test_read_proc);
        tcase_add_test(other, test_stat_source);
        tcase_add_test(other, test_check_destination);
        suite_add_tcase(s, other);
        return s;
}

int main(void) {
        return fixture_run(local_suite());
}
