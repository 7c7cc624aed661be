/* ConfigMaps other than the lock: claimed with our term, written by conditional merge patches. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "election/elector.h"
#include "election/fenced_priv.h"
#include "election/lock.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"
#include "kube/client.h"
#include "layout/flink.h"

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

/* Writes our term, session and identity into the object's annotations. 0 or K8SHA_ENOMEM: a write
 * without them would leave the previous leader's term in place, and that leader fenced in. */
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
  json_t *labels = k8sha__ha_labels(f->env->ha->cluster_id, f->env->ha->flink_layout);
  json_t *obj = labels ? json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{}}", "apiVersion", "v1",
                                   "kind", "ConfigMap", "metadata", "name", f->name, "namespace",
                                   f->env->ha->namespace_, "labels", labels, "data")
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

static void on_response(const k8sha__resp *resp, void *ud);

/* Sends a request; a write's answer is asked for as the object's metadata alone when
 * `metadata_only` (the data is what we wrote). */
static int send_req(k8sha__fcm *f, k8sha__verb verb, const char *path, json_t *body,
                    const char *content_type, int metadata_only) {
  k8sha__req_opts o;
  memset(&o, 0, sizeof(o));
  o.json = body;
  f->patching = verb == K8SHA__PATCH;
  o.verb = verb;
  o.path = path;
  o.content_type = content_type;
  o.metadata_only = metadata_only;
  o.timeout_ms = f->env->ha->request_timeout_ms;
  /* Reads are repeated within one timeout's time; writes only where the client knows they were
   * not processed. */
  o.deadline_ms = f->env->ha->request_timeout_ms;
  return k8sha__req_start(f->env->kube, &o, on_response, f, &f->req);
}

/* Refuses (and finishes the operation) when the object was claimed by another leadership: a
 * higher term, or our term with another session (a lock deleted and created again can hand out
 * a term number twice). Either way, if we still lead, the election takes a term above it. */
static int fenced_out(k8sha__fcm *f) {
  uint64_t t = 0;
  int r = term_of(f->obj, &t);
  const char *holder;
  if (r < 0) {
    k8sha__fcm_finish(f, K8SHA_ECORRUPT,
                      "ConfigMap %s: annotation " K8SHA__TERM_ANNOTATION " is not a number",
                      f->name);
    return 1;
  }
  if (r == 0 || t < f->term || (t == f->term && our_session(f, f->obj)))
    return 0;
  k8sha__election_term_used(f->e, f->term, t);
  if (t > f->term) {
    k8sha__fcm_finish(f, K8SHA_ENOTLEADER,
                      "ConfigMap %s was claimed by a newer leader (term %" PRIu64
                      " > our %" PRIu64 ")",
                      f->name, t, f->term);
    return 1;
  }
  holder =
      json_string_value(json_object_get(k8sha__annotations(f->obj, 0), K8SHA__HOLDER_ANNOTATION));
  k8sha__fcm_finish(f, K8SHA_ENOTLEADER,
                    "ConfigMap %s was claimed in our term %" PRIu64
                    " by another leadership (holder %s): the lock was created again with a term "
                    "already used; a new term follows",
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
    k8sha__fcm_finish(f, err == K8SHA_ENOTFOUND ? K8SHA_ENOTLEADER : err,
                      "ConfigMap %s: reading the lock %s to confirm the leadership of term %" PRIu64
                      " failed: %s", f->name, k8sha__lock_name(k8sha__election_lock(f->e)), f->term,
                      message ? message : k8sha_strerror(err));
    return;
  }
  if (!k8sha__election_names_us(f->e, f->term)) {
    k8sha__fcm_finish(f, K8SHA_ENOTLEADER,
                      "ConfigMap %s: the lock %s no longer names the leadership of term %" PRIu64
                      "; nothing written",
                      f->name, k8sha__lock_name(k8sha__election_lock(f->e)), f->term);
    return;
  }
  f->verified = 1;
  k8sha__fcm_step(f);
}

