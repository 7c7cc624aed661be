/* Internal: every name, prefix, label and format of Flink's Kubernetes HA layout that libk8sha
 * reads or writes (Flink 1.15 to 2.3), and the few libk8sha adds beside them. Adding a Flink
 * version starts here; the functions that apply them are below (flink.c). */
#ifndef K8SHA_LAYOUT_FLINK_H
#define K8SHA_LAYOUT_FLINK_H

#include <jansson.h>

/* ---- which layout a writer uses (libk8sha.flink-layout; every layout is read) ---- */
#define K8SHA__LAYOUT_FLINK1 1u /* "1.x": jobGraph-<id>, configmap-type label (Flink 1.15-1.20) */
#define K8SHA__LAYOUT_FLINK2 2u /* "2.x": executionPlan-<id>, no configmap-type label (2.0+) */

/* ---- objects: <cluster-id> is kubernetes.cluster-id, <jobid> 32 lowercase hex digits ---- */
#define K8SHA__JOB_ID_LEN 32
#define K8SHA__CLUSTER_CM_SUFFIX "-cluster-config-map" /* the cluster ConfigMap, Flink's lock */
#define K8SHA__CLUSTER_CONFIGMAP_FMT "%s" K8SHA__CLUSTER_CM_SUFFIX
#define K8SHA__JOB_CM_SUFFIX "-config-map"             /* <cluster-id>-<jobid>-config-map */
#define K8SHA__JOB_CONFIGMAP_FMT "%s-%s" K8SHA__JOB_CM_SUFFIX
/* libk8sha's own: the Lease lock <cluster-id>-cluster-lease, and the ConfigMap of a Lease lock's
 * published addresses, <lease name>-addresses (election/lock.h). */
#define K8SHA__LEASE_SUFFIX "-cluster-lease"
#define K8SHA__ADDRESSES_SUFFIX "-addresses"

/* ---- labels on every HA ConfigMap ---- */
#define K8SHA__LABEL_APP "app" /* = <cluster-id> */
#define K8SHA__LABEL_TYPE "type"
#define K8SHA__LABEL_TYPE_VALUE "flink-native-kubernetes"
#define K8SHA__LABEL_CM_TYPE "configmap-type" /* written by Flink 1.x only */
#define K8SHA__LABEL_CM_TYPE_HA "high-availability"
#define K8SHA__HA_SELECTOR_FMT K8SHA__LABEL_APP "=%s"

/* ---- the leader: its record and the published entries ---- */
#define K8SHA__LEADER_ANNOTATION "control-plane.alpha.kubernetes.io/leader"
#define K8SHA__LEADER_KEY_PREFIX "org.apache.flink.k8s.leader." /* + component */

/* ---- a job's ConfigMap ---- */
#define K8SHA__CHECKPOINT_PREFIX "checkpointID-" /* + the id as %019 digits */
#define K8SHA__COUNTER_KEY "counter"             /* the NEXT checkpoint id, decimal */

/* ---- the cluster ConfigMap's pointers, and blob names (kind + 12 lowercase hex digits) ---- */
#define K8SHA__CHECKPOINT_BLOB "completedCheckpoint"
#define K8SHA__JOBGRAPH_PREFIX "jobGraph-" /* Flink 1.x */
#define K8SHA__JOBGRAPH_BLOB "submittedJobGraph"
#define K8SHA__EXECUTION_PLAN_PREFIX "executionPlan-" /* Flink 2.0+ */
#define K8SHA__EXECUTION_PLAN_BLOB "submittedExecutionPlan"
#define K8SHA__APPLICATION_PREFIX "application-" /* Flink 2.3+ */
#define K8SHA__APPLICATION_BLOB "submittedApplication"
/* The longest blob name: the longest kind and its 12 hex digits. */
#define K8SHA__BLOB_NAME_MAX (sizeof(K8SHA__EXECUTION_PLAN_BLOB) - 1 + 12)

/* ---- libk8sha's fencing annotations on the ConfigMaps it writes (election/fenced.h) ---- */
#define K8SHA__TERM_ANNOTATION "libk8sha/term"
#define K8SHA__HOLDER_ANNOTATION "libk8sha/holder"
/* The leadership's session: a term is ours only together with it (a lock deleted and created
 * again can hand out a term number a second time). */
#define K8SHA__SESSION_ANNOTATION "libk8sha/session"

/* ---- applying the layout ---- */

/* One kind of entry in the cluster ConfigMap that points to a blob. */
typedef struct k8sha__graph_kind {
  const char *key_prefix; /* followed by the 32-hex id */
  const char *blob_kind;  /* the blob's name before its 12 hex digits */
  int is_job;             /* the id is a job id */
} k8sha__graph_kind;

/* Flink 1.x job graphs, 2.0+ execution plans, 2.3+ applications; terminated by a NULL prefix. */
extern const k8sha__graph_kind k8sha__graph_kinds[];

/* The rows of k8sha__graph_kinds, by name. */
enum { K8SHA__GRAPH_JOBGRAPH = 0, K8SHA__GRAPH_EXECUTION_PLAN = 1, K8SHA__GRAPH_APPLICATION = 2 };
const k8sha__graph_kind *k8sha__graph_kind_of(int which);

/* The job-graph entry prefix and blob kind writers use in `layout` (K8SHA__LAYOUT_FLINK*). */
const k8sha__graph_kind *k8sha__graph_kind_written(unsigned int layout);

/* The labels of an HA object of cluster `cluster_id` written in `layout` (allocated; NULL on
 * ENOMEM). */
json_t *k8sha__ha_labels(const char *cluster_id, unsigned int layout);

/* 1 when `id` is 32 lowercase hex digits (Flink's JobID), else 0. */
int k8sha__job_id_valid(const char *id);

/* What a ConfigMap of cluster `cluster_id` named `name` is: 1 the cluster ConfigMap (leader
 * entries, job graphs), 2 a job's ConfigMap (*job_id filled, 33 bytes), 3 the addresses of the
 * default Lease lock, 0 not an HA ConfigMap. */
int k8sha__ha_configmap(const char *name, const char *cluster_id, char *job_id);

/* 1 when a listed object of the cluster is an HA ConfigMap: labelled configmap-type=
 * high-availability (Flink 1.x, libk8sha) or named as Flink names them (every version). */
int k8sha__is_ha_object(json_t *obj, const char *cluster_id);

/* 1 when `base` (a file name, no folder) is a blob name a store writes: a known blob kind and 12
 * lowercase hex digits, or the temporary file of one (".<name>.tmp-..."). */
int k8sha__is_blob_name(const char *base);

#endif
