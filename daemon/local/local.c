/* SPDX-License-Identifier: MIT */
#include "local.h"
#include "journal.h"
#include "fileio.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The cancel flag is checked and progress reported once per chunk. */
#define COPY_CHUNK (8u << 20)
/* Buffer for the read/write fallback; verify uses two of them. */
#define BUF_SIZE (256u << 10)
/* Free temporary names tried before giving up with -EEXIST. */
#define TMP_ATTEMPTS 16
/* ".<name>.fds-<16 hex>": the part of <name> kept so it fits NAME_MAX. */
#define TMP_NAME_KEEP (NAME_MAX - 22)

int local_check_source_path(const char *path) {
        if (!path || path[0] != '/')
                return -EINVAL;
        if (strnlen(path, PATH_MAX) >= PATH_MAX)
                return -ENAMETOOLONG;
        return 0;
}

int local_check_destination_path(const char *path) {
        size_t len;

        if (!path || path[0] != '/')
                return -EINVAL;
        len = strnlen(path, PATH_MAX);
        if (len >= PATH_MAX)
                return -ENAMETOOLONG;
        for (const char *p = path;;) {
                size_t n;

                p += strspn(p, "/");
                n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.')))
                        return -EINVAL;
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                p += n;
        }
        if (path[len - 1] == '/')
                return -EISDIR;
        return 0;
}

static int stat_regular(const struct stat *st) {
        if (S_ISDIR(st->st_mode))
                return -EISDIR;
        if (!S_ISREG(st->st_mode))
                return -EBADFD;
        return 0;
}

static bool cancelled(const atomic_bool *cancel) {
        return cancel && atomic_load_explicit(cancel, memory_order_relaxed);
}

/* Open a regular file for reading. O_NONBLOCK keeps open() of a FIFO from
 * waiting for a writer; it is dropped again once the file is known to be
 * regular. */
static int open_source(const char *path, struct stat *ret_st) {
        struct stat st;
        int fd, flags, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        r = stat_regular(&st);
        if (r < 0)
                goto fail;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
                r = -errno;
                goto fail;
        }
        *ret_st = st;
        return fd;
fail:
        close(fd);
        return r;
}

/* Errors after which plain read/write may still work: other filesystem,
 * no support, or a file (in /proc, say) that copy_file_range refuses. */
static bool copy_range_unsupported(int error) {
        return error == EXDEV || error == ENOSYS || error == EOPNOTSUPP || error == EINVAL;
}

/* The two buffers, allocated on first need: most copies use neither. */
static int buf_get(char **buf) {
        if (!*buf)
                *buf = malloc(2 * BUF_SIZE);
        return *buf ? 0 : -ENOMEM;
}

/* One chunk by read/write at off: bytes copied, 0 at EOF. */
static ssize_t copy_chunk_rw(int in, int out, off_t off, char **buf) {
        ssize_t n;
        int r;

        r = buf_get(buf);
        if (r < 0)
                return r;
        n = fileio_pread_full(in, *buf, BUF_SIZE, off);
        if (n <= 0)
                return n;
        r = fileio_pwrite_full(out, *buf, (size_t) n, off);
        if (r < 0)
                return r;
        return n;
}

/* Copy in to out from offset 0 until a read finds EOF. copy_file_range
 * returning 0 is not trusted as EOF (it does so for files whose size stat
 * does not know); one read confirms it. */
static int copy_data(int in, int out, const local_copy_options *opts, const atomic_bool *cancel,
                     _Atomic uint64_t *progress, char **buf, uint64_t *ret_bytes) {
        bool use_range = true;
        off_t off = 0;
        size_t chunk = opts->chunk && opts->chunk < COPY_CHUNK ? (size_t) opts->chunk : COPY_CHUNK;

        for (;;) {
                ssize_t n;

                if (cancelled(cancel))
                        return -ECANCELED;
                if (use_range) {
                        off_t off_in = off, off_out = off;

                        n = copy_file_range(in, &off_in, out, &off_out, chunk, 0);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && !copy_range_unsupported(errno))
                                return -errno;
                        if (n <= 0) {
                                use_range = false;
                                continue;
                        }
                } else {
                        n = copy_chunk_rw(in, out, off, buf);
                        if (n < 0)
                                return (int) n;
                        if (n == 0)
                                break;
                }
                off += n;
                /* A capped copy pays for what it moved (not for what it
                 * asked, which overcharges the last chunk and EOF) and
                 * waits for its slot before the next chunk. */
                if (opts->pace) {
                        int r = opts->pace((uint64_t) n, opts->pace_userdata);
                        if (r < 0)
                                return r;
                }
                if (progress)
                        atomic_fetch_add_explicit(progress, (uint64_t) n, memory_order_relaxed);
        }
        *ret_bytes = (uint64_t) off;
        return 0;
}

