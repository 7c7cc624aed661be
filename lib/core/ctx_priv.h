/* Internal: the context object, shared by lib/core and lib/kube. */
#ifndef K8SHA_CORE_CTX_PRIV_H
#define K8SHA_CORE_CTX_PRIV_H

#include <uv.h>

#include "config/config_priv.h"
#include "config/kube_access.h"
#include "k8sha/context.h"

struct k8sha__kube;
struct k8sha__poster;
struct k8sha__lock;
struct k8sha__storage;

struct k8sha_ctx {
  k8sha_allocator alloc;
  uv_loop_t *loop;
  uv_loop_t *own_loop;  /* allocated when the library runs the loop */
  uv_thread_t thread;
  int thread_started;
  struct k8sha__poster *poster; /* uv_async + queue for k8sha_ctx_post() */
  k8sha_log_cb log;
  void *log_user_data;
  k8sha_log_level log_level;
  k8sha_stats stats;
  k8sha__ha ha;              /* effective HA settings, copied from the config */
  k8sha__kube_access access; /* Kubernetes access, copied from the config */
  struct k8sha__kube *kube;
  struct k8sha__lock *locks; /* lock objects watched by elections and retrievers */
  struct k8sha__storage *storage; /* storage backends and their pending operations */
  int freeing;
};

/* Logs at `level` when the host wants that level. Never pass a secret. */
void k8sha__log(k8sha_ctx *ctx, k8sha_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Milliseconds on the loop's monotonic clock (uv_now, updated). */
uint64_t k8sha__now_ms(k8sha_ctx *ctx);

#endif
