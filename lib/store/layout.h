/* Internal: Flink's names and labels for its high-availability objects (Flink 1.15+), in one
 * place so that another layout can be added beside it. */
#ifndef K8SHA_STORE_LAYOUT_H
#define K8SHA_STORE_LAYOUT_H

#define K8SHA__LABEL_APP "app"
#define K8SHA__LABEL_TYPE "type"
#define K8SHA__LABEL_TYPE_VALUE "flink-native-kubernetes"
#define K8SHA__LABEL_CM_TYPE "configmap-type"
#define K8SHA__LABEL_CM_TYPE_HA "high-availability"

/* The HA ConfigMaps of one cluster. */
#define K8SHA__HA_SELECTOR_FMT \
  K8SHA__LABEL_APP "=%s," K8SHA__LABEL_CM_TYPE "=" K8SHA__LABEL_CM_TYPE_HA

#define K8SHA__CONFIGMAPS_PATH_FMT "/api/v1/namespaces/%s/configmaps"

#endif
