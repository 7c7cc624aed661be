/*
 * libk8sha — k8sha/watch.h: observe the cluster's high-availability ConfigMaps.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * A read-only view for monitoring tools and operators (`k8sha watch` is built on it): every
 * change to the HA ConfigMaps, delivered in order, across watch expiry, 410 Expired re-lists and
 * API server restarts. It uses one LIST and then one watch stream; it makes no request while
 * nothing changes except the reconnects the server asks for.
 *
 * Threading: call on the context's loop thread; the callback runs there.
 */
#ifndef K8SHA_WATCH_H
#define K8SHA_WATCH_H

#include "k8sha/common.h"
#include "k8sha/context.h"

K8SHA_BEGIN_DECLS

/** A watch; opaque. Since 0.1. */
typedef struct k8sha_watch k8sha_watch;

/** What happened. Since 0.1. */
typedef enum k8sha_watch_event_type {
  K8SHA_WATCH_ADDED = 1,    /* a ConfigMap appeared (also: found by the first list) */
  K8SHA_WATCH_MODIFIED = 2, /* a ConfigMap changed */
  K8SHA_WATCH_DELETED = 3,  /* a ConfigMap went */
  K8SHA_WATCH_SYNCED = 4,   /* everything up to a full list was delivered (start, re-lists) */
  K8SHA_WATCH_ERROR = 5     /* something failed; the watch keeps retrying with backoff */
} k8sha_watch_event_type;

/**
 * One event. Owned by the library and valid only during the callback; fields are only ever
 * appended. Since 0.1.
 */
typedef struct k8sha_watch_event {
  k8sha_watch_event_type type;
  const char *name;             /* the ConfigMap (ADDED, MODIFIED, DELETED), else NULL */
  const char *resource_version; /* its resourceVersion, else NULL */
  const char *object_json;      /* the ConfigMap as compact JSON (last known state if DELETED) */
  const char *old_object_json;  /* its previous state (MODIFIED, DELETED), else NULL */
  int err;                      /* ERROR: the K8SHA_E* code, else 0 */
  const char *message;          /* ERROR: what went wrong, else NULL */
} k8sha_watch_event;

typedef void (*k8sha_watch_cb)(k8sha_watch *w, const k8sha_watch_event *event, void *user_data);

/**
 * Starts watching the ConfigMaps in the context's namespace that match `label_selector`; NULL
 * selects the cluster's HA ConfigMaps: those labelled `app=<cluster-id>` that are labelled
 * `configmap-type=high-availability` (Flink 1.x) or named `<cluster-id>-cluster-config-map` or
 * `<cluster-id>-<jobid>-config-map` (every Flink version: 2.0 dropped that label).
 * The callback may call k8sha_watch_free() on this watch. Loop thread only.
 * Returns 0, K8SHA_EINVAL or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_watch_new(k8sha_watch **out, k8sha_ctx *ctx, const char *label_selector,
                                 k8sha_watch_cb cb, void *user_data);

/** Stops the watch; its callback does not run again. NULL is a no-op. Loop thread. Since 0.1. */
K8SHA_EXPORT void k8sha_watch_free(k8sha_watch *w);

K8SHA_END_DECLS

#endif /* K8SHA_WATCH_H */
