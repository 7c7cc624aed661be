/*
 * libk8sha — k8sha/checkpoint.h: the completed-checkpoint store and checkpoint ID counter of a
 * job, as Flink keeps them.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * Layout (Flink's): the ConfigMap `<cluster-id>-<jobid>-config-map`, labelled like every HA
 * ConfigMap of the cluster, holds `checkpointID-%019d` = pointer for each retained checkpoint and
 * `counter` = the NEXT checkpoint id (decimal, starts at 1). The checkpoint state goes to a new
 * blob `<storageDir>/<ha-cluster-id>/completedCheckpoint<12 hex>` first; only the pointer goes
 * into the ConfigMap. A pointer is libk8sha's compact one (URI, size, CRC-32C, about 130 bytes of
 * base64) or bytes the host encoded itself (k8sha_checkpoint_add_pointer()).
 *
 * Fencing: a store belongs to one leadership (the term of its election when opened). Opening
 * claims the job's ConfigMap by writing that term (and the leadership's session) into its
 * annotations `libk8sha/term` and `libk8sha/session`; every later write is conditional on the
 * state this store last saw. A newer leader's claim makes
 * every write of an older one fail with K8SHA_ENOTLEADER, having changed nothing; so does any
 * write after this process lost leadership.
 *
 * Outcomes: every write completes with exactly one of
 *   0                       committed;
 *   a definite error        nothing committed (a blob written for it was deleted again):
 *                           K8SHA_ENOTLEADER, K8SHA_EEXISTS (a different checkpoint under that
 *                           id; an identical re-add succeeds), K8SHA_ETOOLARGE (the ConfigMap
 *                           would pass Kubernetes' 1,048,576 bytes), K8SHA_ESTORAGE, K8SHA_ECONFLICT
 *                           (still conflicting after kubernetes.transactional-operation.max-retries),
 *                           or an API error;
 *   K8SHA_EUNKNOWN_OUTCOME  the update was sent and no answer came: it may have landed. Its blob
 *                           is kept. Recover (re-read) to learn what the store holds.
 * Removal is two-phase (mark, delete the blob, drop the key); an interrupted removal is finished
 * by the next add or shutdown. Entries marked for deletion count as absent.
 *
 * Threading: loop thread only; callbacks run there, never from inside the call that started
 * them. Operations on one store run in the order they were started. The store's election must
 * outlive it. Freeing a store abandons its pending operations without calling their callbacks
 * (a blob written for an unfinished add stays in storage; `k8sha orphans` finds it).
 */
#ifndef K8SHA_CHECKPOINT_H
#define K8SHA_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "k8sha/common.h"
#include "k8sha/election.h"

K8SHA_BEGIN_DECLS

/** The checkpoint store and counter of one job; opaque. Since 0.1. */
typedef struct k8sha_checkpoint_store k8sha_checkpoint_store;

/** What happens to a job's checkpoints when its store shuts down. Since 0.1. */
typedef enum k8sha_job_status {
  K8SHA_JOB_SUSPENDED = 0,        /* keep everything: another leader resumes the job */
  K8SHA_JOB_GLOBALLY_TERMINAL = 1 /* finished, cancelled or failed: remove checkpoints, counter */
} k8sha_job_status;

/** Completion of an open, add, set or shutdown. Since 0.1. */
typedef void (*k8sha_checkpoint_done_cb)(k8sha_checkpoint_store *s, int status, void *user_data);

/** One recovered checkpoint. Handed out by pointer only: fields may be added at the end. Since
 *  0.1. */
typedef struct k8sha_checkpoint {
  uint64_t id;
  int status;          /* 0, or why it cannot be used: K8SHA_ECORRUPT (damaged blob or pointer),
                          K8SHA_ENOTFOUND (blob missing), K8SHA_ESTORAGE (unreadable) */
  const char *message; /* names the checkpoint, blob and fault when status != 0, else NULL */
  const void *data;    /* the state (or the host's pointer bytes when is_pointer) */
  size_t len;
  int is_pointer;      /* 1 when added with k8sha_checkpoint_add_pointer() */
} k8sha_checkpoint;

/** The result of a recovery: `list` holds `n` pointers to checkpoints in ascending id order
 *  (`list[i]->id`), valid during the call. `status` is 0 when the list could be read (entries
 *  carry their own status). Since 0.1. */
