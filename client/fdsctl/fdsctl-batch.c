/* SPDX-License-Identifier: MIT */
/* Batch files: one copy per line, {"src": .., "dst": ..} or SRC<TAB>DST. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fdsctl.h"

static int batch_fail(batch_error *err, size_t line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int batch_fail(batch_error *err, size_t line, const char *fmt, ...) {
        va_list ap;

        err->line = line;
        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static bool batch_blank(const char *s) {
        for (; *s; s++)
                if (*s != ' ' && *s != '\t')
                        return false;
        return true;
}

static int batch_parse_json(const char *text, size_t line, batch_entry *ret, batch_error *err) {
        json_error_t jerr;
        json_t *obj, *v;
        const char *key;
        int r = -EINVAL;

        obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!obj)
                return batch_fail(err, line, "invalid JSON: %s", jerr.text);
        if (!json_is_object(obj)) {
                batch_fail(err, line, "expected a JSON object");
                goto finish;
        }
        json_object_foreach(obj, key, v) {
                if (strcmp(key, "src") != 0 && strcmp(key, "dst") != 0) {
                        batch_fail(err, line, "unknown key \"%s\"", key);
                        goto finish;
                }
                if (!json_is_string(v) || json_string_length(v) == 0) {
                        batch_fail(err, line, "\"%s\" must be a non-empty string", key);
                        goto finish;
                }
                if (strlen(json_string_value(v)) != json_string_length(v)) {
                        batch_fail(err, line, "\"%s\" contains a NUL", key);
                        goto finish;
                }
        }
        if (!json_object_get(obj, "src") || !json_object_get(obj, "dst")) {
                batch_fail(err, line, "needs both \"src\" and \"dst\"");
                goto finish;
        }
        ret->src = strdup(json_string_value(json_object_get(obj, "src")));
        ret->dst = strdup(json_string_value(json_object_get(obj, "dst")));
        ret->line = line;
        r = ret->src && ret->dst ? 0 : -ENOMEM;
        if (r < 0) {
                free(ret->src);
                free(ret->dst);
        }
finish:
        json_decref(obj);
        return r;
}

static int batch_parse_tab(const char *text, size_t line, batch_entry *ret, batch_error *err) {
        const char *tab = strchr(text, '\t');

        if (!tab || strchr(tab + 1, '\t'))
                return batch_fail(err, line, "expected SRC<TAB>DST or a JSON object");
        if (tab == text || tab[1] == '\0')
                return batch_fail(err, line, "empty path");
        ret->src = strndup(text, (size_t) (tab - text));
        ret->dst = strdup(tab + 1);
        ret->line = line;
        if (!ret->src || !ret->dst) {
                free(ret->src);
                free(ret->dst);
                return -ENOMEM;
        }
        return 0;
}

/* 1 and an entry, 0 for a blank line. */
static int batch_parse_line(char *text, size_t len, size_t line, batch_entry *ret, batch_error *err) {
        const char *p = text;
        int r;

        if (len > 0 && text[len - 1] == '\r')
                text[--len] = '\0';
        if (strlen(text) != len)
                return batch_fail(err, line, "contains a NUL byte");
        if (batch_blank(text))
                return 0;
        while (*p == ' ' || *p == '\t')
                p++;
        if (*p == '{')
                r = batch_parse_json(text, line, ret, err);
        else
                r = batch_parse_tab(text, line, ret, err);
        return r < 0 ? r : 1;
}

/* One line without its newline into buf (cap bytes, NUL-terminated): 1, or
 * 0 at the end of the file, -E2BIG when it does not fit, -EIO. */
static int batch_read_line(FILE *f, char *buf, size_t cap, size_t *ret_len) {
        size_t len = 0;
        int ch;

        while ((ch = getc(f)) != EOF && ch != '\n') {
                if (len + 1 >= cap)
                        return -E2BIG;
                buf[len++] = (char) ch;
        }
        if (ch == EOF && ferror(f))
                return -EIO;
        if (ch == EOF && len == 0)
                return 0;
        buf[len] = '\0';
        *ret_len = len;
        return 1;
}

int batch_parse(FILE *f, batch_entry **ret_entries, size_t *ret_n, batch_error *err) {
        batch_entry *entries = NULL;
        size_t n = 0, cap = 0, line = 0, len = 0;
        char *text;
        int r;

        *err = (batch_error){.line = 0};
        text = malloc(BATCH_MAX_LINE + 1);
        if (!text)
                return -ENOMEM;
        for (;;) {
                batch_entry e = {.src = NULL};

                line++;
                r = batch_read_line(f, text, BATCH_MAX_LINE + 1, &len);
                if (r == -E2BIG)
                        r = batch_fail(err, line, "longer than %d bytes", BATCH_MAX_LINE);
                else if (r == -EIO)
                        r = batch_fail(err, 0, "%s", strerror(errno));
                if (r <= 0) {
                        if (r < 0)
                                goto fail;
                        break;
                }
                r = batch_parse_line(text, len, line, &e, err);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        continue;
                if (n == BATCH_MAX_ENTRIES) {
                        free(e.src);
                        free(e.dst);
                        r = batch_fail(err, line, "more than %d entries", BATCH_MAX_ENTRIES);
                        goto fail;
                }
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        batch_entry *p = reallocarray(entries, ncap, sizeof(*entries));
                        if (!p) {
                                free(e.src);
                                free(e.dst);
                                r = -ENOMEM;
                                goto fail;
                        }
                        entries = p;
                        cap = ncap;
                }
                entries[n++] = e;
        }
        free(text);
        *ret_entries = entries;
        *ret_n = n;
        return 0;
fail:
        free(text);
        batch_free(entries, n);
        return r;
}

batch_entry *batch_free(batch_entry *entries, size_t n) {
        size_t i;

        if (!entries)
                return NULL;
        for (i = 0; i < n; i++) {
                free(entries[i].src);
                free(entries[i].dst);
        }
        free(entries);
        return NULL;
}
