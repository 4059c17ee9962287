/* SPDX-License-Identifier: MIT */
/* The options builder: dotted keys into the call's "options" object. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "options_json.h"

struct fds_options {
        json_t *root;
};

fds_options *fds_options_new(void) {
        fds_options *o = calloc(1, sizeof(*o));

        if (!o)
                return NULL;
        o->root = json_object();
        if (!o->root) {
                free(o);
                return NULL;
        }
        return o;
}

fds_options *fds_options_free(fds_options *o) {
        if (!o)
                return NULL;
        json_decref(o->root);
        free(o);
        return NULL;
}

json_t *options_json(const fds_options *o) {
        return o->root;
}

/* Components are non-empty: no leading, trailing or doubled dot. */
static bool options_key_valid(const char *key) {
        size_t len = strlen(key);

        return len > 0 && key[0] != '.' && key[len - 1] != '.' && !strstr(key, "..");
}

/* The object that holds the last component of key, created on the way when
 * create is set, and that last component in *ret_leaf. 0 and *ret_parent =
 * NULL when !create and a component is missing. */
static int options_walk(fds_options *o, const char *key, bool create, json_t **ret_parent,
                        const char **ret_leaf) {
        json_t *obj = o->root;
        const char *p = key, *dot;

        if (!options_key_valid(key))
                return -EINVAL;
        while ((dot = strchr(p, '.'))) {
                char *name = strndup(p, (size_t) (dot - p));
                json_t *child;

                if (!name)
                        return -ENOMEM;
                child = json_object_get(obj, name);
                if (!child && create) {
                        child = json_object();
                        if (!child || json_object_set_new(obj, name, child) < 0)
                                child = NULL;
                        if (!child) {
                                free(name);
                                return -ENOMEM;
                        }
                }
                free(name);
                if (!child) {
                        *ret_parent = NULL;
                        return 0;
                }
                if (!json_is_object(child))
                        return -EINVAL;
                obj = child;
                p = dot + 1;
        }
        *ret_parent = obj;
        *ret_leaf = p;
        return 0;
}

static int options_set(fds_options *o, const char *key, json_t *value) {
        json_t *parent;
        const char *leaf;
        int r;

        if (!value)
                return -ENOMEM;
        if (!o || !key) {
                r = -EINVAL;
                goto fail;
        }
        r = options_walk(o, key, true, &parent, &leaf);
        if (r < 0)
                goto fail;
        if (json_object_set_new(parent, leaf, value) < 0)
                return -ENOMEM;
        return 0;
fail:
        json_decref(value);
        return r;
}

int fds_options_set_int(fds_options *o, const char *key, int64_t value) {
        return options_set(o, key, json_integer((json_int_t) value));
}

int fds_options_set_bool(fds_options *o, const char *key, bool value) {
        return options_set(o, key, json_boolean(value));
}

int fds_options_set_string(fds_options *o, const char *key, const char *value) {
        if (!value)
                return -EINVAL;
        /* jansson refuses strings that are not UTF-8: say so, not -ENOMEM. */
        json_t *v = json_string(value);
        if (!v)
                return -EINVAL;
        return options_set(o, key, v);
}

int fds_options_set_double(fds_options *o, const char *key, double value) {
        if (!isfinite(value))
                return -EINVAL;
        return options_set(o, key, json_real(value));
}

int fds_options_unset(fds_options *o, const char *key) {
        json_t *parent;
        const char *leaf;
        int r;

        if (!o || !key)
                return -EINVAL;
        r = options_walk(o, key, false, &parent, &leaf);
        if (r < 0 || !parent)
                return r;
        json_object_del(parent, leaf);
        return 0;
}
