/*
 * JSON merge patch (RFC 7386), which also serves strategic merge patches.
 * It works on a private deep copy: stored objects are shared with watch
 * events and must never change in place.
 */
#include "kl.h"

#include <stdlib.h>
#include <string.h>

static json_t *merge(json_t *target, const json_t *patch) {
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

json_t *kl_merge_patch(const json_t *target, const json_t *patch) {
  return merge(json_deep_copy(target), patch);
}
