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
  uv_thread_t loop_thread;   /* host loop: the thread that created the context */
  unsigned int depth;        /* loop thread: how deep inside the library's own callbacks */
  unsigned int children;     /* (atomic) objects made from the context and not freed yet */
  struct k8sha__delayed *delayed; /* k8sha_ctx_post_after() calls waiting for their time */
  struct k8sha_election *orphans; /* freed while writing their release: see elector.c */
  int teardown_due;          /* library-owned loop: freed, waiting for those releases */
};

/* Around every entry from libuv into the library (timers, sockets, storage completions): a
 * k8sha_ctx_free() inside is refused instead of pulling the loop from under its caller. */
#define K8SHA__ENTER(ctx) ((ctx)->depth++)
#define K8SHA__LEAVE(ctx) ((ctx)->depth--)

/* 1 when the calling thread is the context's loop thread. */
int k8sha__ctx_on_loop(const k8sha_ctx *ctx);
/* Logs that `fn` was called from the wrong thread; returns K8SHA_ETHREAD. */
int k8sha__ctx_wrong_thread(k8sha_ctx *ctx, const char *fn);
/* In a function only the loop thread may call: returns `ret` from it on another thread. */
#define K8SHA__LOOP_ONLY(ctx, ret)                                                                 \
  do {                                                                                             \
    if (!k8sha__ctx_on_loop(ctx)) {                                                                \
      (void)k8sha__ctx_wrong_thread((ctx), __func__);                                              \
      return ret;                                                                                  \
    }                                                                                              \
  } while (0)
#define K8SHA__LOOP_ONLY_VOID(ctx)                                                                 \
  do {                                                                                             \
    if (!k8sha__ctx_on_loop(ctx)) {                                                                \
      (void)k8sha__ctx_wrong_thread((ctx), __func__);                                              \
      return;                                                                                      \
    }                                                                                              \
  } while (0)
/* An object made from the context (election, retriever, store, watch) comes and goes: the
 * context refuses to be freed while any is left. */
void k8sha__ctx_child(k8sha_ctx *ctx, int delta);
/* An election freed while writing its release is done with it: a context freed meanwhile (on
 * its own loop thread) may now close. */
void k8sha__ctx_orphan_gone(k8sha_ctx *ctx);

/* Logs at `level` when the host wants that level. Never pass a secret. */
void k8sha__log(k8sha_ctx *ctx, k8sha_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Milliseconds on the loop's monotonic clock (uv_now, updated). */
uint64_t k8sha__now_ms(k8sha_ctx *ctx);

#endif
