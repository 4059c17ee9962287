/* SPDX-License-Identifier: MIT */
#pragma once

/* Intrusive circular doubly-linked list: the node lives inside its owner,
 * so linking and unlinking never allocate. */

#include <stdbool.h>
#include <stddef.h>

typedef struct list_node {
        struct list_node *prev, *next;
} list_node;

#define LIST_INIT(head) { &(head), &(head) }
#define list_entry(node, type, member) ((type *) ((char *) (node) - offsetof(type, member)))

static inline void list_init(list_node *h) {
        h->prev = h->next = h;
}

static inline bool list_empty(const list_node *h) {
        return h->next == h;
}

/* A node not on any list points at itself, so unlinking twice is harmless. */
static inline bool list_linked(const list_node *n) {
        return n->next && n->next != n;
}

static inline void list_add_tail(list_node *h, list_node *n) {
        n->prev = h->prev;
        n->next = h;
        h->prev->next = n;
        h->prev = n;
}

static inline void list_add_head(list_node *h, list_node *n) {
        list_add_tail(h->next, n);
}

static inline void list_del(list_node *n) {
        if (!n->next)
                return;
        n->prev->next = n->next;
        n->next->prev = n->prev;
        n->prev = n->next = n;
}

#define list_for_each_safe(pos, tmp, head) \
        for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)
