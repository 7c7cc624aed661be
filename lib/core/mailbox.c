/* The one cross-thread queue (core/mailbox.h). */
#include "core/mailbox.h"

#include <stddef.h>

#include "k8sha/errors.h"

int k8sha__mailbox_init(k8sha__mailbox *m, uv_loop_t *loop, uv_async_cb on_mail, void *owner) {
  m->head = m->tail = NULL;
  m->closed = 0;
  if (uv_mutex_init(&m->mu) != 0)
    return K8SHA_ENOMEM;
  if (uv_async_init(loop, &m->async, on_mail) != 0) {
    uv_mutex_destroy(&m->mu);
    return K8SHA_ESYSTEM;
  }
  m->async.data = owner;
  return 0;
}

int k8sha__mailbox_post(k8sha__mailbox *m, k8sha__letter *l) {
  uv_mutex_lock(&m->mu);
  if (m->closed) {
    uv_mutex_unlock(&m->mu);
    return K8SHA_ECLOSED;
  }
  l->next = NULL;
  if (m->tail)
    m->tail->next = l;
  else
    m->head = l;
  m->tail = l;
  uv_async_send(&m->async);
  uv_mutex_unlock(&m->mu);
  return 0;
}

void k8sha__mailbox_wake(k8sha__mailbox *m) {
  uv_mutex_lock(&m->mu);
  if (!m->closed)
    uv_async_send(&m->async);
  uv_mutex_unlock(&m->mu);
}

k8sha__letter *k8sha__mailbox_take(k8sha__mailbox *m) {
  k8sha__letter *all;
  uv_mutex_lock(&m->mu);
  all = m->head;
  m->head = m->tail = NULL;
  uv_mutex_unlock(&m->mu);
  return all;
}

void k8sha__mailbox_close(k8sha__mailbox *m, uv_close_cb closed) {
  uv_mutex_lock(&m->mu);
  m->closed = 1;
  uv_mutex_unlock(&m->mu);
  uv_close((uv_handle_t *)&m->async, closed);
}

void k8sha__mailbox_destroy(k8sha__mailbox *m) {
  uv_mutex_destroy(&m->mu);
}
