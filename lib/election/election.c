/* The election object: making, starting and freeing it, its getters, and what the stores and
 * tasks use of it (election/elector.h). Its states and transitions: elector.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include "core/alloc.h"
#include "election/env.h"
#include "core/fail.h"
#include "core/life.h"
#include "core/versioned.h"
#include "core/timer.h"
#include "election/elector.h"
#include "election/elector_priv.h"
#include "election/lock.h"
#include "election/record.h"
#include "election/fenced.h"
#include "kube/client.h"
#include "core/k8s_names.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"

/* The sizes of each version of the versioned structs (core/versioned.h). */
static const size_t options_sizes[] = {0, sizeof(k8sha_election_options)};
static const size_t callbacks_sizes[] = {0, sizeof(k8sha_election_callbacks)};

int k8sha__election_new(k8sha_election **out, k8sha__env *env, const k8sha_election_options *given,
                        const k8sha_election_callbacks *cbs) {
  k8sha_election_options o = K8SHA_ELECTION_OPTIONS_INIT, *opts = &o;
  k8sha_election *e;

  if (!out || !env || !cbs)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_election_new: out, ctx and callbacks are required");
  if (!K8SHA__VERSION_OK(cbs->version, callbacks_sizes))
    return k8sha__fail(K8SHA_EINVAL, "k8sha_election_new: callbacks version %u is not one this "
                                     "library knows (1..%u)", cbs->version,
                       (unsigned)K8SHA__VERSIONS(callbacks_sizes));
  K8SHA__LOOP_ONLY_AS(env->rt, K8SHA_ETHREAD, "k8sha_election_new");
  if (given) {
    if (!K8SHA__VERSION_OK(given->version, options_sizes))
      return k8sha__fail(K8SHA_EINVAL, "k8sha_election_new: options version %u is not one this "
                                       "library knows (1..%u)", given->version,
                         (unsigned)K8SHA__VERSIONS(options_sizes));
    k8sha__versioned_copy(&o, given, given->version, options_sizes);
  }
  if (opts->lock != K8SHA_LOCK_CONFIGMAP && opts->lock != K8SHA_LOCK_LEASE)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_election_new: lock kind %d is neither "
                                     "K8SHA_LOCK_CONFIGMAP nor K8SHA_LOCK_LEASE", (int)opts->lock);
  if (opts->identity && (!*opts->identity || strlen(opts->identity) >= 128))
    return k8sha__fail(K8SHA_EINVAL, "k8sha_election_new: the identity must have 1 to 127 "
                                     "characters");
  e = k8sha__calloc(&env->rt->alloc, 1, sizeof(*e));
  if (!e)
    return K8SHA_ENOMEM;
  k8sha__life_init(&e->life);
  e->env = env;
  k8sha__rt_child(env->rt, 1);
  k8sha__versioned_copy(&e->cbs, cbs, cbs->version, callbacks_sizes); /* (the rest: NULL) */
  if (opts->identity)
    snprintf(e->identity, sizeof(e->identity), "%s", opts->identity);
  else
    k8sha__elector_new_uuid(e->identity);
  e->kind = opts->lock;
  e->lock_name = opts->lock_name ? k8sha__strdup(&env->rt->alloc, opts->lock_name)
                                 : k8sha__lock_default_name(env, opts->lock);
  if (e->kind == K8SHA_LOCK_LEASE && e->lock_name) {
    e->pub_name = k8sha__lock_addresses_name(env, e->lock_name);
    if (e->pub_name && !k8sha__is_dns_subdomain(e->pub_name)) {
      k8sha__fail(K8SHA_EINVAL, "k8sha_election_new: the Lease name %s does not leave room for "
                                "its addresses ConfigMap %s (a DNS subdomain of at most 253 "
                                "characters)", e->lock_name, e->pub_name);
      k8sha_election_free(e);
      return K8SHA_EINVAL;
    }
  }
  e->entries = json_object();
  e->removed = json_object();
  e->timer = k8sha__timer_new(env->rt, k8sha__elector_on_timer, e);
  e->deadline = k8sha__timer_new(env->rt, k8sha__elector_on_deadline, e);
  e->sub.on_update = k8sha__elector_on_update;
  e->sub.on_error = k8sha__elector_on_lock_error;
  e->sub.user_data = e;
  e->pub_sub.on_update = k8sha__addresses_on_update;
  e->pub_sub.on_error = k8sha__addresses_on_error;
  e->pub_sub.user_data = e;
  if (!e->lock_name || !e->entries || !e->removed || !e->timer || !e->deadline ||
      (e->kind == K8SHA_LOCK_LEASE && !e->pub_name)) {
    k8sha_election_free(e);
    return K8SHA_ENOMEM;
  }
  *out = e;
  return 0;
}

