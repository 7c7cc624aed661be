/* Internal: job ids and the names derived from them (Flink's layout). */
#ifndef K8SHA_STORE_JOBS_H
#define K8SHA_STORE_JOBS_H

#include "k8sha/context.h"
#include "layout/flink.h" /* K8SHA__JOB_ID_LEN */


/* "<cluster-id>-<jobid>-config-map" (allocated). */
char *k8sha__job_configmap_name(k8sha__env *env, const char *job_id);

#endif