typedef void (*k8sha_checkpoint_recover_cb)(k8sha_checkpoint_store *s, int status,
                                            const k8sha_checkpoint *const *list, size_t n,
                                            void *user_data);

/** The newest intact checkpoint, or NULL when there is none (valid during the call); `skipped`
 *  newer ones were unusable (each is logged with its id and fault). Since 0.1. */
typedef void (*k8sha_checkpoint_latest_cb)(k8sha_checkpoint_store *s, int status,
                                           const k8sha_checkpoint *latest, size_t skipped,
                                           void *user_data);

/** Completion of k8sha_checkpoint_commit(): the id the checkpoint was added under (0 when the
 *  counter could not be read). Since 0.1. */
typedef void (*k8sha_checkpoint_commit_cb)(k8sha_checkpoint_store *s, int status, uint64_t id,
                                           void *user_data);

/** A counter value. Since 0.1. */
typedef void (*k8sha_counter_cb)(k8sha_checkpoint_store *s, int status, uint64_t value,
                                 void *user_data);

/**
 * Opens the store of `job_id` (32 lowercase hex digits) for the current leadership of `leader`,
 * claiming the job's ConfigMap (creating it when missing). `opened` (may be NULL) gets 0,
 * K8SHA_ENOTLEADER (not leading, or a newer leader claimed it) or an API error; on error the
 * store can only be freed. Returns 0, K8SHA_EINVAL, K8SHA_ENOTLEADER or K8SHA_ENOMEM.
 * Since 0.1.
 */
K8SHA_EXPORT int k8sha_checkpoint_store_open(k8sha_checkpoint_store **out,
                                             k8sha_election *leader, const char *job_id,
                                             k8sha_checkpoint_done_cb opened, void *user_data);

/** Frees the store (see "Freeing" above). NULL is a no-op. Since 0.1. */
K8SHA_EXPORT void k8sha_checkpoint_store_free(k8sha_checkpoint_store *s);

/** The message of the last failure (names the ConfigMap, key or blob), or "" . Since 0.1. */
K8SHA_EXPORT const char *k8sha_checkpoint_store_last_error(const k8sha_checkpoint_store *s);

/** The job's ConfigMap name. Since 0.1. */
K8SHA_EXPORT const char *k8sha_checkpoint_store_configmap(const k8sha_checkpoint_store *s);

/**
 * Writes `state` to a new blob, then adds checkpoint `id` pointing to it; then removes the
 * oldest checkpoints beyond `execution.checkpointing.num-retained` (pointer first, then blob) and
 * finishes removals an earlier run left marked. `state` is copied. `done` gets the add's outcome
 * (a failed removal of an older checkpoint is logged and retried by the next add); an `id` older
 * than the num-retained newest retained checkpoints would be removed by its own add, so it
 * completes with K8SHA_EINVAL and nothing is written.
 * Returns 0, K8SHA_EINVAL or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_checkpoint_add(k8sha_checkpoint_store *s, uint64_t id, const void *state,
                                      size_t len, k8sha_checkpoint_done_cb done, void *user_data);

/**
 * Adds checkpoint `id` as k8sha_checkpoint_add() does, but retires exactly the checkpoints whose
 * ids are listed in `retire` (`n_retire` of them; `retire` may be NULL when it is 0) instead of
 * the oldest beyond num-retained: for a host that decides retention itself (Flink keeps its
 * newest checkpoint that is not a savepoint even beyond num-retained, and retires savepoints
 * first). The retired entries are marked in the add's one update and their blobs deleted after
 * it commits, as with the store's own retention; listed ids the store does not hold are skipped.
 * `id` itself in the list completes with K8SHA_EINVAL and nothing is written. `state` and
 * `retire` are copied. Returns 0, K8SHA_EINVAL, K8SHA_ECLOSED, K8SHA_ENOMEM or K8SHA_ETHREAD.
 * Since 0.1.
 */
K8SHA_EXPORT int k8sha_checkpoint_add_retiring(k8sha_checkpoint_store *s, uint64_t id,
                                               const void *state, size_t len,
                                               const uint64_t *retire, size_t n_retire,
                                               k8sha_checkpoint_done_cb done, void *user_data);

