/* The runtime every module is given (core/rt.h): thread checks, the log, the clock. */
#include "core/rt.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/fail.h"
#include "k8sha/errors.h"

int k8sha__rt_on_loop(const k8sha__rt *rt) {
  uv_thread_t self = uv_thread_self();
  return uv_thread_equal(&self, &rt->loop_thread);
}

int k8sha__rt_wrong_thread(k8sha__rt *rt, const char *fn) {
  char msg[512];
  snprintf(msg, sizeof(msg),
           "%s was called from a thread other than the context's loop thread (%s); nothing "
           "was done", fn, rt->own_loop ? "post it with k8sha_ctx_post() or k8sha_ctx_call()"
                                        : "the thread that created the context and runs its loop");
  /* (the log callback runs on this thread then: a misuse report, and a host bug to fix) */
  k8sha__log(rt, K8SHA_LOG_ERROR, "context", "%s", msg);
  return k8sha__fail(K8SHA_ETHREAD, "%s", msg);
}

void k8sha__rt_child(k8sha__rt *rt, int delta) {
  if (delta > 0)
    __atomic_add_fetch(&rt->children, 1, __ATOMIC_SEQ_CST);
  else
    __atomic_sub_fetch(&rt->children, 1, __ATOMIC_SEQ_CST);
}

void k8sha__log(k8sha__rt *rt, k8sha_log_level level, const char *module, const char *fmt, ...) {
  char line[1024];
  va_list ap;

  if (!rt->log || level > rt->log_level)
    return;
  /* A fixed buffer: log lines are short, and logging must not fail for want of memory. */
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  rt->log(level, module, line, rt->log_user_data);
}

uint64_t k8sha__now_ms(k8sha__rt *rt) {
  uv_update_time(rt->loop);
  return uv_now(rt->loop);
}
