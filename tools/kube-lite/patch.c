/*
 * JSON merge patch (RFC 7386) and JSON patch (RFC 6902).  Both work on a
 * private deep copy: stored objects are shared with watch events and must
 * never change in place.
 */
#include "kl.h"

#include <stdlib.h>
#include <string.h>

static json_t *merge(json_t *target, const json_t *patch)
{
    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
            continue;
        }
        json_t *cur = json_object_get(target, k);
        json_t *merged = merge(cur ? json_incref(cur) : NULL, v);
        json_object_set_new(target, k, merged);
    }
    return target;
}

json_t *kl_merge_patch(const json_t *target, const json_t *patch)
{
    return merge(json_deep_copy(target), patch);
}

/* ---- RFC 6902 ------------------------------------------------------------ */

static char *pointer_token(const char **p)
{
    const char *s = *p + 1; /* skip '/' */
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *t = kl_xmalloc(n + 1), *o = t;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
            *o++ = s[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    *p = s + n;
    return t;
}

static bool array_index(const char *tok, size_t size, bool allow_end, size_t *idx)
{
    if (allow_end && strcmp(tok, "-") == 0) {
        *idx = size;
        return true;
    }
    uint64_t v;
    if (!kl_parse_u64(tok, &v) || (tok[0] == '0' && tok[1]) || v > size ||
        (!allow_end && v == size))
        return false;
    *idx = (size_t)v;
    return true;
}

/* Resolves all but the last token: returns the parent and the last token. */
static json_t *resolve_parent(json_t *doc, const char *path, char **last)
{
    if (path[0] != '/')
        return NULL;
    const char *p = path;
    json_t *cur = doc;
    for (;;) {
        char *tok = pointer_token(&p);
        if (!*p) {
            *last = tok;
            return cur;
        }
        json_t *next = NULL;
        size_t idx;
        if (json_is_object(cur))
            next = json_object_get(cur, tok);
        else if (json_is_array(cur) && array_index(tok, json_array_size(cur), false, &idx))
            next = json_array_get(cur, idx);
        free(tok);
        if (!next)
            return NULL;
        cur = next;
    }
}

static json_t *get_path(json_t *doc, const char *path)
{
    if (!*path)
        return doc;
    char *last;
    json_t *parent = resolve_parent(doc, path, &last);
    if (!parent)
        return NULL;
    json_t *r = NULL;
    size_t idx;
    if (json_is_object(parent))
        r = json_object_get(parent, last);
    else if (json_is_array(parent) && array_index(last, json_array_size(parent), false, &idx))
        r = json_array_get(parent, idx);
    free(last);
    return r;
}

static bool remove_path(json_t *doc, const char *path)
{
    char *last;
    json_t *parent = resolve_parent(doc, path, &last);
    if (!parent)
        return false;
    bool ok = false;
    size_t idx;
    if (json_is_object(parent))
        ok = json_object_del(parent, last) == 0;
    else if (json_is_array(parent) && array_index(last, json_array_size(parent), false, &idx))
        ok = json_array_remove(parent, idx) == 0;
    free(last);
    return ok;
}

static bool add_path(json_t *doc, const char *path, json_t *value, bool replace)
{
    char *last;
    json_t *parent = resolve_parent(doc, path, &last);
    if (!parent) {
        json_decref(value);
        return false;
    }
    bool ok = false;
    size_t idx;
    if (json_is_object(parent)) {
        ok = !replace || json_object_get(parent, last);
        if (ok)
            json_object_set(parent, last, value);
    } else if (json_is_array(parent) &&
               array_index(last, json_array_size(parent), !replace, &idx)) {
        ok = true;
        if (replace)
            json_array_set(parent, idx, value);
        else
            json_array_insert(parent, idx, value);
    }
    json_decref(value);
    free(last);
    return ok;
}

json_t *kl_json_patch(const json_t *target, const json_t *ops, char **err)
{
    *err = NULL;
    if (!json_is_array(ops)) {
        *err = kl_strdup("a JSON patch must be an array of operations");
        return NULL;
    }
    json_t *doc = json_deep_copy(target);
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        const char *kind = json_string_value(json_object_get(op, "op"));
        const char *path = json_string_value(json_object_get(op, "path"));
        const char *from = json_string_value(json_object_get(op, "from"));
        json_t *value = json_object_get(op, "value");
        bool ok = kind && path && (path[0] == '/');
        if (ok && strcmp(kind, "add") == 0) {
            ok = value && add_path(doc, path, json_deep_copy(value), false);
        } else if (ok && strcmp(kind, "replace") == 0) {
            ok = value && add_path(doc, path, json_deep_copy(value), true);
        } else if (ok && strcmp(kind, "remove") == 0) {
            ok = remove_path(doc, path);
        } else if (ok && strcmp(kind, "test") == 0) {
            json_t *cur = get_path(doc, path);
            ok = value && cur && json_equal(cur, value);
            if (!ok) {
                *err = kl_strdup("testing value failed");
                json_decref(doc);
                return NULL;
            }
        } else if (ok && (strcmp(kind, "move") == 0 || strcmp(kind, "copy") == 0)) {
            json_t *src = from ? get_path(doc, from) : NULL;
            ok = src != NULL;
            if (ok) {
                json_t *v = json_deep_copy(src);
                if (kind[0] == 'm' && !remove_path(doc, from)) {
                    json_decref(v);
                    ok = false;
                } else {
                    ok = add_path(doc, path, v, false);
                }
            }
        } else {
            ok = false;
        }
        if (!ok) {
            kl_buf b = {0};
            kl_buf_printf(&b, "the server rejected our request due to an error in our request: "
                              "json patch operation %zu (%s %s) failed",
                          i, kind ? kind : "?", path ? path : "?");
            *err = kl_buf_steal(&b);
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}
