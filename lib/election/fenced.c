/* Fenced ConfigMaps: claim, conditional updates with conflict retries, conditional delete. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/backoff.h"
#include "core/ctx_priv.h"
#include "core/life.h"
#include "core/timer.h"
#include "election/elector.h"
#include "election/lock.h"
#include "election/record.h"
#include "k8sha/errors.h"
#include "core/k8s_names.h"
#include "kube/client.h"
#include "election/fenced.h"
#include "layout/flink.h"

/* The pause after a conflict, before the object is read again: 10-20 ms doubling to 1.28 s. */
#define CONFLICT_FIRST_MS 20u
#define CONFLICT_MAX_MS 1280u

typedef enum op_kind { OP_CLAIM, OP_UPDATE, OP_DELETE } op_kind;

typedef struct op {
  struct op *next;
  op_kind kind;
  int create;
  k8sha__fcm_edit edit;
  void *edit_data;
  k8sha__fcm_done done;
  void *user_data;
} op;

struct k8sha__fcm {
  k8sha__election_link link; /* to e; e is NULL once the host freed the election */
  k8sha_ctx *ctx;
  k8sha_election *e;
  uint64_t term;
  char session[40]; /* the leadership's session, stamped beside the term */
  char *name, *path, *collection;
  k8sha__lock *lock; /* set when this is the lock's own ConfigMap */
  json_t *obj;       /* other objects: the state as of our last read or write */
  size_t size;       /* bytes of obj's data (k8sha__configmap_data_size) */
  json_t *sent;      /* the data changes of the write under way */
  uint64_t gen;      /* changes with every change of obj (k8sha__fcm_generation) */
  json_t *last;      /* the changes of our write that made obj's generation, or NULL */
  int patching;      /* the request under way is a merge patch */
  int put_only;      /* the server refused a patch (a Role without the verb): whole objects */
  int known;         /* obj reflects the server (NULL: absent) */
  int claimed;
  int verified;      /* the lock, read after obj, named this leadership */
  op *head, *tail;
  int running;
  unsigned int conflicts;
  k8sha__req *req;
  k8sha__lock *req_lock; /* req is this lock's read (needs_verify), else NULL */
  k8sha__timer *kick; /* starts the next step: at once, or after a conflict's backoff */
  k8sha__life life; /* the lifetime rule (core/life.h): a completion holds a reference */
};

static void step(k8sha__fcm *f);
static void destroy(k8sha__fcm *f);
static size_t size_after(json_t *obj, size_t size, json_t *changes);

/* ---- small helpers ---- */

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
  return size_after(obj, obj == f->obj ? f->size : k8sha__configmap_data_size(obj), changes);
}

