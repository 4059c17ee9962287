/* SPDX-License-Identifier: MIT */
#pragma once

/* The parts of one file in flight, as multipart upload (s3_multipart.c)
 * and ranged download (s3_ranged.c) both keep them: an array of slots,
 * each a part being moved, waiting for its buffer memory or its request.
 * A strategy's part struct embeds a part_slot as its first member; these
 * helpers take the array and its element size (part_pool_take and
 * part_pool_cancel are macros that pass sizeof). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "delay.h"
#include "s3_client.h"

typedef struct part_slot {
        unsigned index;          /* 0-based; S3's partNumber is index + 1 */
        uint64_t off, len;       /* the part's bytes in the object */
        budget_waiter mem;       /* its buffer grant */
        delay_entry later;       /* a canceled wait, reported from the loop */
        s3_call *call;           /* its request in flight */
        bool busy;
        bool worker;             /* a worker task still uses the slot */
} part_slot;

/* A slot neither busy nor used by a worker, zeroed (the whole element),
 * marked busy and given part `index` of an object of `size` cut in `chunk`
 * bytes; NULL when every slot is taken. */
part_slot *part_pool_take_(void *slots, size_t stride, unsigned n_slots, unsigned index, uint64_t size,
                           uint64_t chunk);
#define part_pool_take(slots, n_slots, index, size, chunk)                                                  \
        part_pool_take_((slots), sizeof(*(slots)), (n_slots), (index), (size), (chunk))

/* Cancel every busy part: its request, or its wait for buffer memory (then
 * on_later(&slot->later) runs from the loop). */
void part_pool_cancel_(void *slots, size_t stride, unsigned n_slots, budget *buffers, delay_fn on_later);
#define part_pool_cancel(slots, n_slots, buffers, on_later)                                                 \
        part_pool_cancel_((slots), sizeof(*(slots)), (n_slots), (buffers), (on_later))

/* The part is over: the slot is free and its buffer memory returned. */
void part_slot_release(part_slot *s, budget *buffers);
