/* Internal: one watched lock object per name and context, shared by every contender and
 * retriever of that lock, with the latest known state (from events and from our own writes). */
#ifndef K8SHA_ELECTION_LOCK_H
#define K8SHA_ELECTION_LOCK_H

#include <jansson.h>

#include "election/env.h"
#include "kube/client.h"

#include "election/record.h"
#include "k8sha/election.h"

typedef struct k8sha__lock k8sha__lock;

typedef struct k8sha__lock_sub {
  /* The lock object changed (NULL: it does not exist). Only after the first list. */
  void (*on_update)(json_t *obj, void *user_data);
  void (*on_error)(int err, const char *message, void *user_data);
  void *user_data;
  struct k8sha__lock_sub *next;
} k8sha__lock_sub;

/* Finds or creates the watched lock `name` of env and subscribes `sub` (owned by the caller). */
int k8sha__lock_subscribe(k8sha__env *env, k8sha_lock_kind kind, const char *name,
                          k8sha__lock_sub *sub, k8sha__lock **out);

/* The default lock name of a kind for the context's cluster (allocated). */
char *k8sha__lock_default_name(k8sha__env *env, k8sha_lock_kind kind);

/* With a Lease lock the published entries live in a ConfigMap of their own, "<lease>-addresses":
 * renewals change the Lease every few seconds, the addresses only when a leader publishes, so
 * retrievers watching it hear of nothing else. Its name for lock `lock_name` (allocated; NULL
 * out of memory). */
char *k8sha__lock_addresses_name(k8sha__env *env, const char *lock_name);

/* ---- the layout of a lock object: where the record and the published entries live ----
 * ConfigMap (Flink's): the record is JSON in the annotation control-plane.alpha.kubernetes.io/
 * leader, entries are data keys. Lease: the record is the spec (client-go's form), entries are
 * annotations. */

/* Reads the record of `obj`: 1 (parsed into *rec), 0 (no record), -1 (unreadable, *why set).
 * *text, when asked for, gets a rendering used to notice changes, allocated with the context's
 * allocator (NULL out of memory). */
int k8sha__lock_read_record(const k8sha__lock *l, json_t *obj, k8sha__record *rec,
                            const char **why, char **text);
/* Puts `rec` into `obj`. 0 or K8SHA_ENOMEM. */
int k8sha__lock_put_record(const k8sha__lock *l, json_t *obj, const k8sha__record *rec);
/* The object holding the published entries (borrowed; created when asked and missing). */
json_t *k8sha__lock_entries(const k8sha__lock *l, json_t *obj, int create);
/* A new lock object (name, labels), without a record. */
json_t *k8sha__lock_new_object(const k8sha__lock *l);
/* Unsubscribes; the last subscriber stops the watch. */
void k8sha__lock_unsubscribe(k8sha__lock *l, k8sha__lock_sub *sub);

/* Latest known state (borrowed), or NULL when absent. */
json_t *k8sha__lock_object(const k8sha__lock *l);
int k8sha__lock_synced(const k8sha__lock *l);
const char *k8sha__lock_name(const k8sha__lock *l);
/* The API path of the object ("/api/v1/namespaces/<ns>/configmaps/<name>", ...). */
const char *k8sha__lock_path(const k8sha__lock *l);
/* The highest leaderTransitions seen in this lock's records since it has been watched here
 * (also across a deletion and re-creation of the object). 1 and *term set, or 0 when none. */
int k8sha__lock_max_term(const k8sha__lock *l, uint64_t *term);
/* Raises that highest term to `term` (a term seen elsewhere, e.g. on a job ConfigMap claimed
 * under an earlier incarnation of the lock): the next acquisition here starts above it. */
void k8sha__lock_note_term(k8sha__lock *l, uint64_t term);

typedef void (*k8sha__lock_write_cb)(int err, const char *message, void *user_data);

/* Writes `obj` (created when `create`, else replaced conditionally on the resourceVersion in its
 * metadata). On success the lock's state becomes the response before `cb` runs, and subscribers
 * hear of it. `timeout_ms` bounds the request. Returns 0 or an error (cb not called). */
int k8sha__lock_write(k8sha__lock *l, json_t *obj, int create, uint64_t timeout_ms,
                      k8sha__lock_write_cb cb, void *user_data, k8sha__req **out);
/* Abandons a write or read started here: its callback will not run. NULL is a no-op. */
void k8sha__lock_cancel(k8sha__lock *l, k8sha__req *r);
/* Reads the object now (after a conflict) and updates the state; cb gets 0 or the error. */
int k8sha__lock_refresh(k8sha__lock *l, uint64_t timeout_ms, k8sha__lock_write_cb cb,
                        void *user_data, k8sha__req **out);

#endif