/* The size of obj's data (`size` now) once `changes` apply. */
static size_t size_after(json_t *obj, size_t size, json_t *changes) {
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
static int apply_changes(json_t *obj, json_t *changes) {
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

static const char *rv_of(json_t *obj) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

/* The term an object was claimed with: 1 and *term, 0 when unclaimed, -1 when unreadable. */
static int term_of(json_t *obj, uint64_t *term) {
  const char *s =
      json_string_value(json_object_get(k8sha__annotations(obj, 0), K8SHA__TERM_ANNOTATION));
  char *end;
  if (!s)
    return 0;
  *term = strtoull(s, &end, 10);
  return *s >= '0' && *s <= '9' && *end == '\0' ? 1 : -1;
}

/* 1 when `obj` carries our leadership's session. */
static int our_session(const k8sha__fcm *f, json_t *obj) {
  const char *s =
      json_string_value(json_object_get(k8sha__annotations(obj, 0), K8SHA__SESSION_ANNOTATION));
  return s && strcmp(s, f->session) == 0;
}

/* 1 when `obj` carries our own claim: our term and our session. */
static int ours(const k8sha__fcm *f, json_t *obj) {
  uint64_t t = 0;
  return term_of(obj, &t) == 1 && t == f->term && our_session(f, obj);
}

/* Writes our term, session and identity into the object's annotations. 0 or K8SHA_ENOMEM: a write without
 * them would leave the previous leader's term in place, and that leader fenced in. */
static int stamp(k8sha__fcm *f, json_t *obj) {
  json_t *ann = k8sha__annotations(obj, 1);
  char t[24];
  snprintf(t, sizeof(t), "%" PRIu64, f->term);
  if (!ann || json_object_set_new(ann, K8SHA__TERM_ANNOTATION, json_string(t)) != 0 ||
      json_object_set_new(ann, K8SHA__SESSION_ANNOTATION, json_string(f->session)) != 0 ||
      json_object_set_new(ann, K8SHA__HOLDER_ANNOTATION,
                          json_string(k8sha_election_identity(f->e))) != 0)
    return K8SHA_ENOMEM;
  return 0;
}

static json_t *new_object(k8sha__fcm *f) {
  json_t *labels = k8sha__ha_labels(f->ctx->ha.cluster_id, f->ctx->ha.flink_layout);
  json_t *obj = labels ? json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{}}", "apiVersion", "v1",
                                   "kind", "ConfigMap", "metadata", "name", f->name, "namespace",
                                   f->ctx->ha.namespace_, "labels", labels, "data")
                       : NULL;
  if (obj && stamp(f, obj) != 0) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

static void set_obj(k8sha__fcm *f, json_t *obj) {
  json_t *old = f->obj;
  f->obj = obj ? json_incref(obj) : NULL;
  f->size = obj ? k8sha__configmap_data_size(obj) : 0;
  f->gen++;
  json_decref(f->last);
  f->last = NULL;
  f->known = 1;
  f->verified = 0;
  json_decref(old);
}

/* K8SHA_ETOOLARGE (with msg) when `obj` would pass Kubernetes' limit, else 0: refused before
 * the server would answer 422. */
static int size_check(const k8sha__fcm *f, size_t size, char *msg, size_t n) {
  if (size <= K8SHA__CONFIGMAP_MAX_BYTES)
    return 0;
  snprintf(msg, n, "ConfigMap %s would hold %zu bytes of data, more than the %d that Kubernetes allows",
           f->name, size, K8SHA__CONFIGMAP_MAX_BYTES);
  return K8SHA_ETOOLARGE;
}

/* ---- finishing an operation ---- */

static void finish(k8sha__fcm *f, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish(k8sha__fcm *f, int err, const char *fmt, ...) {
  op *o = f->head;
  char msg[1024];
  va_list ap;

  msg[0] = '\0';
  if (fmt) {
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
  }
  f->head = o->next;
  if (!f->head)
    f->tail = NULL;
  f->running = 0;
  f->conflicts = 0;
  if (err)
    k8sha__log(&f->ctx->rt, K8SHA_LOG_DEBUG, "store", "%s", msg);
  k8sha__life_enter(&f->life);
  if (o->done)
    o->done(err, err ? msg : NULL, o->user_data);
  k8sha__free(&f->ctx->rt.alloc, o);
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
static void conflict(k8sha__fcm *f, const char *message) {
  if (++f->conflicts > f->ctx->ha.max_retries) {
    finish(f, K8SHA_ECONFLICT, "ConfigMap %s: still conflicting after %u attempts (%s)", f->name,
           f->conflicts, message ? message : "409");
    return;
  }
  f->known = 0;
  k8sha__timer_start(f->kick, k8sha__backoff_ms(f->conflicts, CONFLICT_FIRST_MS, CONFLICT_MAX_MS,
                                                k8sha__kube_random(f->ctx->kube, UINT64_MAX)));
}

static void on_kick(void *ud) {
  k8sha__fcm *f = ud;
  if (!f->head)
    return;
  f->running = 1;
  step(f);
}

/* ---- the lock's own ConfigMap ---- */

static void on_lock_written(int err, const char *message, void *ud);

static void on_lock_refreshed(int err, const char *message, void *ud) {
  k8sha__fcm *f = ud;
  f->req = NULL;
  if (err) {
    finish(f, err, "reading ConfigMap %s failed: %s", f->name, message ? message : "");
    return;
  }
  step(f);
}

static void step_lock(k8sha__fcm *f) {
  op *o = f->head;
  json_t *cur = k8sha__lock_object(f->lock), *copy, *changes;
  k8sha__record rec;
  const char *why;
  char msg[768];
  int rc;

  if (!f->known) {
    f->known = 1;
    if (k8sha__lock_refresh(f->lock, f->ctx->ha.request_timeout_ms, on_lock_refreshed, f,
                            &f->req) != 0)
      finish(f, K8SHA_ENOMEM, "out of memory reading ConfigMap %s", f->name);
    return;
  }
  if (!cur || k8sha__lock_read_record(f->lock, cur, &rec, &why, NULL) != 1 ||
      strcmp(rec.holder, k8sha_election_identity(f->e)) != 0 || rec.transitions != f->term) {
    finish(f, K8SHA_ENOTLEADER, "ConfigMap %s: the lock no longer names us as leader of term %" PRIu64,
           f->name, f->term);
    return;
  }
  if (o->kind == OP_CLAIM) {
    f->claimed = 1;
    finish(f, 0, NULL);
    return;
  }
  if (o->kind == OP_DELETE) {
    finish(f, K8SHA_EINVAL, "ConfigMap %s holds the lock and is not deleted here", f->name);
    return;
  }
  changes = json_object();
  if (!changes) {
    finish(f, K8SHA_ENOMEM, "out of memory updating ConfigMap %s", f->name);
    return;
  }
  msg[0] = '\0';
  copy = NULL;
  rc = o->edit(cur, changes, o->edit_data, msg, sizeof(msg));
  if (rc == 0)
    rc = size_check(f, size_after(cur, k8sha__configmap_data_size(cur), changes), msg,
                    sizeof(msg));
  if (rc == 0) {
    /* (the lock's writes are whole objects: its renewals are too) */
    copy = json_deep_copy(cur);
    rc = copy ? apply_changes(copy, changes) : K8SHA_ENOMEM;
    json_object_del(json_object_get(copy, "metadata"), "managedFields");
  }
  if (rc == 0)
    rc = k8sha__lock_write(f->lock, copy, 0, f->ctx->ha.request_timeout_ms, on_lock_written, f,
                           &f->req);
  json_decref(copy);
  json_decref(changes);
  if (rc == K8SHA__UNCHANGED)
    finish(f, 0, NULL);
  else if (rc)
    finish(f, rc, "%s", msg[0] ? msg : k8sha_strerror(rc));
}

static void on_lock_written(int err, const char *message, void *ud) {
  k8sha__fcm *f = ud;
  f->req = NULL;
  if (err == 0)
    finish(f, 0, NULL);
  else if (err == K8SHA_ECONFLICT)
    conflict(f, message);
  else if (err == K8SHA_EUNKNOWN_OUTCOME || err == K8SHA_ETIMEDOUT)
    finish(f, K8SHA_EUNKNOWN_OUTCOME, "updating ConfigMap %s: no answer, the update may or may not have landed (%s)",
           f->name, message ? message : "");
  else
    finish(f, err, "updating ConfigMap %s failed: %s", f->name, message ? message : "");
}

/* ---- other ConfigMaps: claimed with our term ---- */

static void on_response(const k8sha__resp *resp, void *ud);

/* Sends a request; a write's answer is asked for as the object's metadata alone when
 * `metadata_only` (the data is what we wrote). */
static int send_req(k8sha__fcm *f, k8sha__verb verb, const char *path, json_t *body,
                    const char *content_type, int metadata_only) {
  k8sha__req_opts o;
  char *text = NULL;
  int rc;
  memset(&o, 0, sizeof(o));
  if (body) {
    text = json_dumps(body, JSON_COMPACT);
    if (!text)
      return K8SHA_ENOMEM;
    o.body = text;
    o.body_len = strlen(text);
  }
  f->patching = verb == K8SHA__PATCH;
  o.verb = verb;
  o.path = path;
  o.content_type = content_type;
  o.metadata_only = metadata_only;
  o.timeout_ms = f->ctx->ha.request_timeout_ms;
  /* Reads are repeated within one timeout's time; writes only where the client knows they were
   * not processed. */
  o.deadline_ms = f->ctx->ha.request_timeout_ms;
  rc = k8sha__req_start(f->ctx->kube, &o, on_response, f, &f->req);
  free(text);
  return rc;
}

/* Refuses (and finishes the operation) when the object was claimed by another leadership: a
 * higher term, or our term with another session (a lock deleted and created again can hand out
 * a term number twice). Either way, if we still lead, the election takes a term above it. */
static int fenced_out(k8sha__fcm *f) {
  uint64_t t = 0;
  int r = term_of(f->obj, &t);
  const char *holder;
  if (r < 0) {
    finish(f, K8SHA_ECORRUPT, "ConfigMap %s: annotation " K8SHA__TERM_ANNOTATION " is not a number",
           f->name);
    return 1;
  }
  if (r == 0 || t < f->term || (t == f->term && our_session(f, f->obj)))
    return 0;
  k8sha__election_term_used(f->e, f->term, t);
  if (t > f->term) {
    finish(f, K8SHA_ENOTLEADER, "ConfigMap %s was claimed by a newer leader (term %" PRIu64 " > our %" PRIu64 ")",
           f->name, t, f->term);
    return 1;
  }
  holder =
      json_string_value(json_object_get(k8sha__annotations(f->obj, 0), K8SHA__HOLDER_ANNOTATION));
  finish(f, K8SHA_ENOTLEADER,
         "ConfigMap %s was claimed in our term %" PRIu64 " by another leadership (holder %s): the "
         "lock was created again with a term already used; a new term follows",
         f->name, t, holder ? holder : "unnamed");
  return 1;
}

/* Before a write over a claim that is not ours (a lower term, or none): the lock read afresh
 * must still name this leadership. The write stays conditional on the ConfigMap's version read
 * before this, so a leader of an older incarnation of the lock (deleted and created again),
 * whatever its term, cannot override a claim of the lock's current leader: either its read of
 * the lock shows the new incarnation, or the claim came later and changed the version. */
static void on_lock_verified(int err, const char *message, void *ud) {
  k8sha__fcm *f = ud;
  f->req = NULL;
  f->req_lock = NULL;
  if (err) {
    finish(f, err == K8SHA_ENOTFOUND ? K8SHA_ENOTLEADER : err,
           "ConfigMap %s: reading the lock %s to confirm the leadership of term %" PRIu64
           " failed: %s", f->name, k8sha__lock_name(k8sha__election_lock(f->e)), f->term,
           message ? message : k8sha_strerror(err));
    return;
  }
  if (!k8sha__election_names_us(f->e, f->term)) {
    finish(f, K8SHA_ENOTLEADER,
           "ConfigMap %s: the lock %s no longer names the leadership of term %" PRIu64
           "; nothing written", f->name, k8sha__lock_name(k8sha__election_lock(f->e)), f->term);
    return;
  }
  f->verified = 1;
  step(f);
}

/* 1 when a write must wait for verify_lock (started here, or finished with an error). */
static int needs_verify(k8sha__fcm *f) {
  k8sha__lock *lock;
  if (!f->obj || f->verified || ours(f, f->obj))
    return 0;
  lock = k8sha__election_lock(f->e);
  if (!lock) {
    finish(f, K8SHA_ENOTLEADER, "ConfigMap %s: the election has no lock", f->name);
    return 1;
  }
  f->req_lock = lock;
  if (k8sha__lock_refresh(lock, f->ctx->ha.request_timeout_ms, on_lock_verified, f, &f->req) !=
      0) {
    f->req_lock = NULL;
    finish(f, K8SHA_ENOMEM, "out of memory reading the lock for ConfigMap %s", f->name);
  }
  return 1;
}

/* Writes `changes` and our stamp on the state we last saw, conditional on its resourceVersion:
 * a JSON merge patch of what changes (the cost of a commit does not grow with the entries the
 * ConfigMap holds), or, when the server refused us the patch verb, the whole object. */
static int write_changes(k8sha__fcm *f, json_t *changes, char *msg, size_t n) {
  const char *rv = rv_of(f->obj);
  json_t *body;
  int rc;
  if (!rv || !*rv) {
    /* (without it the write would not be conditional) */
    snprintf(msg, n, "ConfigMap %s as read has no resourceVersion; nothing written", f->name);
    return K8SHA_EBADRESPONSE;
  }
  if (!f->put_only) {
    body = json_pack("{s:{s:s}}", "metadata", "resourceVersion", rv);
    if (body && json_object_size(changes) && json_object_set(body, "data", changes) != 0) {
      json_decref(body);
      body = NULL;
    }
  } else {
    body = json_deep_copy(f->obj);
    if (body && apply_changes(body, changes) != 0) {
      json_decref(body);
      body = NULL;
    }
    json_object_del(json_object_get(body, "metadata"), "managedFields");
  }
  rc = body ? stamp(f, body) : K8SHA_ENOMEM;
  if (rc == 0)
    rc = send_req(f, f->put_only ? K8SHA__UPDATE : K8SHA__PATCH, f->path, body,
                  f->put_only ? NULL : K8SHA__MERGE_PATCH, 1);
  json_decref(body);
  if (rc == 0) {
    json_decref(f->sent);
    f->sent = json_incref(changes);
  }
  return rc;
}

/* Our write landed and the server answered with the object's metadata: the object is the one
 * we read with the changes we sent (the write was conditional on it). 0, or -1 when it cannot
 * be known (read again before the next write). */
static int adopt(k8sha__fcm *f, json_t *answer) {
  json_t *meta = json_object_get(answer, "metadata");
  size_t size;
  if (!f->obj || !f->sent || !json_is_object(meta) || !json_is_string(json_object_get(meta, "resourceVersion")))
    return -1;
  size = size_after(f->obj, f->size, f->sent);
  f->gen++;
  json_decref(f->last);
  f->last = NULL;
  if (json_object_set(f->obj, "metadata", meta) != 0 || apply_changes(f->obj, f->sent) != 0)
    return -1;
  f->size = size;
  f->last = json_incref(f->sent);
  f->verified = 0;
  return 0;
}

static void step_term(k8sha__fcm *f) {
  op *o = f->head;
  json_t *copy;
  uint64_t t = 0;
  char msg[768];
  int rc;

  if (!f->known) {
    rc = send_req(f, K8SHA__GET, f->path, NULL, NULL, 0);
    if (rc)
      finish(f, rc, "reading ConfigMap %s: %s", f->name, k8sha_strerror(rc));
    return;
  }
  if (o->kind == OP_DELETE) {
    json_t *body;
    if (!f->obj) {
      f->claimed = 0;
      finish(f, 0, NULL);
      return;
    }
    if (fenced_out(f) || needs_verify(f))
      return;
    body = json_pack("{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                     "preconditions", "resourceVersion", rv_of(f->obj) ? rv_of(f->obj) : "");
    rc = body ? send_req(f, K8SHA__DELETE, f->path, body, NULL, 0) : K8SHA_ENOMEM;
    json_decref(body);
    if (rc)
      finish(f, rc, "deleting ConfigMap %s: %s", f->name, k8sha_strerror(rc));
    return;
  }
  if (!f->obj) {
    int was_claimed = f->claimed;
    f->claimed = 0;
    if (o->kind == OP_CLAIM && o->create) {
      copy = new_object(f);
      rc = copy ? send_req(f, K8SHA__CREATE, f->collection, copy, NULL, 0) : K8SHA_ENOMEM;
      json_decref(copy);
      if (rc)
        finish(f, rc, "creating ConfigMap %s: %s", f->name, k8sha_strerror(rc));
      return;
    }
    finish(f, K8SHA_ENOTFOUND, "ConfigMap %s does not exist%s", f->name,
           was_claimed ? " any more" : "");
    return;
  }
  if (fenced_out(f))
    return;
  if (o->kind == OP_CLAIM && term_of(f->obj, &t) == 1 && t == f->term) {
    /* (fenced_out let it pass: the session is ours too) */
    f->claimed = 1;
    finish(f, 0, NULL);
    return;
  }
  if (o->kind == OP_UPDATE && !f->claimed) {
    finish(f, K8SHA_ENOTLEADER, "ConfigMap %s is not claimed for term %" PRIu64, f->name,
           f->term);
    return;
  }
  if (needs_verify(f))
    return;
  copy = json_object(); /* the edit's changes to the data */
  if (!copy) {
    finish(f, K8SHA_ENOMEM, "out of memory updating ConfigMap %s", f->name);
    return;
  }
  msg[0] = '\0';
  rc = o->kind == OP_UPDATE ? o->edit(f->obj, copy, o->edit_data, msg, sizeof(msg)) : 0;
  if (rc == 0)
    rc = size_check(f, size_after(f->obj, f->size, copy), msg, sizeof(msg));
  if (rc == 0)
    rc = write_changes(f, copy, msg, sizeof(msg));
  json_decref(copy);
  if (rc == K8SHA__UNCHANGED)
    finish(f, 0, NULL);
  else if (rc)
    finish(f, rc, "%s", msg[0] ? msg : k8sha_strerror(rc));
}

static void on_response(const k8sha__resp *resp, void *ud) {
  k8sha__fcm *f = ud;
  op *o = f->head;
  int was_read = !f->known;
  const char *m = resp->message ? resp->message : "";
  json_t *sent;

  f->req = NULL;
  if (was_read) {
    if (resp->err == 0 && json_is_object(resp->json))
      set_obj(f, resp->json);
    else if (resp->err == K8SHA_ENOTFOUND && resp->http_status == 404)
      set_obj(f, NULL);
    else {
      finish(f, resp->err ? resp->err : K8SHA_EAPI, "reading ConfigMap %s failed: %s", f->name,
             resp->err ? m : "the answer is not an object");
      return;
    }
    step(f);
    return;
  }
  sent = f->sent;
  f->sent = NULL;
  if (resp->err == 0) {
    const char *kind = json_string_value(json_object_get(resp->json, "kind"));
    if (o->kind == OP_DELETE) {
      set_obj(f, NULL);
      f->claimed = 0;
    } else if (json_is_object(resp->json)) {
      f->sent = sent;
      if (!(kind && strcmp(kind, K8SHA__KIND_METADATA) == 0))
        set_obj(f, resp->json);
      else if (adopt(f, resp->json) != 0)
        f->known = 0;
      f->sent = NULL;
      f->claimed = 1;
    } else {
      f->known = 0;
    }
    json_decref(sent);
    finish(f, 0, NULL);
    return;
  }
  json_decref(sent);
  if (resp->err == K8SHA_EFORBIDDEN && f->patching) {
    /* A Role written for whole-object updates (get, update) lacks "patch": write those. */
    f->put_only = 1;
    k8sha__log(&f->ctx->rt, K8SHA_LOG_WARN, "store",
               "ConfigMap %s: patch refused (%s); writing whole objects instead (grant the verb "
               "\"patch\" on configmaps to make writes smaller)",
               f->name, m);
    step(f);
    return;
  }
  switch (resp->err) {
  case K8SHA_ECONFLICT:
  case K8SHA_EEXISTS:
    conflict(f, m);
    return;
  case K8SHA_ENOTFOUND:
    set_obj(f, NULL);
    if (o->kind == OP_DELETE) {
      f->claimed = 0;
      finish(f, 0, NULL);
    } else {
      finish(f, K8SHA_ENOTFOUND, "ConfigMap %s was deleted", f->name);
    }
    return;
  case K8SHA_EUNKNOWN_OUTCOME:
  case K8SHA_ETIMEDOUT:
    f->known = 0;
    finish(f, K8SHA_EUNKNOWN_OUTCOME,
           "writing ConfigMap %s: no answer, the write may or may not have landed (%s)", f->name,
           m);
    return;
  default:
    finish(f, resp->err, "writing ConfigMap %s failed: %s", f->name, m);
  }
}

static void step(k8sha__fcm *f) {
  if (!f->e) {
    finish(f, K8SHA_ECANCELED, "ConfigMap %s: the election was freed", f->name);
    return;
  }
  if (!k8sha__election_leads(f->e, f->term)) {
    finish(f, K8SHA_ENOTLEADER, "ConfigMap %s: not the leader of term %" PRIu64 " any more",
           f->name, f->term);
    return;
  }
  if (f->lock)
    step_lock(f);
  else
    step_term(f);
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
  k8sha_ctx *ctx;
  k8sha__fcm *f;
  k8sha__lock *lock;

  if (!e || !name || !out)
    return K8SHA_EINVAL;
  ctx = k8sha__election_ctx(e);
  if (!k8sha_election_is_leader(e))
    return K8SHA_ENOTLEADER;
  f = k8sha__calloc(&ctx->rt.alloc, 1, sizeof(*f));
  if (!f)
    return K8SHA_ENOMEM;
  k8sha__life_init(&f->life);
  f->ctx = ctx;
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
  f->name = k8sha__strdup(&ctx->rt.alloc, name);
  f->collection = k8sha__asprintf(&ctx->rt.alloc, K8SHA__CONFIGMAPS_PATH_FMT, ctx->ha.namespace_);
  f->path = f->collection ? k8sha__asprintf(&ctx->rt.alloc, "%s/%s", f->collection, name) : NULL;
  f->kick = k8sha__timer_new(&ctx->rt, on_kick, f);
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
  o = k8sha__calloc(&f->ctx->rt.alloc, 1, sizeof(*o));
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

k8sha_ctx *k8sha__fcm_ctx(const k8sha__fcm *f) {
  return f->ctx;
}

static void destroy(k8sha__fcm *f) {
  const k8sha_allocator *a = &f->ctx->rt.alloc;
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
