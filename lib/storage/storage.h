/* Internal: blob operations on the registered storage backends, completed on the loop. */
#ifndef K8SHA_STORAGE_STORAGE_H
#define K8SHA_STORAGE_STORAGE_H

#include <stddef.h>

#include "core/rt.h"
#include "k8sha/storage.h"

/* The registry of backends and their pending operations: one per context. */
typedef struct k8sha__storage k8sha__storage;

/* Makes the registry on `rt`'s loop. 0, K8SHA_ENOMEM or K8SHA_ESYSTEM. */
int k8sha__storage_new(k8sha__rt *rt, k8sha__storage **out);
/* k8sha_storage_register() on a registry. */
int k8sha__storage_register(k8sha__storage *st, const k8sha_storage_backend *backend, void *self);

typedef struct k8sha__blob_result {
  int err;                  /* 0 or K8SHA_E* */
  const char *message;      /* what failed, naming the blob, or NULL */
  const void *data;         /* read: the bytes */
  size_t len;
  const char *const *entries; /* list: the URIs found */
  size_t n_entries;
} k8sha__blob_result;

typedef void (*k8sha__blob_cb)(const k8sha__blob_result *r, void *user_data);

/* Each starts an operation on the backend of the URI's scheme; the callback runs once on the
 * loop, never from inside the call. 0, K8SHA_EINVAL, K8SHA_ENOTSUP (no backend for the scheme),
 * K8SHA_ENOMEM, K8SHA_ECLOSED (the registry is closed), or the backend's refusal to start. */
int k8sha__blob_write(k8sha__storage *st, const char *uri, const void *data, size_t len,
                      k8sha__blob_cb cb, void *user_data);
int k8sha__blob_read(k8sha__storage *st, const char *uri, k8sha__blob_cb cb, void *user_data);
int k8sha__blob_remove(k8sha__storage *st, const char *uri, k8sha__blob_cb cb, void *user_data);
int k8sha__blob_list(k8sha__storage *st, const char *prefix, k8sha__blob_cb cb, void *user_data);

/* Pins: blobs a store writes whose pointers are not committed yet. An orphan scan never deletes
 * a blob pinned now, nor one pinned at any moment since it began watching (a pointer committed
 * meanwhile may be missing from what it read). Loop thread only. */
int k8sha__blob_pin(k8sha__storage *st, const char *uri);
void k8sha__blob_unpin(k8sha__storage *st, const char *uri);
/* Begins (on) or ends (off) a scan's watch: pins from now on are remembered until the last
 * watching scan ends. */
int k8sha__pins_watch(k8sha__storage *st, int on);
/* 1 when the canonical URI is pinned now or was since the oldest running watch began. */
int k8sha__blob_pinned(k8sha__storage *st, const char *canonical);

/* Tears the registry down with the context: pending operations finish without callbacks; the
 * registry frees itself once none is left. NULL is a no-op. */
void k8sha__storage_close(k8sha__storage *st);

/* Memory that a freed object leaves behind with a backend operation still in flight (the
 * operation's user data): `release(arg)` runs on the loop once nothing is pending any more after
 * the context was freed, since that operation's callback then never comes. When the callback
 * does come first, the owner takes it back with k8sha__storage_unbury() and frees it itself.
 * Loop thread only. 0 or K8SHA_ENOMEM. */
int k8sha__storage_bury(k8sha__storage *st, void (*release)(void *arg), void *arg);
void k8sha__storage_unbury(k8sha__storage *st, void *arg);

/* The built-in file backend rooted at `storage_dir`, a file:// URI. */
int k8sha__file_backend_register(k8sha__storage *st, k8sha__rt *rt, const char *storage_dir);

#endif
