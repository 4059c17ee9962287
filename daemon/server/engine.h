/* SPDX-License-Identifier: MIT */
#pragma once

/* The transfer engine's shared parts, set up with the first batch and
 * closed once the daemon is stopping and the last batch is gone. */

typedef struct fds_daemon fds_daemon;

int engine_ready(fds_daemon *d);
void engine_shutdown(fds_daemon *d);
