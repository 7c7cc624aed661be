/* The backend registry and the operation queue: backends complete from any thread; completions
 * are handed to the loop through a mailbox (core/mailbox.h) and delivered there.
 *
 * Allocation: what the loop thread makes and frees (the registry, backends, operations, URIs,
 * pins, graves) goes through the context's allocator. What a backend's thread makes (an
 * operation's message, data and listed entries) comes from libc, because a host allocator need
 * not be thread-safe; the loop frees those with free(). */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/mailbox.h"
#include "core/versioned.h"
#include "k8sha/errors.h"
#include "storage/storage.h"
#include "storage/uri.h"

typedef struct backend {
  struct backend *next;
  k8sha_storage_backend vt;
  char *scheme;
  void *self;
} backend;

/* See k8sha__storage_bury(). */
typedef struct grave {
  struct grave *next;
  void (*release)(void *arg);
  void *arg;
} grave;

/* Backend threads post completions to it; made and freed on the loop thread, freed once the
 * context is gone and the last operation delivered. */
typedef struct k8sha__storage registry;
struct k8sha__storage {
  k8sha__mailbox done;   /* completed operations, waiting for the loop */
  unsigned long pending; /* started and not yet delivered */
  int closing;            /* the context is gone: deliver nothing, free when idle */
  backend *backends;
  k8sha_allocator alloc;
  k8sha__rt *rt; /* the context's; NULL once closing */
  /* Loop thread only: canonical URIs of blobs written whose pointers are not committed yet, and
   * every URI pinned since the oldest running orphan scan began. */
  char **pins, **seen;
  size_t n_pins, cap_pins, n_seen, cap_seen;
  unsigned int watchers;
  grave *graves; /* loop thread only */
};

struct k8sha_storage_op {
  k8sha__letter letter; /* first: the registry's mailbox links completed operations */
  registry *reg;
  k8sha__blob_cb cb;
  void *user_data;
  char *uri;
  int status;
  char *message;
  void *data;
  size_t len;
  char **entries;
  size_t n_entries, cap_entries;
  uv_mutex_t entries_mu;
};

static void op_free(k8sha_storage_op *op) {
  const k8sha_allocator *a = &op->reg->alloc;
  size_t i;
  free(op->message); /* (these three from a backend's thread: libc) */
  free(op->data);
  for (i = 0; i < op->n_entries; i++)
    free(op->entries[i]);
  free(op->entries);
  uv_mutex_destroy(&op->entries_mu);
  k8sha__free(a, op->uri);
  k8sha__free(a, op);
}

static void backend_free(registry *reg, backend *b) {
  if (b->vt.destroy)
    b->vt.destroy(b->self);
  k8sha__free(&reg->alloc, b->scheme);
  k8sha__free(&reg->alloc, b);
}

static void registry_closed(uv_handle_t *h) {
  registry *reg = h->data;
  k8sha_allocator a = reg->alloc;
  k8sha__mailbox_destroy(&reg->done);
  k8sha__free(&a, reg);
}

static void maybe_close(registry *reg) {
  /* The loop thread: once the context is gone and nothing is pending, the registry goes too,
   * and with it what freed objects left to the operations that have now all ended. */
  if (reg->closing && reg->pending == 0 && !reg->done.closed) {
    grave *g;
    while ((g = reg->graves) != NULL) {
      reg->graves = g->next;
      g->release(g->arg);
      k8sha__free(&reg->alloc, g);
    }
    k8sha__mailbox_close(&reg->done, registry_closed);
  }
}

static void on_async(uv_async_t *h) {
  registry *reg = h->data;
  k8sha__letter *list = k8sha__mailbox_take(&reg->done);

  while (list) {
    k8sha_storage_op *op = (k8sha_storage_op *)list;
    k8sha__blob_result r;
    list = list->next;
    reg->pending--;
    if (!reg->closing) {
      memset(&r, 0, sizeof(r));
      r.err = op->status;
      r.message = op->message;
      r.data = op->data;
      r.len = op->len;
      r.entries = (const char *const *)op->entries;
      r.n_entries = op->n_entries;
      K8SHA__ENTER(reg->rt);
      op->cb(&r, op->user_data);
      K8SHA__LEAVE(reg->rt);
    }
    op_free(op);
  }
  maybe_close(reg);
}

