/* The elector's states and transitions: what the lock says (a follower acquires or waits, a
 * leader keeps its leadership or steps down), leadership starting and ending, the timers. One
 * write in flight at a time, so that every write is built on the state the previous one left:
 * the writes in elector_write.c, publish and unpublish in publish.c, the stop in release.c. */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/alloc.h"
#include "election/env.h"
#include "core/life.h"
#include "core/timer.h"
#include "election/elector.h"
#include "election/elector_priv.h"
#include "election/lock.h"
#include "election/record.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"

static uint64_t now_ms(k8sha_election *e) {
  return k8sha__now_ms(e->env->rt);
}

void k8sha__elector_new_uuid(char *out) {
  unsigned char b[16];
  if (uv_random(NULL, NULL, b, sizeof(b), 0, NULL) != 0) {
    uint64_t t = uv_hrtime();
    size_t i;
    for (i = 0; i < sizeof(b); i++)
      b[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)(i * 37);
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

/* The record in `obj`, in the lock's layout: 1 when there is a readable one. */
int k8sha__elector_record_of(k8sha_election *e, json_t *obj, k8sha__record *rec) {
  const char *why;
  return obj && k8sha__lock_read_record(e->lock, obj, rec, &why, NULL) == 1;
}

static const char *uid_of(json_t *obj) {
  const char *u = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
  return u ? u : "";
}

void k8sha__election_report(k8sha_election *e, int err, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  k8sha__log(e->env->rt, K8SHA_LOG_WARN, "election", "%s: %s", e->identity, msg);
  if (e->cbs.error)
    e->cbs.error(e, err, msg, e->cbs.user_data);
}

/* ---- leadership ends ---- */

/* Completes the callbacks on `list` (taken from the election first); a failure's message is
 * k8sha_election_last_error() during them. */
void k8sha__elector_finish_list(k8sha_election *e, pending_done **list, int status,
                                const char *why) {
  if (status && *list)
    snprintf(e->last_error, sizeof(e->last_error), "publish: %s",
             why ? why : k8sha_strerror(status));
  while (*list) {
    pending_done *p = *list;
    void (*done)(k8sha_election *, int, void *) = p->done;
    void *ud = p->ud;
    *list = p->next;
    k8sha__free(&e->env->rt->alloc, p); /* (first: the callback may free the election) */
    if (done)
      GUARD(e, done(e, status, ud));
  }
}

void k8sha__elector_step_down(k8sha_election *e, int reason) {
  if (e->st != E_LEADER)
    return;
  e->st = E_FOLLOWER;
  e->session[0] = '\0';
  e->retake = 0;
  k8sha__timer_stop(e->deadline);
  k8sha__timer_stop(e->timer);
  k8sha__log(e->env->rt, K8SHA_LOG_INFO, "election", "%s: leadership revoked (%s)", e->identity,
             k8sha_err_name(reason));
  if (e->cbs.revoked)
    GUARD(e, e->cbs.revoked(e, reason, e->cbs.user_data));
  /* Entries not yet sent will not be; one in flight keeps its callbacks until its answer says
   * whether it landed (it was fenced on the resourceVersion, so if it did, it did in our term).
   * With nothing in flight, the writes that carried them failed: say whether they may have
   * landed. Nothing is carried into a later term. */
  GUARD(e, k8sha__elector_finish_list(e, &e->waiting, K8SHA_ENOTLEADER,
                                      "leadership ended before the entry was written"));
  if (!e->inflight)
    GUARD(e, k8sha__elector_finish_list(
                 e, &e->writing,
                 e->writing_maybe_landed ? K8SHA_EUNKNOWN_OUTCOME : K8SHA_ENOTLEADER,
                 e->writing_maybe_landed
                     ? "leadership ended; the write carrying the entry may have landed"
                     : "leadership ended; the write carrying the entry failed"));
  e->writing_maybe_landed = 0;
}

void k8sha__elector_on_deadline(void *ud) {
  k8sha_election *e = ud;
  /* No successful renew within the effective renew deadline: give up before anyone may take
   * over. A renew still in flight may yet land; the record then names us, and we take it anew
   * with a new term. */
  GUARD(e, k8sha__elector_step_down(e, K8SHA_ETIMEDOUT));
  if (e->st == E_FOLLOWER)
    k8sha__elector_evaluate(e);
}

/* Whether our leadership is still within its deadline right now (timers may lag behind a
 * process that was stopped). */
int k8sha__elector_lease_valid(k8sha_election *e) {
  return e->st == E_LEADER &&
         now_ms(e) < e->renewed_at + e->env->ha->renew_effective_ms;
}

/* ---- leadership starts ---- */

/* Leadership starts when a write naming us in a new term landed within the renew deadline of its
 * sending (`sent`). */
void k8sha__elector_lead(k8sha_election *e, const k8sha__record *rec, uint64_t sent) {
  uint64_t elapsed = now_ms(e) - sent;
  if (elapsed >= e->env->ha->renew_effective_ms) {
    /* Too late to lead safely on this write: take the lock again (a new term) at once. */
    k8sha__timer_start(e->timer, 0);
    return;
  }
  if (e->pub) {
    /* (the last term's addresses ConfigMap: what it still has under way ends here; a host
     * callback may stop the election meanwhile, and it then does not lead) */
    GUARD(e, k8sha__addresses_end_term(e, 0));
    if (e->st != E_FOLLOWER)
      return;
  }
  e->st = E_LEADER;
  e->term = rec->transitions;
  e->renewed_at = sent;
  e->writing_maybe_landed = 0;
  k8sha__elector_new_uuid(e->session);
  snprintf(e->lead_uid, sizeof(e->lead_uid), "%s", uid_of(k8sha__lock_object(e->lock)));
  json_object_clear(e->entries);
  json_object_clear(e->removed);
  k8sha__timer_start(e->deadline, e->env->ha->renew_effective_ms - elapsed);
  k8sha__timer_start(e->timer, e->env->ha->retry_ms);
  k8sha__log(e->env->rt, K8SHA_LOG_INFO, "election", "%s: leading, term %llu, session %s",
             e->identity, (unsigned long long)e->term, e->session);
  if (e->cbs.granted)
    GUARD(e, e->cbs.granted(e, e->session, e->term, e->cbs.user_data));
  k8sha__addresses_check(e); /* a previous term's addresses go (Lease lock) */
}

/* ---- what the lock says ---- */

/* 1 when `obj` (with its parsed record, NULL when it has none) names this leadership: a record
 * we wrote, in our term, on the object incarnation we were granted on. */
int k8sha__elector_names_us(const k8sha_election *e, json_t *obj, const k8sha__record *rec) {
  return e->st == E_LEADER && rec && k8sha__elector_is_ours(e, rec) &&
         rec->transitions == e->term && strcmp(uid_of(obj), e->lead_uid) == 0;
}

/* Reads the record in `obj` (1: into *rec; 0: none; -1: unreadable, *why set) and notes when it
 * last changed: a change of the record restarts its lease, as observed here. */
static int observe_record(k8sha_election *e, json_t *obj, uint64_t now, k8sha__record *rec,
                          const char **why) {
  char *text = NULL;
  int r = obj ? k8sha__lock_read_record(e->lock, obj, rec, why, &text) : 0;
  if (!e->seen_annotation || !text || strcmp(e->seen_annotation, text) != 0) {
    k8sha__free(&e->env->rt->alloc, e->seen_annotation);
    e->seen_annotation = text;
    e->observed_at = now;
  } else {
    k8sha__free(&e->env->rt->alloc, text);
  }
  return r;
}

/* Tells the host when the lock names another holder ("" for none). */
static void tell_holder(k8sha_election *e, const char *holder) {
  if (e->holder_known && strcmp(e->seen_holder, holder) == 0)
    return;
  snprintf(e->seen_holder, sizeof(e->seen_holder), "%s", holder);
  e->holder_known = 1;
  if (e->cbs.leader_changed)
    GUARD(e, e->cbs.leader_changed(e, e->seen_holder, e->cbs.user_data));
}

/* The leader steps down when the lock (`obj`, with its record or NULL) no longer names this
 * leadership. */
static void check_leadership(k8sha_election *e, json_t *obj, const k8sha__record *rec) {
  if (!obj) {
    GUARD(e, k8sha__election_report(e, K8SHA_ENOTFOUND, "the lock %s was deleted while leading",
                          e->lock_name));
    GUARD(e, k8sha__elector_step_down(e, K8SHA_ENOTFOUND));
  } else if (!k8sha__elector_names_us(e, obj, rec)) {
    /* another holder, or our identity in a record we did not write (a second live process
     * with our identity), or one of ours from another term or another incarnation of the lock
     * object (a late write of ours landing on a lock created again): not this leadership */
    GUARD(e, k8sha__elector_step_down(e, K8SHA_ENOTLEADER));
  }
}

/* ConfigMap lock, still ours: 1 when someone else changed a published entry (to be put back),
 * or an entry we unpublished is back with our value (to be taken out again). */
static int entries_disturbed(k8sha_election *e, json_t *obj) {
  json_t *data = k8sha__lock_entries(e->lock, obj, 0), *v;
  const char *key;
  json_object_foreach(e->entries, key, v) {
    char k[512];
    k8sha__entry_key(k, sizeof(k), key);
    if (!json_equal(json_object_get(data, k), v))
      return 1;
  }
  json_object_foreach(e->removed, key, v) {
    char k[512];
    k8sha__entry_key(k, sizeof(k), key);
    if (json_equal(json_object_get(data, k), v))
      return 1;
  }
  return 0;
}

/* A follower acquires the lock when it is absent, without a record, released or ours, or when
 * its holder's lease ran out; else it waits for that (`r`, `rec`: as observe_record read them). */
static void follow(k8sha_election *e, json_t *obj, int r, k8sha__record *rec, uint64_t now) {
  int have = r == 1;
  uint64_t lease, expires;
  if (!obj || r == 0 || (have && (rec->holder[0] == '\0' || k8sha__elector_is_ours(e, rec)))) {
    k8sha__log(e->env->rt, K8SHA_LOG_DEBUG, "election", "%s: lock %s, acquiring", e->identity,
               !obj             ? "absent"
               : r == 0         ? "without a record"
               : rec->holder[0] ? "ours"
                                : "released");
    k8sha__elector_try_acquire(e, have ? rec : NULL);
    return;
  }
  /* An unreadable record (another implementation, a newer format) counts as held: it expires
   * one configured lease after it last changed, like any other. */
  if (!have) {
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->holder, sizeof(rec->holder), "(unreadable record)");
  }
  lease = rec->lease_ms ? rec->lease_ms : e->env->ha->lease_ms;
  expires = e->observed_at + lease;
  k8sha__log(e->env->rt, K8SHA_LOG_DEBUG, "election", "%s: %s holds the lock; expires in %llu ms",
             e->identity, rec->holder, (unsigned long long)(now >= expires ? 0 : expires - now));
  if (now >= expires)
    k8sha__elector_try_acquire(e, rec);
  else
    k8sha__timer_start(e->timer, expires - now);
}

/* What the lock says decides: the leader keeps its leadership (and its entries) or steps down;
 * a follower acquires or waits. */
void k8sha__elector_evaluate(k8sha_election *e) {
  json_t *obj = k8sha__lock_object(e->lock);
  const char *why = NULL;
  k8sha__record rec;
  int r;
  uint64_t now = now_ms(e);

  if (!k8sha__lock_synced(e->lock) || e->st == E_IDLE || e->st == E_STOPPED)
    return;
  r = observe_record(e, obj, now, &rec, &why);
  if (r < 0)
    GUARD(e,
          k8sha__election_report(e, K8SHA_ECORRUPT, "the lock %s holds an unreadable record (%s)",
                                 e->lock_name, why));
  GUARD(e, tell_holder(e, r == 1 ? rec.holder : ""));
  if (e->st == E_LEADER) {
    GUARD(e, check_leadership(e, obj, r == 1 ? &rec : NULL));
    if (e->st == E_LEADER) {
      if (!k8sha__elector_lease_mode(e) && entries_disturbed(e, obj))
        k8sha__elector_leader_write(e);
      return;
    }
  }
  if (e->st != E_FOLLOWER || e->inflight)
    return;
  if (e->await_update)
    return; /* lost a race: the watch (or the retry timer) brings the next look */
  follow(e, obj, r, &rec, now);
}

void k8sha__elector_on_update(json_t *obj, void *ud) {
  k8sha_election *e = ud;
  (void)obj;
  e->await_update = 0; /* this is the news a lost race waits for */
  k8sha__elector_evaluate(e);
}

void k8sha__elector_on_lock_error(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  k8sha__election_report(e, err, "%s", message);
}

/* ---- the timer ---- */

void k8sha__elector_on_timer(void *ud) {
  k8sha_election *e = ud;
  if (e->st == E_STOPPING) {
    if (e->stop_due) {
      e->stop_due = 0;
      k8sha__election_release_done(e, e->stop_status,
                                   e->stop_status ? "the release could not be sent" : NULL);
    }
    return;
  }
  if (e->st == E_LEADER && e->retake) {
    /* The lock names us, but a job ConfigMap holds our term (or a higher one) from an earlier
     * incarnation of the lock. Take the lock anew: the acquisition starts above that term. */
    e->retake = 0;
    k8sha__log(e->env->rt, K8SHA_LOG_WARN, "election",
               "%s: term %llu was already used before the lock %s was created again; taking a "
               "new term", e->identity, (unsigned long long)e->term, e->lock_name);
    GUARD(e, k8sha__elector_step_down(e, K8SHA_ECONFLICT));
    if (e->st == E_FOLLOWER)
      k8sha__elector_evaluate(e);
  } else if (e->st == E_LEADER) {
    k8sha__timer_start(e->timer, e->env->ha->retry_ms);
    k8sha__elector_leader_write(e);
  } else if (e->st == E_FOLLOWER) {
    e->await_update = 0;
    k8sha__elector_evaluate(e);
  }
}
