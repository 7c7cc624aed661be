/* Internal: the one cross-thread queue. Any thread posts a letter; the loop thread is woken and
 * takes every letter posted so far, oldest first. */
#ifndef K8SHA_CORE_MAILBOX_H
#define K8SHA_CORE_MAILBOX_H

#include <uv.h>

/* Embedded in whatever is posted; the mailbox only links it. */
typedef struct k8sha__letter {
  struct k8sha__letter *next;
} k8sha__letter;

typedef struct k8sha__mailbox {
  uv_async_t async; /* its data is the owner's; its callback takes the letters */
  uv_mutex_t mu;
  k8sha__letter *head, *tail;
  int closed; /* posts refused, the handle closing or closed */
} k8sha__mailbox;

/* Loop thread. `on_mail` runs on the loop after posts (several posts may wake it once); the
 * handle's data is `owner`. Returns 0, K8SHA_ENOMEM or K8SHA_ESYSTEM (nothing to undo then). */
int k8sha__mailbox_init(k8sha__mailbox *m, uv_loop_t *loop, uv_async_cb on_mail, void *owner);

/* Any thread: queues `l` and wakes the loop. K8SHA_ECLOSED (and `l` not queued) once the
 * mailbox is closed. The wake-up is sent under the lock, so no post reaches a closed handle. */
int k8sha__mailbox_post(k8sha__mailbox *m, k8sha__letter *l);

/* Any thread: wakes the loop without a letter, unless the mailbox is closed. */
void k8sha__mailbox_wake(k8sha__mailbox *m);

/* Loop thread (or after the close callback): every letter queued, oldest first, unlinked. */
k8sha__letter *k8sha__mailbox_take(k8sha__mailbox *m);

/* Loop thread: refuses posts from now on and closes the handle; `closed` runs on the loop later.
 * Letters still queued stay for k8sha__mailbox_take(). */
void k8sha__mailbox_close(k8sha__mailbox *m, uv_close_cb closed);

/* After the close callback: releases the lock. Letters left are the caller's (take them first). */
void k8sha__mailbox_destroy(k8sha__mailbox *m);

#endif
