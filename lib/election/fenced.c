/* Fenced ConfigMaps: the object, its queue of operations (one at a time, in order), their
 * completion and the backoff after a conflict; a ConfigMap's data and what an edit changes in it.
 * Writing them: fenced_lock.c (the lock's own ConfigMap), fenced_term.c (claimed with a term). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/backoff.h"
#include "election/env.h"
#include "core/life.h"
#include "core/timer.h"
#include "election/elector.h"
#include "election/fenced.h"
#include "election/fenced_priv.h"
#include "election/lock.h"
#include "k8sha/errors.h"
#include "kube/client.h"

/* The pause after a conflict, before the object is read again: 10-20 ms doubling to 1.28 s. */
#define CONFLICT_FIRST_MS 20u
#define CONFLICT_MAX_MS 1280u

static void destroy(k8sha__fcm *f);

/* ---- a ConfigMap's data ---- */

json_t *k8sha__configmap_data(json_t *obj, int create) {
  json_t *data = json_object_get(obj, "data");
  if (!json_is_object(data) && create) {
    data = json_object();
    if (json_object_set_new(obj, "data", data) != 0)
      return NULL; /* (out of memory: set_new has released data) */
  }
  return json_is_object(data) ? data : NULL;
}

size_t k8sha__configmap_data_size(json_t *obj) {
  const char *key;
  json_t *v;
  size_t n = 0;
  json_object_foreach(json_object_get(obj, "data"), key, v) {
    n += strlen(key) + json_string_length(v);
  }
  json_object_foreach(json_object_get(obj, "binaryData"), key, v) {
    /* base64 in JSON; the limit counts the decoded bytes */
    n += strlen(key) + json_string_length(v) / 4 * 3;
  }
  return n;
}

const char *k8sha__fcm_value(json_t *obj, json_t *changes, const char *key) {
  json_t *c = json_object_get(changes, key);
  if (c)
    return json_string_value(c); /* (NULL for a removal) */
  return json_string_value(json_object_get(json_object_get(obj, "data"), key));
}

size_t k8sha__fcm_size_after(const k8sha__fcm *f, json_t *obj, json_t *changes) {
  return k8sha__fcm_data_size_after(obj, obj == f->obj ? f->size : k8sha__configmap_data_size(obj),
                                    changes);
}

/* The size of obj's data (`size` now) once `changes` apply. */
size_t k8sha__fcm_data_size_after(json_t *obj, size_t size, json_t *changes) {
  json_t *data = json_object_get(obj, "data"), *v, *old;
  const char *key;
  json_object_foreach(changes, key, v) {
    old = json_object_get(data, key);
    if (json_is_string(old))
      size -= strlen(key) + json_string_length(old);
    if (json_is_string(v))
      size += strlen(key) + json_string_length(v);
  }
  return size;
}

/* Applies an edit's changes to obj's data: 0 or K8SHA_ENOMEM. */
int k8sha__fcm_apply_changes(json_t *obj, json_t *changes) {
  json_t *data, *v;
  const char *key;
  if (json_object_size(changes) == 0)
    return 0;
  data = k8sha__configmap_data(obj, 1);
  if (!data)
    return K8SHA_ENOMEM;
  json_object_foreach(changes, key, v) {
    if (json_is_null(v))
      json_object_del(data, key);
    else if (json_object_set(data, key, v) != 0)
      return K8SHA_ENOMEM;
  }
  return 0;
}

/* K8SHA_ETOOLARGE (with msg) when `obj` would pass Kubernetes' limit, else 0: refused before
 * the server would answer 422. */
int k8sha__fcm_size_check(const k8sha__fcm *f, size_t size, char *msg, size_t n) {
  if (size <= K8SHA__CONFIGMAP_MAX_BYTES)
    return 0;
  snprintf(msg, n,
           "ConfigMap %s would hold %zu bytes of data, more than the %d that Kubernetes allows",
           f->name, size, K8SHA__CONFIGMAP_MAX_BYTES);
  return K8SHA_ETOOLARGE;
}

/* ---- finishing an operation ---- */

