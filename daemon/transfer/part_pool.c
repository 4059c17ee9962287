/* SPDX-License-Identifier: MIT */
#include "part_pool.h"

#include <string.h>

#include "parts.h"

static part_slot *slot_at(void *slots, size_t stride, unsigned i) {
        return (part_slot *) ((char *) slots + (size_t) i * stride);
}

part_slot *part_pool_take_(void *slots, size_t stride, unsigned n_slots, unsigned index, uint64_t size,
                           uint64_t chunk) {
        for (unsigned i = 0; i < n_slots; i++) {
                part_slot *s = slot_at(slots, stride, i);
                if (s->busy || s->worker)
                        continue;
                memset(s, 0, stride);
                s->busy = true;
                s->index = index;
                list_init(&s->later.link);
                parts_range(size, chunk, index, &s->off, &s->len);
                return s;
        }
        return NULL;
}

void part_pool_cancel_(void *slots, size_t stride, unsigned n_slots, budget *buffers, delay_fn on_later) {
        for (unsigned i = 0; i < n_slots; i++) {
                part_slot *s = slot_at(slots, stride, i);
                if (!s->busy)
                        continue;
                if (s->call)
                        s3_call_cancel(s->call);
                else
                        budget_cancel_wait(buffers, &s->mem, &s->later, on_later);
        }
}

void part_slot_release(part_slot *s, budget *buffers) {
        s->busy = false;
        s->call = NULL;
        budget_release(buffers, &s->mem);
}
