/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Credentials from a profile's credential_process, as botocore runs it: the
 * command line is split the way Python's shlex.split() does (no shell, no
 * expansion), run with the daemon's environment and stdin from /dev/null,
 * and its standard output is a JSON document:
 *
 *   {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
 *    "SessionToken": "...", "Expiration": "2030-01-01T00:00:00Z"}
 *
 * SessionToken and Expiration are optional; without an Expiration the
 * credentials are kept until the daemon stops, otherwise as creds.h says.
 * A run that exits non-zero fails with the first line of its standard
 * error in the message; one that outlives the timeout is killed.
 *
 * With a user set (the daemon is root, the caller is not), the process
 * runs as that user, with the user's primary group, no supplementary
 * groups, and HOME, USER and LOGNAME of the user's passwd entry.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "creds.h"

#define CREDPROC_TIMEOUT_MS 60000
#define CREDPROC_STDOUT_MAX (64u * 1024u)
#define CREDPROC_STDERR_MAX 4096u

typedef struct credproc_config {
        const char *command; /* as in the profile, copied */
        const char *profile; /* for messages, copied */
        bool set_user;       /* run as uid and gid */
        uid_t uid;
        gid_t gid;
        unsigned timeout_ms; /* 0: CREDPROC_TIMEOUT_MS */
        int64_t (*now)(void *userdata);
        void *now_userdata;
} credproc_config;

/*
 * A creds object that runs the command. 0, -EINVAL (no command, or one
 * that does not split: an unclosed quote), -ENOMEM. Its failures are a
 * negative errno and a sentence beginning "credential_process of profile
 * 'NAME'":
 *   -ENOENT, -EACCES, ...  the program could not be started
 *   -ETIMEDOUT   it ran longer than the timeout and was killed
 *   -EPERM       it exited with a non-zero status or was killed by a signal
 *   -EFBIG       it wrote more than CREDPROC_STDOUT_MAX bytes
 *   -EBADMSG     its output is not such a document (Version must be 1)
 *   -ECANCELED   creds_wait_cancel() or creds_close()
 */
int credproc_new(uv_loop_t *loop, const credproc_config *config, creds **ret);

/* shlex.split(s) in POSIX mode: words split at blanks, '...' literal,
 * "..." where \ escapes only " and \, \ outside quotes escaping any
 * character, # starting no comment (comments=False), '' an empty word.
 * A NULL-terminated array of words in *ret (free with credproc_argv_free);
 * 0, -EINVAL (an unclosed quote or trailing \), -ENOMEM. */
int credproc_split(const char *s, char ***ret);
void credproc_argv_free(char **argv);
