/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The struct that holds `ptr` as its member `member`. Used wherever a
 * libuv handle, list node or request is embedded in its owner, instead of
 * casting the embedded pointer (which only works when it is the first member). */
#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
