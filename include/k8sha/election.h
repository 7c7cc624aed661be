/*
 * libk8sha — k8sha/election.h: leader election among replicas, and leader retrieval.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * The lock is the ConfigMap `<cluster-id>-cluster-config-map` in Flink's layout: its annotation
 * `control-plane.alpha.kubernetes.io/leader` holds the lock record, and the leader publishes its
 * components' addresses in its data as `org.apache.flink.k8s.leader.<component>` =
 * "<session id>,<address>". Flink JobManagers and libk8sha contenders can share one lock.
 *
 * Semantics (see docs/election.md):
 *  - a lease expires when its record has not changed for its lease duration, measured on this
 *    process's monotonic clock from when the change was observed: wall clocks are never compared;
 *  - followers watch the lock and arm one timer at the expiry instant; a released lock (empty
 *    holder) is taken at once;
 *  - a leader that has not renewed within the effective renew deadline is revoked before the lease
 *    can expire for anyone else;
 *  - every write on the leader's behalf is conditional on the lock object's resourceVersion, in
 *    the same object as the holder: a deposed leader's write fails with K8SHA_ENOTLEADER.
 *
 * Threading: loop thread only; callbacks run there.
 */
#ifndef K8SHA_ELECTION_H
#define K8SHA_ELECTION_H

#include <stdint.h>
#include "k8sha/common.h"
#include "k8sha/context.h"

K8SHA_BEGIN_DECLS

/** A contender; opaque. Since 0.1. */
typedef struct k8sha_election k8sha_election;

/** What a contender is told. Any member may be NULL. Since 0.1. */
typedef struct k8sha_election_callbacks {
  unsigned int version; /* K8SHA_ELECTION_CALLBACKS_VERSION */
  /** This contender leads. `session_id` is a fresh UUID for this term; `term` is the fencing
   *  token (it grows with every change of leadership). */
  void (*granted)(k8sha_election *e, const char *session_id, uint64_t term, void *user_data);
  /** Leadership ended: K8SHA_ENOTLEADER (someone else holds the lock), K8SHA_ETIMEDOUT (no
   *  renewal within the renew deadline), K8SHA_ENOTFOUND (the lock object was deleted),
   *  K8SHA_ECANCELED (stopped), K8SHA_ECONFLICT (a store found our term already used by an
   *  earlier incarnation of a recreated lock: `granted` follows at once with a higher term).
   *  Stop acting as leader before returning. */
  void (*revoked)(k8sha_election *e, int reason, void *user_data);
  /** The holder of the lock changed (NULL or "" when nobody holds it). */
  void (*leader_changed)(k8sha_election *e, const char *identity, void *user_data);
  /** Something failed that the election retries by itself (forbidden, unavailable, ...). */
  void (*error)(k8sha_election *e, int err, const char *message, void *user_data);
  void *user_data;
  /** Called once with user_data when the election no longer needs it. */
  void (*destroy)(void *user_data);
} k8sha_election_callbacks;

#define K8SHA_ELECTION_CALLBACKS_VERSION 1

/**
 * The kind of lock object. Since 0.1.
 *  - K8SHA_LOCK_CONFIGMAP (default): Flink's layout (see above), shareable with Flink.
 *  - K8SHA_LOCK_LEASE: a coordination.k8s.io/v1 Lease `<cluster-id>-cluster-lease`; the record is
 *    its spec in client-go's form (integer leaseDurationSeconds, MicroTime stamps). Published
 *    entries `org.apache.flink.k8s.leader.<component>` go to a ConfigMap of their own,
 *    `<lease name>-addresses`, claimed and written by each leader with its term like a job's
 *    ConfigMap: renewals never touch it, so retrievers hear only of address changes. A leader
 *    that takes over removes the previous term's entries; a clean stop removes its own after
 *    the release. Needs RBAC on leases (and on configmaps, as the stores do).
 */
typedef enum k8sha_lock_kind {
  K8SHA_LOCK_CONFIGMAP = 0,
  K8SHA_LOCK_LEASE = 1
} k8sha_lock_kind;

/** Options of a contender. Fill with K8SHA_ELECTION_OPTIONS_INIT. Since 0.1. */
typedef struct k8sha_election_options {
  unsigned int version;  /* K8SHA_ELECTION_OPTIONS_VERSION */
  const char *identity;  /* this contender's identity; NULL: a fresh UUID */
  const char *lock_name; /* NULL: "<cluster-id>-cluster-config-map" (or -cluster-lease) */
  k8sha_lock_kind lock;  /* default K8SHA_LOCK_CONFIGMAP */
} k8sha_election_options;

#define K8SHA_ELECTION_OPTIONS_VERSION 1
#define K8SHA_ELECTION_OPTIONS_INIT {K8SHA_ELECTION_OPTIONS_VERSION, NULL, NULL, K8SHA_LOCK_CONFIGMAP}

/**
 * Creates a contender (not started). `opts` may be NULL. `cbs` is copied.
 * Returns 0, K8SHA_EINVAL or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_election_new(k8sha_election **out, k8sha_ctx *ctx,
                                    const k8sha_election_options *opts,
                                    const k8sha_election_callbacks *cbs);

/** Joins the election. 0, K8SHA_EINVAL, K8SHA_EBUSY (already started) or K8SHA_ENOMEM.
 *  Since 0.1. */
K8SHA_EXPORT int k8sha_election_start(k8sha_election *e);

