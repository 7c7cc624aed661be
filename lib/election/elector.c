/* The elector: acquire, renew, step down, release, publish. One write in flight at a time, so
 * that every write is built on the state the previous one left. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/ctx_priv.h"
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


static void evaluate(k8sha_election *e);
static void leader_write(k8sha_election *e);
static void on_leader_refreshed(int err, const char *message, void *ud);
static void on_follower_refreshed(int err, const char *message, void *ud);

static int lease_mode(const k8sha_election *e) {
  return e->kind == K8SHA_LOCK_LEASE;
}

static uint64_t now_ms(k8sha_election *e) {
  return k8sha__now_ms(e->ctx);
}

static uint64_t wall_us(void) {
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
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
  k8sha__log(e->ctx, K8SHA_LOG_WARN, "election", "%s: %s", e->identity, msg);
  if (e->cbs.error)
    e->cbs.error(e, err, msg, e->cbs.user_data);
}

/* ---- leadership ends ---- */

/* Completes the callbacks on `list` (taken from the election first); a failure's message is
 * k8sha_election_last_error() during them. */
static void finish_list(k8sha_election *e, pending_done **list, int status, const char *why) {
  if (status && *list)
    snprintf(e->last_error, sizeof(e->last_error), "publish: %s", why ? why : k8sha_strerror(status));
  while (*list) {
    pending_done *p = *list;
    void (*done)(k8sha_election *, int, void *) = p->done;
    void *ud = p->ud;
    *list = p->next;
    k8sha__free(&e->ctx->alloc, p); /* (first: the callback may free the election) */
    if (done)
      GUARD(e, done(e, status, ud));
  }
}

