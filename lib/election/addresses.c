/* A Lease lock's published entries, in a ConfigMap of their own (<lease>-addresses): the Lease
 * changes with every renewal, this ConfigMap only when a leader publishes, so retrievers hear of
 * nothing else. Each leader claims it with its term and writes it like a job's ConfigMap
 * (election/fenced.h); its leader entries are kept exactly the leader's own. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "election/elector.h"
#include "election/elector_priv.h"
#include "k8sha/errors.h"
#include "core/k8s_names.h"

static int is_leader_key(const char *key) {
  return strncmp(key, K8SHA__LEADER_KEY_PREFIX, strlen(K8SHA__LEADER_KEY_PREFIX)) == 0;
}

static const char *rv_of(json_t *obj) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

/* 1 when the leader entries of `obj` (the addresses ConfigMap; NULL: absent) are exactly ours. */
static int pub_in_sync(const k8sha_election *e, json_t *obj) {
  json_t *v;
  const char *key;
  size_t n = 0;
  json_object_foreach(k8sha__configmap_data(obj, 0), key, v) {
    if (!is_leader_key(key))
      continue;
    if (!json_equal(json_object_get(e->entries, key + strlen(K8SHA__LEADER_KEY_PREFIX)), v))
      return 0;
    n++;
  }
  return n == json_object_size(e->entries);
}

/* The update of the addresses ConfigMap: its leader entries become exactly ours (a previous
 * term's go; one someone else changed is put back). */
static int pub_edit(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  pending_done *p = ud;
  k8sha_election *e = p->e;
  json_t *data = k8sha__configmap_data(obj, 0), *v;
  const char *key;
  char k[512];
  (void)msg;
  (void)n;
  json_object_foreach(data, key, v) {
    if (is_leader_key(key) &&
        !json_object_get(e->entries, key + strlen(K8SHA__LEADER_KEY_PREFIX)) &&
        json_object_set_new(changes, key, json_null()) != 0)
      return K8SHA_ENOMEM;
  }
  json_object_foreach(e->entries, key, v) {
    k8sha__entry_key(k, sizeof(k), key);
    if (!json_equal(json_object_get(data, k), v) && json_object_set(changes, k, v) != 0)
      return K8SHA_ENOMEM;
  }
  if (!json_object_size(changes))
    return K8SHA__UNCHANGED;
  p->sent = 1;
  return 0;
}

/* Remembers the version our last claim or update of it left (what the watch will show). */
static void pub_note_rv(k8sha_election *e) {
  const char *rv = rv_of(k8sha__fcm_object(e->pub));
  if (rv && strlen(rv) < sizeof(e->own_rvs[0]))
    snprintf(e->own_rvs[e->own_rv_next++ % K8SHA__OWN_RVS], sizeof(e->own_rvs[0]), "%s", rv);
}

static int pub_own_rv(const k8sha_election *e, const char *rv) {
  size_t i;
  for (i = 0; rv && i < K8SHA__OWN_RVS; i++)
    if (strcmp(e->own_rvs[i], rv) == 0)
      return 1;
  return 0;
}

static void unlink_op(k8sha_election *e, pending_done *p) {
  pending_done **pp;
  for (pp = &e->pub_ops; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      break;
    }
}

static void pub_claimed(int err, const char *message, void *ud) {
  pending_done *p = ud;
  if (p->claim_only) { /* (its update never queued: the publish failed when it was asked for) */
    unlink_op(p->e, p);
    k8sha__free(&p->e->env->rt->alloc, p);
    return;
  }
  p->claim_err = err;
  if (err)
    snprintf(p->claim_msg, sizeof(p->claim_msg), "%s", message ? message : k8sha_strerror(err));
  else
    pub_note_rv(p->e);
}

