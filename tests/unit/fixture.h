/* SPDX-License-Identifier: MIT */
#pragma once

/* Data-driven unit tests: reading fixture files and listing a fixture
 * folder, shared so each test says only what makes one of its cases. */

#include <stddef.h>
#include <stdint.h>

/* The whole file at path, NUL-terminated (its length in *ret_len if not
 * NULL), or NULL when it cannot be opened. Free with free(). */
char *fixture_read(const char *path, size_t *ret_len);

/* Decides whether a folder entry is a case: returns the malloc'd name to
 * keep for it, or NULL to skip it (errno ENOMEM when out of memory). */
typedef char *(*fixture_keep_fn)(const char *dir, const char *name);

/* The kept names of dir's entries (dot files skipped), sorted. Returns 0,
 * or a negative errno. */
int fixture_list(const char *dir, fixture_keep_fn keep, char ***ret, size_t *ret_n);

/* A reproducible pseudo-random sequence (xorshift64) for generated cases:
 * *state is the seed, never 0. */
uint64_t fixture_rng(uint64_t *state);

/* Run the suite (verbosity from CK_VERBOSITY) and free it: EXIT_SUCCESS when
 * every check passed, for main() to return. */
struct Suite;
int fixture_run(struct Suite *s);