int k8sha_election_start(k8sha_election *e) {
  int rc;
  if (!e)
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY(e->env->rt, K8SHA_ETHREAD);
  if (e->st != E_IDLE)
    return k8sha__fail(K8SHA_EBUSY, "k8sha_election_start: already started");
  rc = k8sha__lock_subscribe(e->env, e->kind, e->lock_name, &e->sub, &e->lock);
  if (rc == 0 && e->pub_name)
    rc = k8sha__lock_subscribe(e->env, K8SHA_LOCK_CONFIGMAP, e->pub_name, &e->pub_sub,
                               &e->pub_lock);
  if (rc) {
    if (e->lock)
      k8sha__lock_unsubscribe(e->lock, &e->sub);
    e->lock = NULL;
    return rc;
  }
  e->st = E_FOLLOWER;
  /* A lock already watched by another contender here: look at it on the next turn (the timer's
   * follower turn; no new timer, which could not be had out of memory). */
  if (k8sha__lock_synced(e->lock))
    k8sha__timer_start(e->timer, 0);
  return 0;
}

void k8sha__election_destroy(k8sha_election *e) {
  pending_done *p;
  while ((p = e->waiting) != NULL) {
    e->waiting = p->next;
    k8sha__free(&e->env->rt->alloc, p);
  }
  while ((p = e->writing) != NULL) {
    e->writing = p->next;
    k8sha__free(&e->env->rt->alloc, p);
  }
  while ((p = e->pub_ops) != NULL) {
    e->pub_ops = p->next;
    k8sha__free(&e->env->rt->alloc, p);
  }
  k8sha__free(&e->env->rt->alloc, e->pub_name);
  json_decref(e->pub_last);
  json_decref(e->entries);
  json_decref(e->removed);
  k8sha__free(&e->env->rt->alloc, e->seen_annotation);
  k8sha__free(&e->env->rt->alloc, e->lock_name);
  if (e->cbs.destroy)
    e->cbs.destroy(e->cbs.user_data);
  k8sha__free(&e->env->rt->alloc, e);
}

void k8sha__election_link_add(k8sha_election *e, k8sha__election_link *link) {
  link->next = e->links;
  link->prev = &e->links;
  if (e->links)
    e->links->prev = &link->next;
  e->links = link;
}

void k8sha__election_link_remove(k8sha__election_link *link) {
  if (!link->prev)
    return;
  if (link->next)
    link->next->prev = link->prev;
  *link->prev = link->next;
  link->next = NULL;
  link->prev = NULL;
}

/* The host freed the election: what still uses it lets go now. */
static void unlink_all(k8sha_election *e) {
  while (e->links) {
    k8sha__election_link *link = e->links;
    k8sha__election_link_remove(link);
    link->gone(link);
  }
}

/* Cancels, unsubscribes and frees (now, or when the host callback under way returns). */
void k8sha__elector_free_now(k8sha_election *e) {
  k8sha__lock_cancel(e->lock, e->inflight);
  e->inflight = NULL;
  k8sha__lock_unsubscribe(e->lock, &e->sub);
  e->lock = NULL;
  k8sha__req_cancel(e->unpub);
  e->unpub = NULL;
  k8sha__fcm_free(e->pub); /* (its callbacks never run after this) */
  e->pub = NULL;
  if (e->pub_lock)
    k8sha__lock_unsubscribe(e->pub_lock, &e->pub_sub);
  e->pub_lock = NULL;
  k8sha__timer_free(e->timer);
  k8sha__timer_free(e->deadline);
  e->timer = e->deadline = NULL;
  if (k8sha__life_close(&e->life)) /* (inside a callback: when it returns) */
    k8sha__election_destroy(e);
}