static void pub_updated(int err, const char *message, void *ud) {
  pending_done *p = ud;
  k8sha_election *e = p->e;
  void (*done)(k8sha_election *, int, void *) = p->done;
  void *dud = p->ud;
  int unpublish = p->unpublish;
  char claim_msg[sizeof(p->claim_msg)];

  unlink_op(e, p);
  if (err == 0) {
    pub_note_rv(e);
  } else if (err == K8SHA_ENOTFOUND && (unpublish || !done)) {
    err = 0; /* (no addresses ConfigMap: nothing there to take out) */
  } else if (p->claim_err) {
    /* (the update failed because the claim before it did: say why that did) */
    err = p->claim_err;
    memcpy(claim_msg, p->claim_msg, sizeof(claim_msg));
    message = claim_msg;
  }
  k8sha__free(&e->env->rt->alloc, p);
  if (err)
    k8sha__log(e->env->rt, K8SHA_LOG_DEBUG, "election", "%s: %s: %s", e->identity, e->pub_name,
               message ? message : k8sha_strerror(err));
  if (done) {
    if (err)
      snprintf(e->last_error, sizeof(e->last_error), "%s: %s",
               unpublish ? "unpublish" : "publish", message ? message : k8sha_strerror(err));
    GUARD(e, done(e, err, dud));
  }
  if (e->pub_recheck)
    k8sha__addresses_check(e);
}

/* Queues the claim of the addresses ConfigMap for this term (created when `create` and it is
 * absent) and an update writing our entries, which completes `p` (taken over; NULL: one without
 * a callback). 0, or an error after which p's callback never runs (p itself stays until a
 * claim already queued with it has completed). */
static int pub_sync(k8sha_election *e, pending_done *p, int create) {
  int rc = 0, claimed = 0;
  if (!p) {
    p = k8sha__calloc(&e->env->rt->alloc, 1, sizeof(*p));
    if (!p)
      return K8SHA_ENOMEM;
  }
  if (!e->pub)
    rc = k8sha__fcm_new(e, e->pub_name, &e->pub);
  if (rc == 0) {
    p->e = e;
    rc = k8sha__fcm_claim(e->pub, create, pub_claimed, p);
    claimed = rc == 0;
  }
  if (rc == 0)
    rc = k8sha__fcm_update(e->pub, pub_edit, p, pub_updated, p);
  if (rc && claimed) {
    /* The claim is queued with p: p stays (with the election's other operations, so that it
     * goes with them) until the claim's callback, and nothing of it reaches the host. */
    p->claim_only = 1;
    p->done = NULL;
    p->ud = NULL;
    p->next = e->pub_ops;
    e->pub_ops = p;
    return rc;
  }
  if (rc) {
    k8sha__free(&e->env->rt->alloc, p);
    return rc;
  }
  p->next = e->pub_ops;
  e->pub_ops = p;
  return 0;
}

/* The watched addresses ConfigMap is not what this leader published: a previous term's entries,
 * or someone else changed it. Writes ours, once no update of ours is under way (its answer may
 * be what the watch has not shown yet). */
void k8sha__addresses_check(k8sha_election *e) {
  json_t *obj;
  const char *rv, *cur;
  if (!(e->kind == K8SHA_LOCK_LEASE) || !k8sha__election_leads(e, e->term) || !e->pub_lock ||
      !k8sha__lock_synced(e->pub_lock))
    return;
  if (e->pub && !k8sha__fcm_idle(e->pub)) {
    e->pub_recheck = 1;
    return;
  }
  e->pub_recheck = 0;
  obj = k8sha__lock_object(e->pub_lock);
  if (pub_in_sync(e, obj))
    return;
  rv = rv_of(obj);
  if (e->pub) {
    cur = rv_of(k8sha__fcm_object(e->pub));
    if (rv && cur && strcmp(rv, cur) != 0 && pub_own_rv(e, rv))
      return; /* an earlier write of ours: the watch shows the later ones next */
    if (!rv || !cur || strcmp(rv, cur) != 0)
      k8sha__fcm_forget(e->pub); /* changed by someone else: read it anew */
  }
  if (pub_sync(e, NULL, json_object_size(e->entries) > 0) != 0)
    k8sha__log(e->env->rt, K8SHA_LOG_WARN, "election", "%s: out of memory writing %s", e->identity,
               e->pub_name);
}

void k8sha__addresses_on_update(json_t *obj, void *ud) {
  (void)obj;
  k8sha__addresses_check(ud);
}

void k8sha__addresses_on_error(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  k8sha__election_report(e, err, "%s", message);
}

