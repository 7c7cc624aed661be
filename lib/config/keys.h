/* Internal: the Flink configuration keys libk8sha reads, and their defaults. */
#ifndef K8SHA_CONFIG_KEYS_H
#define K8SHA_CONFIG_KEYS_H

#include "layout/flink.h" /* K8SHA__LAYOUT_FLINK1/2, the object names */

#define K8SHA__KEY_HA_TYPE "high-availability.type"
#define K8SHA__KEY_HA_LEGACY "high-availability"
#define K8SHA__KEY_STORAGE_DIR "high-availability.storageDir"
#define K8SHA__KEY_HA_CLUSTER_ID "high-availability.cluster-id"
#define K8SHA__KEY_CLUSTER_ID "kubernetes.cluster-id"
#define K8SHA__KEY_NAMESPACE "kubernetes.namespace"
#define K8SHA__KEY_KUBECONFIG "kubernetes.config.file"
#define K8SHA__KEY_CONTEXT "kubernetes.context"
#define K8SHA__KEY_LE_PREFIX "high-availability.kubernetes.leader-election."
#define K8SHA__KEY_LEASE K8SHA__KEY_LE_PREFIX "lease-duration"
#define K8SHA__KEY_RENEW K8SHA__KEY_LE_PREFIX "renew-deadline"
#define K8SHA__KEY_RETRY K8SHA__KEY_LE_PREFIX "retry-period"
#define K8SHA__KEY_MAX_RETRIES "kubernetes.transactional-operation.max-retries"
#define K8SHA__KEY_RETAINED "execution.checkpointing.num-retained"
#define K8SHA__KEY_RETAINED_LEGACY "state.checkpoints.num-retained"
/* libk8sha's own key: the Flink layout its writers use (every layout is read). */
#define K8SHA__KEY_FLINK_LAYOUT "libk8sha.flink-layout"

#define K8SHA__HA_TYPE_NAME "kubernetes"
#define K8SHA__HA_FACTORY_CLASS \
  "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory"

/* Flink's defaults. */
#define K8SHA__DEFAULT_NAMESPACE "default"
#define K8SHA__DEFAULT_LEASE_MS 15000u
#define K8SHA__DEFAULT_RENEW_MS 15000u
#define K8SHA__DEFAULT_RETRY_MS 5000u
#define K8SHA__DEFAULT_MAX_RETRIES 5u
#define K8SHA__DEFAULT_RETAINED 1u

/* Flink's limit on kubernetes.cluster-id: it becomes part of Kubernetes object names. */
#define K8SHA__CLUSTER_ID_MAX 45

/* The names Flink derives from the cluster id (checked for validity at configuration time). */

#endif