static void step_down(k8sha_election *e, int reason) {
  if (e->st != E_LEADER)
    return;
  e->st = E_FOLLOWER;
  e->session[0] = '\0';
  e->retake = 0;
  k8sha__timer_stop(e->deadline);
  k8sha__timer_stop(e->timer);
  k8sha__log(e->ctx, K8SHA_LOG_INFO, "election", "%s: leadership revoked (%s)", e->identity,
             k8sha_err_name(reason));
  if (e->cbs.revoked)
    GUARD(e, e->cbs.revoked(e, reason, e->cbs.user_data));
  /* Entries not yet sent will not be; one in flight keeps its callbacks until its answer says
   * whether it landed (it was fenced on the resourceVersion, so if it did, it did in our term).
   * With nothing in flight, the writes that carried them failed: say whether they may have
   * landed. Nothing is carried into a later term. */
  GUARD(e, finish_list(e, &e->waiting, K8SHA_ENOTLEADER,
                       "leadership ended before the entry was written"));
  if (!e->inflight)
    GUARD(e, finish_list(e, &e->writing,
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
  GUARD(e, step_down(e, K8SHA_ETIMEDOUT));
  if (e->st == E_FOLLOWER)
    evaluate(e);
}

/* Whether our leadership is still within its deadline right now (timers may lag behind a
 * process that was stopped). */
int k8sha__elector_lease_valid(k8sha_election *e) {
  return e->st == E_LEADER &&
         now_ms(e) < e->renewed_at + e->ctx->ha.renew_effective_ms;
}

/* ---- composing writes ---- */

/* The lock object with our record and entries on top of the latest state. */
static json_t *compose(k8sha_election *e, const k8sha__record *rec, int with_entries) {
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
  if (lease_mode(e))
    with_entries = 0; /* (they live in the addresses ConfigMap) */
  if (with_entries && json_object_size(e->entries)) {
    entries = k8sha__lock_entries(e->lock, obj, 1);
    json_object_foreach(e->entries, key, v) {
      char k[512];
      k8sha__entry_key(k, sizeof(k), key);
      json_object_set(entries, k, v);
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

static void record_now(k8sha__record *r, const char *holder, uint64_t lease_ms,
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

/* Sends `obj` (consumed) as the one write in flight, noting when it was sent. Returns 0, or an
 * error after which nothing is in flight. */
static void note_own(k8sha_election *e, const k8sha__record *r) {
  e->own[e->own_next++ % (sizeof(e->own) / sizeof(e->own[0]))] = *r;
}

/* 1 when `r` is a record this contender wrote: our identity, and the same acquire and renew
 * times and transitions as one of our last writes. */
static int is_ours(const k8sha_election *e, const k8sha__record *r) {
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

static int send_write(k8sha_election *e, json_t *obj, int create, k8sha__lock_write_cb cb) {
  int rc;
  e->inflight_sent = now_ms(e);
  rc = k8sha__lock_write(e->lock, obj, create, e->ctx->ha.request_timeout_ms, cb, e,
                         &e->inflight);
  json_decref(obj);
  if (rc)
    e->inflight = NULL;
  return rc;
}

/* ---- acquiring ---- */

static void on_acquired(int err, const char *message, void *ud);

/* Leadership starts when a write naming us in a new term landed within the renew deadline of its
 * sending (`sent`). */
static void lead(k8sha_election *e, const k8sha__record *rec, uint64_t sent) {
  uint64_t elapsed = now_ms(e) - sent;
  if (elapsed >= e->ctx->ha.renew_effective_ms) {
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
  k8sha__timer_start(e->deadline, e->ctx->ha.renew_effective_ms - elapsed);
  k8sha__timer_start(e->timer, e->ctx->ha.retry_ms);
  k8sha__log(e->ctx, K8SHA_LOG_INFO, "election", "%s: leading, term %llu, session %s",
             e->identity, (unsigned long long)e->term, e->session);
  if (e->cbs.granted)
    GUARD(e, e->cbs.granted(e, e->session, e->term, e->cbs.user_data));
  k8sha__addresses_check(e); /* a previous term's addresses go (Lease lock) */
}

/* A lock we have just created is renewed once before we lead on it: creating needs the `create`
 * permission, holding needs `update`, and a contender that may create but not update must never
 * lead on a lock it cannot renew (one request more, only when the lock object is new). */
static void confirm_created(k8sha_election *e, const k8sha__record *created) {
  k8sha__record rec;
  json_t *obj;
  record_now(&rec, e->identity, e->ctx->ha.lease_ms, created->transitions, created->acquire_time);
  note_own(e, &rec);
  obj = compose(e, &rec, 0);
  if (!obj) {
    k8sha__timer_start(e->timer, e->ctx->ha.retry_ms);
    return;
  }
  e->confirming = 1;
  if (send_write(e, obj, 0, on_acquired) != 0) {
    e->confirming = 0;
    k8sha__timer_start(e->timer, e->ctx->ha.retry_ms);
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
    if (!k8sha__elector_record_of(e, k8sha__lock_object(e->lock), &rec) || !is_ours(e, &rec))
      return; /* cannot happen: we just wrote it */
    if (e->created && !confirming)
      confirm_created(e, &rec);
    else
      lead(e, &rec, sent);
    return;
  }
  if (err == K8SHA_ECONFLICT || err == K8SHA_EEXISTS) {
    /* Someone else was faster. Read the lock now rather than trusting the watch to say who: a
     * silently dead watch would otherwise have us retry a stale version for minutes. */
    e->await_update = 1;
    k8sha__timer_start(e->timer, e->ctx->ha.retry_ms);
    if (k8sha__lock_refresh(e->lock, e->ctx->ha.request_timeout_ms, on_follower_refreshed, e,
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
  k8sha__timer_start(e->timer, e->ctx->ha.retry_ms);
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
  evaluate(e);
}

static void try_acquire(k8sha_election *e, const k8sha__record *seen) {
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
  record_now(&rec, e->identity, e->ctx->ha.lease_ms, transitions, NULL);
  note_own(e, &rec);
  obj = compose(e, &rec, 0);
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
    k8sha__timer_start(e->timer, e->ctx->ha.retry_ms);
    return;
  }
  e->created = create;
  e->confirming = 0;
  if (send_write(e, obj, create, on_acquired) != 0)
    k8sha__timer_start(e->timer, e->ctx->ha.retry_ms);
}

/* ---- what the lock says ---- */

/* 1 when `obj` (with its parsed record, NULL when it has none) names this leadership: a record
 * we wrote, in our term, on the object incarnation we were granted on. */
int k8sha__elector_names_us(const k8sha_election *e, json_t *obj, const k8sha__record *rec) {
  return e->st == E_LEADER && rec && is_ours(e, rec) && rec->transitions == e->term &&
         strcmp(uid_of(obj), e->lead_uid) == 0;
}

/* Reads the record in `obj` (1: into *rec; 0: none; -1: unreadable, *why set) and notes when it
 * last changed: a change of the record restarts its lease, as observed here. */
static int observe_record(k8sha_election *e, json_t *obj, uint64_t now, k8sha__record *rec,
                          const char **why) {
  char *text = NULL;
  int r = obj ? k8sha__lock_read_record(e->lock, obj, rec, why, &text) : 0;
  if (!e->seen_annotation || !text || strcmp(e->seen_annotation, text) != 0) {
    free(e->seen_annotation);
    e->seen_annotation = text;
    e->observed_at = now;
  } else {
    free(text);
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
    GUARD(e, step_down(e, K8SHA_ENOTFOUND));
  } else if (!k8sha__elector_names_us(e, obj, rec)) {
    /* another holder, or our identity in a record we did not write (a second live process
     * with our identity), or one of ours from another term or another incarnation of the lock
     * object (a late write of ours landing on a lock created again): not this leadership */
    GUARD(e, step_down(e, K8SHA_ENOTLEADER));
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
  if (!obj || r == 0 || (have && (rec->holder[0] == '\0' || is_ours(e, rec)))) {
    k8sha__log(e->ctx, K8SHA_LOG_DEBUG, "election", "%s: lock %s, acquiring", e->identity,
               !obj ? "absent" : r == 0 ? "without a record" : rec->holder[0] ? "ours" : "released");
    try_acquire(e, have ? rec : NULL);
    return;
  }
  /* An unreadable record (another implementation, a newer format) counts as held: it expires
   * one configured lease after it last changed, like any other. */
  if (!have) {
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->holder, sizeof(rec->holder), "(unreadable record)");
  }
  lease = rec->lease_ms ? rec->lease_ms : e->ctx->ha.lease_ms;
  expires = e->observed_at + lease;
  k8sha__log(e->ctx, K8SHA_LOG_DEBUG, "election", "%s: %s holds the lock; expires in %llu ms",
             e->identity, rec->holder, (unsigned long long)(now >= expires ? 0 : expires - now));
  if (now >= expires)
    try_acquire(e, rec);
  else
    k8sha__timer_start(e->timer, expires - now);
  e->seen_lease_ms = lease;
}

/* What the lock says decides: the leader keeps its leadership (and its entries) or steps down;
 * a follower acquires or waits. */
static void evaluate(k8sha_election *e) {
  json_t *obj = k8sha__lock_object(e->lock);
  const char *why = NULL;
  k8sha__record rec;
  int r;
  uint64_t now = now_ms(e);

  if (!k8sha__lock_synced(e->lock) || e->st == E_IDLE || e->st == E_STOPPED)
    return;
  r = observe_record(e, obj, now, &rec, &why);
  if (r < 0)
    GUARD(e, k8sha__election_report(e, K8SHA_ECORRUPT, "the lock %s holds an unreadable record (%s)",
                          e->lock_name, why));
  GUARD(e, tell_holder(e, r == 1 ? rec.holder : ""));
  if (e->st == E_LEADER) {
    GUARD(e, check_leadership(e, obj, r == 1 ? &rec : NULL));
    if (e->st == E_LEADER) {
      if (!lease_mode(e) && entries_disturbed(e, obj))
        leader_write(e);
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
  evaluate(e);
}

void k8sha__elector_on_lock_error(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  k8sha__election_report(e, err, "%s", message);
}

/* ---- renewing and publishing ---- */

static void on_leader_refreshed(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  e->inflight = NULL;
  if (e->st != E_LEADER) {
    /* The write they rode in was refused (409): it did not land. */
    GUARD(e, finish_list(e, &e->writing, K8SHA_ENOTLEADER,
                         "the lock changed under the write carrying the entry (409): not written"));
    if (e->st == E_FOLLOWER)
      evaluate(e);
    return;
  }
  if (err) {
    GUARD(e, k8sha__election_report(e, err, "reading the lock %s failed: %s", e->lock_name,
                          message ? message : k8sha_strerror(err)));
    return;
  }
  leader_write(e); /* steps down instead when the fresh state names someone else */
}

static void on_leader_written(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  uint64_t sent = e->inflight_sent;
  e->inflight = NULL;
  if (e->st != E_LEADER) {
    /* Deposed while this write was under way: its callbacks learn what became of it; then look
     * at the lock again (nothing else may wake a lone contender). */
    GUARD(e, finish_list(e, &e->writing, err == K8SHA_ECONFLICT ? K8SHA_ENOTLEADER : err,
                         message));
    if (e->st == E_FOLLOWER)
      evaluate(e);
    return;
  }
  if (err == 0) {
    uint64_t elapsed = now_ms(e) - sent;
    if (elapsed >= e->ctx->ha.renew_effective_ms) {
      /* The answer came too late to count: the deadline has passed already. */
      GUARD(e, step_down(e, K8SHA_ETIMEDOUT));
      evaluate(e);
      return;
    }
    e->renewed_at = sent;
    e->writing_maybe_landed = 0;
    k8sha__timer_start(e->deadline, e->ctx->ha.renew_effective_ms - elapsed);
    GUARD(e, finish_list(e, &e->writing, 0, NULL));
    if (e->write_again || e->waiting) {
      e->write_again = 0;
      leader_write(e);
    }
    return;
  }
  if (err == K8SHA_ECONFLICT) {
    /* The object changed: another writer of the ConfigMap, or a new leader. Read it; the read
     * updates the lock state (a new holder makes us step down) and then we write again. */
    if (k8sha__lock_refresh(e->lock, e->ctx->ha.request_timeout_ms, on_leader_refreshed, e,
                            &e->inflight) != 0)
      e->inflight = NULL;
    return;
  }
  if (err == K8SHA_ENOTFOUND) {
    GUARD(e, k8sha__election_report(e, err, "the lock %s was deleted while leading", e->lock_name));
    GUARD(e, step_down(e, K8SHA_ENOTFOUND));
    return;
  }
  if (err == K8SHA_EUNKNOWN_OUTCOME || err == K8SHA_ETIMEDOUT)
    e->writing_maybe_landed = 1;
  GUARD(e, k8sha__election_report(e, err, "renewing the lock %s failed: %s", e->lock_name,
                        message ? message : k8sha_strerror(err)));
  /* The next renew comes with the timer; the deadline steps down if none succeeds. */
}

static void leader_write(k8sha_election *e) {
  k8sha__record rec, seen;
  json_t *obj;

  if (e->inflight) {
    e->write_again = 1;
    return;
  }
  if (!k8sha__elector_lease_valid(e)) {
    GUARD(e, step_down(e, K8SHA_ETIMEDOUT));
    evaluate(e);
    return;
  }
  if (!k8sha__elector_record_of(e, k8sha__lock_object(e->lock), &seen) || !is_ours(e, &seen)) {
    GUARD(e, step_down(e, K8SHA_ENOTLEADER));
    evaluate(e);
    return;
  }
  record_now(&rec, e->identity, e->ctx->ha.lease_ms, seen.transitions, seen.acquire_time);
  note_own(e, &rec);
  obj = compose(e, &rec, 1);
  if (!obj)
    return;
  if (send_write(e, obj, 0, on_leader_written) != 0)
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

void k8sha__elector_on_timer(void *ud) {
  k8sha_election *e = ud;
  if (e->st == E_STOPPING) {
    if (e->stop_due) {
      e->stop_due = 0;
      k8sha__election_release_done(e, e->stop_status, e->stop_status ? "the release could not be sent" : NULL);
    }
    return;
  }
  if (e->st == E_LEADER && e->retake) {
    /* The lock names us, but a job ConfigMap holds our term (or a higher one) from an earlier
     * incarnation of the lock. Take the lock anew: the acquisition starts above that term. */
    e->retake = 0;
    k8sha__log(e->ctx, K8SHA_LOG_WARN, "election",
               "%s: term %llu was already used before the lock %s was created again; taking a "
               "new term", e->identity, (unsigned long long)e->term, e->lock_name);
    GUARD(e, step_down(e, K8SHA_ECONFLICT));
    if (e->st == E_FOLLOWER)
      evaluate(e);
  } else if (e->st == E_LEADER) {
    k8sha__timer_start(e->timer, e->ctx->ha.retry_ms);
    leader_write(e);
  } else if (e->st == E_FOLLOWER) {
    e->await_update = 0;
    evaluate(e);
  }
}

/* ConfigMap lock: `p` completes with the next write that carries the entries as they are now. */
static void wait_for_write(k8sha_election *e, pending_done *p,
                           void (*done)(k8sha_election *, int, void *), void *ud) {
  pending_done **tail;
  p->done = done;
  p->ud = ud;
  for (tail = &e->waiting; *tail; tail = &(*tail)->next)
    ;
  *tail = p;
  /* A write already in flight was built before this change: write once more after it. */
  if (e->inflight)
    e->write_again = 1;
  else
    leader_write(e);
}

int k8sha_election_publish(k8sha_election *e, const char *component, const char *address,
                           void (*done)(k8sha_election *, int, void *), void *ud) {
  pending_done *p;
  char value[1024], key[300];

  if (!e || !component || !*component || !address)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_election_publish: election, component and address "
                                     "are required");
  K8SHA__LOOP_ONLY(e->ctx, K8SHA_ETHREAD);
  /* The entry's key must be a valid ConfigMap key, or every renewal would be refused (422). */
  if (snprintf(key, sizeof(key), K8SHA__LEADER_KEY_PREFIX "%s", component) >= (int)sizeof(key) ||
      !k8sha__is_configmap_key(key))
    return k8sha__fail(K8SHA_EINVAL, "component '%.64s' does not make a valid ConfigMap key "
                                     "(letters, digits, '-', '_', '.'; at most %zu characters)",
                       component, sizeof(key) - 1 - strlen(K8SHA__LEADER_KEY_PREFIX));
  if (strlen(e->session) + 1 + strlen(address) >= sizeof(value))
    return k8sha__fail(K8SHA_EINVAL, "address of %zu bytes: at most %zu fit the lock entry "
                                     "(refused, never cut short)", strlen(address),
                       sizeof(value) - 2 - strlen(e->session));
  if (!k8sha__elector_lease_valid(e))
    return k8sha__fail(K8SHA_ENOTLEADER, "k8sha_election_publish: %s does not lead",
                       e->identity);
  snprintf(value, sizeof(value), "%s,%s", e->session, address);
  if (lease_mode(e))
    return k8sha__addresses_entry(e, component, value, done, ud);
  p = k8sha__calloc(&e->ctx->alloc, 1, sizeof(*p));
  if (!p)
    return K8SHA_ENOMEM;
  json_object_del(e->removed, component);
  if (json_object_set_new(e->entries, component, json_string(value)) != 0) {
    k8sha__free(&e->ctx->alloc, p);
    return K8SHA_ENOMEM;
  }
  wait_for_write(e, p, done, ud);
  return 0;
}

int k8sha_election_unpublish(k8sha_election *e, const char *component,
                             void (*done)(k8sha_election *, int, void *), void *ud) {
  pending_done *p;
  json_t *v;

  if (!e || !component || !*component)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_election_unpublish: election and component are "
                                     "required");
  K8SHA__LOOP_ONLY(e->ctx, K8SHA_ETHREAD);
  if (!k8sha__elector_lease_valid(e))
    return k8sha__fail(K8SHA_ENOTLEADER, "k8sha_election_unpublish: %s does not lead",
                       e->identity);
  if (lease_mode(e))
    return k8sha__addresses_entry(e, component, NULL, done, ud);
  p = k8sha__calloc(&e->ctx->alloc, 1, sizeof(*p));
  if (!p)
    return K8SHA_ENOMEM;
  v = json_object_get(e->entries, component);
  if (v && json_object_set(e->removed, component, v) != 0) {
    k8sha__free(&e->ctx->alloc, p);
    return K8SHA_ENOMEM;
  }
  json_object_del(e->entries, component);
  wait_for_write(e, p, done, ud);
  return 0;
}

/* ---- release ---- */

void k8sha__election_release_done(k8sha_election *e, int err, const char *message) {
  if (e->orphan) {
    k8sha_election **p;
    k8sha_ctx *ctx;
    k8sha__log(e->ctx, err ? K8SHA_LOG_WARN : K8SHA_LOG_INFO, "election",
               "%s: the release written after the election was freed %s%s", e->identity,
               err ? "failed: " : "landed", err && message ? message : "");
    for (p = &e->ctx->orphans; *p; p = &(*p)->next_orphan)
      if (*p == e) {
        *p = e->next_orphan;
        break;
      }
    e->orphan = 0;
    ctx = e->ctx;
    k8sha__elector_free_now(e);
    k8sha__ctx_orphan_gone(ctx);
    return;
  }
  e->st = E_STOPPED;
  if (err)
    snprintf(e->last_error, sizeof(e->last_error), "stop: the release failed: %s",
             message ? message : k8sha_strerror(err));
  k8sha__log(e->ctx, err ? K8SHA_LOG_WARN : K8SHA_LOG_INFO, "election", "%s: stopped%s%s",
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

  if (!k8sha__elector_record_of(e, obj, &seen) || !is_ours(e, &seen))
    return 0; /* not ours (any more): nothing to release */
  record_now(&rec, "", K8SHA__RELEASE_LEASE_MS, seen.transitions, seen.acquire_time);
  rel = compose(e, &rec, 0);
  if (!rel)
    return K8SHA_ENOMEM;
  data = k8sha__lock_entries(e->lock, rel, 0);
  json_object_foreach(e->entries, key, v) {
    char k[512];
    k8sha__entry_key(k, sizeof(k), key);
    if (json_equal(json_object_get(data, k), v))
      json_object_del(data, k);
  }
  rc = send_write(e, rel, 0, on_released);
  return rc ? rc : 1;
}

static void on_released(int err, const char *message, void *ud) {
  k8sha_election *e = ud;
  e->inflight = NULL;
  if (err == K8SHA_ECONFLICT && !e->write_again) {
    /* Changed since we last saw it: read it and release once more if it is still ours. */
    int rc;
    e->write_again = 1;
    rc = k8sha__lock_refresh(e->lock, e->ctx->ha.request_timeout_ms, on_release_refreshed, e,
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
  K8SHA__LOOP_ONLY(e->ctx, K8SHA_ETHREAD);
  if (e->st == E_IDLE || e->st == E_STOPPING || e->st == E_STOPPED)
    return k8sha__fail(K8SHA_EBUSY, "k8sha_election_stop: the election %s",
                       e->st == E_IDLE ? "was never started" : "is already stopping or stopped");
  e->stopped = stopped;
  e->stopped_ud = ud;
  if (e->st == E_LEADER) {
    int gone;
    k8sha__life_enter(&e->life);
    step_down(e, K8SHA_ECANCELED);
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
    finish_list(e, &e->writing, K8SHA_EUNKNOWN_OUTCOME,
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
