/* SPDX-License-Identifier: MIT */
#pragma once

/* Users and groups in the settings ([socket] group, [access]), each a name
 * or a number. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 0; -ENOENT for a name that does not exist, -ERANGE for a number too
 * large, -ENOMEM, or the lookup's own error. */
int conf_id_resolve(const char *s, bool group, uint32_t *ret);
/* "alice, 1001 bob" (commas, spaces or tabs between): a malloc'd array.
 * -EINVAL for an empty list, else as conf_id_resolve for the first that
 * fails. */
int conf_id_resolve_list(const char *value, bool groups, uint32_t **ret, size_t *ret_n);
