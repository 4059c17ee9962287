/* SPDX-License-Identifier: MIT */
#pragma once

/* Weighted shares of the daemon-wide bandwidth cap. Under a cap, the calls
 * that move bytes share it as they share slots: first between users, by
 * the priority of each user's highest moving call, then between a user's
 * calls by their priorities. The shares are max-min fair: a call that uses
 * less than its share (its own cap, a slow server, a slow disk) leaves the
 * rest to the others, so a lone call still gets the whole cap.
 *
 * Every BWSHARE_PERIOD_MS the engine looks at what each moving call moved,
 * estimates what it wants, and sets the call's throttle and pace (its own
 * cap's) to the lower of its own cap and its share. Without a daemon cap
 * nothing runs and calls keep their own caps. */

#include <stddef.h>

typedef struct batch_engine batch_engine;

#define BWSHARE_PERIOD_MS 250

/* Weighted water-filling of total among n claims: out[i] <= demand[i]
 * (INFINITY: any), shares of what is left by weight, and what nobody
 * wants spread by weight again, so the outs add up to total. */
void bwshare_fill(const double *weight, const double *demand, size_t n, double total, double *out);

/* The cap or the calls changed: start or stop the periodic sharing. */
void bwshare_update(batch_engine *e);
/* Shutting down: no more sharing. */
void bwshare_stop(batch_engine *e);
