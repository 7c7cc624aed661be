/* Internal: a ConfigMap written only by the leader of an election, every write fenced.
 *
 * Two ways to fence, chosen by the object:
 *  - the lock's own ConfigMap: each write is conditional on its resourceVersion and is built on a
 *    state whose record names us as holder in our term, so holder check and write are one atomic
 *    step;
 *  - any other ConfigMap (per-job ones): the leader first claims it by writing its term into the
 *    annotation libk8sha/term (only when the term there is lower); every later write is
 *    conditional on the resourceVersion we last saw. After a conflict the object is re-read: a
 *    higher term there means a newer leader claimed it, and the write fails with
 *    K8SHA_ENOTLEADER having changed nothing.
 *
 * Updates of one object run one at a time, in order, each on the state the previous one left
 * (cached from our own write's response: one round trip per update in steady state). A conflict
 * re-reads and re-applies the update, up to kubernetes.transactional-operation.max-retries
 * times, with jittered backoff. */
#ifndef K8SHA_ELECTION_FENCED_H
#define K8SHA_ELECTION_FENCED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "election/env.h"
#include "k8sha/election.h"
#include "core/k8s_names.h" /* K8SHA__CONFIGMAP_MAX_BYTES */
#include "layout/flink.h"


typedef struct k8sha__fcm k8sha__fcm;

/* An update's edit of the object: `obj` is the current state (read only); the edit puts what
 * it changes into `changes`, a data key with its new string value or with JSON null to remove
 * it. Returns 0 to write the changes (with our stamp; none is a write of the stamp alone),
 * K8SHA__UNCHANGED to succeed without writing, or an error (with a message in msg) to fail
 * without writing. Runs again after each conflict, on the fresh state. */
#define K8SHA__UNCHANGED 1
typedef int (*k8sha__fcm_edit)(json_t *obj, json_t *changes, void *user_data, char *msg,
                               size_t msg_size);
/* The value of data key `key` in `obj` once `changes` apply (NULL: none). */
const char *k8sha__fcm_value(json_t *obj, json_t *changes, const char *key);
/* The bytes of `obj`'s data (the object an edit was given) once `changes` apply. */
size_t k8sha__fcm_size_after(const k8sha__fcm *f, json_t *obj, json_t *changes);
/* The end of an update or claim: 0, or an error and a message naming the object. */
typedef void (*k8sha__fcm_done)(int err, const char *message, void *user_data);

/* A fenced ConfigMap `name` written on behalf of `e` in its current term (K8SHA_ENOTLEADER when
 * `e` does not lead). The election must outlive the object. */
int k8sha__fcm_new(k8sha_election *e, const char *name, k8sha__fcm **out);
/* Claims the object for our term (reads it; creates it when `create` and it does not exist). For
 * the lock's ConfigMap: reads nothing, checks the holder. */
int k8sha__fcm_claim(k8sha__fcm *f, int create, k8sha__fcm_done done, void *user_data);
/* Queues an update. `done` runs once, never from inside this call. */
int k8sha__fcm_update(k8sha__fcm *f, k8sha__fcm_edit edit, void *edit_data, k8sha__fcm_done done,
                      void *user_data);
/* Deletes the object (conditional on the resourceVersion last seen, fenced like an update);
 * an absent object is success. */
int k8sha__fcm_delete(k8sha__fcm *f, k8sha__fcm_done done, void *user_data);
/* The state as of our last read or write (borrowed), or NULL (absent or not read yet). */
json_t *k8sha__fcm_object(const k8sha__fcm *f);
/* The generation of that state: it changes with every change (a read, a write of ours); 0 for
 * the lock's own ConfigMap, whose state is the lock's. *last: the changes of our write that made
 * this generation from the one before, or NULL (borrowed). */
uint64_t k8sha__fcm_generation(const k8sha__fcm *f, json_t **last);
const char *k8sha__fcm_name(const k8sha__fcm *f);
/* 1 while the election this ConfigMap was opened with still leads in its term. */
int k8sha__fcm_leads(const k8sha__fcm *f);
k8sha__env *k8sha__fcm_env(const k8sha__fcm *f);
/* 1 when no operation is queued or under way (inside an operation's callback: none follows). */
int k8sha__fcm_idle(const k8sha__fcm *f);
/* Drops the state as of our last read or write, when idle (else nothing): the next operation
 * reads the object first. For a holder that learned of a change by other means (a watch). */
void k8sha__fcm_forget(k8sha__fcm *f);
/* Frees; queued and running operations are abandoned, their callbacks never run (a write under
 * way may still land). */
void k8sha__fcm_free(k8sha__fcm *f);

/* Bytes a ConfigMap's data and binaryData count against K8SHA__CONFIGMAP_MAX_BYTES. */
size_t k8sha__configmap_data_size(json_t *obj);
/* The data object of a ConfigMap (created when asked and missing). */
json_t *k8sha__configmap_data(json_t *obj, int create);

#endif
