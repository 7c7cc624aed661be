/*
 * libk8sha — k8sha/cleanup.h: removing a job's or a cluster's HA data, and finding orphans.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * Every step leaves a state the next run completes, so both cleanups are idempotent and
 * resumable: a job's checkpoints are removed entry by entry (mark, delete the blob, drop the key)
 * before its ConfigMap goes; a cluster's ConfigMaps go before its blobs (a crash in between leaves
 * only unreferenced blobs, which the next run deletes). No step ever leaves a pointer to a
 * deleted blob.
 *
 * What is (or, with K8SHA_CLEANUP_DRY_RUN, would be) deleted is reported through `found` as
 * (kind, name): kind "configmap" (a ConfigMap name), "entry" ("<configmap>/<key>"), "blob" (a
 * URI), "unreadable" ("<configmap>/<key>: why": a value that is neither pointer form; its blob, if
 * any, is not deleted). An orphan scan reports "orphan-blob" (a blob under
 * <storageDir>/<ha-cluster-id>/ that no pointer references, as a canonical URI) and
 * "orphan-configmap" (a job ConfigMap whose job has no job graph).
 *
 * Pointers are read in both forms (libk8sha's compact pointer and Flink's Java-serialized state
 * handle, Flink 1.15 to 2.3) with both delete markers; job graphs in every Flink layout
 * (jobGraph-, executionPlan-, application-). Only blobs named as stores name them
 * (completedCheckpoint, submittedJobGraph, submittedExecutionPlan, submittedApplication and 12 hex
 * digits, or their temporary files) are ever candidates for deletion.
 *
 * Threading: loop thread; callbacks run there, never from inside the starting call.
 * Lifetime: a running task keeps its context (k8sha_ctx_free() is refused with K8SHA_EBUSY until
 * `done` has run); a task whose election is freed ends with K8SHA_ECANCELED.
 */
#ifndef K8SHA_CLEANUP_H
#define K8SHA_CLEANUP_H

#include "k8sha/common.h"
#include "k8sha/context.h"
#include "k8sha/election.h"

K8SHA_BEGIN_DECLS

/** Report what would be deleted, delete nothing. Since 0.1. */
#define K8SHA_CLEANUP_DRY_RUN 1u

/** What a cleanup or scan found (and deletes, unless it is a dry run). Since 0.1. */
typedef enum k8sha_found_kind {
  K8SHA_FOUND_CONFIGMAP = 0,         /* a ConfigMap: "<name>" */
  K8SHA_FOUND_ENTRY = 1,             /* a key of a ConfigMap: "<configmap>/<key>" */
  K8SHA_FOUND_BLOB = 2,              /* a blob: its URI */
  K8SHA_FOUND_UNREADABLE = 3,        /* an entry whose pointer cannot be read (kept, with its
                                        blob, if any): "<configmap>/<key>: <why>" */
  K8SHA_FOUND_ORPHAN_BLOB = 4,       /* a blob no pointer names: its URI */
  K8SHA_FOUND_ORPHAN_CONFIGMAP = 5   /* an HA ConfigMap no job or lock uses: "<name>" */
} k8sha_found_kind;

/** The kind's short name: "configmap", "entry", "blob", "unreadable", "orphan-blob",
 *  "orphan-configmap" ("unknown" otherwise). Never NULL. Thread-safe. Since 0.1. */
K8SHA_EXPORT const char *k8sha_found_kind_name(k8sha_found_kind kind);

/** One thing deleted (or found); `name` is valid during the call. Since 0.1. */
typedef void (*k8sha_found_cb)(k8sha_found_kind kind, const char *name, void *user_data);
/** The end: 0, or the first error with a message naming what failed. Since 0.1. */
typedef void (*k8sha_cleanup_done_cb)(int status, const char *message, void *user_data);

/**
 * Deletes the HA data of one job: its checkpoints (pointers, then blobs), its counter, its
 * ConfigMap `<cluster-id>-<jobid>-config-map`, its job graph (pointer, then blob) and the leader
 * entry `org.apache.flink.k8s.leader.job-<jobid>` of the cluster ConfigMap. Every write is fenced
 * by `leader`'s current term (K8SHA_ENOTLEADER otherwise). With K8SHA_CLEANUP_DRY_RUN, `leader`
 * may be NULL and `ctx` is read only. Data already gone is success.
 * Returns 0, K8SHA_EINVAL, K8SHA_ENOTLEADER or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_cleanup_job(k8sha_ctx *ctx, k8sha_election *leader, const char *job_id,
                                   unsigned int flags, k8sha_found_cb found,
                                   k8sha_cleanup_done_cb done, void *user_data);

/**
 * Deletes everything of the context's cluster: every HA ConfigMap (labelled app=<cluster-id> and
 * configmap-type=high-availability, or named as Flink names them; the lock included), then the
 * blobs their pointers named and every store blob under <storageDir>/<ha-cluster-id>/. Meant for
 * a stopped cluster: a running leader would recreate its lock.
 * Returns 0, K8SHA_EINVAL or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_cleanup_cluster(k8sha_ctx *ctx, unsigned int flags, k8sha_found_cb found,
                                       k8sha_cleanup_done_cb done, void *user_data);

/**
 * Finds orphans (see above). With `leader` not NULL, also deletes the orphan blobs, fenced by its
 * term. It fails closed: it deletes nothing, and ends with K8SHA_ECORRUPT naming the ConfigMap
 * and key, when any pointer cannot be read (damaged, or bytes in a host's own form); and with
 * K8SHA_EINVAL when a pointer names a blob outside <storageDir>/<ha-cluster-id>/, or when
 * high-availability.cluster-id is not set and Flink's default folder <storageDir>/default/ holds
 * store blobs (which folder is this cluster's would be a guess).
 * Deleting, it lists the blobs first and waits until they are older than lease-duration plus the
 * request timeout (a writer that could still commit a pointer to one has lost its lease by then),
 * then claims every HA ConfigMap with the leader's term (an update an older leader left in
 * flight gets a conflict and never lands), then reads the pointers from the claimed state. It
 * never deletes the blob of an add in flight in this context, nor of one whose outcome was
 * unknown (its update may still land), nor any blob pinned while it ran.
 * Returns 0, K8SHA_EINVAL, K8SHA_ENOTLEADER or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_orphans_scan(k8sha_ctx *ctx, k8sha_election *leader, k8sha_found_cb found,
                                    k8sha_cleanup_done_cb done, void *user_data);

K8SHA_END_DECLS

#endif /* K8SHA_CLEANUP_H */
