/* SPDX-License-Identifier: MIT */
#include "fsq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "list.h"

/* Pending requests are queued per owner (one per call), and the threads
 * take the owners in turn: a call with one file waits for one request of
 * each other call, not for every request a big batch queued before it. The first request of each owner is in the ring
 * (q->pending), the owner's others in its `more` list. */
typedef struct fsq_node {
        list_node link;         /* in the ring, in a head's more, or in done */
        list_node more;         /* a head's: the owner's later requests */
        uv_work_t *req;
        uv_work_cb work;
        uv_after_work_cb after;
        const fs_creds *creds;
        const void *owner;
        int status;
} fsq_node;

struct fsq {
        uv_async_t async;       /* async.data points back */
        pthread_mutex_t lock;
        pthread_cond_t wake;
        list_node pending;      /* the ring of owners' first requests; guarded by lock */
        list_node done;         /* guarded by lock */
        pthread_t *threads;
        unsigned n_threads;
        bool stopping;          /* guarded by lock */
        void (*close_cb)(void *userdata);
        void *close_data;
        uid_t own_uid;
        gid_t own_gid;
        gid_t *own_groups;
        int n_own_groups;
};

bool fsq_can_switch(void) {
        return geteuid() == 0;
}

/* Per-thread only: glibc's setgroups() would change every thread. */
static int thread_setgroups(int n, const gid_t *list) {
        return syscall(SYS_setgroups, n, list) < 0 ? -errno : 0;
}

/* setfsuid/setfsgid report the previous id, not errors: read the value
 * back to know it took. */
static int become(const fs_creds *c) {
        int r = thread_setgroups(c->n_groups, c->groups);
        if (r < 0)
                return r;
        setfsgid(c->gid);
        if ((gid_t) setfsgid((gid_t) -1) != c->gid)
                return -EPERM;
        setfsuid(c->uid);
        if ((uid_t) setfsuid((uid_t) -1) != c->uid)
                return -EPERM;
        return 0;
}

/* Back to the daemon's identity: uid first, which gives back the
 * capabilities needed to change the rest. */
static void restore(fsq *q) {
        setfsuid(q->own_uid);
        setfsgid(q->own_gid);
        (void) thread_setgroups(q->n_own_groups, q->own_groups);
}

static void list_move_all(list_node *dst, list_node *src) {
        list_init(dst);
        if (list_empty(src))
                return;
        *dst = *src;
        dst->next->prev = dst;
        dst->prev->next = dst;
        list_init(src);
}

/* Out of the pending requests, keeping each owner's order: a head is
 * followed by its owner's next request, at the back of the ring when
 * taken (the owner waits its turn), at the same place when canceled. */
static void pending_remove(fsq *q, fsq_node *n, bool to_back) {
        if (!list_empty(&n->more)) {
                fsq_node *next = list_entry(n->more.next, fsq_node, link);
                list_del(&next->link);
                list_move_all(&next->more, &n->more);
                if (to_back)
                        list_add_tail(&q->pending, &next->link);
                else
                        list_add_head(&n->link, &next->link);
        }
        list_del(&n->link);
}

static void pending_add(fsq *q, fsq_node *n) {
        list_node *i, *t;
        list_for_each_safe(i, t, &q->pending) {
                fsq_node *head = list_entry(i, fsq_node, link);
                if (head->owner == n->owner) {
                        list_add_tail(&head->more, &n->link);
                        return;
                }
        }
        list_add_tail(&q->pending, &n->link);
}

/* A request that cannot take its peer's identity must not run at all:
 * the work sees an error instead of the daemon's own permissions. */
