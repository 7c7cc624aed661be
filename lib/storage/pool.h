/* Internal: the part every built-in network backend shares. Its operations run as blocking work
 * on libuv's thread pool and complete from the loop thread; the backend is alive while a scheme
 * registration or an operation holds a reference (core/life.h), so the context may drop it with
 * work under way. A backend embeds k8sha__pool first, and its work structure k8sha__pool_work
 * first. Memory on the pool threads comes from malloc: the context's allocator is not required to
 * be thread-safe. */
#ifndef K8SHA_STORAGE_POOL_H
#define K8SHA_STORAGE_POOL_H

#include <stddef.h>
#include <uv.h>

#include "core/life.h"
#include "k8sha/storage.h"
#include "storage/storage.h"

typedef enum k8sha__pool_kind {
  K8SHA__POOL_WRITE,
  K8SHA__POOL_READ,
  K8SHA__POOL_REMOVE,
  K8SHA__POOL_LIST
} k8sha__pool_kind;

typedef struct k8sha__pool k8sha__pool;

typedef struct k8sha__pool_work {
  uv_work_t req;
  k8sha__pool *pool;
  k8sha__pool_kind kind;
  k8sha_storage_op *op;
  char *uri;          /* the operation's URI (the prefix of a list) */
  const void *data;   /* write: the bytes, valid until completion */
  size_t len;
  int status;         /* 0 or K8SHA_E*, with `message` */
  char message[900];
  char *out;          /* read: the bytes (malloc'd) */
  size_t out_len;
} k8sha__pool_work;

struct k8sha__pool {
  k8sha__life life;  /* loop thread */
  uv_loop_t *loop;
  k8sha_allocator alloc; /* the context's: the work items (the bytes a read makes are libc's) */
  size_t work_size;  /* the backend's work structure */
  /* Loop thread, before the work is queued: reads w->uri into the backend's fields. 0, or
   * K8SHA_EINVAL for a URI the backend does not serve (the operation is not started). */
  int (*prepare)(k8sha__pool_work *w);
  void (*run)(k8sha__pool_work *w); /* a pool thread: does the work, setting status/out */
  void (*destroy)(k8sha__pool *p);  /* the last reference is gone */
};

/* Sets the pool's fields; the pool holds one reference (its maker's). */
void k8sha__pool_init(k8sha__pool *p, uv_loop_t *loop, const k8sha_allocator *alloc,
                      size_t work_size,
                      int (*prepare)(k8sha__pool_work *w), void (*run)(k8sha__pool_work *w),
                      void (*destroy)(k8sha__pool *p));

/* Registers the pool as the backend of each of `schemes` (each registration holds a reference;
 * each operation is work for the pool: an operation whose prepare() refuses it, or that the
 * thread pool does not take, fails to start with K8SHA_EINVAL / K8SHA_ESTORAGE), then drops the
 * maker's reference. 0 or the registry's error. */
int k8sha__pool_register(k8sha__pool *p, k8sha__storage *st, const char *const *schemes,
                         size_t n_schemes);

/* Records the operation's failure: its status and message. */
void k8sha__pool_failf(k8sha__pool_work *w, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A read's answer (`*body`, `len` bytes; `announced` its Content-Length, -1 when it gave none)
 * becomes the operation's bytes: 0, taking *body; or -1 when fewer or more bytes came than
 * announced (the status set, the message naming `what`). */
int k8sha__pool_take_read(k8sha__pool_work *w, char **body, size_t len, long long announced,
                          const char *what);

/* 1 when `body` holds exactly the bytes the write operation `w` writes (a read-back after a
 * retry found the blob: it is this write's own). */
int k8sha__pool_same_bytes(const k8sha__pool_work *w, const char *body, size_t len);

/* Sleeps before try `attempt` + 2 of a request: 100 ms doubling to 3 s, jittered. */
void k8sha__pool_backoff(unsigned attempt);

#endif