static int verify_data(int in, int out, const atomic_bool *cancel, char **buf) {
        off_t off = 0;
        int r;

        r = buf_get(buf);
        if (r < 0)
                return r;
        for (;;) {
                ssize_t a, b;

                if (cancelled(cancel))
                        return -ECANCELED;
                a = fileio_pread_full(in, *buf, BUF_SIZE, off);
                if (a < 0)
                        return (int) a;
                b = fileio_pread_full(out, *buf + BUF_SIZE, BUF_SIZE, off);
                if (b < 0)
                        return (int) b;
                if (a != b || memcmp(*buf, *buf + BUF_SIZE, (size_t) a) != 0)
                        return -LOCAL_EVERIFY;
                if (a == 0)
                        return 0;
                off += a;
        }
}

/* Split a checked destination into a malloc'd parent path and the final
 * name, which points into path. */
static int split_destination(const char *path, char **ret_parent, const char **ret_name) {
        const char *slash = strrchr(path, '/');
        size_t len = (size_t) (slash - path);
        char *parent;

        while (len > 0 && path[len - 1] == '/')
                len--;
        parent = len > 0 ? strndup(path, len) : strdup("/");
        if (!parent)
                return -ENOMEM;
        *ret_parent = parent;
        *ret_name = slash + 1;
        return 0;
}

/* Open (O_PATH) the directory parent, creating missing components as
 * mkdir -p does. Symlinks in it are followed, as open() would. */
static int open_parent(char *parent) {
        char *save = NULL;
        int fd, r;

        fd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        if (errno != ENOENT)
                return -errno;

        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (char *c = strtok_r(parent, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int next = openat(fd, c, O_PATH | O_DIRECTORY | O_CLOEXEC);

                if (next < 0 && errno == ENOENT) {
                        /* EEXIST: made by someone else meanwhile, or a
                         * dangling symlink, which the second open reports. */
                        if (mkdirat(fd, c, 0777) < 0 && errno != EEXIST) {
                                r = -errno;
                                goto fail;
                        }
                        next = openat(fd, c, O_PATH | O_DIRECTORY | O_CLOEXEC);
                }
                if (next < 0) {
                        r = -errno;
                        goto fail;
                }
                close(fd);
                fd = next;
        }
        return fd;
fail:
        close(fd);
        return r;
}

/* Whether the existing name in dir, if any, may be replaced: only a regular
 * file, and not src itself (when a copy of src is what replaces it). A
 * symlink is judged by what it points to; one that cannot be followed is
 * simply replaced. */
static int check_existing(int dir, const char *name, const struct stat *src) {
        struct stat st;
        int r;

        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISLNK(st.st_mode) && fstatat(dir, name, &st, 0) < 0)
                return 0;
        r = stat_regular(&st);
        if (r < 0)
                return r;
        if (src && st.st_dev == src->st_dev && st.st_ino == src->st_ino)
                return -LOCAL_ESAME;
        return 0;
}

static uint64_t tmp_suffix(unsigned attempt) {
        struct timespec ts;
        uint64_t v;

        if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t) sizeof v)
                return v;
        /* No entropy yet (early boot). The name only has to be unlikely to
         * be taken; O_EXCL keeps a collision harmless. */
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t) ts.tv_nsec ^ ((uint64_t) ts.tv_sec << 32) ^ ((uint64_t) gettid() << 20);
        return (v + attempt) * UINT64_C(0x9e3779b97f4a7c15);
}