static void *worker(void *arg) {
        fsq *q = arg;
        pthread_mutex_lock(&q->lock);
        for (;;) {
                while (!q->stopping && list_empty(&q->pending))
                        pthread_cond_wait(&q->wake, &q->lock);
                if (list_empty(&q->pending))
                        break;
                fsq_node *n = list_entry(q->pending.next, fsq_node, link);
                pending_remove(q, n, true);
                pthread_mutex_unlock(&q->lock);

                int r = n->creds ? become(n->creds) : 0;
                if (r == 0)
                        n->work(n->req);
                if (n->creds)
                        restore(q);
                n->status = r < 0 ? UV_EPERM : 0;

                pthread_mutex_lock(&q->lock);
                list_add_tail(&q->done, &n->link);
                uv_async_send(&q->async);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

static void on_async(uv_async_t *a) {
        fsq *q = a->data;
        list_node done;
        list_init(&done);
        pthread_mutex_lock(&q->lock);
        if (!list_empty(&q->done)) {
                /* Take the whole list at once. */
                done = q->done;
                done.next->prev = &done;
                done.prev->next = &done;
                list_init(&q->done);
        }
        pthread_mutex_unlock(&q->lock);
        while (!list_empty(&done)) {
                fsq_node *n = list_entry(done.next, fsq_node, link);
                list_del(&n->link);
                uv_work_t *req = n->req;
                uv_after_work_cb after = n->after;
                int status = n->status;
                free(n);
                after(req, status);
        }
}

int fsq_new(uv_loop_t *loop, unsigned threads, fsq **ret) {
        fsq *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        list_init(&q->pending);
        list_init(&q->done);
        q->own_uid = geteuid();
        q->own_gid = getegid();
        q->n_own_groups = getgroups(0, NULL);
        if (q->n_own_groups > 0) {
                q->own_groups = calloc((size_t) q->n_own_groups, sizeof(gid_t));
                if (!q->own_groups || getgroups(q->n_own_groups, q->own_groups) < 0) {
                        free(q->own_groups);
                        free(q);
                        return -ENOMEM;
                }
        } else
                q->n_own_groups = 0;
        q->n_threads = threads ? threads : 4;
        q->threads = calloc(q->n_threads, sizeof(pthread_t));
        int r = q->threads ? uv_async_init(loop, &q->async, on_async) : -ENOMEM;
        if (r < 0) {
                free(q->threads);
                free(q->own_groups);
                free(q);
                return r;
        }
        q->async.data = q;
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->wake, NULL);
        for (unsigned i = 0; i < q->n_threads; i++) {
                r = -pthread_create(&q->threads[i], NULL, worker, q);
                if (r < 0) {
                        q->n_threads = i;
                        break;
                }
        }
        if (q->n_threads == 0) {
                fsq_close(q, NULL, NULL);
                return r;
        }
        *ret = q;
        return 0;
}

int fsq_queue(fsq *q, const void *owner, const fs_creds *creds, uv_work_t *req, uv_work_cb work,
              uv_after_work_cb after) {
        fsq_node *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        *n = (fsq_node){ .req = req, .work = work, .after = after, .creds = creds, .owner = owner };
        list_init(&n->more);
        pthread_mutex_lock(&q->lock);
        pending_add(q, n);
        pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->lock);
        return 0;
}

int fsq_cancel(fsq *q, uv_work_t *req) {
        int r = -EBUSY;
        list_node *i, *t;
        pthread_mutex_lock(&q->lock);
        fsq_node *found = NULL;
        list_for_each_safe(i, t, &q->pending) {
                fsq_node *head = list_entry(i, fsq_node, link);
                if (head->req == req) {
                        found = head;
                        pending_remove(q, head, false);
                        break;
                }
                list_node *j, *u;
                list_for_each_safe(j, u, &head->more) {
                        fsq_node *n = list_entry(j, fsq_node, link);
                        if (n->req == req) {
                                found = n;
                                list_del(&n->link);
                                break;
                        }
                }
                if (found)
                        break;
        }
        if (found) {
                found->status = UV_ECANCELED;
                list_add_tail(&q->done, &found->link);
                uv_async_send(&q->async);
                r = 0;
        }
        pthread_mutex_unlock(&q->lock);
        return r;
}

static void on_close(uv_handle_t *h) {
        fsq *q = h->data;
        void (*cb)(void *) = q->close_cb;
        void *data = q->close_data;
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->wake);
        free(q->threads);
        free(q->own_groups);
        free(q);
        if (cb)
                cb(data);
}

void fsq_close(fsq *q, void (*cb)(void *userdata), void *userdata) {
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->wake);
        pthread_mutex_unlock(&q->lock);
        for (unsigned i = 0; i < q->n_threads; i++)
                pthread_join(q->threads[i], NULL);
        q->close_cb = cb;
        q->close_data = userdata;
        uv_close((uv_handle_t *) &q->async, on_close);
}
