/* Internal: what the stores need to know about an election to fence their writes. */
#ifndef K8SHA_ELECTION_ELECTOR_H
#define K8SHA_ELECTION_ELECTOR_H

#include <stdint.h>

#include "election/lock.h"
#include "k8sha/election.h"

k8sha_ctx *k8sha__election_ctx(const k8sha_election *e);
/* The watched lock object (borrowed), or NULL before the election was started. */
k8sha__lock *k8sha__election_lock(const k8sha_election *e);
k8sha_lock_kind k8sha__election_kind(const k8sha_election *e);
/* The term of the current leadership; 0 when not leading. */
uint64_t k8sha__election_term(const k8sha_election *e);
/* 1 when `e` leads now, in `term`, within its renew deadline; else 0. */
int k8sha__election_leads(const k8sha_election *e, uint64_t term);

#endif
