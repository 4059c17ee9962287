/* SPDX-License-Identifier: MIT */
#pragma once

/* fdsd's settings: built-in defaults, then the configuration file
 * (/etc/fds/fdsd.conf, or --config PATH), then command-line flags, each
 * layer over the one before. The file is INI, parsed by inih:
 *
 *     [limits]
 *     max_connections = 256
 *
 * Every key has one type and range (conf.c's table); an unknown section or
 * key, a key given twice, or a value out of range is an error naming the
 * file and line. fdsd.conf(5) documents the keys. */

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "daemon.h"
#include "log.h"

typedef struct fdsd_conf {
        daemon_config d;        /* what the daemon runs with */
        mode_t socket_mode;     /* of a socket fdsd binds itself */
        const char *socket_group; /* NULL: the daemon's own group */
        const char *allow_users;  /* as written; resolved into d.allow_uids */
        const char *allow_groups; /* as written; resolved into d.allow_gids */
        gid_t socket_gid;       /* socket_group resolved; (gid_t) -1 when unset */
        log_level log_level;
        log_target log_target;
        const char *source;     /* the file read, NULL if none */
        char **strings;         /* owned: every string above points into these */
        size_t n_strings;
} fdsd_conf;

/* Built-in defaults. mode_mask is the process's umask (for file_mode). */
void conf_init(fdsd_conf *c, mode_t mode_mask);
/* Frees the strings; the settings are unusable afterwards. */
void conf_done(fdsd_conf *c);

/* Read path over the settings in c. With must_exist false a missing file
 * is no error (returns 0 and leaves c alone); returns 1 when the file was
 * read. On failure -EINVAL (bad content), -ENOENT, -EACCES, ... with
 * *ret_error a malloc'd "PATH:LINE: what is wrong" (or "PATH: ..."). */
int conf_load(fdsd_conf *c, const char *path, bool must_exist, char **ret_error);

/* Set one key from a command-line flag: flag is the long option without
 * "--" ("max-inflight"). -ENOENT when no key has that flag; -EINVAL with
 * *ret_error "invalid value for --FLAG: 'VALUE' (expected ...)". */
int conf_set_flag(fdsd_conf *c, const char *flag, const char *value, char **ret_error);

/* Checks across keys, once every layer is in: credentials come whole, a
 * multipart part fits the buffer memory. -EINVAL with *ret_error. */
int conf_check(const fdsd_conf *c, char **ret_error);

/* The effective settings in the file's own syntax, secrets masked. */
int conf_print(const fdsd_conf *c, FILE *f);

/* "AKIA****MPLE": the first and last four characters of 12 or more, else
 * "****". buf needs 13 bytes; returns buf. */
char *conf_mask_key_id(const char *key_id, char buf[static 13]);
