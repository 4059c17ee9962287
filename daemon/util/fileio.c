/* SPDX-License-Identifier: MIT */
#include "fileio.h"

#include <errno.h>
#include <unistd.h>

/* off < 0 means "at the current offset" (read/write instead of pread/pwrite). */
static ssize_t xfer_read(int fd, void *buf, size_t size, off_t off) {
        return off < 0 ? read(fd, buf, size) : pread(fd, buf, size, off);
}

static ssize_t xfer_write(int fd, const void *buf, size_t size, off_t off) {
        return off < 0 ? write(fd, buf, size) : pwrite(fd, buf, size, off);
}

static ssize_t read_loop(int fd, void *buf, size_t size, off_t off) {
        size_t done = 0;

        while (done < size) {
                ssize_t n = xfer_read(fd, (char *) buf + done, size - done, off < 0 ? -1 : off + (off_t) done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

/* Each write(2) gives the page cache at most this much. The kernel sizes a
 * new page-cache folio by the write that creates it, so a 1 MiB write asks
 * for 1 MiB folios. On a VM whose freed memory goes back to the host (free
 * page reporting), such high-order blocks are the ones handed back, and
 * touching them again faults in the host: writing 1 GiB in 1 MiB calls took
 * 2.5-3.0 s of system time here, in 64 KiB calls 0.22-0.40 s, in 16 KiB
 * calls 0.30-0.43 s (docs/PERFORMANCE.md). 16 calls per MiB cost nothing
 * next to that. */
#define WRITE_STEP (64 * 1024)

static int write_loop(int fd, const void *buf, size_t size, off_t off) {
        size_t done = 0;

        while (done < size) {
                size_t step = size - done < WRITE_STEP ? size - done : WRITE_STEP;
                ssize_t n = xfer_write(fd, (const char *) buf + done, step, off < 0 ? -1 : off + (off_t) done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                done += (size_t) n;
        }
        return 0;
}

ssize_t fileio_pread_full(int fd, void *buf, size_t size, off_t off) {
        return off < 0 ? -EINVAL : read_loop(fd, buf, size, off);
}

int fileio_pwrite_full(int fd, const void *buf, size_t size, off_t off) {
        return off < 0 ? -EINVAL : write_loop(fd, buf, size, off);
}

ssize_t fileio_read_full(int fd, void *buf, size_t size) {
        return read_loop(fd, buf, size, -1);
}

int fileio_write_full(int fd, const void *buf, size_t size) {
        return write_loop(fd, buf, size, -1);
}
