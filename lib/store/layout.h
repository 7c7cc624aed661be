/* Internal: applying Flink's layout (the names themselves: layout/flink.h). Every layout is
 * read; writers use the one configured (libk8sha.flink-layout). */
#ifndef K8SHA_STORE_LAYOUT_H
#define K8SHA_STORE_LAYOUT_H

#include <jansson.h>

#include "k8sha/context.h"
#include "kube/names.h"
#include "layout/flink.h"

/* (Flink 2.0 dropped the configmap-type label, so HA ConfigMaps are told apart by
 * k8sha__is_ha_object; K8SHA__HA_SELECTOR_FMT lists every ConfigMap of a cluster, HA or not.) */

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

/* The job-graph entry prefix and blob kind writers use for the context's layout. */
const k8sha__graph_kind *k8sha__graph_kind_written(const k8sha_ctx *ctx);

/* The labels of an HA object the context creates (allocated; NULL on ENOMEM). */
json_t *k8sha__ha_labels(const k8sha_ctx *ctx);

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
