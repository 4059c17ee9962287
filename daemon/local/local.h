/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Synchronous operations on local files, for worker threads (never the event
 * loop thread: every call blocks on disk I/O).
 *
 * Each call does all its filesystem work on the calling thread and keeps
 * nothing between calls: no globals, no cached fds, no chdir, no umask
 * changes. A thread that switches its filesystem credentials (setfsuid,
 * setfsgid, raw SYS_setgroups) before a call therefore opens, creates and
 * checks everything with that user's permissions, readability checks
 * included.
 *
 * Return values: 0 (or a count) on success, a negative errno on failure;
 * ret_ parameters are written only on success. Besides what the kernel
 * reports (-ENOENT, -EACCES, -EPERM, -EROFS, -ENOSPC, -EDQUOT, -EIO,
 * -ELOOP, -ENAMETOOLONG, ...) the functions return:
 *   -EINVAL          path is NULL, empty, relative, or (destination only)
 *                    has a "." or ".." component
 *   -EISDIR          the file is a directory, or a destination ends in '/'
 *   -ENOTDIR         a parent component is not a directory
 *   -EBADFD          not a regular file (FIFO, socket, device node)
 *   -LOCAL_ESAME     local_copy: src and dst are the same file
 *   -LOCAL_EVERIFY   local_copy with verify: the copy differs from the source
 *   -ECANCELED       local_copy: the cancel flag was set
 *   -EFBIG           local_read: the file is larger than max_bytes
 *
 * Paths must be absolute. Sources are handed to the kernel as given
 * (symlinks and ".." resolved by it, like cp). Destinations are parsed here:
 * "//" counts as "/", a "." or ".." component is refused with -EINVAL
 * (missing directories are created one component at a time, so
 * "/a/new/../b" would leave a stray "new" where open() would have failed),
 * and a trailing '/' names a directory: -EISDIR.
 */

#include <errno.h>
#include <sys/types.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors of this module, as positive errno values like the others. Neither
 * is returned by the syscalls local_copy makes on local filesystems, so the
 * caller may map them to "same file" and "verification failed". */
#define LOCAL_ESAME ENOTUNIQ
#define LOCAL_EVERIFY EBADMSG

/* Syntax only, no I/O: 0, -EINVAL, -ENAMETOOLONG. */
int local_check_source_path(const char *path);
/* Syntax only, no I/O: 0, -EINVAL, -EISDIR (trailing '/'), -ENAMETOOLONG
 * (path of PATH_MAX bytes or more, or a component over NAME_MAX). */
int local_check_destination_path(const char *path);

typedef struct local_copy_options {
        /* fsync the copy before the rename and its directory after it
         * (not the parent directories created for it). */
        bool fsync;
        /* Before the rename, read source and copy again and compare them
         * byte for byte; -LOCAL_EVERIFY on a difference (for example a
         * source written to during the copy). With fsync too, the copy is
         * re-read from the disk, not from the page cache. */
        bool verify;
        /* Never replace dst: -EEXIST when it exists at the rename. */
        bool no_replace;
        /* Bandwidth: called on the copying thread after each chunk with
         * the n bytes it moved (chunks of at most chunk bytes, 0: the
         * default), to wait before the next; returns 0, or -ECANCELED to
         * stop. NULL: no cap. */
        int (*pace)(uint64_t n, void *userdata);
        void *pace_userdata;
        uint64_t chunk;
} local_copy_options;

