/* SPDX-License-Identifier: MIT */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_FILE "journal"
/* What the next start reads at most: ~1.3 million temporary files' worth
 * of records, far more than anything open at once. */
#define JOURNAL_READ_MAX (256u << 20)
#define JOURNAL_FIELDS 4

static struct {
        pthread_mutex_t lock;
        _Atomic int fd; /* -1: no journal (read unlocked only to skip the work) */
        size_t open; /* records begun and not yet ended */
} journal = { PTHREAD_MUTEX_INITIALIZER, -1, 0 };

/* Fields are separated by spaces: a space, '%', control bytes and DEL are
 * written as %XX. */
static size_t encoded_len(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += (unsigned char) *s <= ' ' || *s == '%' || *s == 0x7f ? 3 : 1;
        return n;
}

static char *encode_to(char *p, const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (c <= ' ' || c == '%' || c == 0x7f) {
                        *p++ = '%';
                        *p++ = hex[c >> 4];
                        *p++ = hex[c & 15];
                } else
                        *p++ = (char) c;
        }
        return p;
}

static int unhex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* In place; false for a broken escape. */
static bool decode(char *s) {
        char *w = s;
        for (char *r = s; *r; r++) {
                if (*r != '%') {
                        *w++ = *r;
                        continue;
                }
                int hi = unhex(r[1]), lo = hi < 0 ? -1 : unhex(r[2]);
                if (lo < 0)
                        return false;
                *w++ = (char) (hi << 4 | lo);
                r += 2;
        }
        *w = '\0';
        return true;
}

/* One record: kind, then up to JOURNAL_FIELDS fields; delta is what it
 * does to the count of open records. Whether it was written: only a begin
 * that was counts, so that its end may uncount it. */
static bool put(char kind, int delta, bool sync, const char *const *fields, size_t n) {
        bool written = false;
        size_t len = 2;
        for (size_t i = 0; i < n; i++)
                len += 1 + encoded_len(fields[i]);
        char *line = malloc(len + 1), *p = line;
        if (!line)
                return false; /* a record lost: at worst a leftover the next start does not clean */
        *p++ = kind;
        for (size_t i = 0; i < n; i++) {
                *p++ = ' ';
                p = encode_to(p, fields[i]);
        }
        *p++ = '\n';

        pthread_mutex_lock(&journal.lock);
        if (journal.fd >= 0) {
                written = write(journal.fd, line, (size_t) (p - line)) == p - line;
                if (written && sync)
                        (void) fdatasync(journal.fd);
                if (delta > 0 && written)
                        journal.open++;
                else if (delta < 0 && journal.open > 0 && --journal.open == 0)
                        (void) ftruncate(journal.fd, 0);
        }
        pthread_mutex_unlock(&journal.lock);
        free(line);
        return written;
}

static bool put_tmp(char kind, int delta, const char *dir, const char *name) {
        size_t d = strlen(dir);
        char *path = malloc(d + strlen(name) + 2);
        if (!path)
                return false;
        sprintf(path, "%s%s%s", dir, d && dir[d - 1] == '/' ? "" : "/", name);
        bool written = put(kind, delta, false, (const char *const[]){ path }, 1);
        free(path);
        return written;
}

bool journal_tmp_begin(const char *dir, const char *name) {
        return journal.fd >= 0 && put_tmp('T', 1, dir, name);
}

void journal_tmp_end(const char *dir, const char *name) {
        if (journal.fd >= 0)
                put_tmp('t', -1, dir, name);
}

bool journal_upload_begin(const char *endpoint, const char *bucket, const char *key, const char *upload_id) {
        return journal.fd >= 0 && put('U', 1, true, (const char *const[]){ endpoint, bucket, key, upload_id }, 4);
}

void journal_upload_end(const char *upload_id) {
        if (journal.fd >= 0)
                put('u', -1, false, (const char *const[]){ upload_id }, 1);
}

typedef struct record {
        char kind;    /* 'T' or 'U', whether begin or end */
        bool begin;
        size_t seq;
        char *field[JOURNAL_FIELDS];
        size_t n;
} record;

/* The thing a record is about: a temporary's path, an upload's id. */
static const char *record_key(const record *r) {
        return r->kind == 'T' ? r->field[0] : r->field[r->begin ? 3 : 0];
}

static int record_cmp(const void *a, const void *b) {
        const record *x = a, *y = b;
        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        int c = strcmp(record_key(x), record_key(y));
        return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Split a line into r; false for one that is not a whole record. */
static bool parse(char *line, size_t seq, record *r) {
        char kind = line[0];
        *r = (record){ .seq = seq };
        if (!strchr("TtUu", kind) || line[1] != ' ')
                return false;
        r->kind = kind == 't' ? 'T' : kind == 'u' ? 'U' : kind;
        r->begin = kind == 'T' || kind == 'U';
        for (char *f = line + 2, *sp; f && r->n < JOURNAL_FIELDS; f = sp ? sp + 1 : NULL) {
                sp = strchr(f, ' ');
                if (sp)
                        *sp = '\0';
                if (!decode(f))
                        return false;
                r->field[r->n++] = f;
        }
        return r->n == (r->kind == 'U' && r->begin ? 4u : 1u);
}

/* Report what the records leave open: a thing whose last record begins it. */
static void report(record *recs, size_t n, const journal_found *found) {
        qsort(recs, n, sizeof(*recs), record_cmp);
        for (size_t i = 0; i < n; i++) {
                const record *r = &recs[i];
                if (i + 1 < n && recs[i + 1].kind == r->kind && strcmp(record_key(&recs[i + 1]), record_key(r)) == 0)
                        continue; /* not the last of its thing */
                if (!r->begin)
                        continue;
                if (r->kind == 'T' && found->tmp)
                        found->tmp(r->field[0], found->userdata);
                else if (r->kind == 'U' && found->upload)
                        found->upload(r->field[0], r->field[1], r->field[2], r->field[3], found->userdata);
        }
}

static int recover(int fd, const journal_found *found) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        size_t size = st.st_size > JOURNAL_READ_MAX ? JOURNAL_READ_MAX : (size_t) st.st_size;
        if (size == 0)
                return 0;
        char *buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        ssize_t got = pread(fd, buf, size, 0);
        if (got < 0) {
                free(buf);
                return -errno;
        }
        buf[got] = '\0';
        size_t cap = 0, n = 0;
        record *recs = NULL;
        /* Only whole lines: a record cut short by the kill is dropped. */
        for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
                *nl = '\0';
                if (n == cap) {
                        record *more = realloc(recs, (cap = cap ? 2 * cap : 256) * sizeof(*recs));
                        if (!more) {
                                free(recs);
                                free(buf);
                                return -ENOMEM;
                        }
                        recs = more;
                }
                if (parse(line, n, &recs[n]))
                        n++;
        }
        report(recs, n, found);
        free(recs);
        free(buf);
        return 0;
}

int journal_open(const char *dir, const journal_found *found) {
        char *path;
        int fd, r;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (asprintf(&path, "%s/" JOURNAL_FILE, dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        free(path);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                close(fd);
                return r;
        }
        r = recover(fd, found);
        if (r == 0 && ftruncate(fd, 0) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        pthread_mutex_lock(&journal.lock);
        journal.fd = fd;
        journal.open = 0;
        pthread_mutex_unlock(&journal.lock);
        return 0;
}

void journal_close(void) {
        pthread_mutex_lock(&journal.lock);
        if (journal.fd >= 0)
                close(journal.fd);
        journal.fd = -1;
        journal.open = 0;
        pthread_mutex_unlock(&journal.lock);
}
