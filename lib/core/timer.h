/* Internal: a libuv timer whose memory outlives its owner until libuv has closed it, so owners
 * can free themselves at any time (even from the timer's own callback). */
#ifndef K8SHA_CORE_TIMER_H
#define K8SHA_CORE_TIMER_H

#include <stdint.h>

#include "core/rt.h"

typedef struct k8sha__timer k8sha__timer;

/* NULL when out of memory. */
k8sha__timer *k8sha__timer_new(k8sha__rt *rt, void (*cb)(void *user_data), void *user_data);
/* (Re)starts a one-shot timer `ms` from now. */
void k8sha__timer_start(k8sha__timer *t, uint64_t ms);
void k8sha__timer_stop(k8sha__timer *t); /* NULL is a no-op */
int k8sha__timer_active(const k8sha__timer *t);
/* Stops the timer; the callback will not run again. NULL is a no-op. */
void k8sha__timer_free(k8sha__timer *t);

#endif
