/* k8sha_watch: the public, read-only view of the HA ConfigMaps, on an informer. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "election/env.h"
#include "store/make.h"
#include "k8sha/errors.h"
#include "k8sha/watch.h"
#include "kube/informer.h"
#include "store/jobs.h"
#include "core/k8s_names.h"
#include "layout/flink.h"

struct k8sha_watch {
  k8sha__env *env;
  k8sha__informer *inf;
  k8sha_watch_cb cb;
  void *user_data;
  int ha_only; /* the default selector: only the HA ConfigMaps among the cluster's */
};

static const char *meta(json_t *obj, const char *field) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static void on_error(int err, const char *message, void *user_data);

static void on_change(k8sha__change change, json_t *obj, json_t *old, void *user_data) {
  k8sha_watch *w = user_data;
  k8sha_watch_event ev;
  char *json, *old_json;

  if (w->ha_only && !k8sha__is_ha_object(obj, w->env->ha->cluster_id))
    return; /* Flink's other ConfigMaps of the cluster (its configuration, pod templates) */
  json = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
  old_json = old ? json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  if (!json || (old && !old_json)) {
    /* Not an event with an empty object, which would read as the ConfigMap's data gone. */
    char msg[400];
    snprintf(msg, sizeof(msg), "ConfigMap %s changed; out of memory writing it out for the "
             "event", meta(obj, "name") ? meta(obj, "name") : "(unnamed)");
    free(json);
    free(old_json);
    on_error(K8SHA_ENOMEM, msg, w);
    return;
  }

  memset(&ev, 0, sizeof(ev));
  ev.type = change == K8SHA__ADDED      ? K8SHA_WATCH_ADDED
            : change == K8SHA__MODIFIED ? K8SHA_WATCH_MODIFIED
                                        : K8SHA_WATCH_DELETED;
  ev.name = meta(obj, "name");
  ev.resource_version = meta(obj, "resourceVersion");
  ev.object_json = json;
  ev.old_object_json = old_json;
  w->cb(w, &ev, w->user_data);
  free(json);
  free(old_json);
}

static void on_synced(void *user_data) {
  k8sha_watch *w = user_data;
  k8sha_watch_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = K8SHA_WATCH_SYNCED;
  w->cb(w, &ev, w->user_data);
}

static void on_error(int err, const char *message, void *user_data) {
  k8sha_watch *w = user_data;
  k8sha_watch_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = K8SHA_WATCH_ERROR;
  ev.err = err;
  ev.message = message;
  w->cb(w, &ev, w->user_data);
}

int k8sha__watch_new(k8sha_watch **out, k8sha__env *env, const char *label_selector,
                    k8sha_watch_cb cb, void *user_data) {
  k8sha__informer_cbs cbs = {on_change, on_synced, on_error};
  k8sha__informer_opts o;
  char *selector = NULL, *collection = NULL;
  k8sha_watch *w;
  int rc;

  if (!out || !env || !cb)
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY_AS(env->rt, K8SHA_ETHREAD, "k8sha_watch_new");
  w = k8sha__calloc(&env->rt->alloc, 1, sizeof(*w));
  if (!w)
    return K8SHA_ENOMEM;
  w->env = env;
  k8sha__rt_child(env->rt, 1);
  w->cb = cb;
  w->user_data = user_data;
  w->ha_only = !label_selector;
  selector = label_selector ? k8sha__strdup(&env->rt->alloc, label_selector)
                            : k8sha__asprintf(&env->rt->alloc, K8SHA__HA_SELECTOR_FMT,
                                              env->ha->cluster_id);
  collection = k8sha__asprintf(&env->rt->alloc, K8SHA__CONFIGMAPS_PATH_FMT, env->ha->namespace_);
  rc = selector && collection ? 0 : K8SHA_ENOMEM;
  if (rc == 0) {
    memset(&o, 0, sizeof(o));
    o.collection = collection;
    o.label_selector = selector;
    rc = k8sha__informer_new(env->kube, &o, &cbs, w, &w->inf);
  }
  if (rc == 0)
    rc = k8sha__informer_start(w->inf);
  k8sha__free(&env->rt->alloc, selector);
  k8sha__free(&env->rt->alloc, collection);
  if (rc) {
    k8sha_watch_free(w);
    return rc;
  }
  *out = w;
  return 0;
}

void k8sha_watch_free(k8sha_watch *w) {
  if (!w)
    return;
  K8SHA__LOOP_ONLY_VOID(w->env->rt);
  k8sha__rt_child(w->env->rt, -1);
  k8sha__informer_free(w->inf);
  k8sha__free(&w->env->rt->alloc, w);
}
