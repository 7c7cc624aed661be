/*
 * libk8sha — k8sha/jobgraph.h: the job-graph store of a cluster.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * Layout (Flink's): the cluster ConfigMap `<cluster-id>-cluster-config-map` holds
 * `jobGraph-<jobid>` = pointer for every submitted job; the graph itself goes to a new blob
 * `<storageDir>/<ha-cluster-id>/submittedJobGraph<12 hex>` before the pointer is written.
 *
 * Fencing: with the ConfigMap lock (the default) the job graphs live in the lock object itself,
 * and every write is conditional on its resourceVersion with a record naming this leader in its
 * term: the holder check and the write are one atomic step. With a Lease lock the cluster
 * ConfigMap is claimed with the leader's term like a job ConfigMap (see k8sha/checkpoint.h).
 *
 * Outcomes, threading and freeing are those of k8sha/checkpoint.h: 0, a definite error (nothing
 * committed, a new blob deleted again) or K8SHA_EUNKNOWN_OUTCOME (the blob is kept).
 */
#ifndef K8SHA_JOBGRAPH_H
#define K8SHA_JOBGRAPH_H

#include <stddef.h>

#include "k8sha/common.h"
#include "k8sha/election.h"

K8SHA_BEGIN_DECLS

/** The job graphs of a cluster, written by its leader; opaque. Since 0.1. */
typedef struct k8sha_jobgraph_store k8sha_jobgraph_store;

/** Completion of an open, put or remove. Since 0.1. */
typedef void (*k8sha_jobgraph_done_cb)(k8sha_jobgraph_store *s, int status, void *user_data);
/** A graph read: the bytes (valid during the call), or an error. Since 0.1. */
typedef void (*k8sha_jobgraph_got_cb)(k8sha_jobgraph_store *s, int status, const void *graph,
                                      size_t len, void *user_data);

/**
 * Opens the store for the current leadership of `leader` (for a Lease lock: claims the cluster
 * ConfigMap, creating it when missing). `opened` (may be NULL) gets 0 or the error.
 * Returns 0, K8SHA_EINVAL, K8SHA_ENOTLEADER or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_jobgraph_store_open(k8sha_jobgraph_store **out, k8sha_election *leader,
                                           k8sha_jobgraph_done_cb opened, void *user_data);
/** What a store of the cluster ConfigMap holds. Since 0.1. */
typedef enum k8sha_graph_kind {
  /** Job graphs: Flink 1.x's `jobGraph-<id>` (blobs `submittedJobGraph...`), or Flink 2.x's
   *  `executionPlan-<id>` (`submittedExecutionPlan...`) with `libk8sha.flink-layout: 2.x`. */
  K8SHA_GRAPH_JOBS = 0,
  /** Flink 2.3's applications: `application-<id>`, blobs `submittedApplication...`; the id is
   *  Flink's ApplicationID, 32 lowercase hex digits like a job id. */
  K8SHA_GRAPH_APPLICATIONS = 1
} k8sha_graph_kind;

/**
 * As k8sha_jobgraph_store_open(), for the entries of `kind`; every function of the store then
 * works on that kind (the "job id" arguments are its ids). K8SHA_EINVAL for an unknown kind.
 * Since 0.1.
 */
K8SHA_EXPORT int k8sha_jobgraph_store_open_kind(k8sha_jobgraph_store **out, k8sha_election *leader,
                                                k8sha_graph_kind kind,
                                                k8sha_jobgraph_done_cb opened, void *user_data);
/** Frees the store; pending operations are abandoned. NULL is a no-op. Since 0.1. */
K8SHA_EXPORT void k8sha_jobgraph_store_free(k8sha_jobgraph_store *s);
/** The message of the last failure, or "". Since 0.1. */
K8SHA_EXPORT const char *k8sha_jobgraph_store_last_error(const k8sha_jobgraph_store *s);

/** Stores the graph of `job_id` (32 lowercase hex digits), replacing an earlier one (whose blob
 *  is deleted after the commit); an identical graph is a success without a write. Since 0.1. */
K8SHA_EXPORT int k8sha_jobgraph_put(k8sha_jobgraph_store *s, const char *job_id,
                                    const void *graph, size_t len, k8sha_jobgraph_done_cb done,
                                    void *user_data);
/** Stores pointer bytes the host encoded itself (not starting with "K8P") as the graph entry of
 *  `job_id`, replacing an earlier one: Flink's own state handle of a graph blob the host wrote,
 *  so that Flink's own HA can read it. Bytes that begin like a Java serialization stream
 *  (0xACED 0x0005) and are not such a handle are refused with K8SHA_ECORRUPT, nothing written.
 *  The blob a replaced entry names is deleted after the commit unless the new entry names it
 *  too; when the old entry is Flink's handle and the new bytes are not, the store cannot tell,
 *  and the blob is kept. Since 0.1. */
K8SHA_EXPORT int k8sha_jobgraph_put_pointer(k8sha_jobgraph_store *s, const char *job_id,
                                            const void *pointer, size_t len,
                                            k8sha_jobgraph_done_cb done, void *user_data);
/** Reads and verifies the graph of `job_id`; K8SHA_ENOTFOUND when there is none. Since 0.1. */
K8SHA_EXPORT int k8sha_jobgraph_get(k8sha_jobgraph_store *s, const char *job_id,
                                    k8sha_jobgraph_got_cb got, void *user_data);
/** Removes the graph of `job_id` (mark, delete the blob, drop the key; resumable); an absent
 *  one is success. Since 0.1. */
K8SHA_EXPORT int k8sha_jobgraph_remove(k8sha_jobgraph_store *s, const char *job_id,
                                       k8sha_jobgraph_done_cb done, void *user_data);
/**
 * The job ids with a graph, sorted, from the state this store knows (the watched lock object,
 * or the claimed ConfigMap). *ids is an array of *n strings; free it with
 * k8sha_jobgraph_ids_free(). Returns 0, K8SHA_EINVAL or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_jobgraph_ids(const k8sha_jobgraph_store *s, char ***ids, size_t *n);
/** Frees what k8sha_jobgraph_ids() returned. Since 0.1. */
K8SHA_EXPORT void k8sha_jobgraph_ids_free(const k8sha_jobgraph_store *s, char **ids, size_t n);

K8SHA_END_DECLS

#endif /* K8SHA_JOBGRAPH_H */
