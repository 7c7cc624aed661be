/* One-shot libuv timers that outlive their owner until libuv has closed them (timer.h). */
#include "core/timer.h"

#include <uv.h>

#include "core/alloc.h"
#include "core/rt.h"

struct k8sha__timer {
  uv_timer_t handle;
  k8sha_allocator alloc; /* a copy: the context may be gone when the close callback runs */
  k8sha__rt *rt;         /* alive while the timer can fire */
  void (*cb)(void *);
  void *user_data;
};

static void on_timer(uv_timer_t *h) {
  k8sha__timer *t = h->data;
  k8sha__rt *rt = t->rt; /* (the callback may free the timer) */
  K8SHA__ENTER(rt);
  t->cb(t->user_data);
  K8SHA__LEAVE(rt);
}

static void on_closed(uv_handle_t *h) {
  k8sha__timer *t = h->data;
  k8sha_allocator a = t->alloc;
  k8sha__free(&a, t);
}

k8sha__timer *k8sha__timer_new(k8sha__rt *rt, void (*cb)(void *), void *user_data) {
  k8sha__timer *t = k8sha__calloc(&rt->alloc, 1, sizeof(*t));
  if (!t)
    return NULL;
  uv_timer_init(rt->loop, &t->handle); /* cannot fail for a valid loop */
  t->handle.data = t;
  t->alloc = rt->alloc;
  t->rt = rt;
  t->cb = cb;
  t->user_data = user_data;
  return t;
}

void k8sha__timer_start(k8sha__timer *t, uint64_t ms) {
  uv_timer_start(&t->handle, on_timer, ms, 0);
}

void k8sha__timer_stop(k8sha__timer *t) {
  if (t)
    uv_timer_stop(&t->handle);
}

int k8sha__timer_active(const k8sha__timer *t) {
  return uv_is_active((const uv_handle_t *)&t->handle);
}

void k8sha__timer_free(k8sha__timer *t) {
  if (!t)
    return;
  uv_timer_stop(&t->handle);
  uv_close((uv_handle_t *)&t->handle, on_closed);
}
