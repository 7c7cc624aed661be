/* Internal: what the stores need to know about an election to fence their writes. */
#ifndef K8SHA_ELECTION_ELECTOR_H
#define K8SHA_ELECTION_ELECTOR_H

#include <stdint.h>

#include "election/lock.h"
#include "k8sha/election.h"

/* What depends on an election (a store's ConfigMap, a cleanup task) links itself to it: when
 * the host frees the election first, `gone` runs (during that free: it must only drop its
 * pointer and schedule its own failure, K8SHA_ECANCELED, on a later loop turn). */
typedef struct k8sha__election_link {
  struct k8sha__election_link *next, **prev;
  void (*gone)(struct k8sha__election_link *link);
} k8sha__election_link;
void k8sha__election_link_add(k8sha_election *e, k8sha__election_link *link);
void k8sha__election_link_remove(k8sha__election_link *link); /* unlinked: a no-op */

/* k8sha_election_new() and k8sha_retriever_new(), made with `env` (the context's). */
int k8sha__election_new(k8sha_election **out, k8sha__env *env, const k8sha_election_options *opts,
                        const k8sha_election_callbacks *cbs);
int k8sha__retriever_new(k8sha_retriever **out, k8sha__env *env,
                         const k8sha_retriever_options *opts, const char *component,
                         k8sha_retriever_cb cb, void *user_data);

/* What the election was made with: its stores and tasks are made with the same. */
k8sha__env *k8sha__election_env(const k8sha_election *e);
/* The watched lock object (borrowed), or NULL before the election was started. */
k8sha__lock *k8sha__election_lock(const k8sha_election *e);
k8sha_lock_kind k8sha__election_kind(const k8sha_election *e);
/* The term of the current leadership; 0 when not leading. */
uint64_t k8sha__election_term(const k8sha_election *e);
/* 1 when `e` leads now, in `term`, within its renew deadline; else 0. */
int k8sha__election_leads(const k8sha_election *e, uint64_t term);
/* The session of the current leadership ("" when not leading): with the term, what a store
 * stamps on the ConfigMaps it claims. */
const char *k8sha__election_session(const k8sha_election *e);
/* 1 when the lock object as last read or watched names the leadership in `term`: a record this
 * process wrote, in that term, on the object incarnation it was granted on. A store reads the
 * lock afresh and asks this before it writes over a claim that is not its own. */
int k8sha__election_names_us(k8sha_election *e, uint64_t term);
/* At the context's free: elections freed while their release was still being written go now. */
void k8sha__election_reap(k8sha__env *env);
/* A store of the leadership in `term` found a ConfigMap claimed with `found` >= term by another
 * leadership: the lock was deleted and created again with a term already used. If `e` still
 * leads in `term`, it takes the lock anew (it still names us) with a term above `found`: its
 * host sees the leadership revoked and granted again, and stores opened again claim with the new
 * term. Deferred to the election's own timer; safe to call from any store callback. */
void k8sha__election_term_used(k8sha_election *e, uint64_t term, uint64_t found);

#endif
