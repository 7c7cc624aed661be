/* The entries under one key prefix, in key order, kept current with the ConfigMap's changes. */
#include <string.h>

#include <stdlib.h>

#include "core/alloc.h"
#include "k8sha/errors.h"
#include "store/pointer.h"
#include "store/retained.h"

void k8sha__retained_init(k8sha__retained *r, const k8sha_allocator *alloc) {
  memset(r, 0, sizeof(*r));
  r->alloc = alloc;
}

static const k8sha_allocator *alloc_of(const k8sha__retained *r) {
  return r->alloc;
}

static int cmp_key(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void k8sha__retained_clear(k8sha__retained *r) {
  size_t i;
  for (i = 0; i < r->n; i++)
    k8sha__free(alloc_of(r), r->live[i]);
  k8sha__free(alloc_of(r), r->live);
  json_decref(r->marked);
  r->live = NULL;
  r->n = r->cap = 0;
  r->marked = NULL;
  r->gen = 0;
}

/* Where `key` is in `live`, or would go; *found says whether it is there. */
static size_t find(const k8sha__retained *r, const char *key, int *found) {
  size_t lo = 0, hi = r->n;
  *found = 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(r->live[mid], key);
    if (c == 0) {
      *found = 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int k8sha__retained_is_live(const k8sha__retained *r, const char *key) {
  int found;
  (void)find(r, key, &found);
  return found;
}

/* Sets `key` to `value` (NULL: absent). 0 or K8SHA_ENOMEM. */
static int set(k8sha__retained *r, const char *key, const char *value) {
  int found;
  size_t at = find(r, key, &found);
  const k8sha_allocator *a = alloc_of(r);
  if (found) {
    k8sha__free(a, r->live[at]);
    memmove(&r->live[at], &r->live[at + 1], (r->n - at - 1) * sizeof(r->live[0]));
    r->n--;
  }
  json_object_del(r->marked, key);
  if (!value)
    return 0;
  int marked = k8sha__value_is_marked(a, value);
  if (marked < 0)
    return marked;
  if (marked)
    return json_object_set_new(r->marked, key, json_string(value)) ? K8SHA_ENOMEM : 0;
  if (k8sha__grow(a, (void **)&r->live, &r->cap, r->n + 1, sizeof(r->live[0])) != 0)
    return K8SHA_ENOMEM;
  if (!(r->live[r->n] = k8sha__strdup(a, key))) /* (placed below) */
    return K8SHA_ENOMEM;
  {
    char *k = r->live[r->n];
    memmove(&r->live[at + 1], &r->live[at], (r->n - at) * sizeof(r->live[0]));
    r->live[at] = k;
    r->n++;
  }
  return 0;
}

static int applies(const char *key, const char *prefix, size_t plen) {
  return strncmp(key, prefix, plen) == 0;
}

int k8sha__retained_sync(k8sha__retained *r, json_t *obj, uint64_t gen, json_t *last,
                         const char *prefix) {
  size_t plen = strlen(prefix);
  const char *key;
  json_t *v;
  int rc = 0;

  if (gen && r->marked && r->gen == gen)
    return 0;
  if (gen && r->marked && r->gen + 1 == gen && last) {
    json_object_foreach(last, key, v) {
      if (rc == 0 && applies(key, prefix, plen))
        rc = set(r, key, json_string_value(v));
    }
    if (rc == 0) {
      r->gen = gen;
      return 0;
    }
  }
  /* read anew: the live keys gathered, then sorted once */
  k8sha__retained_clear(r);
  if (!(r->marked = json_object()))
    return K8SHA_ENOMEM;
  json_object_foreach(json_object_get(obj, "data"), key, v) {
    const char *text = json_string_value(v);
    if (rc || !text || !applies(key, prefix, plen))
      continue;
    if ((rc = k8sha__value_is_marked(alloc_of(r), text)) < 0)
      continue;
    if (rc)
      rc = json_object_set_new(r->marked, key, json_string(text)) ? K8SHA_ENOMEM : 0;
    else if (k8sha__grow(alloc_of(r), (void **)&r->live, &r->cap, r->n + 1,
                         sizeof(r->live[0])) != 0 ||
             !(r->live[r->n] = k8sha__strdup(alloc_of(r), key)))
      rc = K8SHA_ENOMEM;
    else
      r->n++;
  }
  if (rc) {
    k8sha__retained_clear(r);
    return rc;
  }
  if (r->n > 1)
    qsort(r->live, r->n, sizeof(r->live[0]), cmp_key);
  r->gen = gen;
  return 0;
}
