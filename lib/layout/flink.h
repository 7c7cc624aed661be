/* Internal: every name, prefix, label and format of Flink's Kubernetes HA layout that libk8sha
 * reads or writes (Flink 1.15 to 2.3), and the few libk8sha adds beside them. Adding a Flink
 * version starts here. Names only: the functions that apply them are in store/layout.h. */
#ifndef K8SHA_LAYOUT_FLINK_H
#define K8SHA_LAYOUT_FLINK_H

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

#endif
