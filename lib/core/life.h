/* Internal: the lifetime rule of every object that calls back into the host.
 *
 * The object starts with one reference, the host's. The host's free marks it closed, stops its
 * work (no callback of it runs any more) and drops that reference. Every callback into the host
 * runs holding a reference of its own, so an object freed from inside one of its callbacks is
 * destroyed when that callback returns, not while the library still uses it; the caller learns
 * from k8sha__life_leave() that it must return without touching the object. */
#ifndef K8SHA_CORE_LIFE_H
#define K8SHA_CORE_LIFE_H

typedef struct k8sha__life {
  unsigned int refs;
  int closed;
} k8sha__life;

static inline void k8sha__life_init(k8sha__life *l) {
  l->refs = 1;
  l->closed = 0;
}

/* Before a host callback. */
static inline void k8sha__life_enter(k8sha__life *l) {
  l->refs++;
}

/* After a host callback: 0 when the object may be used on; 1 when it was closed meanwhile (the
 * caller stops at once, destroying the object first when this was the last reference). */
static inline int k8sha__life_leave(k8sha__life *l, int *destroy) {
  *destroy = --l->refs == 0;
  return l->closed;
}

/* The host's free: 1 when the caller destroys the object now, 0 when a callback under way
 * holds it (it is destroyed when that callback returns). Only the first call counts. */
static inline int k8sha__life_close(k8sha__life *l) {
  if (l->closed)
    return 0;
  l->closed = 1;
  return --l->refs == 0;
}

#endif
