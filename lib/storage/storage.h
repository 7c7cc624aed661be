/* Internal: blob operations on the registered storage backends, completed on the loop. */
#ifndef K8SHA_STORAGE_STORAGE_H
#define K8SHA_STORAGE_STORAGE_H

#include <stddef.h>

#include "k8sha/storage.h"

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
 * K8SHA_ENOMEM, or the backend's refusal to start. */
int k8sha__blob_write(k8sha_ctx *ctx, const char *uri, const void *data, size_t len,
                      k8sha__blob_cb cb, void *user_data);
int k8sha__blob_read(k8sha_ctx *ctx, const char *uri, k8sha__blob_cb cb, void *user_data);
int k8sha__blob_remove(k8sha_ctx *ctx, const char *uri, k8sha__blob_cb cb, void *user_data);
int k8sha__blob_list(k8sha_ctx *ctx, const char *prefix, k8sha__blob_cb cb, void *user_data);

/* Pins: blobs a store writes whose pointers are not committed yet. An orphan scan never deletes
 * a blob pinned now, nor one pinned at any moment since it began watching (a pointer committed
 * meanwhile may be missing from what it read). Loop thread only. */
int k8sha__blob_pin(k8sha_ctx *ctx, const char *uri);
void k8sha__blob_unpin(k8sha_ctx *ctx, const char *uri);
/* Begins (on) or ends (off) a scan's watch: pins from now on are remembered until the last
 * watching scan ends. */
int k8sha__pins_watch(k8sha_ctx *ctx, int on);
/* 1 when the canonical URI is pinned now or was since the oldest running watch began. */
int k8sha__blob_pinned(k8sha_ctx *ctx, const char *canonical);

/* Tears the registry down with the context: pending operations finish without callbacks. */
void k8sha__storage_close(k8sha_ctx *ctx);

/* Memory that a freed object leaves behind with a backend operation still in flight (the
 * operation's user data): `release(arg)` runs on the loop once nothing is pending any more after
 * the context was freed, since that operation's callback then never comes. When the callback
 * does come first, the owner takes it back with k8sha__storage_unbury() and frees it itself.
 * Loop thread only. 0 or K8SHA_ENOMEM. */
int k8sha__storage_bury(k8sha_ctx *ctx, void (*release)(void *arg), void *arg);
void k8sha__storage_unbury(k8sha_ctx *ctx, void *arg);

/* The built-in file backend rooted at a file:// storage directory. */
int k8sha__file_backend_register(k8sha_ctx *ctx);

#endif
