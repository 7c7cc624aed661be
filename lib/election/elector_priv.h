/* Internal to the election: the object (election.c), the elector's states and transitions
 * (elector.c), its writes (elector_write.c), publish (publish.c), the stop (release.c) and a
 * Lease lock's addresses ConfigMap (addresses.c): the election object and what they share. */
#ifndef K8SHA_ELECTION_ELECTOR_PRIV_H
#define K8SHA_ELECTION_ELECTOR_PRIV_H

#include <stdio.h>

#include "election/env.h"
#include "core/life.h"
#include "core/timer.h"
#include "election/elector.h"
#include "election/lock.h"
#include "election/record.h"
#include "k8sha/election.h"
#include "kube/client.h"
#include "election/fenced.h"

typedef enum state { E_IDLE, E_FOLLOWER, E_LEADER, E_STOPPING, E_STOPPED } state;

typedef struct pending_done {
  struct pending_done *next;
  void (*done)(k8sha_election *, int, void *);
  void *ud;
  /* Lease lock: the election whose addresses ConfigMap update completes it */
  struct k8sha_election *e;
  int unpublish;
  int sent;          /* its update's write was sent (it may have landed) */
  int claim_only;    /* its update could not be queued: only its claim's callback is to come */
  int claim_err;     /* the claim queued before its update failed: with this error ... */
  char claim_msg[256]; /* ... and message */
} pending_done;

/* Resource versions of the addresses ConfigMap our own writes made (the last few). */
#define K8SHA__OWN_RVS 8

struct k8sha_election {
  k8sha__env *env;
  k8sha_election_callbacks cbs;
  char identity[128];
  char *lock_name;
  k8sha__lock *lock;
  k8sha__lock_sub sub;
  state st;
  /* what we saw of the record */
  char *seen_annotation;   /* the record as last observed (the context's allocator) */
  k8sha_lock_kind kind;
  uint64_t observed_at;    /* loop time (ms) when it last changed */
  char seen_holder[256];
  int holder_known;
  /* leadership */
  char session[40];
  uint64_t term;
  uint64_t renewed_at;     /* loop time when the last successful renew was sent */
  int retake;              /* a store found our term used by another leadership: take a new one */
  char lead_uid[64];       /* metadata.uid of the lock object this leadership was granted on */
  int orphan;              /* freed by the host while its release was being written */
  k8sha__election_link *links; /* stores and tasks that use this election */
  char last_error[768];    /* the message of the last failed publish or stop, for its callback */
  struct k8sha_election *next_orphan;
  json_t *entries;         /* component -> "session,address" published by this leader */
  json_t *removed;         /* component -> the value it had, unpublished by this leader: its
                              key goes in every write while it still holds that value */
  pending_done *waiting;   /* publish callbacks waiting for a write that carries their entry */
  pending_done *writing;   /* ... those whose entry a write carried, not yet confirmed */
  /* Lease lock: the entries live in the ConfigMap <lease>-addresses (election/lock.h), claimed
   * and written like a job's ConfigMap (election/fenced.h) by the leader of each term. */
  char *pub_name;
  k8sha__lock *pub_lock;   /* its watch (shared with the context's retrievers) */
  k8sha__lock_sub pub_sub;
  k8sha__fcm *pub;         /* written in this term (or the last one, until the next) */
  pending_done *pub_ops;   /* publish and unpublish callbacks waiting for its updates */
  int pub_recheck;         /* the watch changed while an update was under way */
  char own_rvs[K8SHA__OWN_RVS][32];
  unsigned int own_rv_next;
  json_t *pub_last;        /* at a stop: its state as our last write left it (for the release) */
  k8sha__req *unpub;       /* after a release: our entries taken out */
  int writing_maybe_landed; /* a write carrying them failed without a definite answer */
  /* writes */
  k8sha__req *inflight;
  uint64_t inflight_sent;
  int write_again;         /* something changed while a write was in flight */
  int await_update;        /* after a lost race: wait for the watch before trying again */
  int created;             /* the acquiring write creates the lock object */
  int confirming;          /* the in-flight write renews a lock we have just created */
  k8sha__timer *timer;     /* follower: expiry; leader: next renew; stopping: the report */
  k8sha__timer *deadline;  /* leader: step down when this fires */
  void (*stopped)(k8sha_election *, int, void *);
  void *stopped_ud;
  int stop_due;            /* stopping, nothing written: the timer reports the end ... */
  int stop_status;         /* ... with this status */
  k8sha__life life;        /* the lifetime rule (core/life.h): host callbacks hold a reference */
  /* The records this contender wrote last (whatever their outcome): a record naming our
   * identity is ours only if it is one of these. Another live process with the same identity
   * (a restarted pod whose old instance still runs) writes records of its own. */
  k8sha__record own[16];
  unsigned int own_next;
};

/* Frees the object (the last reference, core/life.h). */
void k8sha__election_destroy(k8sha_election *e);

/* Runs a host callback holding a reference; when the host freed the election inside it, the
 * enclosing function returns at once (and the last reference destroys it). */