/*
 * Copy the regular file src to dst, like Python's shutil.copy2: content,
 * permission bits (0777; setuid, setgid and sticky are dropped because the
 * copy belongs to whoever runs the copy) and atime/mtime to the nanosecond.
 *
 * src is opened following symlinks. dst's missing parent directories are
 * created (mkdir -p, mode 0777 less the umask) and stay if the copy then
 * fails. The data goes to ".<name>.fds-<16 hex digits>" in dst's directory
 * (<name> cut to fit NAME_MAX), created with O_EXCL, renamed over dst only
 * when everything succeeded, and unlinked on any failure or cancel, so an
 * existing dst is either untouched or wholly replaced. Replacing means a new
 * inode: hard links to the old dst keep the old content, and dst's own mode
 * does not matter, its directory's does (as for mv). A symlink at dst is
 * replaced, never written through; if it points to a directory, a
 * non-regular file or src, the copy is refused as if that were dst.
 *
 * Existing dst that is a directory: -EISDIR; not a regular file: -EBADFD;
 * the same inode as src (hard link, symlink, same path): -LOCAL_ESAME.
 *
 * Data moves with copy_file_range in chunks of 8 MiB, or read/write through a
 * 256 KiB buffer where that is not possible; a file that grows or shrinks
 * meanwhile is copied up to the end found by the last read.
 *
 * options:  NULL for the defaults (all false).
 * cancel:   NULL, or a flag another thread may set; checked before the
 *           start, between chunks (verify's too) and just before the
 *           rename: -ECANCELED.
 * progress: NULL, or a counter to which every copied chunk's byte count is
 *           added (relaxed atomic add), so a zeroed counter reads as this
 *           file's progress and a shared one as a total. Not rolled back on
 *           failure; verification does not count.
 * ret_bytes: bytes in the finished copy.
 */
int local_copy(const char *src, const char *dst, const local_copy_options *options,
               const atomic_bool *cancel, _Atomic uint64_t *progress, uint64_t *ret_bytes);

/* Size of the regular file at path (symlinks followed). A directory:
 * -EISDIR; other non-regular files: -EBADFD. Files in /proc and the like
 * report 0. */
int local_size(const char *path, uint64_t *ret_size);

/*
 * Read the whole regular file at path into a malloc'd buffer (free() it),
 * NUL-terminated after ret_len bytes and never NULL on success. A file that
 * stat reports larger than max_bytes is refused with -EFBIG before reading;
 * one that turns out larger while being read (or is in /proc and the like)
 * is refused after reading at most max_bytes + 1 bytes. The buffer grows
 * with what is read, never by what stat promised.
 */
int local_read(const char *path, size_t max_bytes, char **ret_data, size_t *ret_len);

typedef enum local_file_type {
        LOCAL_FILE_REGULAR,
        LOCAL_FILE_DIRECTORY,
        LOCAL_FILE_OTHER, /* FIFO, socket, device node */
} local_file_type;

typedef struct local_source_info {
        local_file_type type;
        uint64_t size; /* st_size (symlinks followed) */
        bool readable; /* the calling thread's filesystem credentials may
                        * open it for reading */
} local_source_info;

/* What validation needs to know about a copy source: stat plus one access
 * check (faccessat2 with AT_EACCESS, which honours the thread's fsuid), no
 * open. Missing: -ENOENT; a directory is a success with type DIRECTORY. */
int local_stat_source(const char *path, local_source_info *ret_info);

/*
 * Cheap check that local_copy could plausibly create dst: the path syntax
 * above, dst not an existing directory (-EISDIR) or non-regular file
 * (-EBADFD), no existing parent component that is not a directory
 * (-ENOTDIR), and the path searchable (-EACCES). Usually one lstat; it does
 * not check that the directory is writable.
 */
int local_check_destination(const char *path);

/*
 * A destination written by someone other than local_copy (an S3 download):
 * the same temporary-and-rename discipline, in three steps. Create makes the
 * missing parents and a temporary (".<name>.fds-<hex>", mode 0600) in dst's
 * directory, after the same checks as local_check_destination. Writes go to
 * ->fd. Commit sets the mode, closes and renames over dst. Free closes and,
 * unless committed, unlinks the temporary: a failed or canceled download
 * leaves nothing behind.
 */
typedef struct local_tmp {
        int dir;   /* the destination's directory (O_PATH) */
        int fd;    /* the temporary, open for reading and writing */
        char *name;
        char *parent; /* dst's directory as given, for the crash journal */
        bool journaled; /* its begin is in the journal */
        char tmp[256];
        bool committed;
        bool no_replace; /* commit fails with -EEXIST rather than replace dst */
} local_tmp;

int local_tmp_create(const char *dst, local_tmp **ret);
/* Truncate for a fresh attempt (a retried download starts over). */
int local_tmp_reset(local_tmp *t);
int local_tmp_commit(local_tmp *t, mode_t mode, bool do_fsync);
local_tmp *local_tmp_free(local_tmp *t);
