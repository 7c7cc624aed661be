/*
 * Object store: a hash table of current objects, one global
 * resourceVersion counter (as etcd's revision is global), and a bounded
 * ring of recent change events that watches replay from.
 */
#include "kl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kl_store {
  kl_obj **buckets;
  size_t nbuckets, count;
  uint64_t rv;
  kl_event **ring;
  size_t ring_cap, ring_start, ring_len;
  size_t ring_bytes; /* rough payload held only by history */
  /* Events at or below this revision are gone: watching from an older
   * resourceVersion gets 410 Expired. */
  uint64_t compacted_rv;
};

static uint64_t hash_key(int res, const char *ns, const char *name) {
  uint64_t h = 1469598103934665603ULL ^ (uint64_t)res;
  for (const unsigned char *p = (const unsigned char *)ns; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  h = (h ^ '/') * 1099511628211ULL;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return h;
}

kl_store *kl_store_new(size_t history) {
  kl_store *st = kl_xcalloc(1, sizeof *st);
  st->nbuckets = 1024;
  st->buckets = kl_xcalloc(st->nbuckets, sizeof *st->buckets);
  st->ring_cap = history;
  st->ring = kl_xcalloc(history ? history : 1, sizeof *st->ring);
  /* Start above zero: "0" means "any version" to clients. */
  st->rv = 1;
  return st;
}

/* A cheap size estimate: the data values dominate large objects, and
 * small ones are bounded by the event count anyway. */
static size_t weight(json_t *obj) {
  size_t w = 512;
  static const char *const bags[] = {"data", "binaryData"};
  for (int i = 0; i < 2; i++) {
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(obj, bags[i]), k, v) {
      w += strlen(k) + json_string_length(v);
    }
  }
  return w;
}

static size_t event_weight(const kl_event *ev) {
  return weight(ev->obj) + (ev->prev ? weight(ev->prev) : 0);
}

static void event_free(kl_event *ev) {
  json_decref(ev->obj);
  json_decref(ev->prev);
  for (int i = 0; i < KL_LINE_COUNT_; i++)
    kl_shared_unref(ev->lines[i]);
  free(ev);
}

static void obj_free(kl_obj *o) {
  json_decref(o->json);
  free(o->ns);
  free(o->name);
  free(o);
}

void kl_store_free(kl_store *st) {
  if (!st)
    return;
  for (size_t i = 0; i < st->nbuckets; i++) {
    kl_obj *n;
    for (kl_obj *o = st->buckets[i]; o; o = n) {
      n = o->next;
      obj_free(o);
    }
  }
  free(st->buckets);
  kl_store_compact(st);
  free(st->ring);
  free(st);
}

kl_obj *kl_store_get(kl_store *st, int res, const char *ns, const char *name) {
  uint64_t h = hash_key(res, ns, name);
  for (kl_obj *o = st->buckets[h & (st->nbuckets - 1)]; o; o = o->next)
    if (o->res == res && strcmp(o->name, name) == 0 && strcmp(o->ns, ns) == 0)
      return o;
  return NULL;
}

uint64_t kl_store_rv(const kl_store *st) {
  return st->rv;
}

uint64_t kl_store_compacted_rv(const kl_store *st) {
  return st->compacted_rv;
}

size_t kl_store_count(const kl_store *st) {
  return st->count;
}

size_t kl_store_history_len(const kl_store *st) {
  return st->ring_len;
}

void kl_store_set_rv(kl_store *st, uint64_t rv) {
  if (rv > st->rv)
    st->rv = rv;
  /* Nothing before a restart can be replayed. */
  st->compacted_rv = st->rv;
}

static void grow(kl_store *st) {
  size_t nb = st->nbuckets * 2;
  kl_obj **b = kl_xcalloc(nb, sizeof *b);
  for (size_t i = 0; i < st->nbuckets; i++) {
    kl_obj *n;
    for (kl_obj *o = st->buckets[i]; o; o = n) {
      n = o->next;
      uint64_t h = hash_key(o->res, o->ns, o->name) & (nb - 1);
      o->next = b[h];
      b[h] = o;
    }
  }
  free(st->buckets);
  st->buckets = b;
  st->nbuckets = nb;
}