#define GUARD(e, call)                                                                             \
  do {                                                                                             \
    int gone_;                                                                                     \
    k8sha__life_enter(&(e)->life);                                                                 \
    call;                                                                                          \
    if (k8sha__life_leave(&(e)->life, &gone_)) {                                                   \
      if (gone_)                                                                                   \
        k8sha__election_destroy(e);                                                                \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* Tells the host of an error through its `error` callback (and the log). */
void k8sha__election_report(k8sha_election *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The end of a stop: the `stopped` callback, or the orphan's free. */
void k8sha__election_release_done(k8sha_election *e, int err, const char *message);

/* Whether the lock is a Lease (the published entries then live in the addresses ConfigMap). */
static inline int k8sha__elector_lease_mode(const k8sha_election *e) {
  return e->kind == K8SHA_LOCK_LEASE;
}

/* ---- elector.c, for election.c ---- */

/* Cancels, unsubscribes and frees (now, or when the host callback under way returns). */
void k8sha__elector_free_now(k8sha_election *e);
/* Whether our leadership is still within its deadline right now. */
int k8sha__elector_lease_valid(k8sha_election *e);
/* 1 when `obj` (with its parsed record, NULL when it has none) names this leadership. */
int k8sha__elector_names_us(const k8sha_election *e, json_t *obj, const k8sha__record *rec);
/* The record in `obj`, in the lock's layout: 1 when there is a readable one. */
int k8sha__elector_record_of(k8sha_election *e, json_t *obj, k8sha__record *rec);
/* A random (version 4) UUID into out (37 bytes). */
void k8sha__elector_new_uuid(char *out);
/* The timers' and the lock watch's callbacks. */
void k8sha__elector_on_timer(void *ud);
void k8sha__elector_on_deadline(void *ud);
void k8sha__elector_on_update(json_t *obj, void *ud);
void k8sha__elector_on_lock_error(int err, const char *message, void *ud);

/* ---- elector.c: the states and transitions ---- */

/* What the lock says decides: the leader keeps its leadership (and its entries) or steps down;
 * a follower acquires or waits. */
void k8sha__elector_evaluate(k8sha_election *e);
/* Leadership starts on our record landed in a new term (sent at `sent`), unless too late. Runs
 * host callbacks. */
void k8sha__elector_lead(k8sha_election *e, const k8sha__record *rec, uint64_t sent);
/* The leader becomes a follower for `reason`. Runs host callbacks: call it under GUARD. */
void k8sha__elector_step_down(k8sha_election *e, int reason);
/* Completes the publish callbacks on `list` with `status` (why: a failure's message). Runs host
 * callbacks: call it under GUARD. */
void k8sha__elector_finish_list(k8sha_election *e, pending_done **list, int status,
                                const char *why);

/* ---- elector_write.c: the writes of the lock ---- */

/* The lock object with our record (and, when `with_entries`, the entries of a ConfigMap lock) on
 * top of the latest state; NULL out of memory. */
json_t *k8sha__elector_compose(k8sha_election *e, const k8sha__record *rec, int with_entries);
/* A record of `holder` stamped now (acquired now when `acquire_time` is NULL). */
void k8sha__elector_record_now(k8sha__record *r, const char *holder, uint64_t lease_ms,
                               uint64_t transitions, const char *acquire_time);
/* 1 when `r` is a record this contender wrote. */
int k8sha__elector_is_ours(const k8sha_election *e, const k8sha__record *r);
/* Sends `obj` (consumed) as the one write in flight: 0, or an error with nothing in flight. */
int k8sha__elector_send_write(k8sha_election *e, json_t *obj, int create,
                              k8sha__lock_write_cb cb);
/* A follower writes a record naming us in a new term (`seen`: the record there, or NULL). */
void k8sha__elector_try_acquire(k8sha_election *e, const k8sha__record *seen);
/* The leader renews, carrying the published entries (after the write in flight, if any). */
void k8sha__elector_leader_write(k8sha_election *e);

/* The data key of a published component's entry. */
static inline void k8sha__entry_key(char *k, size_t n, const char *component) {
  snprintf(k, n, K8SHA__LEADER_KEY_PREFIX "%s", component);
}

/* ---- addresses.c: a Lease lock's published entries, in the ConfigMap <lease>-addresses ---- */

/* Publishes (value "session,address") or unpublishes (value NULL) a component; done as for
 * k8sha_election_publish. 0 or an error with nothing changed. */
int k8sha__addresses_entry(k8sha_election *e, const char *component, const char *value,
                           void (*done)(k8sha_election *, int, void *), void *ud);
/* The leader makes the ConfigMap hold its entries when the watch shows otherwise (a previous
 * term's entries, someone else's change). */
void k8sha__addresses_check(k8sha_election *e);
/* A new term or a stop: the ConfigMap object of the term that ended is let go (at a stop its
 * last state is kept for the release), and its publishes and unpublishes end now:
 * K8SHA_EUNKNOWN_OUTCOME for one whose write was sent, K8SHA_ENOTLEADER for the others. Runs
 * host callbacks: call it under GUARD. */
void k8sha__addresses_end_term(k8sha_election *e, int stopping);
/* After a release: our entries out, conditional on our last write. 1 when under way (the stop
 * then ends in its callback), else 0. */
int k8sha__addresses_release(k8sha_election *e);
/* The watch of the ConfigMap (k8sha__lock_sub). */
void k8sha__addresses_on_update(json_t *obj, void *ud);
void k8sha__addresses_on_error(int err, const char *message, void *ud);

#endif
