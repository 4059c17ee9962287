/* SPDX-License-Identifier: MIT */
#pragma once

/* libfds: a blocking client for fdsd, the node-local file transfer daemon.
 * Link with `pkg-config --libs fds`. */

#include <fds/client.h>
#include <fds/control.h>
#include <fds/copy.h>
#include <fds/error.h>
#include <fds/files.h>
#include <fds/list.h>
#include <fds/options.h>
#include <fds/status.h>