void k8sha__fcm_finish(k8sha__fcm *f, int err, const char *fmt, ...) {
  op *o = f->head;
  char msg[1024];
  va_list ap;

  va_start(ap, fmt);
  k8sha__vformat(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  f->head = o->next;
  if (!f->head)
    f->tail = NULL;
  f->running = 0;
  f->conflicts = 0;
  if (err)
    k8sha__log(f->env->rt, K8SHA_LOG_DEBUG, "store", "%s", msg);
  k8sha__life_enter(&f->life);
  if (o->done)
    o->done(err, err ? msg : NULL, o->user_data);
  k8sha__free(&f->env->rt->alloc, o);
  {
    int gone;
    if (k8sha__life_leave(&f->life, &gone)) {
      if (gone)
        destroy(f);
      return;
    }
  }
  if (f->head && f->life.refs == 1) /* (not inside an outer completion) */
    k8sha__timer_start(f->kick, 0);
}

/* A conflict: read again (after a jittered pause) and repeat, or give up. */
void k8sha__fcm_conflict(k8sha__fcm *f, const char *message) {
  if (++f->conflicts > f->env->ha->max_retries) {
    k8sha__fcm_finish(f, K8SHA_ECONFLICT, "ConfigMap %s: still conflicting after %u attempts (%s)",
                      f->name, f->conflicts, message ? message : "409");
    return;
  }
  f->known = 0;
  k8sha__timer_start(f->kick, k8sha__backoff_ms(f->conflicts, CONFLICT_FIRST_MS, CONFLICT_MAX_MS,
                                                k8sha__kube_random(f->env->kube, UINT64_MAX)));
}

static void on_kick(void *ud) {
  k8sha__fcm *f = ud;
  if (!f->head)
    return;
  f->running = 1;
  k8sha__fcm_step(f);
}

void k8sha__fcm_step(k8sha__fcm *f) {
  if (!f->e) {
    k8sha__fcm_finish(f, K8SHA_ECANCELED, "ConfigMap %s: the election was freed", f->name);
    return;
  }
  if (!k8sha__election_leads(f->e, f->term)) {
    k8sha__fcm_finish(f, K8SHA_ENOTLEADER,
                      "ConfigMap %s: not the leader of term %" PRIu64 " any more", f->name,
                      f->term);
    return;
  }
  if (f->lock)
    k8sha__fcm_step_lock(f);
  else
    k8sha__fcm_step_term(f);
}

/* ---- the object ---- */

/* The host freed the election (during that free): let go of it and of its lock; the operation
 * under way, if any, fails on the next loop turn. */
static void election_gone(k8sha__election_link *link) {
  k8sha__fcm *f = (k8sha__fcm *)link;
  if (f->req && (f->lock || f->req_lock)) {
    k8sha__lock_cancel(f->lock ? f->lock : f->req_lock, f->req);
    f->req = NULL;
    f->req_lock = NULL;
    f->known = 0;
  }
  f->e = NULL;
  f->lock = NULL;
  if (f->head && !f->req && f->life.refs == 1)
    k8sha__timer_start(f->kick, 0);
}

int k8sha__fcm_new(k8sha_election *e, const char *name, k8sha__fcm **out) {
  k8sha__env *env;
  k8sha__fcm *f;
  k8sha__lock *lock;

  if (!e || !name || !out)
    return K8SHA_EINVAL;
  env = k8sha__election_env(e);
  if (!k8sha_election_is_leader(e))
    return K8SHA_ENOTLEADER;
  f = k8sha__calloc(&env->rt->alloc, 1, sizeof(*f));
  if (!f)
    return K8SHA_ENOMEM;
  k8sha__life_init(&f->life);
  f->env = env;
  f->e = e;
  f->link.gone = election_gone;
  k8sha__election_link_add(e, &f->link);
  f->term = k8sha__election_term(e);
  snprintf(f->session, sizeof(f->session), "%s", k8sha__election_session(e));
  lock = k8sha__election_lock(e);
  if (k8sha__election_kind(e) == K8SHA_LOCK_CONFIGMAP && lock &&
      strcmp(k8sha__lock_name(lock), name) == 0) {
    f->lock = lock;
    f->known = 1; /* the lock is watched: its state is current */
  }
  f->name = k8sha__strdup(&env->rt->alloc, name);
  f->collection = k8sha__asprintf(&env->rt->alloc, K8SHA__CONFIGMAPS_PATH_FMT, env->ha->namespace_);
  f->path = f->collection ? k8sha__asprintf(&env->rt->alloc, "%s/%s", f->collection, name) : NULL;
  f->kick = k8sha__timer_new(env->rt, on_kick, f);
  if (!f->name || !f->path || !f->kick) {
    destroy(f);
    return K8SHA_ENOMEM;
  }
  *out = f;
  return 0;
}

static int enqueue(k8sha__fcm *f, op_kind kind, int create, k8sha__fcm_edit edit, void *edit_data,
                   k8sha__fcm_done done, void *user_data) {
  op *o;
  if (!f || (kind == OP_UPDATE && !edit))
    return K8SHA_EINVAL;
  o = k8sha__calloc(&f->env->rt->alloc, 1, sizeof(*o));
  if (!o)
    return K8SHA_ENOMEM;
  o->kind = kind;
  o->create = create;
  o->edit = edit;
  o->edit_data = edit_data;
  o->done = done;
  o->user_data = user_data;
  if (f->tail)
    f->tail->next = o;
  else
    f->head = o;
  f->tail = o;
  if (!f->running && !k8sha__timer_active(f->kick))
    k8sha__timer_start(f->kick, 0);
  return 0;
}

int k8sha__fcm_claim(k8sha__fcm *f, int create, k8sha__fcm_done done, void *user_data) {
  return enqueue(f, OP_CLAIM, create, NULL, NULL, done, user_data);
}

int k8sha__fcm_update(k8sha__fcm *f, k8sha__fcm_edit edit, void *edit_data, k8sha__fcm_done done,
                      void *user_data) {
  return enqueue(f, OP_UPDATE, 0, edit, edit_data, done, user_data);
}

int k8sha__fcm_delete(k8sha__fcm *f, k8sha__fcm_done done, void *user_data) {
  return enqueue(f, OP_DELETE, 0, NULL, NULL, done, user_data);
}

uint64_t k8sha__fcm_generation(const k8sha__fcm *f, json_t **last) {
  *last = f->lock ? NULL : f->last;
  return f->lock ? 0 : f->gen;
}

json_t *k8sha__fcm_object(const k8sha__fcm *f) {
  return f->lock ? k8sha__lock_object(f->lock) : f->obj;
}

int k8sha__fcm_leads(const k8sha__fcm *f) {
  return f->e && k8sha__election_leads(f->e, f->term);
}

int k8sha__fcm_idle(const k8sha__fcm *f) {
  return f->head == NULL;
}

void k8sha__fcm_forget(k8sha__fcm *f) {
  if (!f->head && !f->lock)
    f->known = 0;
}

const char *k8sha__fcm_name(const k8sha__fcm *f) {
  return f->name;
}

k8sha__env *k8sha__fcm_env(const k8sha__fcm *f) {
  return f->env;
}

static void destroy(k8sha__fcm *f) {
  const k8sha_allocator *a = &f->env->rt->alloc;
  op *o, *next;
  k8sha__election_link_remove(&f->link);
  if (f->req) {
    if (f->lock || f->req_lock)
      k8sha__lock_cancel(f->lock ? f->lock : f->req_lock, f->req);
    else
      k8sha__req_cancel(f->req);
  }
  for (o = f->head; o; o = next) {
    next = o->next;
    k8sha__free(a, o);
  }
  k8sha__timer_free(f->kick);
  json_decref(f->obj);
  json_decref(f->sent);
  json_decref(f->last);
  k8sha__free(a, f->name);
  k8sha__free(a, f->path);
  k8sha__free(a, f->collection);
  k8sha__free(a, f);
}

void k8sha__fcm_free(k8sha__fcm *f) {
  if (f && k8sha__life_close(&f->life)) /* (inside a completion: when it returns) */
    destroy(f);
}
