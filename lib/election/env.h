/* Internal: what elections, retrievers, stores and cleanup tasks are made with. The context
 * makes one and hands it to each constructor; none of them reaches into the context. */
#ifndef K8SHA_ELECTION_ENV_H
#define K8SHA_ELECTION_ENV_H

#include "config/config_priv.h"
#include "core/rt.h"

struct k8sha__kube;
struct k8sha__storage;
struct k8sha__lock;
struct k8sha_election;

typedef struct k8sha__env {
  k8sha__rt *rt;                  /* allocator, loop, log, counters */
  const k8sha__ha *ha;            /* the effective HA settings */
  struct k8sha__kube *kube;       /* the Kubernetes client */
  struct k8sha__storage *storage; /* the blob backends */
  /* The registries of this layer, loop thread only: */
  struct k8sha__lock *locks;      /* the lock objects watched by elections and retrievers */
  struct k8sha_election *orphans; /* freed while writing their release (release.c) */
  /* Called when the last orphan is gone: the owner may be waiting to close. */
  void (*orphans_gone)(struct k8sha__env *env);
} k8sha__env;

#endif
