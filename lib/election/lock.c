/* Shared lock objects: one informer per lock, the latest state, and conditional writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json_text.h"
#include "election/env.h"
#include "core/life.h"
#include "election/lock.h"
#include "election/record.h"
#include "k8sha/errors.h"
#include "core/k8s_names.h"
#include "kube/informer.h"
#include "layout/flink.h"

/* Our own writes echo back through the watch, sometimes after a newer write of ours already
 * answered; remembering the last few versions we wrote lets us ignore such stale echoes. */
#define OWN_RVS 8

#define LEASES_PATH_FMT "/apis/coordination.k8s.io/v1/namespaces/%s/leases"

struct k8sha__lock {
  k8sha__env *env;
  k8sha_lock_kind kind;
  struct k8sha__lock *next;
  char *name, *path, *collection;
  k8sha__informer *inf;
  json_t *latest;
  uint64_t latest_rv; /* the resourceVersion of the newest state taken, as a number (0: none) */
  int synced;
  char own_rvs[OWN_RVS][32];
  unsigned int own_next;
  int term_seen;          /* a record was seen ... */
  uint64_t max_term;      /* ... and this is the highest leaderTransitions among them */
  k8sha__lock_sub *subs;
  /* Telling the subscribers: the next one to tell (a subscriber leaving meanwhile moves it on),
   * and whether the last one left (the lock is freed when the telling ends). */
  int telling;
  k8sha__lock_sub *cursor;
  int orphaned;
};

typedef struct write_op {
  k8sha__lock *lock;
  k8sha__lock_write_cb cb;
  void *user_data;
  k8sha__life life; /* the request's reference, and one while its answer is delivered; a cancel
                       closes it (core/life.h) */
} write_op;

static const char *rv_of(json_t *obj) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

/* resourceVersions are opaque to clients, but the API server's (etcd's revision) and kube-lite's
 * are one cluster-wide counter written in decimal. Where both are, the lower is the older state.
 * 0 when `rv` is not such a number. */
static uint64_t rv_number(const char *rv) {
  uint64_t n = 0;
  const char *c;
  if (!rv || !*rv || strlen(rv) > 19 || (rv[0] == '0' && rv[1]))
    return 0;
  for (c = rv; *c; c++) {
    if (*c < '0' || *c > '9')
      return 0;
    n = n * 10 + (uint64_t)(*c - '0');
  }
  return n;
}

static const char *uid_of(json_t *obj) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
}

/* An event older than the state the lock holds: a watch that resumed from an old
 * resourceVersion (after a long reconnect backoff, say) replays history, including other
 * holders' records written before our own newer write. Taken as current, such a record would
 * depose a leader that holds the lock. A deletion of the object we hold is final whatever its
 * version says (a relist reports a vanished object with the last version the watch saw). */
static int is_older(const k8sha__lock *l, k8sha__change change, json_t *obj) {
  uint64_t rv = rv_number(rv_of(obj));
  if (!rv || !l->latest_rv || rv >= l->latest_rv)
    return 0;
  if (change == K8SHA__DELETED && l->latest) {
    const char *a = uid_of(obj), *b = uid_of(l->latest);
    if (!a || !b || strcmp(a, b) == 0)
      return 0;
  }
  return 1;
}

static int is_own_stale(const k8sha__lock *l, const char *rv) {
  unsigned int i;
  const char *cur = rv_of(l->latest);
  if (!rv || (cur && strcmp(cur, rv) == 0))
    return 0;
  for (i = 0; i < OWN_RVS; i++)
    if (strcmp(l->own_rvs[i], rv) == 0)
      return 1;
  return 0;
}

static void lock_free(k8sha__lock *l);

/* Calls `tell` for each subscriber. A subscriber's callback may unsubscribe itself or any other
 * (freeing an election from a retriever's callback), down to the last one: the lock is then
 * freed when this returns, and the caller must not touch it. */
static void tell_all(k8sha__lock *l, int err, const char *message) {
  k8sha__lock_sub *s;
  l->telling++;
  for (s = l->subs; s && !l->orphaned; s = l->cursor) {
    l->cursor = s->next;
    if (!err)
      s->on_update(l->latest, s->user_data);
    else if (s->on_error)
      s->on_error(err, message, s->user_data);
  }
  if (--l->telling == 0) {
    l->cursor = NULL;
    if (l->orphaned)
      lock_free(l);
  }
}

static void notify(k8sha__lock *l) {
  if (l->synced)
    tell_all(l, 0, NULL);
}