void k8sha__addresses_end_term(k8sha_election *e, int stopping) {
  json_decref(e->pub_last);
  e->pub_last = stopping && e->pub ? json_incref(k8sha__fcm_object(e->pub)) : NULL;
  k8sha__fcm_free(e->pub); /* (no callback of it runs after this) */
  e->pub = NULL;
  while (e->pub_ops) {
    pending_done *p = e->pub_ops;
    void (*done)(k8sha_election *, int, void *) = p->done;
    void *dud = p->ud;
    int sent = p->sent, status = p->sent ? K8SHA_EUNKNOWN_OUTCOME : K8SHA_ENOTLEADER;
    const char *what = p->unpublish ? "unpublish" : "publish";
    e->pub_ops = p->next;
    k8sha__free(&e->env->rt->alloc, p);
    if (done) {
      snprintf(e->last_error, sizeof(e->last_error), "%s: %s while the entry was being written%s",
               what, stopping ? "stopped" : "leadership ended",
               sent ? "; it may have landed" : "; it was not");
      GUARD(e, done(e, status, dud));
    }
  }
}

static void on_pub_released(const k8sha__resp *resp, void *ud) {
  k8sha_election *e = ud;
  e->unpub = NULL;
  if (resp->err)
    k8sha__log(e->env->rt, K8SHA_LOG_DEBUG, "election",
               "%s: our entries could not be taken out of %s (a newer leader's claim replaces "
               "them; a deleted ConfigMap has none): %s", e->identity,
               e->pub_name, resp->message ? resp->message : k8sha_strerror(resp->err));
  k8sha__election_release_done(e, 0, NULL);
}

/* After the release of a Lease: our entries leave the addresses ConfigMap in one merge patch,
 * conditional on the version our last write left there (pub_last, kept at the stop) (changed since,
 * it holds a newer leader's claim, and they are that leader's to replace). 1 when under way, else
 * 0. */
int k8sha__addresses_release(k8sha_election *e) {
  json_t *obj = e->pub_last, *gone, *body, *v;
  const char *key, *rv = rv_of(obj);
  k8sha__req_opts o;
  int rc;

  if (!(e->kind == K8SHA_LOCK_LEASE) || !rv || !e->pub_lock)
    return 0;
  gone = json_object();
  json_object_foreach(k8sha__configmap_data(obj, 0), key, v) {
    if (gone && is_leader_key(key) &&
        json_equal(json_object_get(e->entries, key + strlen(K8SHA__LEADER_KEY_PREFIX)), v))
      json_object_set_new(gone, key, json_null());
  }
  body = json_object_size(gone) ? json_pack("{s:{s:s}, s:O}", "metadata", "resourceVersion", rv,
                                            "data", gone)
                                : NULL;
  json_decref(gone);
  if (!body)
    return 0;
  memset(&o, 0, sizeof(o));
  o.verb = K8SHA__PATCH;
  o.path = k8sha__lock_path(e->pub_lock);
  o.json = body;
  o.content_type = K8SHA__MERGE_PATCH;
  o.metadata_only = 1;
  o.timeout_ms = e->env->ha->request_timeout_ms;
  o.deadline_ms = e->env->ha->request_timeout_ms;
  rc = k8sha__req_start(e->env->kube, &o, on_pub_released, e, &e->unpub);
  json_decref(body);
  if (rc)
    e->unpub = NULL;
  return rc == 0;
}

/* Publishes or unpublishes (value NULL) through the addresses ConfigMap. */
int k8sha__addresses_entry(k8sha_election *e, const char *component, const char *value,
                     void (*done)(k8sha_election *, int, void *), void *ud) {
  pending_done *p = k8sha__calloc(&e->env->rt->alloc, 1, sizeof(*p));
  json_t *before = json_incref(json_object_get(e->entries, component));
  int rc = p ? 0 : K8SHA_ENOMEM;
  if (rc == 0 && value)
    rc = json_object_set_new(e->entries, component, json_string(value)) ? K8SHA_ENOMEM : 0;
  else if (rc == 0)
    json_object_del(e->entries, component);
  if (rc == 0) {
    p->done = done;
    p->ud = ud;
    p->unpublish = value == NULL;
    rc = pub_sync(e, p, value != NULL);
    p = NULL; /* (taken over) */
  }
  if (rc) {
    /* (as it was: nothing of this call is written) */
    if (before)
      json_object_set(e->entries, component, before);
    else
      json_object_del(e->entries, component);
    k8sha__free(&e->env->rt->alloc, p);
  }
  json_decref(before);
  return rc;
}
