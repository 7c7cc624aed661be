/* Internal: a state-handle store, entries `<key>` = pointer in the data of a fenced ConfigMap.
 *
 * A value is base64 of pointer bytes: libk8sha's compact pointer (store/pointer.h) to a blob this
 * store wrote, or opaque bytes the host encoded itself. An entry being removed carries the marker
 * prefix "deleting:" before its value and counts as absent for every read.
 *
 * Every write ends with exactly one of: 0 (committed); a definite error (nothing committed; a
 * blob written for it is deleted again); K8SHA_EUNKNOWN_OUTCOME (the blob is kept, the state may
 * be read back to learn the outcome). A blob that a pointer may reference is never deleted. */
#ifndef K8SHA_STORE_HANDLES_H
#define K8SHA_STORE_HANDLES_H

#include <stddef.h>
#include <stdint.h>

#include "election/fenced.h"
#include "store/pointer.h"

#define K8SHA__DELETING_MARKER "deleting:"

typedef struct k8sha__hstore k8sha__hstore;

typedef void (*k8sha__hstore_done)(int err, const char *message, void *user_data);
/* A value read: the blob's bytes (is_pointer 0) or the host's opaque pointer (is_pointer 1). */
typedef void (*k8sha__hstore_got)(int err, const char *message, const void *data, size_t len,
                                  int is_pointer, void *user_data);

/* A store on `f` (borrowed; it must outlive the store). Blobs are named
 * <storageDir>/<ha-cluster-id>/<blob_kind><12 hex>. */
int k8sha__hstore_new(k8sha__fcm *f, const char *blob_kind, k8sha__hstore **out);
/* The fenced ConfigMap `configmap` of `e`'s leadership with a store on it, claimed (created when
 * `create` and missing): `claimed` runs when the claim is done. On error, *f and *h may be set and
 * are the caller's to free (the ConfigMap first). */
int k8sha__store_open(k8sha_election *e, const char *configmap, const char *blob_kind, int create,
                      k8sha__fcm_done claimed, void *user_data, k8sha__fcm **f,
                      k8sha__hstore **h);
/* Abandons pending operations (their callbacks do not run; a blob written for an unfinished add
 * stays in storage, where an orphan scan finds it). NULL is a no-op. */
void k8sha__hstore_free(k8sha__hstore *s);

/* Writes `data` to a new blob, then adds `key` pointing to it. Re-adding identical content
 * succeeds; a different entry under `key` gives K8SHA_EEXISTS. */
int k8sha__hstore_add(k8sha__hstore *s, const char *key, const void *data, size_t len,
                      k8sha__hstore_done done, void *user_data);
/* Which entries an add retires: of the live entries starting with `prefix` (their keys sort by
 * age), the oldest beyond `keep`; or, when `retire` is set, exactly the `n_retire` keys listed
 * (those not live are skipped). Copied by the add. */
typedef struct k8sha__retention {
  const char *prefix; /* static: the add keeps the pointer */
  unsigned int keep;
  const char *const *retire;
  size_t n_retire;
} k8sha__retention;

/* An add with retention, all in the add's one update: the entries `r` retires are marked for
 * deletion, and marked ones whose blobs this store has already deleted are dropped. After the
 * commit, the blobs of the entries left marked are deleted (failures are logged; the next add
 * retries), then `done` runs with the add's outcome. In steady state one update per add. */
int k8sha__hstore_add_retaining(k8sha__hstore *s, const char *key, const void *data, size_t len,
                                int is_pointer, const k8sha__retention *r,
                                k8sha__hstore_done done, void *user_data);
/* Adds `key` with opaque pointer bytes (not starting with "K8P"). */
int k8sha__hstore_add_pointer(k8sha__hstore *s, const char *key, const void *ptr, size_t len,
                              k8sha__hstore_done done, void *user_data);
/* Adds or replaces `key` with opaque pointer bytes (not starting with "K8P"); the blob the
 * replaced value names, if the store knows it, is deleted after the commit. */
int k8sha__hstore_put_pointer(k8sha__hstore *s, const char *key, const void *ptr, size_t len,
                              k8sha__hstore_done done, void *user_data);
/* Replaces an existing entry with a new blob (K8SHA_ENOTFOUND when absent); the old blob is
 * deleted after the commit. */
int k8sha__hstore_replace(k8sha__hstore *s, const char *key, const void *data, size_t len,
                          k8sha__hstore_done done, void *user_data);
/* Adds or replaces: the old blob, if any, is deleted after the commit. */
int k8sha__hstore_put(k8sha__hstore *s, const char *key, const void *data, size_t len,
                      k8sha__hstore_done done, void *user_data);
/* Removes `key` in three steps (mark, delete the blob, drop the key); each is resumable: a
 * second remove of a marked key finishes it. Removing an absent key succeeds. */
int k8sha__hstore_remove(k8sha__hstore *s, const char *key, k8sha__hstore_done done,
                         void *user_data);
/* Reads `key`'s blob and checks it against the pointer's size and checksum. */
int k8sha__hstore_get(k8sha__hstore *s, const char *key, k8sha__hstore_got got, void *user_data);

/* From the cached state: the live keys starting with `prefix`, sorted; free with
 * k8sha__hstore_keys_free. 0 or K8SHA_ENOMEM. */
int k8sha__hstore_keys(const k8sha__hstore *s, const char *prefix, char ***keys, size_t *n);
/* From the cached state: the marked keys starting with `prefix` (removals to resume). */
int k8sha__hstore_marked_keys(const k8sha__hstore *s, const char *prefix, char ***keys, size_t *n);
void k8sha__hstore_keys_free(const k8sha__hstore *s, char **keys, size_t n);

/* Decodes a stored value: *is_marked, and either a compact pointer (returns 1, *p filled) or
 * opaque bytes (returns 0; *bytes allocated with `a`, *len). K8SHA_ECORRUPT with *why. */
int k8sha__value_decode(const k8sha_allocator *a, const char *value, int *is_marked,
                        k8sha__pointer *p, unsigned char **bytes, size_t *len,
                        const char **why);

#endif