static int create_temp(int dir, const char *name, char tmp[static NAME_MAX + 1]) {
        int keep = (int) strnlen(name, TMP_NAME_KEEP);

        for (unsigned i = 0; i < TMP_ATTEMPTS; i++) {
                int fd;

                snprintf(tmp, NAME_MAX + 1, ".%.*s.fds-%016" PRIx64, keep, name, tmp_suffix(i));
                fd = openat(dir, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
                if (fd >= 0)
                        return fd;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

/* Make the finished temporary look like src, and durable if asked. Verify
 * comes before futimens: reading the copy afterwards could move its atime. */
static int finish_temp(int in, int out, const struct stat *st, const local_copy_options *opts,
                       const atomic_bool *cancel, char **buf) {
        int r;

        if (opts->verify) {
                if (opts->fsync) {
                        if (fdatasync(out) < 0)
                                return -errno;
                        /* Drop the now clean pages so verify reads the disk. */
                        (void) posix_fadvise(out, 0, 0, POSIX_FADV_DONTNEED);
                }
                r = verify_data(in, out, cancel, buf);
                if (r < 0)
                        return r;
        }
        if (fchmod(out, st->st_mode & 0777) < 0)
                return -errno;
        if (futimens(out, (const struct timespec[2]){st->st_atim, st->st_mtim}) < 0)
                return -errno;
        if (opts->fsync && fsync(out) < 0)
                return -errno;
        return 0;
}

/* The temporary beside dst, in t: dst's directory (parents made as needed),
 * after check_existing (src: the file a copy is made of, or NULL). */
static int tmp_open(local_tmp *t, const char *dst, const struct stat *src) {
        char *parent = NULL;
        const char *name;
        int r;

        *t = (local_tmp){ .dir = -1, .fd = -1 };
        r = split_destination(dst, &parent, &name);
        if (r < 0)
                return r;
        t->name = strdup(name);
        /* open_parent cuts parent up as it makes missing directories. */
        t->parent = strdup(parent);
        if (!t->name || !t->parent) {
                r = -ENOMEM;
                goto finish;
        }
        t->dir = r = open_parent(parent);
        if (r < 0)
                goto finish;
        r = check_existing(t->dir, name, src);
        if (r < 0)
                goto finish;
        t->fd = r = create_temp(t->dir, name, t->tmp);
        if (r < 0) {
                t->tmp[0] = '\0'; /* not ours: never unlinked */
                goto finish;
        }
        /* Should fdsd be killed now, the next start removes it. */
        t->journaled = journal_tmp_begin(t->parent, t->tmp);
finish:
        free(parent);
        return r < 0 ? r : 0;
}

/* Close the temporary (where NFS reports a failed write-back) and rename it
 * over dst. After EINTR Linux has closed the fd anyway: nothing to retry. */
static int tmp_rename(local_tmp *t) {
        int r = close(t->fd);

        t->fd = -1;
        if (r < 0 && errno != EINTR)
                return -errno;
        /* no_replace: atomically, so a file that appeared since the check
         * before the copy is not lost either. */
        if (t->no_replace ? renameat2(t->dir, t->tmp, t->dir, t->name, RENAME_NOREPLACE) < 0
                          : renameat(t->dir, t->tmp, t->dir, t->name) < 0)
                return -errno;
        t->committed = true;
        return 0;
}

/* Close, and unless renamed, unlink the temporary. */
static void tmp_release(local_tmp *t) {
        if (t->fd >= 0)
                close(t->fd);
        if (!t->committed && t->tmp[0] && t->dir >= 0)
                (void) unlinkat(t->dir, t->tmp, 0);
        if (t->journaled)
                journal_tmp_end(t->parent, t->tmp);
        if (t->dir >= 0)
                close(t->dir);
        free(t->name);
        free(t->parent);
        *t = (local_tmp){ .dir = -1, .fd = -1 };
}

int local_tmp_create(const char *dst, local_tmp **ret) {
        local_tmp *t;
        int r;

        r = local_check_destination_path(dst);
        if (r < 0)
                return r;
        t = malloc(sizeof(*t));
        if (!t)
                return -ENOMEM;
        r = tmp_open(t, dst, NULL);
        if (r < 0) {
                local_tmp_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

int local_tmp_reset(local_tmp *t) {
        if (ftruncate(t->fd, 0) < 0)
                return -errno;
        return 0;
}

int local_tmp_commit(local_tmp *t, mode_t mode, bool do_fsync) {
        if (fchmod(t->fd, mode & 0777) < 0)
                return -errno;
        if (do_fsync && fsync(t->fd) < 0)
                return -errno;
        return tmp_rename(t);
}

local_tmp *local_tmp_free(local_tmp *t) {
        if (!t)
                return NULL;
        tmp_release(t);
        free(t);
        return NULL;
}

int local_copy(const char *src, const char *dst, const local_copy_options *options,
               const atomic_bool *cancel, _Atomic uint64_t *progress, uint64_t *ret_bytes) {
        local_copy_options opts = options ? *options : (local_copy_options){0};
        local_tmp t = { .dir = -1, .fd = -1 };
        int in = -1, syncfd = -1, r;
        char *buf = NULL;
        struct stat st;
        uint64_t bytes = 0;

        r = local_check_source_path(src);
        if (r < 0)
                return r;
        r = local_check_destination_path(dst);
        if (r < 0)
                return r;
        if (cancelled(cancel))
                return -ECANCELED;

        /* The source first, so a bad source creates no directories. */
        in = open_source(src, &st);
        if (in < 0)
                return in;
        r = tmp_open(&t, dst, &st);
        if (r < 0)
                goto finish;
        t.no_replace = opts.no_replace;
        if (opts.fsync) {
                /* Opened now so a failure cannot come after the rename. */
                syncfd = openat(t.dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (syncfd < 0) {
                        r = -errno;
                        goto finish;
                }
        }
        r = copy_data(in, t.fd, &opts, cancel, progress, &buf, &bytes);
        if (r < 0)
                goto finish;
        r = finish_temp(in, t.fd, &st, &opts, cancel, &buf);
        if (r < 0)
                goto finish;
        if (cancelled(cancel)) {
                r = -ECANCELED;
                goto finish;
        }
        r = tmp_rename(&t);
        if (r < 0)
                goto finish;
        /* The one failure left after dst was replaced: rare, and reported
         * because fsync was asked for. */
        if (syncfd >= 0 && fsync(syncfd) < 0) {
                r = -errno;
                goto finish;
        }
        *ret_bytes = bytes;
finish:
        tmp_release(&t);
        if (syncfd >= 0)
                close(syncfd);
        close(in);
        free(buf);
        return r;
}

int local_size(const char *path, uint64_t *ret_size) {
        struct stat st;
        int r;

        r = local_check_source_path(path);
        if (r < 0)
                return r;
        if (stat(path, &st) < 0)
                return -errno;
        r = stat_regular(&st);
        if (r < 0)
                return r;
        *ret_size = (uint64_t) st.st_size;
        return 0;
}

/* Read fd to its end into a growing buffer of at most limit bytes (the file
 * may grow while read): -EFBIG when it holds more. The data is followed by a
 * NUL, not counted in *ret_len. */
static int read_bounded(int fd, size_t size_hint, size_t limit, char **ret_data, size_t *ret_len) {
        size_t cap = size_hint < 4096 ? 4096 : size_hint + 1, len = 0;
        char *buf;

        if (cap > limit)
                cap = limit;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        char *p;

                        if (cap == limit) {
                                free(buf);
                                return -EFBIG;
                        }
                        cap = cap > limit - cap ? limit : 2 * cap;
                        p = realloc(buf, cap);
                        if (!p) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = p;
                }
                n = fileio_read_full(fd, buf + len, cap - len);
                if (n < 0) {
                        free(buf);
                        return (int) n;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        /* The last read was given room, so len < cap. */
        buf[len] = '\0';
        *ret_data = buf;
        *ret_len = len;
        return 0;
}

int local_read(const char *path, size_t max_bytes, char **ret_data, size_t *ret_len) {
        struct stat st;
        int fd, r;

        r = local_check_source_path(path);
        if (r < 0)
                return r;
        /* No buffer can be larger anyway; keeps limit from overflowing. */
        if (max_bytes > (size_t) SSIZE_MAX - 1)
                max_bytes = (size_t) SSIZE_MAX - 1;
        fd = open_source(path, &st);
        if (fd < 0)
                return fd;
        /* Reading one byte past max_bytes is how growth past it shows. */
        r = (uint64_t) st.st_size > max_bytes
                    ? -EFBIG
                    : read_bounded(fd, (size_t) st.st_size, max_bytes + 1, ret_data, ret_len);
        close(fd);
        return r;
}

/* R_OK for the calling thread's filesystem credentials. glibc's faccessat()
 * falls back to the real uid (or to geteuid(), which is per process) on
 * kernels without faccessat2 (before 5.8), so call the syscall and fall
 * back to an open() of our own. */
static int check_readable(const char *path, const struct stat *st, bool *ret) {
        int fd;

#ifdef SYS_faccessat2
        if (syscall(SYS_faccessat2, AT_FDCWD, path, R_OK, AT_EACCESS) == 0) {
                *ret = true;
                return 0;
        }
        if (errno == EACCES || errno == EPERM) {
                *ret = false;
                return 0;
        }
        if (errno != ENOSYS)
                return -errno;
#endif
        /* Opening a device node can have side effects: not tried. */
        if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
                *ret = false;
                return 0;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 && errno != EACCES && errno != EPERM)
                return -errno;
        if (fd >= 0)
                close(fd);
        *ret = fd >= 0;
        return 0;
}

int local_stat_source(const char *path, local_source_info *ret_info) {
        struct stat st;
        bool readable = false;
        int r;

        r = local_check_source_path(path);
        if (r < 0)
                return r;
        if (stat(path, &st) < 0)
                return -errno;
        r = check_readable(path, &st, &readable);
        if (r < 0)
                return r;
        *ret_info = (local_source_info){
                .type = S_ISREG(st.st_mode)   ? LOCAL_FILE_REGULAR
                        : S_ISDIR(st.st_mode) ? LOCAL_FILE_DIRECTORY
                                              : LOCAL_FILE_OTHER,
                .size = (uint64_t) st.st_size,
                .readable = readable,
        };
        return 0;
}

int local_check_destination(const char *path) {
        struct stat st;
        int r;

        r = local_check_destination_path(path);
        if (r < 0)
                return r;
        /* ENOENT: the first missing component's parents are all
         * directories (else ENOTDIR), so mkdir -p can proceed. */
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        /* As local_copy: a symlink is judged by its target, if any. */
        if (S_ISLNK(st.st_mode) && stat(path, &st) < 0)
                return 0;
        return stat_regular(&st);
}

_Static_assert(sizeof(((local_tmp *) 0)->tmp) == NAME_MAX + 1, "temporary name buffer");

