/* Stopping an election: the release of the lock, written on its latest state; the stop's end. */
#include <stdio.h>

#include "core/fail.h"
#include "core/life.h"
#include "core/timer.h"
#include "election/elector_priv.h"
#include "election/lock.h"
#include "election/record.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"

void k8sha__election_release_done(k8sha_election *e, int err, const char *message) {
  if (e->orphan) {
    k8sha_election **p;
    k8sha__env *env;
    k8sha__log(e->env->rt, err ? K8SHA_LOG_WARN : K8SHA_LOG_INFO, "election",
               "%s: the release written after the election was freed %s%s", e->identity,
               err ? "failed: " : "landed", err && message ? message : "");
    for (p = &e->env->orphans; *p; p = &(*p)->next_orphan)
      if (*p == e) {
        *p = e->next_orphan;
        break;
      }
    e->orphan = 0;
    env = e->env;
    k8sha__elector_free_now(e);
    if (!env->orphans && env->orphans_gone)
      env->orphans_gone(env);
    return;
  }
  e->st = E_STOPPED;
  if (err)
    snprintf(e->last_error, sizeof(e->last_error), "stop: the release failed: %s",
             message ? message : k8sha_strerror(err));
  k8sha__log(e->env->rt, err ? K8SHA_LOG_WARN : K8SHA_LOG_INFO, "election", "%s: stopped%s%s",
             e->identity, err ? ", release failed: " : "", err && message ? message : "");
  if (e->stopped)
    e->stopped(e, err, e->stopped_ud);
}

static void on_released(int err, const char *message, void *ud);

static void on_release_refreshed(int err, const char *message, void *ud);

/* Writes the release (empty holder, short lease, our entries removed) on the latest state, if
 * the lock is still ours. Returns 1 when a write is under way, 0 when there is nothing to release,
 * or the error that kept the release from being sent (K8SHA_ENOMEM, ...). */
static int release_write(k8sha_election *e) {
  json_t *obj = k8sha__lock_object(e->lock), *rel, *data, *v;
  const char *key;
  k8sha__record rec, seen;
  int rc;

  if (!k8sha__elector_record_of(e, obj, &seen) || !k8sha__elector_is_ours(e, &seen))
    return 0; /* not ours (any more): nothing to release */
  k8sha__elector_record_now(&rec, "", K8SHA__RELEASE_LEASE_MS, seen.transitions, seen.acquire_time);
  rel = k8sha__elector_compose(e, &rec, 0);
  if (!rel)
    return K8SHA_ENOMEM;
  data = k8sha__lock_entries(e->lock, rel, 0);
  json_object_foreach(e->entries, key, v) {
    char k[512];
    k8sha__entry_key(k, sizeof(k), key);
    if (json_equal(json_object_get(data, k), v))
      json_object_del(data, k);
  }
  rc = k8sha__elector_send_write(e, rel, 0, on_released);
  return rc ? rc : 1;
}

static void on_released(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  e->inflight = NULL;
  if (err == K8SHA_ECONFLICT && !e->write_again) {
    /* Changed since we last saw it: read it and release once more if it is still ours. */
    int rc;
    e->write_again = 1;
    rc = k8sha__lock_refresh(e->lock, e->env->ha->request_timeout_ms, on_release_refreshed, e,
                             &e->inflight);
    if (rc == 0)
      return;
    e->inflight = NULL;
    /* (the read that would have settled the conflict is what failed) */
    k8sha__election_release_done(e, rc, "the lock could not be read again to release it");
    return;
  }
  if (err == 0 && k8sha__addresses_release(e))
    return;
  k8sha__election_release_done(e, err, message);
}

static void on_release_refreshed(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  int rc;
  e->inflight = NULL;
  if (err) {
    k8sha__election_release_done(e, err, message);
    return;
  }
  rc = release_write(e);
  if (rc == 1)
    return;
  if (rc == 0 && k8sha__addresses_release(e))
    return;
  k8sha__election_release_done(e, rc, rc ? "the release could not be sent" : NULL);
}

int k8sha_election_stop(k8sha_election *e, void (*stopped)(k8sha_election *, int, void *),
                        void *ud) {
  int rc;
  if (!e)
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY(e->env->rt, K8SHA_ETHREAD);
  if (e->st == E_IDLE || e->st == E_STOPPING || e->st == E_STOPPED)
    return k8sha__fail(K8SHA_EBUSY, "k8sha_election_stop: the election %s",
                       e->st == E_IDLE ? "was never started" : "is already stopping or stopped");
  e->stopped = stopped;
  e->stopped_ud = ud;
  if (e->st == E_LEADER) {
    int gone;
    k8sha__life_enter(&e->life);
    k8sha__elector_step_down(e, K8SHA_ECANCELED);
    if (k8sha__life_leave(&e->life, &gone)) { /* freed in `revoked`: nothing more to do */
      if (gone)
        k8sha__election_destroy(e);
      return 0;
    }
  }
  e->st = E_STOPPING;
  k8sha__timer_stop(e->deadline);
  k8sha__lock_cancel(e->lock, e->inflight);
  e->inflight = NULL;
  /* A publish abandoned in flight may or may not have landed. */
  {
    int gone;
    k8sha__life_enter(&e->life);
    k8sha__elector_finish_list(
        e, &e->writing, K8SHA_EUNKNOWN_OUTCOME,
        "stopped while the write carrying the entry was under way: it may have landed");
    if (k8sha__life_leave(&e->life, &gone)) {
      if (gone)
        k8sha__election_destroy(e);
      return 0;
    }
  }
  if (e->pub) {
    /* (Lease lock: the addresses ConfigMap's updates end; its last state is kept for the
     * release's removal of our entries) */
    int gone;
    k8sha__life_enter(&e->life);
    k8sha__addresses_end_term(e, 1);
    if (k8sha__life_leave(&e->life, &gone)) {
      if (gone)
        k8sha__election_destroy(e);
      return 0;
    }
  }
  e->write_again = 0;
  rc = release_write(e);
  if (rc == 1)
    return 0;
  /* Nothing to release, or the release could not be sent (the lease then runs out by itself):
   * said on the next loop turn, never from inside this call, by the election's own timer (no
   * allocation here, so a stop cannot fail half-way). */
  e->stop_due = 1;
  e->stop_status = rc;
  k8sha__timer_start(e->timer, 0);
  return 0;
}

