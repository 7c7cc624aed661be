/* The elector's writes of the lock: composing them, acquiring, renewing. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/timer.h"
#include "election/elector_priv.h"
#include "election/lock.h"
#include "election/record.h"
#include "layout/flink.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"

static void on_acquired(int err, const char *message, void *ud);
static void on_follower_refreshed(int err, const char *message, void *ud);
static void on_leader_refreshed(int err, const char *message, void *ud);

/* ---- composing writes ---- */

static uint64_t wall_us(void) {
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* The lock object with our record and entries on top of the latest state. */
json_t *k8sha__elector_compose(k8sha_election *e, const k8sha__record *rec, int with_entries) {
  json_t *latest = k8sha__lock_object(e->lock), *obj, *entries, *v;
  const char *key;

  obj = latest ? json_deep_copy(latest) : k8sha__lock_new_object(e->lock);
  if (!obj)
    return NULL;
  json_object_del(json_object_get(obj, "metadata"), "managedFields");
  if (k8sha__lock_put_record(e->lock, obj, rec) != 0) {
    json_decref(obj);
    return NULL;
  }
  if (k8sha__elector_lease_mode(e))
    with_entries = 0; /* (they live in the addresses ConfigMap) */
  if (with_entries && json_object_size(e->entries)) {
    entries = k8sha__lock_entries(e->lock, obj, 1);
    json_object_foreach(e->entries, key, v) {
      char k[512];
      k8sha__entry_key(k, sizeof(k), key);
      if (!entries || json_object_set(entries, k, v) != 0) {
        /* (a write without an entry it carries would report that entry published) */
        json_decref(obj);
        return NULL;
      }
    }
  }
  if (with_entries && json_object_size(e->removed) &&
      (entries = k8sha__lock_entries(e->lock, obj, 0)) != NULL) {
    json_object_foreach(e->removed, key, v) {
      char k[512];
      k8sha__entry_key(k, sizeof(k), key);
      if (json_equal(json_object_get(entries, k), v))
        json_object_del(entries, k);
    }
  }
  return obj;
}

void k8sha__elector_record_now(k8sha__record *r, const char *holder, uint64_t lease_ms,
                               uint64_t transitions, const char *acquire_time) {
  char now[40];
  memset(r, 0, sizeof(*r));
  k8sha__format_micro_time(wall_us(), now, sizeof(now));
  snprintf(r->holder, sizeof(r->holder), "%s", holder);
  r->lease_ms = lease_ms;
  r->transitions = transitions;
  snprintf(r->acquire_time, sizeof(r->acquire_time), "%s", acquire_time ? acquire_time : now);
  snprintf(r->renew_time, sizeof(r->renew_time), "%s", now);
}

static void note_own(k8sha_election *e, const k8sha__record *r) {
  e->own[e->own_next++ % (sizeof(e->own) / sizeof(e->own[0]))] = *r;
}

/* 1 when `r` is a record this contender wrote: our identity, and the same acquire and renew
 * times and transitions as one of our last writes. */
int k8sha__elector_is_ours(const k8sha_election *e, const k8sha__record *r) {
  size_t i, n = sizeof(e->own) / sizeof(e->own[0]);
  if (strcmp(r->holder, e->identity) != 0)
    return 0;
  for (i = 0; i < n && i < e->own_next; i++)
    if (e->own[i].transitions == r->transitions &&
        strcmp(e->own[i].acquire_time, r->acquire_time) == 0 &&
        strcmp(e->own[i].renew_time, r->renew_time) == 0)
      return 1;
  return 0;
}

/* Sends `obj` (consumed) as the one write in flight, noting when it was sent. Returns 0, or an
 * error after which nothing is in flight. */
int k8sha__elector_send_write(k8sha_election *e, json_t *obj, int create, k8sha__lock_write_cb cb) {
  int rc;
  e->inflight_sent = k8sha__now_ms(e->env->rt);
  rc = k8sha__lock_write(e->lock, obj, create, e->env->ha->request_timeout_ms, cb, e,
                         &e->inflight);
  json_decref(obj);
  if (rc)
    e->inflight = NULL;
  return rc;
}

/* ---- acquiring ---- */

/* A lock we have just created is renewed once before we lead on it: creating needs the `create`
 * permission, holding needs `update`, and a contender that may create but not update must never
 * lead on a lock it cannot renew (one request more, only when the lock object is new). */
static void confirm_created(k8sha_election *e, const k8sha__record *created) {
  k8sha__record rec;
  json_t *obj;
  k8sha__elector_record_now(&rec, e->identity, e->env->ha->lease_ms, created->transitions,
                            created->acquire_time);
  note_own(e, &rec);
  obj = k8sha__elector_compose(e, &rec, 0);
  if (!obj) {
    k8sha__timer_start(e->timer, e->env->ha->retry_ms);
    return;
  }
  e->confirming = 1;
  if (k8sha__elector_send_write(e, obj, 0, on_acquired) != 0) {
    e->confirming = 0;
    k8sha__timer_start(e->timer, e->env->ha->retry_ms);
  }
}

static void on_acquired(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  uint64_t sent = e->inflight_sent;
  int confirming = e->confirming;
  e->inflight = NULL;
  e->confirming = 0;
  if (e->st != E_FOLLOWER) /* stopped meanwhile */
    return;
  if (err == 0) {
    k8sha__record rec;
    if (!k8sha__elector_record_of(e, k8sha__lock_object(e->lock), &rec) ||
        !k8sha__elector_is_ours(e, &rec))
      return; /* cannot happen: we just wrote it */
    if (e->created && !confirming)
      confirm_created(e, &rec);
    else
      k8sha__elector_lead(e, &rec, sent);
    return;
  }
  if (err == K8SHA_ECONFLICT || err == K8SHA_EEXISTS) {
    /* Someone else was faster. Read the lock now rather than trusting the watch to say who: a
     * silently dead watch would otherwise have us retry a stale version for minutes. */
    e->await_update = 1;
    k8sha__timer_start(e->timer, e->env->ha->retry_ms);
    if (k8sha__lock_refresh(e->lock, e->env->ha->request_timeout_ms, on_follower_refreshed, e,
                            &e->inflight) != 0)
      e->inflight = NULL;
    return;
  }
  if (confirming)
    GUARD(e, k8sha__election_report(e, err,
                          "created the lock %s, but renewing it failed, so not leading on it: %s",
                          e->lock_name, message ? message : k8sha_strerror(err)));
  else
    GUARD(e, k8sha__election_report(e, err, "acquiring the lock %s failed: %s", e->lock_name,
                          message ? message : k8sha_strerror(err)));
  k8sha__timer_start(e->timer, e->env->ha->retry_ms);
}

static void on_follower_refreshed(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  e->inflight = NULL;
  if (e->st != E_FOLLOWER)
    return;
  if (err == 0)
    e->await_update = 0; /* the read is the news we waited for */
  else if (err != K8SHA_ENOTFOUND) /* (a lock gone is news, not a failure) */
    GUARD(e, k8sha__election_report(e, err, "reading the lock %s failed: %s", e->lock_name,
                          message ? message : k8sha_strerror(err)));
  k8sha__elector_evaluate(e);
}

void k8sha__elector_try_acquire(k8sha_election *e, const k8sha__record *seen) {
  k8sha__record rec;
  json_t *obj;
  int create = k8sha__lock_object(e->lock) == NULL;
  uint64_t transitions = 0, max_seen;
  /* Every new term gets a higher transitions count, also when we held the lock before (a restart
   * with the same identity) and when the lock object was deleted and created again: the count is
   * the fencing token, so it never goes back. */
  if (seen)
    transitions = seen->transitions + 1;
  if (k8sha__lock_max_term(e->lock, &max_seen) && max_seen + 1 > transitions)
    transitions = max_seen + 1;

  if (e->inflight)
    return;
  k8sha__elector_record_now(&rec, e->identity, e->env->ha->lease_ms, transitions, NULL);
  note_own(e, &rec);
  obj = k8sha__elector_compose(e, &rec, 0);
  if (obj) {
    /* The previous leader's published addresses go with its term: retrievers see "no leader"
     * until the new one publishes, never the old address under the new holder. */
    json_t *data = k8sha__lock_entries(e->lock, obj, 0), *v;
    const char *key;
    void *tmp;
    json_object_foreach_safe(data, tmp, key, v) {
      if (strncmp(key, K8SHA__LEADER_KEY_PREFIX, strlen(K8SHA__LEADER_KEY_PREFIX)) == 0)
        json_object_del(data, key);
    }
  }
  if (!obj) {
    k8sha__timer_start(e->timer, e->env->ha->retry_ms);
    return;
  }
  e->created = create;
  e->confirming = 0;
  if (k8sha__elector_send_write(e, obj, create, on_acquired) != 0)
    k8sha__timer_start(e->timer, e->env->ha->retry_ms);
}

/* ---- renewing ---- */

static void on_leader_refreshed(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  e->inflight = NULL;
  if (e->st != E_LEADER) {
    /* The write they rode in was refused (409): it did not land. */
    GUARD(e, k8sha__elector_finish_list(
                 e, &e->writing, K8SHA_ENOTLEADER,
                 "the lock changed under the write carrying the entry (409): not written"));
    if (e->st == E_FOLLOWER)
      k8sha__elector_evaluate(e);
    return;
  }
  if (err) {
    GUARD(e, k8sha__election_report(e, err, "reading the lock %s failed: %s", e->lock_name,
                          message ? message : k8sha_strerror(err)));
    return;
  }
  k8sha__elector_leader_write(e); /* steps down instead when the fresh state names someone else */
}

static void on_leader_written(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  uint64_t sent = e->inflight_sent;
  e->inflight = NULL;
  if (e->st != E_LEADER) {
    /* Deposed while this write was under way: its callbacks learn what became of it; then look
     * at the lock again (nothing else may wake a lone contender). */
    GUARD(e, k8sha__elector_finish_list(e, &e->writing,
                                        err == K8SHA_ECONFLICT ? K8SHA_ENOTLEADER : err, message));
    if (e->st == E_FOLLOWER)
      k8sha__elector_evaluate(e);
    return;
  }
  if (err == 0) {
    uint64_t elapsed = k8sha__now_ms(e->env->rt) - sent;
    if (elapsed >= e->env->ha->renew_effective_ms) {
      /* The answer came too late to count: the deadline has passed already. */
      GUARD(e, k8sha__elector_step_down(e, K8SHA_ETIMEDOUT));
      k8sha__elector_evaluate(e);
      return;
    }
    e->renewed_at = sent;
    e->writing_maybe_landed = 0;
    k8sha__timer_start(e->deadline, e->env->ha->renew_effective_ms - elapsed);
    GUARD(e, k8sha__elector_finish_list(e, &e->writing, 0, NULL));
    if (e->write_again || e->waiting) {
      e->write_again = 0;
      k8sha__elector_leader_write(e);
    }
    return;
  }
  if (err == K8SHA_ECONFLICT) {
    /* The object changed: another writer of the ConfigMap, or a new leader. Read it; the read
     * updates the lock state (a new holder makes us step down) and then we write again. */
    if (k8sha__lock_refresh(e->lock, e->env->ha->request_timeout_ms, on_leader_refreshed, e,
                            &e->inflight) != 0)
      e->inflight = NULL;
    return;
  }
  if (err == K8SHA_ENOTFOUND) {
    GUARD(e, k8sha__election_report(e, err, "the lock %s was deleted while leading", e->lock_name));
    GUARD(e, k8sha__elector_step_down(e, K8SHA_ENOTFOUND));
    return;
  }
  if (err == K8SHA_EUNKNOWN_OUTCOME || err == K8SHA_ETIMEDOUT)
    e->writing_maybe_landed = 1;
  GUARD(e, k8sha__election_report(e, err, "renewing the lock %s failed: %s", e->lock_name,
                        message ? message : k8sha_strerror(err)));
  /* The next renew comes with the timer; the deadline steps down if none succeeds. */
}

void k8sha__elector_leader_write(k8sha_election *e) {
  k8sha__record rec, seen;
  json_t *obj;

  if (e->inflight) {
    e->write_again = 1;
    return;
  }
  if (!k8sha__elector_lease_valid(e)) {
    GUARD(e, k8sha__elector_step_down(e, K8SHA_ETIMEDOUT));
    k8sha__elector_evaluate(e);
    return;
  }
  if (!k8sha__elector_record_of(e, k8sha__lock_object(e->lock), &seen) ||
      !k8sha__elector_is_ours(e, &seen)) {
    GUARD(e, k8sha__elector_step_down(e, K8SHA_ENOTLEADER));
    k8sha__elector_evaluate(e);
    return;
  }
  k8sha__elector_record_now(&rec, e->identity, e->env->ha->lease_ms, seen.transitions,
                            seen.acquire_time);
  note_own(e, &rec);
  obj = k8sha__elector_compose(e, &rec, 1);
  if (!obj)
    return;
  if (k8sha__elector_send_write(e, obj, 0, on_leader_written) != 0)
    return;
  /* This write carries every entry published so far: its success completes their callbacks. */
  {
    pending_done **tail = &e->writing;
    while (*tail)
      tail = &(*tail)->next;
    *tail = e->waiting;
    e->waiting = NULL;
  }
}
