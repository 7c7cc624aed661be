/* Applying Flink's HA layout (layout/flink.h): graph kinds by version, labels, what a listed
 * ConfigMap or blob name is. */
#include "layout/flink.h"

#include <string.h>

const k8sha__graph_kind k8sha__graph_kinds[] = {
    {K8SHA__JOBGRAPH_PREFIX, K8SHA__JOBGRAPH_BLOB, 1},             /* Flink 1.x */
    {K8SHA__EXECUTION_PLAN_PREFIX, K8SHA__EXECUTION_PLAN_BLOB, 1}, /* Flink 2.0+ */
    {K8SHA__APPLICATION_PREFIX, K8SHA__APPLICATION_BLOB, 0},       /* Flink 2.3+ */
    {NULL, NULL, 0},
};

int k8sha__job_id_valid(const char *id) {
  size_t i;
  if (!id || strlen(id) != K8SHA__JOB_ID_LEN)
    return 0;
  for (i = 0; i < K8SHA__JOB_ID_LEN; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return 0;
  return 1;
}

const k8sha__graph_kind *k8sha__graph_kind_of(int which) {
  return &k8sha__graph_kinds[which];
}

const k8sha__graph_kind *k8sha__graph_kind_written(unsigned int layout) {
  return k8sha__graph_kind_of(layout == K8SHA__LAYOUT_FLINK2
                                  ? K8SHA__GRAPH_EXECUTION_PLAN
                                  : K8SHA__GRAPH_JOBGRAPH);
}

json_t *k8sha__ha_labels(const char *cluster_id, unsigned int layout) {
  json_t *l = json_pack("{s:s, s:s}", K8SHA__LABEL_APP, cluster_id, K8SHA__LABEL_TYPE,
                        K8SHA__LABEL_TYPE_VALUE);
  if (l && layout != K8SHA__LAYOUT_FLINK2 &&
      json_object_set_new(l, K8SHA__LABEL_CM_TYPE, json_string(K8SHA__LABEL_CM_TYPE_HA)) != 0) {
    json_decref(l);
    return NULL;
  }
  return l;
}

int k8sha__ha_configmap(const char *name, const char *cluster_id, char *job_id) {
  size_t c = strlen(cluster_id), n = strlen(name);
  static const char job_suffix[] = K8SHA__JOB_CM_SUFFIX;
  if (n <= c || strncmp(name, cluster_id, c) != 0)
    return 0;
  if (strcmp(name + c, K8SHA__CLUSTER_CM_SUFFIX) == 0)
    return 1;
  if (strcmp(name + c, K8SHA__LEASE_SUFFIX K8SHA__ADDRESSES_SUFFIX) == 0)
    return 3;
  if (n != c + 1 + K8SHA__JOB_ID_LEN + strlen(job_suffix) || name[c] != '-' ||
      strcmp(name + c + 1 + K8SHA__JOB_ID_LEN, job_suffix) != 0)
    return 0;
  memcpy(job_id, name + c + 1, K8SHA__JOB_ID_LEN);
  job_id[K8SHA__JOB_ID_LEN] = '\0';
  return k8sha__job_id_valid(job_id) ? 2 : 0;
}

int k8sha__is_ha_object(json_t *obj, const char *cluster_id) {
  json_t *meta = json_object_get(obj, "metadata");
  const char *name = json_string_value(json_object_get(meta, "name"));
  const char *type = json_string_value(
      json_object_get(json_object_get(meta, "labels"), K8SHA__LABEL_CM_TYPE));
  char job[K8SHA__JOB_ID_LEN + 1];
  if (type && strcmp(type, K8SHA__LABEL_CM_TYPE_HA) == 0)
    return 1;
  return name && k8sha__ha_configmap(name, cluster_id, job) != 0;
}

static int hex12(const char *p) {
  size_t i;
  for (i = 0; i < 12; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
      return 0;
  return 1;
}

int k8sha__is_blob_name(const char *base) {
  const k8sha__graph_kind *g;
  const char *kinds[8];
  size_t n = 0, i;
  int temp = base[0] == '.';
  if (temp)
    base++;
  kinds[n++] = K8SHA__CHECKPOINT_BLOB;
  for (g = k8sha__graph_kinds; g->key_prefix; g++)
    kinds[n++] = g->blob_kind;
  for (i = 0; i < n; i++) {
    size_t k = strlen(kinds[i]);
    if (strncmp(base, kinds[i], k) != 0 || strlen(base) < k + 12 || !hex12(base + k))
      continue;
    if (temp ? strncmp(base + k + 12, ".tmp-", 5) == 0 : base[k + 12] == '\0')
      return 1;
  }
  return 0;
}
