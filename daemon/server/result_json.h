/* SPDX-License-Identifier: MIT */
#pragma once

/* A call's per-file results and summary as JSON, shared by the replies
 * sent as files finish and by the last reply. */

#include <jansson.h>

#include "batch.h"

json_t *result_error_json(const file_error *e);
json_t *result_copy_json(const job_file *f);
json_t *result_summary_json(const batch *b);