void k8sha_election_free(k8sha_election *e) {
  if (!e || e->life.closed || e->orphan)
    return;
  K8SHA__LOOP_ONLY_VOID(e->env->rt);
  k8sha__rt_child(e->env->rt, -1);
  unlink_all(e); /* (stores and tasks of it fail with K8SHA_ECANCELED from now on) */
  if (e->st == E_STOPPING && (e->inflight || e->unpub)) {
    /* A stop whose release is being written keeps going: the followers then take over in
     * milliseconds, not after a lease. Nothing reaches the host any more (its destroy callback
     * excepted); the context frees it when the answer comes, or at its own free. */
    void (*host_destroy)(void *) = e->cbs.destroy;
    void *ud = e->cbs.user_data;
    memset(&e->cbs, 0, sizeof(e->cbs));
    e->cbs.destroy = host_destroy;
    e->cbs.user_data = ud;
    e->stopped = NULL;
    {
      pending_done *p;
      for (p = e->pub_ops; p; p = p->next)
        p->done = NULL;
    }
    e->orphan = 1;
    e->next_orphan = e->env->orphans;
    e->env->orphans = e;
    return;
  }
  /* Nothing reaches the host after this: stop every source of callbacks now. */
  k8sha__elector_free_now(e);
}

void k8sha__election_reap(k8sha__env *env) {
  while (env->orphans) {
    k8sha_election *e = env->orphans;
    env->orphans = e->next_orphan;
    e->orphan = 0;
    k8sha__elector_free_now(e);
  }
}

int k8sha_election_is_leader(const k8sha_election *e) {
  if (e && !k8sha__rt_on_loop(e->env->rt)) {
    (void)k8sha__rt_wrong_thread(e->env->rt, __func__);
    return 0;
  }
  return e && e->st == E_LEADER &&
         k8sha__now_ms(e->env->rt) < e->renewed_at + e->env->ha->renew_effective_ms;
}

const char *k8sha_election_last_error(const k8sha_election *e) {
  return e ? e->last_error : "";
}

const char *k8sha_election_identity(const k8sha_election *e) {
  return e ? e->identity : NULL;
}

const char *k8sha_election_session(const k8sha_election *e) {
  if (e && !k8sha__rt_on_loop(e->env->rt)) {
    (void)k8sha__rt_wrong_thread(e->env->rt, __func__);
    return NULL;
  }
  return e && e->st == E_LEADER ? e->session : NULL;
}

/* ---- for the stores (election/elector.h) ---- */

k8sha__env *k8sha__election_env(const k8sha_election *e) {
  return e->env;
}

k8sha__lock *k8sha__election_lock(const k8sha_election *e) {
  return e->lock;
}

k8sha_lock_kind k8sha__election_kind(const k8sha_election *e) {
  return e->kind;
}

uint64_t k8sha__election_term(const k8sha_election *e) {
  return e->st == E_LEADER ? e->term : 0;
}

int k8sha__election_leads(const k8sha_election *e, uint64_t term) {
  return k8sha__elector_lease_valid((k8sha_election *)e) && e->term == term;
}

const char *k8sha__election_session(const k8sha_election *e) {
  return e->st == E_LEADER ? e->session : "";
}

int k8sha__election_names_us(k8sha_election *e, uint64_t term) {
  json_t *obj = k8sha__lock_object(e->lock);
  k8sha__record rec;
  return e->term == term && k8sha__elector_record_of(e, obj, &rec) &&
         k8sha__elector_names_us(e, obj, &rec);
}

void k8sha__election_term_used(k8sha_election *e, uint64_t term, uint64_t found) {
  if (found < term)
    return;
  if (e->lock)
    k8sha__lock_note_term(e->lock, found);
  if (e->st == E_LEADER && e->term == term && !e->retake) {
    e->retake = 1;
    k8sha__timer_start(e->timer, 0);
  }
}