int k8sha__storage_new(k8sha__rt *rt, k8sha__storage **out) {
  registry *reg = k8sha__calloc(&rt->alloc, 1, sizeof(*reg));
  int rc;
  if (!reg)
    return K8SHA_ENOMEM;
  rc = k8sha__mailbox_init(&reg->done, rt->loop, on_async, reg);
  if (rc) {
    k8sha__free(&rt->alloc, reg);
    return rc;
  }
  reg->alloc = rt->alloc;
  reg->rt = rt;
  *out = reg;
  return 0;
}

/* The sizes of each version of k8sha_storage_backend (core/versioned.h). */
static const size_t backend_sizes[] = {0, sizeof(k8sha_storage_backend)};

int k8sha__storage_register(registry *reg, const k8sha_storage_backend *vt, void *self) {
  backend *b, **p;
  size_t i;

  if (!reg || !vt || !K8SHA__VERSION_OK(vt->version, backend_sizes) || !vt->scheme ||
      !*vt->scheme || !vt->write_new || !vt->read || !vt->remove || !vt->list)
    return K8SHA_EINVAL;
  for (i = 0; vt->scheme[i]; i++) {
    char c = vt->scheme[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i && c >= '0' && c <= '9') ||
          (i && (c == '+' || c == '-' || c == '.'))))
      return K8SHA_EINVAL;
  }
  b = k8sha__calloc(&reg->alloc, 1, sizeof(*b));
  if (!b)
    return K8SHA_ENOMEM;
  k8sha__versioned_copy(&b->vt, vt, vt->version, backend_sizes); /* (calloc: the rest NULL) */
  b->self = self;
  b->scheme = k8sha__strdup(&reg->alloc, vt->scheme);
  if (!b->scheme) {
    k8sha__free(&reg->alloc, b);
    return K8SHA_ENOMEM;
  }
  for (i = 0; b->scheme[i]; i++)
    if (b->scheme[i] >= 'A' && b->scheme[i] <= 'Z')
      b->scheme[i] = (char)(b->scheme[i] - 'A' + 'a');
  b->vt.scheme = b->scheme;
  /* A later registration of a scheme replaces the earlier one. */
  for (p = &reg->backends; *p; p = &(*p)->next) {
    if (strcmp((*p)->scheme, b->scheme) == 0) {
      backend *old = *p;
      b->next = old->next;
      *p = b;
      backend_free(reg, old);
      return 0;
    }
  }
  b->next = reg->backends;
  reg->backends = b;
  return 0;
}

static backend *find(registry *reg, const char *uri) {
  const char *colon = strchr(uri, ':');
  backend *b;
  size_t n;
  if (!colon)
    return NULL;
  n = (size_t)(colon - uri);
  for (b = reg->backends; b; b = b->next)
    if (strlen(b->scheme) == n && strncasecmp(b->scheme, uri, n) == 0)
      return b;
  return NULL;
}

typedef enum op_kind { OP_WRITE, OP_READ, OP_REMOVE, OP_LIST } op_kind;

