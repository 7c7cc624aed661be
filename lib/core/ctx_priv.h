/* Internal: the context object, on top of every module: it makes each and hands it what it uses. */
#ifndef K8SHA_CORE_CTX_PRIV_H
#define K8SHA_CORE_CTX_PRIV_H

#include <uv.h>

#include "config/config_priv.h"
#include "config/kube_access.h"
#include "core/rt.h"
#include "election/env.h"
#include "k8sha/context.h"

struct k8sha__kube;
struct k8sha__poster;
struct k8sha__lock;
struct k8sha__storage;

struct k8sha_ctx {
  k8sha__rt rt;         /* what every module is given: allocator, loop, log, counters */
  uv_loop_t *own_loop;  /* allocated when the library runs the loop */
  int thread_started;
  struct k8sha__poster *poster; /* the mailbox of k8sha_ctx_post() */
  k8sha__ha ha;              /* effective HA settings, copied from the config */
  k8sha__kube_access access; /* Kubernetes access, copied from the config */
  struct k8sha__kube *kube;
  struct k8sha__storage *storage; /* storage backends and their pending operations */
  k8sha__env env;            /* what elections, retrievers, stores and tasks are made with */
  int freeing;
  struct k8sha__delayed *delayed; /* k8sha_ctx_post_after() calls waiting for their time */
  int teardown_due;          /* library-owned loop: freed, waiting for those releases */
};


#endif
