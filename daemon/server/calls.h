/* SPDX-License-Identifier: MIT */
#pragma once

/* Live control: the Calls, Cancel and SetBandwidth methods. */

#include "message.h"

typedef struct session session;

typedef enum calls_op {
        CALLS_LIST,
        CALLS_CANCEL,
        CALLS_SET_BANDWIDTH,
} calls_op;

void calls_method(session *s, fds_call *call, calls_op op);