/* 1 when a write must wait for verify_lock (started here, or finished with an error). */
static int needs_verify(k8sha__fcm *f) {
  k8sha__lock *lock;
  if (!f->obj || f->verified || ours(f, f->obj))
    return 0;
  lock = k8sha__election_lock(f->e);
  if (!lock) {
    k8sha__fcm_finish(f, K8SHA_ENOTLEADER, "ConfigMap %s: the election has no lock", f->name);
    return 1;
  }
  f->req_lock = lock;
  if (k8sha__lock_refresh(lock, f->env->ha->request_timeout_ms, on_lock_verified, f, &f->req) !=
      0) {
    f->req_lock = NULL;
    k8sha__fcm_finish(f, K8SHA_ENOMEM, "out of memory reading the lock for ConfigMap %s", f->name);
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
    if (body && k8sha__fcm_apply_changes(body, changes) != 0) {
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
  if (!f->obj || !f->sent || !json_is_object(meta) ||
      !json_is_string(json_object_get(meta, "resourceVersion")))
    return -1;
  size = k8sha__fcm_data_size_after(f->obj, f->size, f->sent);
  f->gen++;
  json_decref(f->last);
  f->last = NULL;
  if (json_object_set(f->obj, "metadata", meta) != 0 ||
      k8sha__fcm_apply_changes(f->obj, f->sent) != 0)
    return -1;
  f->size = size;
  f->last = json_incref(f->sent);
  f->verified = 0;
  return 0;
}

void k8sha__fcm_step_term(k8sha__fcm *f) {
  op *o = f->head;
  json_t *copy;
  uint64_t t = 0;
  char msg[768];
  int rc;

  if (!f->known) {
    rc = send_req(f, K8SHA__GET, f->path, NULL, NULL, 0);
    if (rc)
      k8sha__fcm_finish(f, rc, "reading ConfigMap %s: %s", f->name, k8sha_strerror(rc));
    return;
  }
  if (o->kind == OP_DELETE) {
    json_t *body;
    if (!f->obj) {
      f->claimed = 0;
      k8sha__fcm_finish(f, 0, NULL);
      return;
    }
    if (fenced_out(f) || needs_verify(f))
      return;
    body = json_pack("{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                     "preconditions", "resourceVersion", rv_of(f->obj) ? rv_of(f->obj) : "");
    rc = body ? send_req(f, K8SHA__DELETE, f->path, body, NULL, 0) : K8SHA_ENOMEM;
    json_decref(body);
    if (rc)
      k8sha__fcm_finish(f, rc, "deleting ConfigMap %s: %s", f->name, k8sha_strerror(rc));
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
        k8sha__fcm_finish(f, rc, "creating ConfigMap %s: %s", f->name, k8sha_strerror(rc));
      return;
    }
    k8sha__fcm_finish(f, K8SHA_ENOTFOUND, "ConfigMap %s does not exist%s", f->name,
                      was_claimed ? " any more" : "");
    return;
  }
  if (fenced_out(f))
    return;
  if (o->kind == OP_CLAIM && term_of(f->obj, &t) == 1 && t == f->term) {
    /* (fenced_out let it pass: the session is ours too) */
    f->claimed = 1;
    k8sha__fcm_finish(f, 0, NULL);
    return;
  }
  if (o->kind == OP_UPDATE && !f->claimed) {
    k8sha__fcm_finish(f, K8SHA_ENOTLEADER, "ConfigMap %s is not claimed for term %" PRIu64, f->name,
                      f->term);
    return;
  }
  if (needs_verify(f))
    return;
  copy = json_object(); /* the edit's changes to the data */
  if (!copy) {
    k8sha__fcm_finish(f, K8SHA_ENOMEM, "out of memory updating ConfigMap %s", f->name);
    return;
  }
  msg[0] = '\0';
  rc = o->kind == OP_UPDATE ? o->edit(f->obj, copy, o->edit_data, msg, sizeof(msg)) : 0;
  if (rc == 0)
    rc = k8sha__fcm_size_check(f, k8sha__fcm_data_size_after(f->obj, f->size, copy), msg,
                               sizeof(msg));
  if (rc == 0)
    rc = write_changes(f, copy, msg, sizeof(msg));
  json_decref(copy);
  if (rc == K8SHA__UNCHANGED)
    k8sha__fcm_finish(f, 0, NULL);
  else if (rc)
    k8sha__fcm_finish(f, rc, "%s", msg[0] ? msg : k8sha_strerror(rc));
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
      k8sha__fcm_finish(f, resp->err ? resp->err : K8SHA_EAPI, "reading ConfigMap %s failed: %s",
                        f->name, resp->err ? m : "the answer is not an object");
      return;
    }
    k8sha__fcm_step(f);
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
    k8sha__fcm_finish(f, 0, NULL);
    return;
  }
  json_decref(sent);
  if (resp->err == K8SHA_EFORBIDDEN && f->patching) {
    /* A Role written for whole-object updates (get, update) lacks "patch": write those. */
    f->put_only = 1;
    k8sha__log(f->env->rt, K8SHA_LOG_WARN, "store",
               "ConfigMap %s: patch refused (%s); writing whole objects instead (grant the verb "
               "\"patch\" on configmaps to make writes smaller)",
               f->name, m);
    k8sha__fcm_step(f);
    return;
  }
  switch (resp->err) {
  case K8SHA_ECONFLICT:
  case K8SHA_EEXISTS:
    k8sha__fcm_conflict(f, m);
    return;
  case K8SHA_ENOTFOUND:
    set_obj(f, NULL);
    if (o->kind == OP_DELETE) {
      f->claimed = 0;
      k8sha__fcm_finish(f, 0, NULL);
    } else {
      k8sha__fcm_finish(f, K8SHA_ENOTFOUND, "ConfigMap %s was deleted", f->name);
    }
    return;
  case K8SHA_EUNKNOWN_OUTCOME:
  case K8SHA_ETIMEDOUT:
    f->known = 0;
    k8sha__fcm_finish(f, K8SHA_EUNKNOWN_OUTCOME,
                      "writing ConfigMap %s: no answer, the write may or may not have landed (%s)",
                      f->name, m);
    return;
  default:
    k8sha__fcm_finish(f, resp->err, "writing ConfigMap %s failed: %s", f->name, m);
  }
}
