/* What each operation of the state-handle store does to its ConfigMap, run by the fenced
 * ConfigMap on its current state: the values and their pointers, the edits, and retention (which
 * entries an add marks, so their blobs are deleted after the commit). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/base64.h"
#include "election/env.h"
#include "k8sha/errors.h"
#include "storage/uri.h"
#include "store/handles_priv.h"

int k8sha__value_decode(const k8sha_allocator *a, const char *value, int *is_marked,
                        k8sha__pointer *p, unsigned char **bytes, size_t *len, const char **why) {
  unsigned char *raw = NULL;
  size_t n = 0;
  int rc;

  *is_marked = strncmp(value, K8SHA__DELETING_MARKER, MARKER_LEN) == 0;
  if (*is_marked)
    value += MARKER_LEN;
  rc = k8sha__base64_decode(a, value, strlen(value), &raw, &n);
  if (rc == K8SHA_ECORRUPT)
    *why = "the value is not base64";
  if (rc)
    return rc;
  if (n >= 3 && memcmp(raw, "K8P", 3) == 0) {
    k8sha__free(a, raw);
    rc = k8sha__pointer_decode(a, value, p, why);
    return rc ? rc : 1;
  }
  *bytes = raw;
  *len = n;
  return 0;
}

const char *k8sha__h_entry_of(json_t *obj, const char *key) {
  return json_string_value(json_object_get(json_object_get(obj, "data"), key));
}

int k8sha__h_is_marked(k8sha__env *env, const char *v) {
  return k8sha__value_is_marked(&env->rt->alloc, v);
}

/* The blob a value (marked or not) points to, in *uri (allocated): for libk8sha's compact pointer
 * and for Flink's handle, whose blob the store owns as Flink's own store does; NULL for bytes a
 * host encoded itself (their blob is the host's) and for a value that cannot be read. 0, or
 * K8SHA_ENOMEM (*uri NULL): not known, which is not "none". */
int k8sha__h_blob_of(k8sha__env *env, const char *value, char **uri) {
  k8sha__value_info info;
  char why[8];
  int rc = k8sha__value_describe(&env->rt->alloc, value, &info, why, sizeof(why));
  *uri = NULL;
  if (rc == K8SHA_ECORRUPT || (rc == 0 && info.form == K8SHA__VALUE_OPAQUE))
    return 0;
  if (rc)
    return rc;
  *uri = k8sha__strdup(&env->rt->alloc, info.uri);
  return *uri ? 0 : K8SHA_ENOMEM;
}

/* Whether two blob URIs may name one blob: equal in the canonical form (Flink's "file:/x" is
 * "file:///x", s3a is s3, ...). A URI without a canonical form may: a delete decided on this
 * fails closed. */
int k8sha__h_may_be_same_blob(const char *a, const char *b) {
  char ca[K8SHA__URI_MAX], cb[K8SHA__URI_MAX];
  if (k8sha__uri_canonical(a, ca, sizeof(ca)) != 0 || k8sha__uri_canonical(b, cb, sizeof(cb)) != 0)
    return 1;
  return strcmp(ca, cb) == 0;
}

static int same_entry(hop *o, const char *v) {
  k8sha__env *env = o->env;
  k8sha__pointer p;
  unsigned char *bytes = NULL;
  size_t len;
  const char *why;
  int marked, rc;
  o->ours = strcmp(v, o->value) == 0;
  if (o->kind == H_ADD_POINTER || o->kind == H_PUT_POINTER || o->ours)
    return o->ours;
  rc = k8sha__value_decode(&env->rt->alloc, v, &marked, &p, &bytes, &len, &why);
  k8sha__free(&env->rt->alloc, bytes);
  return rc == 1 && p.size == o->p.size && p.crc == o->p.crc;
}

static void set_old(hop *o, const char *v) {
  k8sha__free(&o->env->rt->alloc, o->old_value);
  o->old_value = k8sha__strdup(&o->env->rt->alloc, v);
}

/* ---- edits, run by the fenced ConfigMap on its current state ---- */

