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

/* Each write(2) gives the page cache at most this much. On a VM with free
 * page reporting (kernel 6.18, ext4), writing 1 GiB as fds's ranges do
 * (8 MiB ranges, 10 at a time) took 3.4-3.7 s of system time in 1 MiB
 * calls, 0.34-0.89 s in 64 KiB calls and 0.28-0.33 s in 32 KiB calls
 * (docs/PERFORMANCE.md): the cost follows the size of each call. Our
 * reading: a write sizes the page-cache folios it creates, and high-order
 * blocks are the ones handed back to the host, which faults them in again.
 * 32 calls per MiB cost little next to that. */
#define WRITE_STEP (32 * 1024)

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