static kl_obj *insert(kl_store *st, int res, const char *ns, const char *name) {
  if (st->count * 4 > st->nbuckets * 3)
    grow(st);
  kl_obj *o = kl_xcalloc(1, sizeof *o);
  o->res = res;
  o->ns = kl_strdup(ns);
  o->name = kl_strdup(name);
  uint64_t h = hash_key(res, ns, name) & (st->nbuckets - 1);
  o->next = st->buckets[h];
  st->buckets[h] = o;
  st->count++;
  return o;
}

void kl_store_remove_quiet(kl_store *st, int res, const char *ns, const char *name) {
  uint64_t h = hash_key(res, ns, name) & (st->nbuckets - 1);
  for (kl_obj **pp = &st->buckets[h]; *pp; pp = &(*pp)->next) {
    kl_obj *o = *pp;
    if (o->res == res && strcmp(o->name, name) == 0 && strcmp(o->ns, ns) == 0) {
      *pp = o->next;
      st->count--;
      obj_free(o);
      return;
    }
  }
}

static void set_rv(json_t *obj, uint64_t rv) {
  char buf[24];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)rv);
  json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(buf));
}

/* A stored object is shared with events, so a version that differs only in
 * its resourceVersion is a new top level and a new metadata object. */
static json_t *with_rv(json_t *obj, uint64_t rv) {
  json_t *copy = json_copy(obj);
  json_t *meta = json_copy(json_object_get(obj, "metadata"));
  json_object_set_new(copy, "metadata", meta);
  set_rv(copy, rv);
  return copy;
}

void kl_store_restore(kl_store *st, int res, json_t *obj, uint64_t rv) {
  json_t *meta = json_object_get(obj, "metadata");
  const char *ns = json_string_value(json_object_get(meta, "namespace"));
  const char *name = json_string_value(json_object_get(meta, "name"));
  if (!ns || !name) {
    json_decref(obj);
    return;
  }
  kl_obj *o = kl_store_get(st, res, ns, name);
  if (!o)
    o = insert(st, res, ns, name);
  json_decref(o->json);
  o->json = obj;
  o->rv = rv;
  if (rv > st->rv)
    st->rv = rv;
}

static void evict_oldest(kl_store *st) {
  kl_event *old = st->ring[st->ring_start];
  st->compacted_rv = old->rv;
  st->ring_bytes -= event_weight(old);
  event_free(old);
  st->ring[st->ring_start] = NULL;
  st->ring_start = (st->ring_start + 1) % st->ring_cap;
  st->ring_len--;
}

static void record(kl_server *srv, kl_event *ev) {
  kl_store *st = srv->store;
  kl_watch_notify(srv, ev);
  if (st->ring_cap == 0) {
    st->compacted_rv = ev->rv;
    event_free(ev);
    return;
  }
  if (st->ring_len == st->ring_cap)
    evict_oldest(st);
  st->ring[(st->ring_start + st->ring_len) % st->ring_cap] = ev;
  st->ring_len++;
  st->ring_bytes += event_weight(ev);
  /* Old versions of large ConfigMaps would otherwise pin gigabytes. */
  while (st->ring_bytes > HISTORY_MAX_BYTES && st->ring_len > 1)
    evict_oldest(st);
}

kl_obj *kl_store_put(kl_server *srv, int res, const char *ns, const char *name, json_t *obj) {
  kl_store *st = srv->store;
  uint64_t rv = ++st->rv;
  set_rv(obj, rv);
  kl_obj *o = kl_store_get(st, res, ns, name);
  kl_event *ev = kl_xcalloc(1, sizeof *ev);
  ev->rv = rv;
  ev->res = res;
  ev->obj = json_incref(obj);
  if (o) {
    ev->type = KL_EV_MODIFIED;
    ev->prev = o->json; /* the store's reference moves to the event */
  } else {
    ev->type = KL_EV_ADDED;
    o = insert(st, res, ns, name);
  }
  o->json = obj;
  o->rv = rv;
  if (srv->journal)
    kl_journal_put(srv->journal, res, rv, obj);
  record(srv, ev);
  return o;
}