int k8sha__h_edit_put(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  hop *o = ud;
  const char *name = k8sha__fcm_name(o->s->f);
  const char *v = k8sha__h_entry_of(obj, o->key);
  int marked = v ? k8sha__h_is_marked(o->env, v) : 0;
  size_t size;

  o->identical = 0;
  if (marked < 0)
    return marked;
  if (o->kind == H_REPLACE) {
    if (!v || marked) {
      snprintf(msg, n, "ConfigMap %s has no entry %s to replace", name, o->key);
      return K8SHA_ENOTFOUND;
    }
    set_old(o, v);
  } else if ((o->kind == H_PUT || o->kind == H_PUT_POINTER) && v) {
    if (!marked && same_entry(o, v)) {
      o->identical = 1;
      return K8SHA__UNCHANGED;
    }
    set_old(o, v);
  } else if (v && !marked) {
    if (same_entry(o, v)) {
      o->identical = 1;
      return K8SHA__UNCHANGED;
    }
    snprintf(msg, n, "ConfigMap %s already holds a different entry %s", name, o->key);
    return K8SHA_EEXISTS;
  } else if (v) {
    set_old(o, v); /* a removal that never finished: its blob goes after our commit */
  }
  if (json_object_set_new(changes, o->key, json_string(o->value)) != 0)
    return K8SHA_ENOMEM;
  if (o->retain_prefix && (size = (size_t)k8sha__h_retain(o, obj, changes)) != 0) {
    if ((int)size != K8SHA_EINVAL)
      return K8SHA_ENOMEM;
    if (o->retire)
      snprintf(msg, n,
               "%s is among the entries its own add retires (ConfigMap %s): it would be removed "
               "in the same update that adds it, so it is not added",
               o->key, name);
    else
      snprintf(msg, n,
               "%s is older than the %u newest entries ConfigMap %s retains: it would be removed "
               "in the same update that adds it, so it is not added",
               o->key, o->keep, name);
    return K8SHA_EINVAL;
  }
  if (o->phase == P_CHECK) {
    size = k8sha__fcm_size_after(o->s->f, obj, changes);
    if (size > K8SHA__CONFIGMAP_MAX_BYTES) {
      snprintf(msg, n,
               "adding %s would grow ConfigMap %s to %zu bytes of data, more than the %d that "
               "Kubernetes allows",
               o->key, name, size, K8SHA__CONFIGMAP_MAX_BYTES);
      return K8SHA_ETOOLARGE;
    }
    return K8SHA__UNCHANGED;
  }
  return 0;
}

/* An entry retention found marked: dropped now when this store has deleted its blob (into
 * `drop`), else noted so that its blob is deleted after the commit. */
static int note_marked(hop *o, const char *key, const char *text, json_t **drop) {
  const char *gone = json_string_value(json_object_get(o->s->deleted, key));
  if (gone && strcmp(gone, text) == 0) {
    if (!*drop && !(*drop = json_object()))
      return K8SHA_ENOMEM;
    return json_object_set_new(*drop, key, json_null()) ? K8SHA_ENOMEM : 0;
  }
  return json_object_set_new(o->subsumed, key, json_string(text)) ? K8SHA_ENOMEM : 0;
}

/* Marks live entry `key` in the add's update. Both or the update fails: an entry marked in the
 * write but not in `subsumed` would keep its blob forever; one in `subsumed` but not marked would
 * lose its blob while a key still points to it. */
static int retire_one(hop *o, json_t *obj, json_t *changes, const char *key) {
  char *marked;
  int rc = 0;
  if (strcmp(key, o->key) == 0)
    return K8SHA_EINVAL; /* the entry being added would be subsumed by its own update */
  marked = k8sha__value_mark(&o->env->rt->alloc, k8sha__fcm_value(obj, changes, key));
  if (!marked)
    return K8SHA_ENOMEM;
  if (json_object_set_new(o->subsumed, key, json_string(marked)) != 0 ||
      json_object_set_new(changes, key, json_string(marked)) != 0) /* the key stays */
    rc = K8SHA_ENOMEM;
  k8sha__free(&o->env->rt->alloc, marked);
  return rc;
}

/* Retention, in the add's own update: marks the oldest live entries beyond `keep` (or exactly
 * the live ones listed in `retire`), drops marked ones whose blobs this store has deleted, and
 * notes every entry left marked (their blobs are deleted after the commit). The entries are
 * those of the store's index (store/retained.h) with the edit's changes over it: the work is in
 * what changes, not in the entries the ConfigMap holds. */