/** The same with pointer bytes the host encoded itself (must not begin with "K8P"); no blob is
 *  written by the store for such entries, and none is deleted unless the bytes are Flink's own
 *  state handle (then the store owns the blob it names, as Flink's store does). Bytes that begin
 *  like a Java serialization stream (0xACED 0x0005) must be such a handle: others are refused
 *  with K8SHA_ECORRUPT (k8sha_last_error() says what Flink's handle grammar did not accept) and
 *  nothing is written. Since 0.1. */
K8SHA_EXPORT int k8sha_checkpoint_add_pointer(k8sha_checkpoint_store *s, uint64_t id,
                                              const void *pointer, size_t len,
                                              k8sha_checkpoint_done_cb done, void *user_data);

/** k8sha_checkpoint_add_pointer() retiring what k8sha_checkpoint_add_retiring() would: for a
 *  host that writes its own pointers (Flink's format, so that Flink's own HA can read them) and
 *  decides retention itself. Since 0.1. */
K8SHA_EXPORT int k8sha_checkpoint_add_pointer_retiring(k8sha_checkpoint_store *s, uint64_t id,
                                                       const void *pointer, size_t len,
                                                       const uint64_t *retire, size_t n_retire,
                                                       k8sha_checkpoint_done_cb done,
                                                       void *user_data);

/**
 * Reads every retained checkpoint, oldest first: each blob is read and checked against its
 * pointer's size and checksum. A damaged or missing one is reported with its id and status;
 * none is skipped. If the leadership ends before the reads are done, the recovery completes with
 * K8SHA_ENOTLEADER instead (a newer leader may have retired what was being read). Returns 0,
 * K8SHA_EINVAL or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_checkpoint_recover(k8sha_checkpoint_store *s,
                                          k8sha_checkpoint_recover_cb done, void *user_data);

/**
 * What a (re)starting leader needs: the newest retained checkpoint whose blob reads back intact,
 * or none. The same reads and checks as k8sha_checkpoint_recover(). Returns 0, K8SHA_EINVAL,
 * K8SHA_ECLOSED, K8SHA_ENOMEM or K8SHA_ETHREAD. Since 0.1.
 */
K8SHA_EXPORT int k8sha_checkpoint_recover_latest(k8sha_checkpoint_store *s,
                                                 k8sha_checkpoint_latest_cb done,
                                                 void *user_data);

/**
 * Commits `state` as the next checkpoint: takes the next id from the counter (stored plus one,
 * one fenced update) and adds the checkpoint under it, as k8sha_checkpoint_add() does. `state`
 * is copied. `done` gets the outcome and the id; an id taken is never handed out again, also
 * when the add then fails. Returns 0, K8SHA_EINVAL, K8SHA_ECLOSED, K8SHA_ENOMEM or
 * K8SHA_ETHREAD. Since 0.1.
 */
K8SHA_EXPORT int k8sha_checkpoint_commit(k8sha_checkpoint_store *s, const void *state, size_t len,
                                         k8sha_checkpoint_commit_cb done, void *user_data);

/** The next checkpoint id (1 when never set). Since 0.1. */
K8SHA_EXPORT int k8sha_checkpoint_counter_get(k8sha_checkpoint_store *s, k8sha_counter_cb done,
                                              void *user_data);
/** Returns the next id through `done` and stores it plus one, in one fenced update. Since 0.1. */
K8SHA_EXPORT int k8sha_checkpoint_counter_get_and_increment(k8sha_checkpoint_store *s,
                                                            k8sha_counter_cb done,
                                                            void *user_data);
/** Sets the next id (>= 1). Since 0.1. */
K8SHA_EXPORT int k8sha_checkpoint_counter_set(k8sha_checkpoint_store *s, uint64_t next_id,
                                              k8sha_checkpoint_done_cb done, void *user_data);

/**
 * Shuts the store down: K8SHA_JOB_GLOBALLY_TERMINAL removes every checkpoint (pointer, then
 * blob) and the counter; K8SHA_JOB_SUSPENDED keeps everything. The store can only be freed
 * afterwards. Since 0.1.
 */
K8SHA_EXPORT int k8sha_checkpoint_store_shutdown(k8sha_checkpoint_store *s,
                                                 k8sha_job_status status,
                                                 k8sha_checkpoint_done_cb done, void *user_data);

K8SHA_END_DECLS

#endif /* K8SHA_CHECKPOINT_H */
