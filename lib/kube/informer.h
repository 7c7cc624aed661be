/* Internal: a local cache of watched objects kept current by LIST + WATCH, surviving watch
 * expiry, 410 Expired, malformed lines, and API server restarts. */
#ifndef K8SHA_KUBE_INFORMER_H
#define K8SHA_KUBE_INFORMER_H

#include <jansson.h>

#include "kube/client.h"

typedef struct k8sha__informer k8sha__informer;

typedef enum k8sha__change {
  K8SHA__ADDED = 1,
  K8SHA__MODIFIED = 2,
  K8SHA__DELETED = 3
} k8sha__change;

typedef struct k8sha__informer_cbs {
  /* An object appeared, changed or went. `obj` is the new state (the last known one for
   * DELETED), `old` the previous one (NULL for ADDED). Both are borrowed for the call. */
  void (*on_change)(k8sha__change change, json_t *obj, json_t *old, void *user_data);
  /* The cache matches the server as of a full list (after start and after each re-list). */
  void (*on_synced)(void *user_data);
  /* Something went wrong; the informer keeps trying (with backoff) unless it is freed. */
  void (*on_error)(int err, const char *message, void *user_data);
} k8sha__informer_cbs;

typedef struct k8sha__informer_opts {
  const char *collection;     /* "/api/v1/namespaces/ns/configmaps" */
  const char *label_selector; /* or NULL */
  const char *name;           /* watch one object by name (fieldSelector), or NULL */
  unsigned int watch_timeout_s; /* server-side timeoutSeconds base; 0: 300 (jittered up to 2x) */
} k8sha__informer_opts;

int k8sha__informer_new(k8sha__kube *k, const k8sha__informer_opts *o,
                        const k8sha__informer_cbs *cbs, void *user_data, k8sha__informer **out);
/* Lists, then watches. 0 or an error (nothing started). */
int k8sha__informer_start(k8sha__informer *inf);
/* The cached object of that name (borrowed; valid until the next change), or NULL. */
json_t *k8sha__informer_get(const k8sha__informer *inf, const char *name);
/* Stops and frees; no callback runs afterwards. May be called from its own callbacks. */
void k8sha__informer_free(k8sha__informer *inf);

/* Parses one watch line into its type and object (borrowed from *root, which the caller
 * releases). Returns 0 or K8SHA_ECORRUPT with *why set. Exposed for the fuzzer. */
int k8sha__watch_event_parse(const char *line, size_t len, json_t **root, const char **type,
                             json_t **object, const char **why);

#endif