int k8sha__h_retain(hop *o, json_t *obj, json_t *changes) {
  k8sha__hstore *s = o->s;
  k8sha__retained *x = &s->retained;
  size_t plen = strlen(o->retain_prefix), n_live, n_new = 0, i = 0, j = 0, k;
  const char *key, *added[8];
  json_t *v, *drop = NULL, *last = NULL;
  uint64_t gen = 0;
  int rc;

  json_decref(o->subsumed);
  o->subsumed = json_object();
  if (!o->subsumed)
    return K8SHA_ENOMEM;
  if (obj == k8sha__fcm_object(s->f))
    gen = k8sha__fcm_generation(s->f, &last);
  rc = k8sha__retained_sync(x, obj, gen, last, o->retain_prefix);
  /* the edit's changes over the index: live entries it adds, marked ones it writes */
  n_live = x->n;
  json_object_foreach(changes, key, v) {
    const char *text = json_string_value(v);
    if (rc || strncmp(key, o->retain_prefix, plen) != 0)
      continue;
    if (k8sha__retained_is_live(x, key))
      n_live--;
    if (!text)
      continue;
    if ((rc = k8sha__h_is_marked(o->env, text)) < 0)
      break;
    if (rc)
      rc = note_marked(o, key, text, &drop);
    else if (n_new == sizeof(added) / sizeof(added[0]))
      rc = K8SHA_EINVAL; /* (an add's edit adds one entry) */
    else
      added[n_new++] = key, n_live++;
  }
  json_object_foreach(x->marked, key, v) {
    if (rc == 0 && !json_object_get(changes, key))
      rc = note_marked(o, key, json_string_value(v), &drop);
  }
  if (rc == 0 && n_new > 1)
    qsort(added, n_new, sizeof(added[0]), k8sha__h_cmp_str);
  if (rc == 0 && o->retire) {
    json_object_foreach(o->retire, key, v) {
      const char *text = k8sha__fcm_value(obj, changes, key);
      int marked = text && json_object_get(changes, key) ? k8sha__h_is_marked(o->env, text) : 0;
      int live = json_object_get(changes, key) ? text && !marked &&
                                                     strncmp(key, o->retain_prefix, plen) == 0
                                               : k8sha__retained_is_live(x, key);
      if (marked < 0)
        rc = marked;
      else if (rc == 0 && live)
        rc = retire_one(o, obj, changes, key);
    }
  } else if (rc == 0 && n_live > o->keep) {
    /* the oldest n_live - keep: the index's live keys (those the edit leaves alone) merged with
     * the ones it adds, in key order */
    for (k = n_live - o->keep; rc == 0 && k > 0; k--) {
      while (i < x->n && json_object_get(changes, x->live[i]))
        i++;
      if (j < n_new && (i == x->n || strcmp(added[j], x->live[i]) < 0))
        key = added[j++];
      else if (i < x->n)
        key = x->live[i++];
      else
        break;
      rc = retire_one(o, obj, changes, key);
    }
  }
  /* (after the marks: `added` points into the keys of changes, which these would move) */
  if (rc == 0 && drop && json_object_update(changes, drop) != 0)
    rc = K8SHA_ENOMEM;
  json_decref(drop);
  return rc;
}

int k8sha__h_edit_mark(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  hop *o = ud;
  const char *v = k8sha__h_entry_of(obj, o->key);
  char *marked;
  int rc;
  (void)msg;
  (void)n;
  o->absent = !v;
  if (!v)
    return K8SHA__UNCHANGED;
  set_old(o, v);
  if (!o->old_value)
    return K8SHA_ENOMEM; /* (the marked entry's blob is found from it) */
  rc = k8sha__h_is_marked(o->env, v);
  if (rc)
    return rc < 0 ? rc : K8SHA__UNCHANGED;
  marked = k8sha__value_mark(&o->env->rt->alloc, v);
  if (!marked) {
    k8sha__free(&o->env->rt->alloc, marked);
    return K8SHA_ENOMEM;
  }
  rc = json_object_set_new(changes, o->key, json_string(marked));
  k8sha__free(&o->env->rt->alloc, marked);
  return rc ? K8SHA_ENOMEM : 0;
}

int k8sha__h_edit_drop(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  hop *o = ud;
  const char *v = k8sha__h_entry_of(obj, o->key);
  (void)msg;
  (void)n;
  char *marked;
  int same;
  /* Only our marked entry goes; anything else there now was written since, and stays. */
  int is_marked = v ? k8sha__h_is_marked(o->env, v) : 0;
  if (is_marked < 0)
    return is_marked;
  if (!is_marked)
    return K8SHA__UNCHANGED;
  marked = k8sha__value_mark(&o->env->rt->alloc, o->old_value);
  if (!marked)
    return K8SHA_ENOMEM;
  same = strcmp(v, marked) == 0;
  k8sha__free(&o->env->rt->alloc, marked);
  if (!same)
    return K8SHA__UNCHANGED;
  return json_object_set_new(changes, o->key, json_null()) ? K8SHA_ENOMEM : 0;
}

int k8sha__h_edit_read(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  hop *o = ud;
  (void)changes;
  const char *v = k8sha__h_entry_of(obj, o->key);
  int marked = v ? k8sha__h_is_marked(o->env, v) : 0;
  if (marked < 0)
    return marked;
  if (!v || marked) {
    snprintf(msg, n, "ConfigMap %s has no entry %s", k8sha__fcm_name(o->s->f), o->key);
    return K8SHA_ENOTFOUND;
  }
  set_old(o, v);
  return o->old_value ? K8SHA__UNCHANGED : K8SHA_ENOMEM;
}