void kl_store_delete(kl_server *srv, kl_obj *o) {
  kl_store *st = srv->store;
  uint64_t rv = ++st->rv;
  kl_event *ev = kl_xcalloc(1, sizeof *ev);
  ev->rv = rv;
  ev->res = o->res;
  ev->type = KL_EV_DELETED;
  /* As with etcd, the delete event carries the last state stamped with
   * the revision of the delete itself. */
  ev->obj = with_rv(o->json, rv);
  if (srv->journal)
    kl_journal_delete(srv->journal, o->res, rv, o->ns, o->name);
  kl_store_remove_quiet(st, o->res, o->ns, o->name);
  record(srv, ev);
}

static int cmp_obj(const void *a, const void *b) {
  const kl_obj *x = *(kl_obj *const *)a, *y = *(kl_obj *const *)b;
  int c = strcmp(x->ns, y->ns);
  return c ? c : strcmp(x->name, y->name);
}

size_t kl_store_collect(kl_store *st, int res, const char *ns, kl_obj ***out) {
  size_t n = 0, cap = 16;
  kl_obj **v = kl_xmalloc(cap * sizeof *v);
  for (size_t i = 0; i < st->nbuckets; i++) {
    for (kl_obj *o = st->buckets[i]; o; o = o->next) {
      if (o->res != res || (ns && strcmp(o->ns, ns) != 0))
        continue;
      if (n == cap)
        v = kl_xrealloc(v, (cap *= 2) * sizeof *v);
      v[n++] = o;
    }
  }
  qsort(v, n, sizeof *v, cmp_obj);
  *out = v;
  return n;
}

void kl_store_compact(kl_store *st) {
  for (size_t i = 0; i < st->ring_len; i++)
    event_free(st->ring[(st->ring_start + i) % (st->ring_cap ? st->ring_cap : 1)]);
  st->ring_len = 0;
  st->ring_start = 0;
  st->ring_bytes = 0;
  st->compacted_rv = st->rv;
}

bool kl_store_history(kl_store *st, uint64_t from, kl_event ***out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (from < st->compacted_rv)
    return false;
  size_t cap = st->ring_cap ? st->ring_cap : 1;
  /* The ring is ordered by revision: binary search the first newer one. */
  size_t lo = 0, hi = st->ring_len;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (st->ring[(st->ring_start + mid) % cap]->rv <= from)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == st->ring_len)
    return true;
  kl_event **v = kl_xmalloc((st->ring_len - lo) * sizeof *v);
  for (size_t i = lo; i < st->ring_len; i++)
    v[(*n)++] = st->ring[(st->ring_start + i) % cap];
  *out = v;
  return true;
}

kl_shared *kl_event_make_line(const char *type, json_t *obj) {
  size_t olen;
  char *o = kl_json_dumps(obj, &olen);
  kl_buf b = {0};
  kl_buf_reserve(&b, olen + 40);
  kl_buf_puts(&b, "{\"type\":\"");
  kl_buf_puts(&b, type);
  kl_buf_puts(&b, "\",\"object\":");
  kl_buf_append(&b, o, olen);
  kl_buf_puts(&b, "}\n");
  free(o);
  kl_shared *s = kl_shared_chunk(b.data, b.len);
  kl_buf_free(&b);
  return s;
}

kl_shared *kl_event_line(kl_event *ev, int kind) {
  static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
  if (ev->lines[kind])
    return ev->lines[kind];
  kl_shared *s;
  if (kind == KL_LINE_AS_IS) {
    s = kl_event_make_line(names[ev->type], ev->obj);
  } else if (kind == KL_LINE_ADDED) {
    s = kl_event_make_line("ADDED", ev->obj);
  } else {
    /* An object leaving a watcher's selector: the apiserver sends the
     * old content with the new resourceVersion. */
    json_t *old = with_rv(ev->prev, ev->rv);
    s = kl_event_make_line("DELETED", old);
    json_decref(old);
  }
  ev->lines[kind] = s;
  return s;
}