static int start(registry *reg, op_kind kind, const char *uri, const void *data, size_t len,
                 k8sha__blob_cb cb, void *user_data) {
  backend *b;
  k8sha_storage_op *op;
  int rc;

  char *routed;
  size_t cap;

  if (!uri || !cb)
    return K8SHA_EINVAL;
  if (!reg)
    return K8SHA_ECLOSED;
  /* Flink's "file:/x" goes to the file backend as "file:///x", the form it serves. */
  cap = strlen(uri) + 8;
  routed = k8sha__malloc(&reg->alloc, cap);
  if (!routed)
    return K8SHA_ENOMEM;
  if (k8sha__uri_routable(uri, routed, cap) != 0) {
    k8sha__free(&reg->alloc, routed);
    return K8SHA_EINVAL;
  }
  b = find(reg, routed);
  op = b ? k8sha__calloc(&reg->alloc, 1, sizeof(*op)) : NULL;
  if (!op || uv_mutex_init(&op->entries_mu) != 0) {
    k8sha__free(&reg->alloc, op);
    k8sha__free(&reg->alloc, routed);
    return b ? K8SHA_ENOMEM : K8SHA_ENOTSUP;
  }
  op->reg = reg;
  op->cb = cb;
  op->user_data = user_data;
  op->uri = routed;
  reg->pending++;
  switch (kind) {
  case OP_WRITE: rc = b->vt.write_new(b->self, op->uri, data, len, op); break;
  case OP_READ: rc = b->vt.read(b->self, op->uri, op); break;
  case OP_REMOVE: rc = b->vt.remove(b->self, op->uri, op); break;
  default: rc = b->vt.list(b->self, op->uri, op); break;
  }
  if (rc) {
    reg->pending--;
    op_free(op);
    return rc;
  }
  return 0;
}

int k8sha__blob_write(registry *reg, const char *uri, const void *data, size_t len,
                      k8sha__blob_cb cb, void *user_data) {
  if (!data && len)
    return K8SHA_EINVAL;
  return start(reg, OP_WRITE, uri, data, len, cb, user_data);
}

int k8sha__blob_read(registry *reg, const char *uri, k8sha__blob_cb cb, void *user_data) {
  return start(reg, OP_READ, uri, NULL, 0, cb, user_data);
}

int k8sha__blob_remove(registry *reg, const char *uri, k8sha__blob_cb cb, void *user_data) {
  return start(reg, OP_REMOVE, uri, NULL, 0, cb, user_data);
}

int k8sha__blob_list(registry *reg, const char *prefix, k8sha__blob_cb cb, void *user_data) {
  return start(reg, OP_LIST, prefix, NULL, 0, cb, user_data);
}

void k8sha_storage_op_complete(k8sha_storage_op *op, int status, const char *message,
                               const void *data, size_t len) {
  registry *reg;
  if (!op)
    return;
  reg = op->reg;
  op->status = status;
  if (message)
    op->message = strdup(message);
  if (data && status == 0) {
    op->data = malloc(len ? len : 1);
    if (op->data) {
      memcpy(op->data, data, len);
      op->len = len;
    } else {
      op->status = K8SHA_ENOMEM;
    }
  }
  /* (never refused: the mailbox closes only when no operation is pending) */
  (void)k8sha__mailbox_post(&reg->done, &op->letter);
}

int k8sha_storage_op_add_entry(k8sha_storage_op *op, const char *uri) {
  char *copy;
  int rc = 0;
  if (!op || !uri)
    return K8SHA_EINVAL;
  copy = strdup(uri);
  if (!copy)
    return K8SHA_ENOMEM;
  uv_mutex_lock(&op->entries_mu);
  if (op->n_entries == op->cap_entries) {
    size_t ncap = op->cap_entries ? op->cap_entries * 2 : 16;
    char **p = realloc(op->entries, ncap * sizeof(*p));
    if (!p)
      rc = K8SHA_ENOMEM;
    else {
      op->entries = p;
      op->cap_entries = ncap;
    }
  }
  if (rc == 0)
    op->entries[op->n_entries++] = copy;
  else
    free(copy);
  uv_mutex_unlock(&op->entries_mu);
  return rc;
}

/* ---- pins ---- */

static void strings_free(const k8sha_allocator *a, char **v, size_t *n) {
  size_t i;
  for (i = 0; i < *n; i++)
    k8sha__free(a, v[i]);
  k8sha__free(a, v);
  *n = 0;
}

