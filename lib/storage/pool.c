/* Backends on libuv's thread pool (pool.h). */
#include "storage/pool.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/backoff.h"
#include "k8sha/errors.h"

#define BACKOFF_FIRST_MS 100u
#define BACKOFF_MAX_MS 3000u

void k8sha__pool_init(k8sha__pool *p, uv_loop_t *loop, const k8sha_allocator *alloc,
                      size_t work_size, int (*prepare)(k8sha__pool_work *w),
                      void (*run)(k8sha__pool_work *w), void (*destroy)(k8sha__pool *p)) {
  k8sha__life_init(&p->life);
  p->loop = loop;
  p->alloc = *alloc;
  p->work_size = work_size;
  p->prepare = prepare;
  p->run = run;
  p->destroy = destroy;
}

static void release(k8sha__pool *p) {
  int destroy;
  k8sha__life_leave(&p->life, &destroy);
  if (destroy)
    p->destroy(p);
}

static void work(uv_work_t *req) {
  k8sha__pool_work *w = req->data;
  w->pool->run(w);
}

static void work_free(k8sha__pool_work *w) {
  k8sha__free(&w->pool->alloc, w->uri);
  k8sha__free(&w->pool->alloc, w);
}

static void after(uv_work_t *req, int status) {
  k8sha__pool_work *w = req->data;
  k8sha__pool *p = w->pool;
  (void)status;
  k8sha_storage_op_complete(w->op, w->status, w->status ? w->message : NULL, w->out, w->out_len);
  free(w->out); /* (made on the pool: libc) */
  work_free(w);
  release(p);
}

static int submit(k8sha__pool *p, k8sha__pool_kind kind, const char *uri, const void *data,
                       size_t len, k8sha_storage_op *op) {
  k8sha__pool_work *w = k8sha__calloc(&p->alloc, 1, p->work_size);
  int rc;
  if (!w)
    return K8SHA_ENOMEM;
  w->pool = p;
  w->kind = kind;
  w->op = op;
  w->data = data;
  w->len = len;
  w->req.data = w;
  if (!(w->uri = k8sha__strdup(&p->alloc, uri))) {
    work_free(w);
    return K8SHA_ENOMEM;
  }
  if ((rc = p->prepare(w)) != 0) {
    work_free(w);
    return rc;
  }
  k8sha__life_enter(&p->life);
  if (uv_queue_work(p->loop, &w->req, work, after) != 0) {
    work_free(w);
    release(p);
    return K8SHA_ESTORAGE;
  }
  return 0;
}

/* The vtable: each operation is work for the pool. */
static int pool_write(void *self, const char *uri, const void *data, size_t len,
                      k8sha_storage_op *op) {
  return submit(self, K8SHA__POOL_WRITE, uri, data, len, op);
}
static int pool_read(void *self, const char *uri, k8sha_storage_op *op) {
  return submit(self, K8SHA__POOL_READ, uri, NULL, 0, op);
}
static int pool_remove(void *self, const char *uri, k8sha_storage_op *op) {
  return submit(self, K8SHA__POOL_REMOVE, uri, NULL, 0, op);
}
static int pool_list(void *self, const char *prefix, k8sha_storage_op *op) {
  return submit(self, K8SHA__POOL_LIST, prefix, NULL, 0, op);
}
/* (a scheme registration's reference goes) */
static void pool_destroy(void *self) {
  release(self);
}

int k8sha__pool_register(k8sha__pool *p, k8sha__storage *st, const char *const *schemes,
                         size_t n_schemes) {
  size_t i;
  int rc = 0;
  for (i = 0; i < n_schemes && rc == 0; i++) {
    k8sha_storage_backend vt = {K8SHA_STORAGE_BACKEND_VERSION, schemes[i], pool_write, pool_read,
                                pool_remove, pool_list, pool_destroy};
    k8sha__life_enter(&p->life);
    rc = k8sha__storage_register(st, &vt, p);
    if (rc)
      release(p);
  }
  release(p); /* (the maker's reference) */
  return rc;
}

void k8sha__pool_failf(k8sha__pool_work *w, int status, const char *fmt, ...) {
  va_list ap;
  w->status = status;
  va_start(ap, fmt);
  vsnprintf(w->message, sizeof(w->message), fmt, ap);
  va_end(ap);
}

int k8sha__pool_take_read(k8sha__pool_work *w, char **body, size_t len, long long announced,
                          const char *what) {
  if (announced >= 0 && (unsigned long long)announced != len) {
    k8sha__pool_failf(w, K8SHA_ESTORAGE, "%s %s: %zu bytes came of the %lld announced", what,
                      w->uri, len, announced);
    return -1;
  }
  w->out = *body;
  w->out_len = len;
  *body = NULL;
  return 0;
}

int k8sha__pool_same_bytes(const k8sha__pool_work *w, const char *body, size_t len) {
  return len == w->len && (len == 0 || memcmp(body, w->data, len) == 0);
}

void k8sha__pool_backoff(unsigned attempt) {
  /* (a worker thread: rand() only spreads the pauses) */
  uv_sleep((unsigned int)k8sha__backoff_ms(attempt + 1, BACKOFF_FIRST_MS, BACKOFF_MAX_MS,
                                           (uint64_t)rand()));
}