static void set_latest(k8sha__lock *l, json_t *obj) {
  json_t *old = l->latest;
  k8sha__record rec;
  const char *why;
  if (obj && k8sha__lock_read_record(l, obj, &rec, &why, NULL) == 1 &&
      (!l->term_seen || rec.transitions > l->max_term)) {
    l->max_term = rec.transitions;
    l->term_seen = 1;
  }
  if (obj && rv_number(rv_of(obj)))
    l->latest_rv = rv_number(rv_of(obj));
  l->latest = obj ? json_incref(obj) : NULL;
  json_decref(old);
}

static void on_change(k8sha__change change, json_t *obj, json_t *old, void *user_data) {
  k8sha__lock *l = user_data;
  (void)old;
  if (is_older(l, change, obj)) {
    k8sha__log(l->env->rt, K8SHA_LOG_DEBUG, "election",
               "%s: ignoring an event of resourceVersion %s, older than the %llu held",
               l->name, rv_of(obj), (unsigned long long)l->latest_rv);
    return;
  }
  if (change == K8SHA__DELETED) {
    if (rv_number(rv_of(obj)) > l->latest_rv)
      l->latest_rv = rv_number(rv_of(obj));
    set_latest(l, NULL);
  } else {
    if (is_own_stale(l, rv_of(obj)))
      return;
    set_latest(l, obj);
  }
  notify(l);
}

static void on_synced(void *user_data) {
  k8sha__lock *l = user_data;
  int first = !l->synced;
  l->synced = 1;
  if (first)
    notify(l); /* the state as first listed, even when the object does not exist */
}

static void on_error(int err, const char *message, void *user_data) {
  tell_all(user_data, err, message);
}

static void lock_free(k8sha__lock *l) {
  const k8sha_allocator *a = &l->env->rt->alloc;
  k8sha__lock **p;
  for (p = &l->env->locks; *p; p = &(*p)->next)
    if (*p == l) {
      *p = l->next;
      break;
    }
  k8sha__informer_free(l->inf);
  json_decref(l->latest);
  k8sha__free(a, l->name);
  k8sha__free(a, l->path);
  k8sha__free(a, l->collection);
  k8sha__free(a, l);
}

char *k8sha__lock_default_name(k8sha__env *env, k8sha_lock_kind kind) {
  return k8sha__asprintf(&env->rt->alloc, kind == K8SHA_LOCK_LEASE ? "%s" K8SHA__LEASE_SUFFIX
                                                                : "%s" K8SHA__CLUSTER_CM_SUFFIX,
                         env->ha->cluster_id);
}

char *k8sha__lock_addresses_name(k8sha__env *env, const char *lock_name) {
  return k8sha__asprintf(&env->rt->alloc, "%s" K8SHA__ADDRESSES_SUFFIX, lock_name);
}

int k8sha__lock_subscribe(k8sha__env *env, k8sha_lock_kind kind, const char *name,
                          k8sha__lock_sub *sub, k8sha__lock **out) {
  k8sha__informer_cbs cbs = {on_change, on_synced, on_error};
  k8sha__informer_opts o;
  k8sha__lock *l;
  int rc;

  for (l = env->locks; l; l = l->next)
    if (l->kind == kind && strcmp(l->name, name) == 0)
      break;
  if (!l) {
    l = k8sha__calloc(&env->rt->alloc, 1, sizeof(*l));
    if (!l)
      return K8SHA_ENOMEM;
    l->env = env;
    l->kind = kind;
    l->name = k8sha__strdup(&env->rt->alloc, name);
    l->collection = k8sha__asprintf(&env->rt->alloc,
                                    kind == K8SHA_LOCK_LEASE ? LEASES_PATH_FMT
                                                             : K8SHA__CONFIGMAPS_PATH_FMT,
                                    env->ha->namespace_);
    l->path = l->collection ? k8sha__asprintf(&env->rt->alloc, "%s/%s", l->collection, name) : NULL;
    l->next = env->locks;
    env->locks = l;
    if (!l->name || !l->path) {
      lock_free(l);
      return K8SHA_ENOMEM;
    }
    memset(&o, 0, sizeof(o));
    o.collection = l->collection;
    o.name = name;
    rc = k8sha__informer_new(env->kube, &o, &cbs, l, &l->inf);
    if (rc == 0)
      rc = k8sha__informer_start(l->inf);
    if (rc) {
      lock_free(l);
      return rc;
    }
  }
  sub->next = l->subs;
  l->subs = sub;
  l->orphaned = 0; /* (all had left during a telling, and one came back) */
  *out = l;
  /* A late subscriber learns the current state on the next loop turn, from its own caller. */
  return 0;
}

