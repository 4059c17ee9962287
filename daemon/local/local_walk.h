/* SPDX-License-Identifier: MIT */
#pragma once

/* Walking a directory tree, for worker threads (see local.h: blocking, and
 * done with the calling thread's filesystem credentials). Recursive copies
 * and List share it, so a listing of a directory shows what a recursive
 * copy of it takes. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define LOCAL_WALK_MAX_DEPTH 256

/* One entry: rel is its path below the root (rel_len bytes, NUL-terminated),
 * st what stat says (symlinks followed). 0 goes on; a negative errno stops
 * the walk, which returns it. */
typedef int (*local_walk_fn)(const char *rel, size_t rel_len, const struct stat *st, void *userdata);

/*
 * Walk the directory dfd (taken over: closed in all cases).
 * recursive: every regular file below it, symlinks to files included;
 *   directories are entered, but not through symlinks, so a link loop
 *   cannot trap the walk; deeper than LOCAL_WALK_MAX_DEPTH: -ELOOP.
 * not recursive: the regular files and the directories right in it
 *   (symlinks followed), directories with S_ISDIR(st->st_mode).
 * Anything else (sockets, FIFOs, dangling links, entries gone meanwhile) is
 * passed over. 0, or a negative errno (-ENAMETOOLONG, -ENOMEM, what
 * opening a directory gave, or what found returned).
 */
int local_walk(int dfd, bool recursive, local_walk_fn found, void *userdata);
