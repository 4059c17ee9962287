/* SPDX-License-Identifier: MIT */
#pragma once

/* Where fdsd listens and fdsctl connects, agreed by both sides:
 * FDS_SOCKET if set, else $XDG_RUNTIME_DIR/fds/fdsd.sock for a user,
 * /run/fds/fdsd.sock for root (or a user without XDG_RUNTIME_DIR). */

/* Returns a malloc'd path in *ret, 0 on success, negative errno on failure. */
int fds_socket_path_default(char **ret);