void k8sha__lock_unsubscribe(k8sha__lock *l, k8sha__lock_sub *sub) {
  k8sha__lock_sub **p;
  if (!l)
    return;
  for (p = &l->subs; *p; p = &(*p)->next)
    if (*p == sub) {
      *p = sub->next;
      break;
    }
  if (l->cursor == sub)
    l->cursor = sub->next;
  if (!l->subs) {
    if (l->telling)
      l->orphaned = 1; /* freed when the subscribers have been told */
    else
      lock_free(l);
  }
}

json_t *k8sha__lock_object(const k8sha__lock *l) {
  return l->latest;
}

int k8sha__lock_synced(const k8sha__lock *l) {
  return l->synced;
}

const char *k8sha__lock_path(const k8sha__lock *l) {
  return l->path;
}

const char *k8sha__lock_name(const k8sha__lock *l) {
  return l->name;
}

int k8sha__lock_max_term(const k8sha__lock *l, uint64_t *term) {
  if (l->term_seen)
    *term = l->max_term;
  return l->term_seen;
}

void k8sha__lock_note_term(k8sha__lock *l, uint64_t term) {
  if (!l->term_seen || term > l->max_term) {
    l->max_term = term;
    l->term_seen = 1;
  }
}

static void remember_own(k8sha__lock *l, const char *rv) {
  if (!rv)
    return;
  snprintf(l->own_rvs[l->own_next % OWN_RVS], sizeof(l->own_rvs[0]), "%s", rv);
  l->own_next++;
}

static void on_written(const k8sha__resp *resp, void *user_data) {
  write_op *op = user_data;
  k8sha__lock *l = op->lock;
  k8sha__env *env = l->env; /* outlives the lock, which a subscriber may free below */
  k8sha__lock_write_cb cb = op->cb;
  void *ud = op->user_data;
  int cancelled, gone;

  if (resp->err == 0 && json_is_object(resp->json)) {
    remember_own(l, rv_of(resp->json));
    set_latest(l, resp->json);
  } else if (resp->err == K8SHA_ENOTFOUND && resp->http_status == 404) {
    set_latest(l, NULL);
  }
  /* Subscribers first: the writer's callback may free the last subscriber, and the lock with
   * it. (The writer is a subscriber, so the lock is alive here.) A subscriber's host callback
   * may in turn cancel this very write (stopping or freeing the writer): then the writer is not
   * told, and the op is freed here rather than by the cancel. */
  k8sha__life_enter(&op->life);
  if (resp->err == 0)
    notify(l);
  cancelled = k8sha__life_leave(&op->life, &gone);
  (void)gone; /* (either way the request is over: the op goes now) */
  k8sha__free(&env->rt->alloc, op);
  if (!cancelled)
    cb(resp->err, resp->message, ud);
}

static int start(k8sha__lock *l, k8sha__verb verb, const char *path, json_t *obj,
                 uint64_t timeout_ms, k8sha__lock_write_cb cb, void *user_data,
                 k8sha__req **out) {
  k8sha__req_opts o;
  write_op *op;
  int rc;

  op = k8sha__calloc(&l->env->rt->alloc, 1, sizeof(*op));
  if (!op)
    return K8SHA_ENOMEM;
  k8sha__life_init(&op->life);
  op->lock = l;
  op->cb = cb;
  op->user_data = user_data;
  memset(&o, 0, sizeof(o));
  o.json = obj;
  o.verb = verb;
  o.path = path;
  o.timeout_ms = timeout_ms;
  /* Lock traffic gets one more attempt only where the client repeats a request at all (a write
   * that was not sent, a 401 after a token rotation); the deadline keeps it within the timeout. */
  o.max_attempts = 2;
  o.deadline_ms = timeout_ms;
  o.urgent = 1; /* (a renewal must not wait behind a burst of store requests) */
  rc = k8sha__req_start(l->env->kube, &o, on_written, op, out);
  if (rc)
    k8sha__free(&l->env->rt->alloc, op);
  return rc;
}

void k8sha__lock_cancel(k8sha__lock *l, k8sha__req *r) {
  write_op *op;
  if (!r)
    return;
  op = k8sha__req_user_data(r);
  if (!k8sha__life_close(&op->life))
    return; /* inside on_written: it frees the op and skips the callback */
  k8sha__free(&l->env->rt->alloc, op);
  k8sha__req_cancel(r);
}

int k8sha__lock_write(k8sha__lock *l, json_t *obj, int create, uint64_t timeout_ms,
                      k8sha__lock_write_cb cb, void *user_data, k8sha__req **out) {
  return start(l, create ? K8SHA__CREATE : K8SHA__UPDATE, create ? l->collection : l->path, obj,
               timeout_ms, cb, user_data, out);
}

