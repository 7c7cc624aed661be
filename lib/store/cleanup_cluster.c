/* The cluster cleanup: every HA ConfigMap of the cluster (the lock too), then the blobs of its HA
 * folder and every blob a pointer references. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "election/env.h"
#include "store/make.h"
#include "core/k8s_names.h"
#include "k8sha/cleanup.h"
#include "k8sha/errors.h"
#include "kube/client.h"
#include "store/cleanup_task.h"

/* The cluster cleanup's own step, between S_LISTED and S_BLOBS_LISTED. */
enum cluster_step {
  C_CM_DELETE = S_OWN /* deleting ConfigMaps one by one */
};

/* A ConfigMap that is gone already counts as deleted. */
static void on_deleted(const k8sha__resp *resp, void *ud) {
  k8sha__task_run(ud, resp->err == K8SHA_ENOTFOUND ? 0 : resp->err, resp->message);
}

static int delete_configmap(task *t, json_t *item) {
  k8sha__req_opts o;
  const char *rv = json_string_value(
      json_object_get(json_object_get(item, "metadata"), "resourceVersion"));
  json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                           "preconditions", "resourceVersion", rv ? rv : "");
  char *path = k8sha__asprintf(&t->env->rt->alloc, K8SHA__CONFIGMAPS_PATH_FMT "/%s",
                               t->env->ha->namespace_, k8sha__task_item_name(item));
  int rc;
  memset(&o, 0, sizeof(o));
  o.verb = K8SHA__DELETE;
  o.path = path;
  o.json = body;
  rc = body && path ? k8sha__req_start(t->env->kube, &o, on_deleted, t, NULL) : K8SHA_ENOMEM;
  json_decref(body);
  k8sha__free(&t->env->rt->alloc, path);
  return rc;
}

/* S_LISTED: the blobs every pointer references go too, wherever they are. */
static void configmaps_listed(task *t) {
  json_t *item;
  k8sha__task_keep_ha_items(t);
  t->referenced = json_object();
  json_array_foreach(t->items, t->i, item) {
    if (k8sha__task_collect_references(t, item, 0) != 0)
      return;
  }
  t->step = C_CM_DELETE;
  t->i = 0;
  k8sha__cleanup_cluster_run(t, 0, NULL);
}

/* C_CM_DELETE: the next ConfigMap reported and deleted (reported only, in a dry run); after the
 * last, the blobs listed. */
static int delete_next_configmap(task *t) {
  json_t *item;
  if (t->i < json_array_size(t->items)) {
    item = json_array_get(t->items, t->i++);
    k8sha__task_report(t, K8SHA_FOUND_CONFIGMAP, "%s", k8sha__task_item_name(item));
    if (t->flags & K8SHA_CLEANUP_DRY_RUN) {
      k8sha__cleanup_cluster_run(t, 0, NULL);
      return 0;
    }
    return delete_configmap(t, item);
  }
  return k8sha__task_list_blobs(t);
}

/* S_BLOBS_LISTED: the listed blobs a store writes and the referenced ones not listed go. */
static void blobs_listed(task *t) {
  const char *key;
  json_t *v;
  if (k8sha__task_keep_blob_names(t) != 0) {
    k8sha__task_end(t, K8SHA_ENOMEM, "cleanup: out of memory keeping the listed blobs");
    return;
  }
  json_object_foreach(t->referenced, key, v) {
    size_t i;
    int listed = 0;
    json_array_foreach(t->work, i, v) {
      listed |= strcmp(json_string_value(v), key) == 0;
    }
    if (!listed && json_array_append_new(t->work, json_string(key)) != 0) {
      k8sha__task_end(t, K8SHA_ENOMEM, "cleanup: out of memory listing the referenced blobs");
      return;
    }
  }
  t->step = S_BLOB_DELETE;
  t->i = 0;
  k8sha__cleanup_cluster_run(t, 0, NULL);
}

void k8sha__cleanup_cluster_run(task *t, int err, const char *message) {
  int rc;
  if (!(t->step == S_BLOB_DELETE && err == K8SHA_ENOTFOUND) &&
      k8sha__task_failed(t, err, message))
    return;
  switch (t->step) {
  case S_START:
    rc = k8sha__task_list_configmaps(t);
    break;
  case S_LISTED:
    configmaps_listed(t);
    return;
  case C_CM_DELETE:
    rc = delete_next_configmap(t);
    break;
  case S_BLOBS_LISTED:
    blobs_listed(t);
    return;
  case S_BLOB_DELETE:
    rc = k8sha__task_next_blob(t);
    break;
  default:
    k8sha__task_bad_step(t);
    return;
  }
  if (rc)
    k8sha__task_end(t, rc, "cleanup: %s", k8sha_strerror(rc));
}

int k8sha__cleanup_cluster(k8sha__env *env, unsigned int flags, k8sha_found_cb found,
                          k8sha_cleanup_done_cb done, void *user_data) {
  if (!env || (flags & ~K8SHA_CLEANUP_DRY_RUN))
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY_AS(env->rt, K8SHA_ETHREAD, "k8sha_cleanup_cluster");
  return k8sha__task_start(env, NULL, T_CLUSTER, NULL, flags, found, done, user_data);
}
