/* Internal: the entries under one key prefix of a ConfigMap (a job's checkpoints), in key order,
 * split into live ones and ones marked for deletion; kept current with the fenced ConfigMap's
 * own writes, so that retention at each add costs what the add changes, not what the ConfigMap
 * holds. Loop thread. */
#ifndef K8SHA_STORE_RETAINED_H
#define K8SHA_STORE_RETAINED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "k8sha/context.h"

typedef struct k8sha__retained {
  const k8sha_allocator *alloc;
  uint64_t gen;  /* the object generation it reflects (k8sha__fcm_generation), 0: none */
  char **live;   /* keys of live entries, sorted (strcmp), owned */
  size_t n, cap;
  json_t *marked; /* key -> value of the entries marked for deletion */
} k8sha__retained;

/* `alloc` must outlive `r`. */
void k8sha__retained_init(k8sha__retained *r, const k8sha_allocator *alloc);
void k8sha__retained_clear(k8sha__retained *r);

/* Makes `r` reflect the entries under `prefix` of `obj`'s data, which is generation `gen` of
 * its ConfigMap: at once when it does already, from `last` (the changes that made `gen` from
 * gen - 1, or NULL) when it reflects gen - 1, else read anew from `obj`. A generation of 0 is
 * always read anew. 0 or K8SHA_ENOMEM (then `r` reflects nothing). */
int k8sha__retained_sync(k8sha__retained *r, json_t *obj, uint64_t gen, json_t *last,
                         const char *prefix);

/* 1 when `key` is a live entry. */
int k8sha__retained_is_live(const k8sha__retained *r, const char *key);

#endif