int k8sha__lock_refresh(k8sha__lock *l, uint64_t timeout_ms, k8sha__lock_write_cb cb,
                        void *user_data, k8sha__req **out) {
  return start(l, K8SHA__GET, l->path, NULL, timeout_ms, cb, user_data, out);
}

/* ---- layout ---- */

static void copy_time(json_t *v, char *dst, size_t size) {
  const char *s = json_string_value(v);
  snprintf(dst, size, "%s", s ? s : "");
}

int k8sha__lock_read_record(const k8sha__lock *l, json_t *obj, k8sha__record *rec,
                            const char **why, char **text) {
  if (text)
    *text = NULL;
  if (l->kind == K8SHA_LOCK_LEASE) {
    json_t *spec = json_object_get(obj, "spec"), *v;
    k8sha__record r;
    if (!json_is_object(spec) || json_object_size(spec) == 0)
      return 0;
    memset(&r, 0, sizeof(r));
    v = json_object_get(spec, "holderIdentity");
    if (v && !json_is_string(v) && !json_is_null(v)) {
      *why = "spec.holderIdentity is not a string";
      return -1;
    }
    if (json_is_string(v))
      snprintf(r.holder, sizeof(r.holder), "%s", json_string_value(v));
    v = json_object_get(spec, "leaseDurationSeconds");
    if (json_is_integer(v) && json_integer_value(v) > 0)
      r.lease_ms = (uint64_t)json_integer_value(v) * 1000;
    v = json_object_get(spec, "leaseTransitions");
    if (json_is_integer(v) && json_integer_value(v) >= 0)
      r.transitions = (uint64_t)json_integer_value(v);
    copy_time(json_object_get(spec, "acquireTime"), r.acquire_time, sizeof(r.acquire_time));
    copy_time(json_object_get(spec, "renewTime"), r.renew_time, sizeof(r.renew_time));
    if (text)
      *text = k8sha__json_text(&l->env->rt->alloc, spec, JSON_COMPACT | JSON_SORT_KEYS, NULL);
    *rec = r;
    return 1;
  } else {
    const char *ann =
        json_string_value(json_object_get(k8sha__annotations(obj, 0), K8SHA__LEADER_ANNOTATION));
    if (!ann)
      return 0;
    if (text)
      *text = k8sha__strdup(&l->env->rt->alloc, ann);
    if (k8sha__record_parse(ann, rec, why) != 0)
      return -1;
    return 1;
  }
}

int k8sha__lock_put_record(const k8sha__lock *l, json_t *obj, const k8sha__record *rec) {
  if (l->kind == K8SHA_LOCK_LEASE) {
    /* client-go's form: whole seconds (rounded up, at least 1), MicroTime stamps */
    json_int_t secs = (json_int_t)((rec->lease_ms + 999) / 1000);
    json_t *spec = json_pack("{s:s,s:I,s:s,s:s,s:I}", "holderIdentity", rec->holder,
                             "leaseDurationSeconds", secs ? secs : 1, "acquireTime",
                             rec->acquire_time, "renewTime", rec->renew_time, "leaseTransitions",
                             (json_int_t)rec->transitions);
    if (!spec || json_object_set_new(obj, "spec", spec) != 0)
      return K8SHA_ENOMEM;
    return 0;
  } else {
    json_t *ann = k8sha__annotations(obj, 1);
    char *text = k8sha__record_format(&l->env->rt->alloc, rec);
    int rc =
        ann && text ? json_object_set_new(ann, K8SHA__LEADER_ANNOTATION, json_string(text)) : -1;
    k8sha__free(&l->env->rt->alloc, text);
    return rc ? K8SHA_ENOMEM : 0;
  }
}

json_t *k8sha__lock_entries(const k8sha__lock *l, json_t *obj, int create) {
  json_t *data;
  if (l->kind == K8SHA_LOCK_LEASE)
    return k8sha__annotations(obj, create);
  data = json_object_get(obj, "data");
  if (!json_is_object(data) && create) {
    data = json_object();
    if (json_object_set_new(obj, "data", data) != 0)
      return NULL; /* (out of memory: set_new has released data) */
  }
  return json_is_object(data) ? data : NULL;
}

json_t *k8sha__lock_new_object(const k8sha__lock *l) {
  json_t *labels = k8sha__ha_labels(l->env->ha->cluster_id, l->env->ha->flink_layout);
  if (!labels)
    return NULL;
  if (l->kind == K8SHA_LOCK_LEASE)
    return json_pack("{s:s,s:s,s:{s:s,s:o}}", "apiVersion", "coordination.k8s.io/v1", "kind",
                     "Lease", "metadata", "name", l->name, "labels", labels);
  return json_pack("{s:s,s:s,s:{s:s,s:o}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                   "name", l->name, "labels", labels);
}