/**
 * Leaves the election. A leader is revoked (K8SHA_ECANCELED) at once, then releases the lock
 * (empty holder, 1 s lease, its published entries removed; with a Lease lock they are taken out
 * of the addresses ConfigMap right after the release) so another contender takes over within
 * one round trip; `stopped` (may be NULL) runs when the release is written or failed.
 * Returns 0, K8SHA_EINVAL or K8SHA_EBUSY (not started or already stopping). Since 0.1.
 */
K8SHA_EXPORT int k8sha_election_stop(k8sha_election *e,
                                     void (*stopped)(k8sha_election *e, int status, void *ud),
                                     void *ud);

/** Frees the contender at once (without releasing the lock). NULL is a no-op. Since 0.1. */
K8SHA_EXPORT void k8sha_election_free(k8sha_election *e);

/** 1 while this contender leads, else 0. Since 0.1. */
K8SHA_EXPORT int k8sha_election_is_leader(const k8sha_election *e);
/** The message of the last failure reported to a publish callback or the stopped callback (what
 *  was not written, why the release failed), readable during that callback; "" before any.
 *  Never NULL. Since 0.1. */
K8SHA_EXPORT const char *k8sha_election_last_error(const k8sha_election *e);

/** This contender's identity. Since 0.1. */
K8SHA_EXPORT const char *k8sha_election_identity(const k8sha_election *e);
/** The current session id while leading, else NULL. Since 0.1. */
K8SHA_EXPORT const char *k8sha_election_session(const k8sha_election *e);

/**
 * Publishes `address` for `component` ("resourcemanager", "dispatcher", "restserver",
 * "job-<jobid>", ...) with the current session, in one fenced write together with every
 * component published before (with a Lease lock: in the ConfigMap "<lease name>-addresses"). The
 * leader restores its entries if someone else changes them. `done` (may be NULL) gets 0,
 * K8SHA_ENOTLEADER, K8SHA_EUNKNOWN_OUTCOME (leadership ended while its write was under way) or an
 * API error. K8SHA_EINVAL when
 * "org.apache.flink.k8s.leader.<component>" is not a valid ConfigMap key (letters, digits, '-',
 * '_', '.', at most 253 characters) or the address is longer than about 1000 bytes.
 * Returns 0, K8SHA_EINVAL, K8SHA_ENOTLEADER (not leading now) or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_election_publish(k8sha_election *e, const char *component,
                                        const char *address,
                                        void (*done)(k8sha_election *e, int status, void *ud),
                                        void *ud);

/**
 * Takes back what this leadership published for `component`: its entry goes from the lock (with
 * a Lease lock: from the addresses ConfigMap) in one fenced write (only while it still holds the value this leadership wrote), and the leader no
 * longer restores it. `done` (may be NULL) gets 0, K8SHA_ENOTLEADER or an API error. A component
 * not published by this leadership is success (after one write). Publishing it again is allowed.
 * Returns 0, K8SHA_EINVAL, K8SHA_ENOTLEADER (not leading now), K8SHA_ETHREAD or K8SHA_ENOMEM.
 * Since 0.1.
 */
K8SHA_EXPORT int k8sha_election_unpublish(k8sha_election *e, const char *component,
                                          void (*done)(k8sha_election *e, int status, void *ud),
                                          void *ud);

/** A leader retriever; opaque. Since 0.1. */
typedef struct k8sha_retriever k8sha_retriever;

/** The leader of a component: `address` and `session_id` NULL when there is none. */
typedef void (*k8sha_retriever_cb)(k8sha_retriever *r, const char *address, const char *session_id,
                                   void *user_data);

/** Options of k8sha_retriever_new(). Fill with K8SHA_RETRIEVER_OPTIONS_INIT. Since 0.1. */
typedef struct k8sha_retriever_options {
  unsigned int version;  /* K8SHA_RETRIEVER_OPTIONS_VERSION */
  k8sha_lock_kind lock;  /* the lock's kind; default K8SHA_LOCK_CONFIGMAP */
  const char *lock_name; /* NULL: the cluster's lock */
  /** Something failed that the retriever retries by itself (the lock cannot be read or
   *  watched: forbidden, unavailable, ...): the address it last reported may be stale until the
   *  next report. Routine recovery (a watch resumed or listed again) is not an error. May be
   *  NULL. */
  void (*error)(k8sha_retriever *r, int err, const char *message, void *user_data);
} k8sha_retriever_options;

#define K8SHA_RETRIEVER_OPTIONS_VERSION 1
#define K8SHA_RETRIEVER_OPTIONS_INIT {K8SHA_RETRIEVER_OPTIONS_VERSION, K8SHA_LOCK_CONFIGMAP, NULL, NULL}

/**
 * Follows the leader of `component` on the lock `opts` names (NULL: the cluster's ConfigMap
 * lock, no error callback). Reports the current state once the lock has been read (an existing
 * leader, or none), then every change; failures go to `opts->error`.
 * Contenders and retrievers of one lock in one context share one watch.
 * Returns 0, K8SHA_EINVAL, K8SHA_ENOMEM or K8SHA_ETHREAD. Since 0.1.
 */
K8SHA_EXPORT int k8sha_retriever_new(k8sha_retriever **out, k8sha_ctx *ctx,
                                     const k8sha_retriever_options *opts, const char *component,
                                     k8sha_retriever_cb cb, void *user_data);

/** Stops following. NULL is a no-op. Since 0.1. */
K8SHA_EXPORT void k8sha_retriever_free(k8sha_retriever *r);

K8SHA_END_DECLS

#endif /* K8SHA_ELECTION_H */
