/* k8sha_waiter: a mutex + condition variable one-shot slot, for threads waiting on the loop. */
#include <stdlib.h>
#include <uv.h>

#include "k8sha/context.h"
#include "k8sha/errors.h"

struct k8sha_waiter {
  uv_mutex_t mu;
  uv_cond_t cond;
  int done;
  int status;
};

int k8sha_waiter_new(k8sha_waiter **out) {
  k8sha_waiter *w;
  if (!out)
    return K8SHA_EINVAL;
  /* libc allocation: a waiter is shared between threads and may outlive a context. */
  w = calloc(1, sizeof(*w));
  if (!w)
    return K8SHA_ENOMEM;
  if (uv_mutex_init(&w->mu) != 0) {
    free(w);
    return K8SHA_ENOMEM;
  }
  if (uv_cond_init(&w->cond) != 0) {
    uv_mutex_destroy(&w->mu);
    free(w);
    return K8SHA_ENOMEM;
  }
  *out = w;
  return 0;
}

void k8sha_waiter_signal(k8sha_waiter *w, int status) {
  if (!w)
    return;
  uv_mutex_lock(&w->mu);
  if (!w->done) {
    w->done = 1;
    w->status = status;
    uv_cond_broadcast(&w->cond);
  }
  uv_mutex_unlock(&w->mu);
}

int k8sha_waiter_wait(k8sha_waiter *w, uint64_t timeout_ms, int *status) {
  int rc = 0;
  if (!w || !status)
    return K8SHA_EINVAL;
  uv_mutex_lock(&w->mu);
  if (timeout_ms == 0) {
    while (!w->done)
      uv_cond_wait(&w->cond, &w->mu);
  } else {
    uint64_t deadline = uv_hrtime() + timeout_ms * UINT64_C(1000000);
    while (!w->done) {
      uint64_t now = uv_hrtime();
      if (now >= deadline || uv_cond_timedwait(&w->cond, &w->mu, deadline - now) != 0) {
        if (!w->done)
          rc = K8SHA_ETIMEDOUT;
        break;
      }
    }
  }
  if (rc == 0)
    *status = w->status;
  uv_mutex_unlock(&w->mu);
  return rc;
}

void k8sha_waiter_free(k8sha_waiter *w) {
  if (!w)
    return;
  uv_cond_destroy(&w->cond);
  uv_mutex_destroy(&w->mu);
  free(w);
}