static int strings_add(const k8sha_allocator *a, char ***v, size_t *n, size_t *cap,
                       const char *s) {
  char *copy;
  if (k8sha__grow(a, (void **)v, cap, *n + 1, sizeof(**v)) != 0)
    return K8SHA_ENOMEM;
  copy = k8sha__strdup(a, s);
  if (!copy)
    return K8SHA_ENOMEM;
  (*v)[(*n)++] = copy;
  return 0;
}

static int strings_index(char **v, size_t n, const char *s) {
  size_t i;
  for (i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return (int)i;
  return -1;
}

int k8sha__blob_pin(registry *reg, const char *uri) {
  char c[K8SHA__URI_MAX];
  if (!reg)
    return K8SHA_ECLOSED;
  if (k8sha__uri_canonical(uri, c, sizeof(c)) != 0)
    return K8SHA_EINVAL;
  if (reg->watchers && strings_index(reg->seen, reg->n_seen, c) < 0 &&
      strings_add(&reg->alloc, &reg->seen, &reg->n_seen, &reg->cap_seen, c) != 0)
    return K8SHA_ENOMEM;
  return strings_add(&reg->alloc, &reg->pins, &reg->n_pins, &reg->cap_pins, c);
}

void k8sha__blob_unpin(registry *reg, const char *uri) {
  char c[K8SHA__URI_MAX];
  int i;
  if (!reg || k8sha__uri_canonical(uri, c, sizeof(c)) != 0)
    return;
  i = strings_index(reg->pins, reg->n_pins, c);
  if (i < 0)
    return;
  k8sha__free(&reg->alloc, reg->pins[i]);
  reg->pins[i] = reg->pins[--reg->n_pins];
}

int k8sha__pins_watch(registry *reg, int on) {
  size_t i;
  if (!reg)
    return K8SHA_ECLOSED;
  if (!on) {
    if (reg->watchers && --reg->watchers == 0) {
      strings_free(&reg->alloc, reg->seen, &reg->n_seen);
      reg->seen = NULL;
      reg->cap_seen = 0;
    }
    return 0;
  }
  for (i = 0; i < reg->n_pins; i++)
    if (strings_index(reg->seen, reg->n_seen, reg->pins[i]) < 0 &&
        strings_add(&reg->alloc, &reg->seen, &reg->n_seen, &reg->cap_seen, reg->pins[i]) != 0)
      return K8SHA_ENOMEM; /* (not watching: what was added stays until the last watch ends) */
  reg->watchers++;
  return 0;
}

int k8sha__blob_pinned(registry *reg, const char *canonical) {
  return reg && (strings_index(reg->pins, reg->n_pins, canonical) >= 0 ||
                 strings_index(reg->seen, reg->n_seen, canonical) >= 0);
}

int k8sha__storage_bury(registry *reg, void (*release)(void *arg), void *arg) {
  grave *g;
  if (!reg || !(g = k8sha__malloc(&reg->alloc, sizeof(*g))))
    return K8SHA_ENOMEM;
  g->release = release;
  g->arg = arg;
  g->next = reg->graves;
  reg->graves = g;
  return 0;
}

void k8sha__storage_unbury(registry *reg, void *arg) {
  grave **pp;
  for (pp = reg ? &reg->graves : NULL; pp && *pp; pp = &(*pp)->next) {
    if ((*pp)->arg == arg) {
      grave *g = *pp;
      *pp = g->next;
      k8sha__free(&reg->alloc, g);
      return;
    }
  }
}

void k8sha__storage_close(registry *reg) {
  backend *b;
  if (!reg)
    return;
  strings_free(&reg->alloc, reg->pins, &reg->n_pins);
  strings_free(&reg->alloc, reg->seen, &reg->n_seen);
  reg->pins = reg->seen = NULL;
  reg->closing = 1;
  reg->rt = NULL;
  while ((b = reg->backends) != NULL) {
    reg->backends = b->next;
    backend_free(reg, b);
  }
  maybe_close(reg);
}
