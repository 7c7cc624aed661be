/* Internal: the runtime a module is given when it is made: the allocator, the loop and its
 * thread, the log, the counters, and the accounting of library callbacks and of objects not
 * freed yet. The context owns one (core/ctx_priv.h); every object keeps a pointer to it. */
#ifndef K8SHA_CORE_RT_H
#define K8SHA_CORE_RT_H

#include <stdint.h>
#include <uv.h>

#include "k8sha/context.h"

typedef struct k8sha__rt {
  k8sha_allocator alloc;
  uv_loop_t *loop;
  uv_thread_t loop_thread; /* the thread that runs the loop: the host's, or the library's own */
  int own_loop;            /* the library runs the loop on a thread of its own */
  k8sha_log_cb log;
  void *log_user_data;
  k8sha_log_level log_level;
  k8sha_stats stats;       /* loop thread */
  unsigned int depth;      /* loop thread: how deep inside the library's own callbacks */
  unsigned int children;   /* (atomic) objects made from the context and not freed yet */
} k8sha__rt;

/* Around every entry from libuv into the library (timers, sockets, storage completions): a
 * k8sha_ctx_free() inside is refused instead of pulling the loop from under its caller. */
#define K8SHA__ENTER(rt) ((rt)->depth++)
#define K8SHA__LEAVE(rt) ((rt)->depth--)

/* 1 when the calling thread is the loop thread. */
int k8sha__rt_on_loop(const k8sha__rt *rt);
/* Logs that `fn` was called from the wrong thread; returns K8SHA_ETHREAD. */
int k8sha__rt_wrong_thread(k8sha__rt *rt, const char *fn);
/* In a function only the loop thread may call: returns `ret` from it on another thread, saying
 * that `fn` (the public function the host called) was called from the wrong thread. */
#define K8SHA__LOOP_ONLY_AS(rt, ret, fn)                                                           \
  do {                                                                                             \
    if (!k8sha__rt_on_loop(rt)) {                                                                  \
      (void)k8sha__rt_wrong_thread((rt), (fn));                                                    \
      return ret;                                                                                  \
    }                                                                                              \
  } while (0)
/* The same in the public function itself. */
#define K8SHA__LOOP_ONLY(rt, ret) K8SHA__LOOP_ONLY_AS(rt, ret, __func__)
#define K8SHA__LOOP_ONLY_VOID(rt)                                                                  \
  do {                                                                                             \
    if (!k8sha__rt_on_loop(rt)) {                                                                  \
      (void)k8sha__rt_wrong_thread((rt), __func__);                                                \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* An object made from the context (election, retriever, store, watch) comes and goes: the
 * context refuses to be freed while any is left. */
void k8sha__rt_child(k8sha__rt *rt, int delta);

/* Logs at `level` when the host wants that level. Never pass a secret. */
void k8sha__log(k8sha__rt *rt, k8sha_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Milliseconds on the loop's monotonic clock (uv_now, updated). */
uint64_t k8sha__now_ms(k8sha__rt *rt);

#endif
