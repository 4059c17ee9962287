/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/* Whole-buffer reads and writes on blocking descriptors (files, used from
 * the thread pool). They retry EINTR and short transfers, so callers never
 * write that loop again. */

/* pread until `size` bytes or end of file; returns the bytes read (less than
 * `size` only at end of file) or -errno. */
ssize_t fileio_pread_full(int fd, void *buf, size_t size, off_t off);

/* pwrite all of `size` bytes, at most 32 KiB per call (see fileio.c); 0 or
 * -errno (-EIO if the kernel writes nothing). */
int fileio_pwrite_full(int fd, const void *buf, size_t size, off_t off);

/* read until `size` bytes or end of file, from the current offset. */
ssize_t fileio_read_full(int fd, void *buf, size_t size);

/* write all of `size` bytes at the current offset, in the same steps; 0 or
 * -errno. */
int fileio_write_full(int fd, const void *buf, size_t size);
