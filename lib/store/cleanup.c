/* Job and cluster cleanup, and the task machinery the orphan scan (orphans.c) shares. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx_priv.h"
#include "core/timer.h"
#include "election/elector.h"
#include "election/lock.h"
#include "election/record.h"
#include "k8sha/cleanup.h"
#include "k8sha/errors.h"
#include "k8sha/storage.h"
#include "kube/client.h"
#include "storage/storage.h"
#include "election/fenced.h"
#include "store/handles.h"
#include "store/jobs.h"
#include "layout/flink.h"
#include "store/pointer.h"
#include "storage/uri.h"
#include "store/cleanup_task.h"

/* HA ConfigMaps per page of a LIST: a page of the largest ConfigMaps stays far below the client's
 * 64 MiB response limit. */
#define LIST_PAGE 32
#define LIST_RESTARTS 3

static void run(task *t, int err, const char *message);

/* The host freed the leader's election (during that free): the task ends on its next step. */
static void task_leader_gone(k8sha__election_link *link) {
  task *t = (task *)link;
  t->leader = NULL;
  t->leader_gone = 1;
}

static void task_free(task *t) {
  const k8sha_allocator *a = &t->ctx->rt.alloc;
  k8sha__rt_child(&t->ctx->rt, -1);
  k8sha__election_link_remove(&t->link);
  if (t->watching)
    k8sha__pins_watch(t->ctx->storage, 0);
  k8sha__fcm_free(t->jf);
  k8sha__fcm_free(t->cf);
  k8sha__hstore_free(t->jh);
  k8sha__hstore_free(t->ch);
  k8sha__timer_free(t->kick);
  json_decref(t->items);
  k8sha__free(a, t->next_page);
  json_decref(t->work);
  json_decref(t->referenced);
  k8sha__free(a, t->cm_name);
  k8sha__free(a, t->cluster_cm);
  k8sha__free(a, t);
}

void k8sha__task_end(task *t, int err, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  msg[0] = '\0';
  if (fmt) {
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
  }
  if (t->done)
    t->done(err, err ? msg : NULL, t->user_data);
  task_free(t);
}

const char *k8sha_found_kind_name(k8sha_found_kind kind) {
  switch (kind) {
  case K8SHA_FOUND_CONFIGMAP:
    return "configmap";
  case K8SHA_FOUND_ENTRY:
    return "entry";
  case K8SHA_FOUND_BLOB:
    return "blob";
  case K8SHA_FOUND_UNREADABLE:
    return "unreadable";
  case K8SHA_FOUND_ORPHAN_BLOB:
    return "orphan-blob";
  case K8SHA_FOUND_ORPHAN_CONFIGMAP:
    return "orphan-configmap";
  }
  return "unknown";
}

void k8sha__task_report(task *t, k8sha_found_kind kind, const char *fmt, ...) {
  char name[4400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof(name), fmt, ap);
  va_end(ap);
  if (t->found)
    t->found(kind, name, t->user_data);
}

void k8sha__task_on_fcm(int err, const char *message, void *ud) {
  run(ud, err, message);
}

void k8sha__task_on_blob(const k8sha__blob_result *r, void *ud) {
  task *t = ud;
  size_t i;
  if (t->step == S_SIBLINGS && r->err == 0) {
    for (i = 0; i < r->n_entries; i++) {
      const char *base = strrchr(r->entries[i], '/');
      t->sibling_blobs += base && k8sha__is_blob_name(base + 1);
    }
  } else if (t->step == S_BLOBS_LISTED && r->err == 0) {
    json_decref(t->work);
    t->work = json_array();
    for (i = 0; t->work && i < r->n_entries; i++)
      json_array_append_new(t->work, json_string(r->entries[i]));
  }
  run(t, r->err, r->message);
}

static int list_page(task *t);

/* A page of the LIST: gathered into t->items; the next page is asked for while the server hands
 * out a continue token. An expired token (410: the namespace changed too much meanwhile) starts
 * the LIST over, a few times. */
static int on_listed(task *t, const k8sha__resp *resp) {
  json_t *items = json_object_get(resp->json, "items");
  const char *cont =
      json_string_value(json_object_get(json_object_get(resp->json, "metadata"), "continue"));
  if (resp->err == K8SHA_EEXPIRED && t->next_page && t->list_restarts < LIST_RESTARTS) {
    t->list_restarts++;
    json_array_clear(t->items);
    k8sha__free(&t->ctx->rt.alloc, t->next_page);
    t->next_page = NULL;
    return list_page(t);
  }
  if (resp->err)
    return resp->err;
  if (json_is_array(items) && json_array_extend(t->items, items) != 0)
    return K8SHA_ENOMEM;
  k8sha__free(&t->ctx->rt.alloc, t->next_page);
  t->next_page = NULL;
  if (cont && *cont) {
    if (!(t->next_page = k8sha__strdup(&t->ctx->rt.alloc, cont)))
      return K8SHA_ENOMEM;
    return list_page(t);
  }
  return -1; /* complete */
}

static void on_resp(const k8sha__resp *resp, void *ud) {
  task *t = ud;
  if (t->step == S_LISTED) {
    int rc = on_listed(t, resp);
    if (rc == 0)
      return; /* the next page is on its way */
    run(t, rc < 0 ? 0 : rc, rc == resp->err ? resp->message : NULL);
    return;
  }
  run(t, resp->err == K8SHA_ENOTFOUND && t->step == S_CM_DELETE ? 0 : resp->err, resp->message);
}

static void on_kick(void *ud) {
  run(ud, 0, NULL);
}

/* ---- pieces ---- */

const char *k8sha__task_item_name(json_t *item) {
  return json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
}

json_t *k8sha__task_item_named(task *t, const char *name) {
  size_t i;
  json_t *item;
  json_array_foreach(t->items, i, item) {
    if (k8sha__task_item_name(item) && strcmp(k8sha__task_item_name(item), name) == 0)
      return item;
  }
  return NULL;
}

static int list_page(task *t) {
  k8sha__req_opts o;
  char *selector, *escaped, *token = NULL, *path = NULL;
  int rc;
  selector = k8sha__asprintf(&t->ctx->rt.alloc, K8SHA__HA_SELECTOR_FMT, t->ctx->ha.cluster_id);
  escaped = selector ? k8sha__query_escape(t->ctx->kube, selector) : NULL;
  if (t->next_page)
    token = k8sha__query_escape(t->ctx->kube, t->next_page);
  if (escaped && (!t->next_page || token))
    path = k8sha__asprintf(&t->ctx->rt.alloc,
                           K8SHA__CONFIGMAPS_PATH_FMT "?labelSelector=%s&limit=%d%s%s",
                           t->ctx->ha.namespace_, escaped, LIST_PAGE, token ? "&continue=" : "",
                           token ? token : "");
  memset(&o, 0, sizeof(o));
  o.verb = K8SHA__LIST;
  o.path = path;
  t->step = S_LISTED;
  rc = path ? k8sha__req_start(t->ctx->kube, &o, on_resp, t, NULL) : K8SHA_ENOMEM;
  k8sha__free(&t->ctx->rt.alloc, selector);
  free(escaped);
  free(token);
  k8sha__free(&t->ctx->rt.alloc, path);
  return rc;
}

/* Lists the cluster's labelled ConfigMaps into t->items, page by page. */
int k8sha__task_list_configmaps(task *t) {
  json_decref(t->items);
  k8sha__free(&t->ctx->rt.alloc, t->next_page);
  t->next_page = NULL;
  t->list_restarts = 0;
  if (!(t->items = json_array()))
    return K8SHA_ENOMEM;
  return list_page(t);
}

static int delete_configmap(task *t, json_t *item) {
  k8sha__req_opts o;
  const char *rv = json_string_value(
      json_object_get(json_object_get(item, "metadata"), "resourceVersion"));
  json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
                           "preconditions", "resourceVersion", rv ? rv : "");
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  char *path = k8sha__asprintf(&t->ctx->rt.alloc, K8SHA__CONFIGMAPS_PATH_FMT "/%s",
                               t->ctx->ha.namespace_, k8sha__task_item_name(item));
  int rc;
  json_decref(body);
  memset(&o, 0, sizeof(o));
  o.verb = K8SHA__DELETE;
  o.path = path;
  o.body = text;
  o.body_len = text ? strlen(text) : 0;
  rc = text && path ? k8sha__req_start(t->ctx->kube, &o, on_resp, t, NULL) : K8SHA_ENOMEM;
  free(text);
  k8sha__free(&t->ctx->rt.alloc, path);
  return rc;
}

static char *blob_prefix(task *t) {
  return k8sha__asprintf(&t->ctx->rt.alloc, "%s/%s/", t->ctx->ha.storage_dir,
                         t->ctx->ha.ha_cluster_id);
}

int k8sha__task_list_blobs(task *t) {
  char *prefix = blob_prefix(t);
  int rc;
  t->step = S_BLOBS_LISTED;
  rc = prefix ? k8sha__blob_list(t->ctx->storage, prefix, k8sha__task_on_blob, t) : K8SHA_ENOMEM;
  k8sha__free(&t->ctx->rt.alloc, prefix);
  return rc;
}

/* Reports the entries of `obj` whose key starts with `prefix` and the blobs they point to (both
 * pointer forms); an entry that cannot be read is reported as such. */
static void report_entries(task *t, json_t *obj, const char *cm, const char *prefix) {
  const char *key;
  json_t *v;
  json_object_foreach(json_object_get(obj, "data"), key, v) {
    k8sha__value_info info;
    char why[300];
    if (strncmp(key, prefix, strlen(prefix)) != 0 || !json_string_value(v))
      continue;
    k8sha__task_report(t, K8SHA_FOUND_ENTRY, "%s/%s", cm, key);
    if (k8sha__value_describe(&t->ctx->rt.alloc, json_string_value(v), &info, why, sizeof(why)) != 0)
      k8sha__task_report(t, K8SHA_FOUND_UNREADABLE, "%s/%s: %s", cm, key, why);
    else if (info.uri[0])
      k8sha__task_report(t, K8SHA_FOUND_BLOB, "%s", info.uri);
  }
}

/* The graph entries of the job (every Flink layout) in the cluster ConfigMap. */
static void report_graph_entries(task *t, json_t *cluster) {
  const k8sha__graph_kind *g;
  char gkey[64];
  for (g = k8sha__graph_kinds; g->key_prefix; g++) {
    if (!g->is_job)
      continue;
    snprintf(gkey, sizeof(gkey), "%s%s", g->key_prefix, t->job_id);
    report_entries(t, cluster, t->cluster_cm, gkey);
  }
}

/* The job's graph keys (every Flink layout) present in the cluster ConfigMap, as the work list. */
static void graph_keys_to_work(task *t) {
  const k8sha__graph_kind *g;
  char gkey[64];
  json_t *data = json_object_get(k8sha__fcm_object(t->cf), "data");
  json_decref(t->work);
  t->work = json_array();
  t->i = 0;
  for (g = k8sha__graph_kinds; g->key_prefix; g++) {
    snprintf(gkey, sizeof(gkey), "%s%s", g->key_prefix, t->job_id);
    if (g->is_job && json_object_get(data, gkey))
      json_array_append_new(t->work, json_string(gkey));
  }
}

/* The keys (live and marked) of a store starting with `prefix`, as the work list. */
static int keys_to_work(task *t, k8sha__hstore *h, const char *prefix) {
  char **live = NULL, **marked = NULL;
  size_t nl = 0, nm = 0, i;
  int rc = k8sha__hstore_keys(h, prefix, &live, &nl);
  if (rc == 0)
    rc = k8sha__hstore_marked_keys(h, prefix, &marked, &nm);
  json_decref(t->work);
  t->work = json_array();
  for (i = 0; rc == 0 && i < nm; i++)
    json_array_append_new(t->work, json_string(marked[i]));
  for (i = 0; rc == 0 && i < nl; i++)
    json_array_append_new(t->work, json_string(live[i]));
  k8sha__hstore_keys_free(h, live, nl);
  k8sha__hstore_keys_free(h, marked, nm);
  t->i = 0;
  return rc;
}

static int edit_drop_key(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  const char *key = ud;
  (void)msg;
  (void)n;
  if (!json_object_get(json_object_get(obj, "data"), key))
    return K8SHA__UNCHANGED;
  return json_object_set_new(changes, key, json_null()) ? K8SHA_ENOMEM : 0;
}

/* ---- the job cleanup ---- */

static void run_job(task *t, int err, const char *message) {
  const char *key;
  json_t *obj;
  int rc = 0;

  switch (t->step) {
  case S_START:
    t->step = S_JOB_CLAIMED;
    rc = k8sha__store_open(t->leader, t->cm_name, K8SHA__CHECKPOINT_BLOB, 0, k8sha__task_on_fcm, t, &t->jf,
                           &t->jh);
    break;
  case S_JOB_CLAIMED:
    if (err == K8SHA_ENOTFOUND) { /* no job ConfigMap (any more) */
      t->step = S_JOB_DELETED;
      run_job(t, 0, NULL);
      return;
    }
    if (err) {
      k8sha__task_end(t, err, "%s", message ? message : k8sha_strerror(err));
      return;
    }
    rc = keys_to_work(t, t->jh, K8SHA__CHECKPOINT_PREFIX);
    t->step = S_JOB_ENTRY;
    if (rc == 0) {
      run_job(t, 0, NULL);
      return;
    }
    break;
  case S_JOB_ENTRY:
    if (err) {
      k8sha__task_end(t, err, "%s", message ? message : k8sha_strerror(err));
      return;
    }
    if (t->i < json_array_size(t->work)) {
      key = json_string_value(json_array_get(t->work, t->i++));
      obj = k8sha__fcm_object(t->jf);
      report_entries(t, obj, t->cm_name, key);
      rc = k8sha__hstore_remove(t->jh, key, k8sha__task_on_fcm, t);
      break;
    }
    t->step = S_JOB_COUNTER;
    if (json_object_get(json_object_get(k8sha__fcm_object(t->jf), "data"), K8SHA__COUNTER_KEY))
      k8sha__task_report(t, K8SHA_FOUND_ENTRY, "%s/counter", t->cm_name);
    rc = k8sha__fcm_update(t->jf, edit_drop_key, K8SHA__COUNTER_KEY, k8sha__task_on_fcm, t);
    break;
  case S_JOB_COUNTER:
    if (err) {
      k8sha__task_end(t, err, "%s", message ? message : k8sha_strerror(err));
      return;
    }
    t->step = S_JOB_DELETED;
    k8sha__task_report(t, K8SHA_FOUND_CONFIGMAP, "%s", t->cm_name);
    rc = k8sha__fcm_delete(t->jf, k8sha__task_on_fcm, t);
    break;
  case S_JOB_DELETED:
    if (err) {
      k8sha__task_end(t, err, "%s", message ? message : k8sha_strerror(err));
      return;
    }
    t->step = S_GRAPH_CLAIMED;
    rc = k8sha__store_open(t->leader, t->cluster_cm, k8sha__graph_kind_written(t->ctx->ha.flink_layout)->blob_kind,
                           0, k8sha__task_on_fcm, t, &t->cf, &t->ch);
    break;
  case S_GRAPH_CLAIMED:
    if (err == K8SHA_ENOTFOUND) {
      k8sha__task_end(t, 0, NULL);
      return;
    }
    if (err) {
      k8sha__task_end(t, err, "%s", message ? message : k8sha_strerror(err));
      return;
    }
    graph_keys_to_work(t);
    t->step = S_GRAPH_ENTRY;
    run_job(t, 0, NULL);
    return;
  case S_GRAPH_ENTRY:
    if (err) {
      k8sha__task_end(t, err, "%s", message ? message : k8sha_strerror(err));
      return;
    }
    if (t->i < json_array_size(t->work)) {
      key = json_string_value(json_array_get(t->work, t->i++));
      report_entries(t, k8sha__fcm_object(t->cf), t->cluster_cm, key);
      rc = k8sha__hstore_remove(t->ch, key, k8sha__task_on_fcm, t);
      break;
    }
    t->step = S_LEADER_ENTRY;
    snprintf(t->leader_key, sizeof(t->leader_key), K8SHA__LEADER_KEY_PREFIX "job-%s",
             t->job_id);
    if (json_object_get(json_object_get(k8sha__fcm_object(t->cf), "data"), t->leader_key))
      k8sha__task_report(t, K8SHA_FOUND_ENTRY, "%s/%s", t->cluster_cm, t->leader_key);
    rc = k8sha__fcm_update(t->cf, edit_drop_key, t->leader_key, k8sha__task_on_fcm, t);
    break;
  case S_LEADER_ENTRY:
    k8sha__task_end(t, err, "%s", message ? message : "");
    return;
  default:
    k8sha__task_end(t, K8SHA_EINVAL, "internal: unexpected step");
    return;
  }
  if (rc)
    k8sha__task_end(t, rc, "job cleanup of %s: %s", t->job_id, k8sha_strerror(rc));
}

/* ---- dry-run job cleanup, cluster cleanup, orphan scan: list, then work ---- */

/* 1 for the data keys that are not pointers: leader entries and the checkpoint counter. */
static int not_a_pointer(const char *key) {
  return strncmp(key, K8SHA__LEADER_KEY_PREFIX, strlen(K8SHA__LEADER_KEY_PREFIX)) == 0 ||
         strcmp(key, K8SHA__COUNTER_KEY) == 0;
}

/* Adds the blobs the pointers of `obj` reference to t->referenced (canonical URIs). With
 * `strict` (the orphan scan) any value it cannot read, or a host's opaque pointer, ends the task:
 * nothing can be deleted on a guess. Returns 0 or ends the task and returns -1. */
int k8sha__task_collect_references(task *t, json_t *obj, int strict) {
  const char *key, *name = k8sha__task_item_name(obj);
  json_t *v;
  json_object_foreach(json_object_get(obj, "data"), key, v) {
    k8sha__value_info info;
    char why[300], canon[K8SHA__URI_MAX];
    int rc;
    if (not_a_pointer(key) || !json_string_value(v))
      continue;
    rc = k8sha__value_describe(&t->ctx->rt.alloc, json_string_value(v), &info, why, sizeof(why));
    if (rc == 0 && info.form == K8SHA__VALUE_OPAQUE) {
      rc = K8SHA_ECORRUPT;
      snprintf(why, sizeof(why), "a pointer in a form libk8sha does not read (a host's own)");
    }
    if (rc == 0 && k8sha__uri_canonical(info.uri, canon, sizeof(canon)) != 0) {
      rc = K8SHA_ECORRUPT;
      snprintf(why, sizeof(why), "its blob URI '%.200s' is not usable", info.uri);
    }
    if (rc) {
      if (!strict) {
        k8sha__task_report(t, K8SHA_FOUND_UNREADABLE, "%s/%s: %s", name, key, why);
        continue;
      }
      k8sha__task_end(t, rc == K8SHA_ENOMEM ? rc : K8SHA_ECORRUPT,
          "orphan scan: entry %s of ConfigMap %s cannot be read (%s), so what it references is "
          "unknown; nothing was deleted",
          key, name, why);
      return -1;
    }
    if (strict && strncmp(canon, t->folder, strlen(t->folder)) != 0) {
      k8sha__task_end(t, K8SHA_EINVAL,
          "orphan scan: entry %s of ConfigMap %s references %s, outside the scanned folder %s: "
          "the writer used another high-availability.cluster-id (Flink's default is /default); "
          "set it to the writer's; nothing was deleted",
          key, name, info.uri, t->folder);
      return -1;
    }
    json_object_set_new(t->referenced, canon, json_true());
  }
  return 0;
}

/* Keeps only the HA ConfigMaps among the cluster's (Flink labels its other ConfigMaps alike). */
void k8sha__task_keep_ha_items(task *t) {
  size_t i = 0;
  while (i < json_array_size(t->items)) {
    if (k8sha__task_item_name(json_array_get(t->items, i)) &&
        k8sha__is_ha_object(json_array_get(t->items, i), t->ctx->ha.cluster_id))
      i++;
    else
      json_array_remove(t->items, i);
  }
}

/* The blob candidates of a listing: names a store writes, canonical, sorted as listed. */
void k8sha__task_keep_blob_names(task *t) {
  size_t i = 0;
  char canon[K8SHA__URI_MAX];
  while (i < json_array_size(t->work)) {
    const char *uri = json_string_value(json_array_get(t->work, i));
    const char *base = uri ? strrchr(uri, '/') : NULL;
    if (base && k8sha__is_blob_name(base + 1) &&
        k8sha__uri_canonical(uri, canon, sizeof(canon)) == 0) {
      json_array_set_new(t->work, i, json_string(canon));
      i++;
    } else {
      json_array_remove(t->work, i); /* Flink's BlobStore folder, the job result store, ... */
    }
  }
}

/* Reports and deletes the next blob of the work list that goes (an orphan scan: unreferenced
 * and not pinned, deleted only with a leader that still leads); ends the task after the last.
 * 0 while a deletion runs or once the task ended, else the error that stopped it. */
int k8sha__task_next_blob(task *t) {
  while (t->i < json_array_size(t->work)) {
    const char *uri = json_string_value(json_array_get(t->work, t->i++));
    if (t->kind == T_ORPHANS) {
      if (json_object_get(t->referenced, uri) || k8sha__orphans_pinned(t, uri))
        continue;
      k8sha__task_report(t, K8SHA_FOUND_ORPHAN_BLOB, "%s", uri);
      if (t->leader_gone) { /* (freed from inside the report) */
        k8sha__task_end(t, K8SHA_ECANCELED, "the election the task worked for was freed; %s kept",
                        uri);
        return 0;
      }
      if (!t->leader)
        continue;
      if (!k8sha__election_leads(t->leader, t->term)) {
        k8sha__task_end(t, K8SHA_ENOTLEADER, "orphan scan: not the leader any more; %s kept", uri);
        return 0;
      }
    } else {
      k8sha__task_report(t, K8SHA_FOUND_BLOB, "%s", uri);
      if (t->flags & K8SHA_CLEANUP_DRY_RUN)
        continue;
    }
    return k8sha__blob_remove(t->ctx->storage, uri, k8sha__task_on_blob, t);
  }
  k8sha__task_end(t, 0, NULL);
  return 0;
}

/* Dry-run job cleanup and cluster cleanup. */
static void run_listed(task *t, int err, const char *message) {
  json_t *item;
  int rc = 0;

  if (err && !(t->step == S_BLOB_DELETE && err == K8SHA_ENOTFOUND)) {
    k8sha__task_end(t, err, "%s", message ? message : k8sha_strerror(err));
    return;
  }
  switch (t->step) {
  case S_START:
    rc = k8sha__task_list_configmaps(t);
    break;
  case S_LISTED:
    k8sha__task_keep_ha_items(t);
    if (t->kind == T_JOB_DRY) {
      json_t *job = k8sha__task_item_named(t, t->cm_name);
      if (job) {
        report_entries(t, job, t->cm_name, K8SHA__CHECKPOINT_PREFIX);
        if (json_object_get(json_object_get(job, "data"), K8SHA__COUNTER_KEY))
          k8sha__task_report(t, K8SHA_FOUND_ENTRY, "%s/" K8SHA__COUNTER_KEY, t->cm_name);
        k8sha__task_report(t, K8SHA_FOUND_CONFIGMAP, "%s", t->cm_name);
      }
      report_graph_entries(t, k8sha__task_item_named(t, t->cluster_cm));
      k8sha__task_end(t, 0, NULL);
      return;
    }
    /* Cluster: the blobs every pointer references go too, wherever they are. */
    t->referenced = json_object();
    json_array_foreach(t->items, t->i, item) {
      k8sha__task_collect_references(t, item, 0);
    }
    t->step = S_CM_DELETE;
    t->i = 0;
    run_listed(t, 0, NULL);
    return;
  case S_CM_DELETE:
    if (t->i < json_array_size(t->items)) {
      item = json_array_get(t->items, t->i++);
      k8sha__task_report(t, K8SHA_FOUND_CONFIGMAP, "%s", k8sha__task_item_name(item));
      if (t->flags & K8SHA_CLEANUP_DRY_RUN) {
        run_listed(t, 0, NULL);
        return;
      }
      rc = delete_configmap(t, item);
      break;
    }
    rc = k8sha__task_list_blobs(t);
    break;
  case S_BLOBS_LISTED:
    k8sha__task_keep_blob_names(t);
    {
      const char *key;
      json_t *v;
      json_object_foreach(t->referenced, key, v) {
        size_t i;
        int listed = 0;
        json_array_foreach(t->work, i, v) {
          listed |= strcmp(json_string_value(v), key) == 0;
        }
        if (!listed)
          json_array_append_new(t->work, json_string(key));
      }
    }
    t->step = S_BLOB_DELETE;
    t->i = 0;
    run_listed(t, 0, NULL);
    return;
  case S_BLOB_DELETE:
    rc = k8sha__task_next_blob(t);
    if (rc == 0)
      return;
    break;
  default:
    k8sha__task_end(t, K8SHA_EINVAL, "internal: unexpected step");
    return;
  }
  if (rc)
    k8sha__task_end(t, rc, "cleanup: %s", k8sha_strerror(rc));
}

static void run(task *t, int err, const char *message) {
  if (t->leader_gone) {
    k8sha__task_end(t, K8SHA_ECANCELED, "the election the task worked for was freed");
    return;
  }
  if (t->kind == T_JOB)
    run_job(t, err, message);
  else if (t->kind == T_ORPHANS)
    k8sha__orphans_run(t, err, message);
  else
    run_listed(t, err, message);
}

/* ---- entry points ---- */

int k8sha__task_start(k8sha_ctx *ctx, k8sha_election *leader, task_kind kind, const char *job_id,
                      unsigned int flags, k8sha_found_cb found, k8sha_cleanup_done_cb done,
                      void *user_data) {
  task *t = k8sha__calloc(&ctx->rt.alloc, 1, sizeof(*t));
  if (!t)
    return K8SHA_ENOMEM;
  t->ctx = ctx;
  k8sha__rt_child(&ctx->rt, 1); /* a running task keeps its context (k8sha_ctx_free: K8SHA_EBUSY) */
  t->leader = leader;
  t->term = leader ? k8sha__election_term(leader) : 0;
  if (leader) {
    t->link.gone = task_leader_gone;
    k8sha__election_link_add(leader, &t->link);
  }
  t->kind = kind;
  t->flags = flags;
  t->found = found;
  t->done = done;
  t->user_data = user_data;
  if (job_id)
    snprintf(t->job_id, sizeof(t->job_id), "%s", job_id);
  t->cm_name = job_id ? k8sha__job_configmap_name(ctx, job_id) : NULL;
  t->cluster_cm = k8sha__lock_default_name(ctx, K8SHA_LOCK_CONFIGMAP);
  t->kick = k8sha__timer_new(&ctx->rt, on_kick, t);
  {
    char folder[K8SHA__URI_MAX];
    snprintf(folder, sizeof(folder), "%s/%s/", ctx->ha.storage_dir, ctx->ha.ha_cluster_id);
    if (k8sha__uri_canonical(folder, t->folder, sizeof(t->folder)) != 0)
      snprintf(t->folder, sizeof(t->folder), "%s", folder);
  }
  if (!t->cluster_cm || !t->kick || (job_id && !t->cm_name)) {
    task_free(t);
    return K8SHA_ENOMEM;
  }
  k8sha__timer_start(t->kick, 0); /* the first step runs on the loop, not in this call */
  return 0;
}

int k8sha_cleanup_job(k8sha_ctx *ctx, k8sha_election *leader, const char *job_id,
                      unsigned int flags, k8sha_found_cb found, k8sha_cleanup_done_cb done,
                      void *user_data) {
  int dry = (flags & K8SHA_CLEANUP_DRY_RUN) != 0;
  if (!ctx || !k8sha__job_id_valid(job_id) || (flags & ~K8SHA_CLEANUP_DRY_RUN) ||
      (!leader && !dry) || (leader && k8sha__election_ctx(leader) != ctx))
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY(&ctx->rt, K8SHA_ETHREAD);
  if (!dry && !k8sha_election_is_leader(leader))
    return K8SHA_ENOTLEADER;
  return k8sha__task_start(ctx, dry ? NULL : leader, dry ? T_JOB_DRY : T_JOB, job_id, flags, found, done,
                    user_data);
}

int k8sha_cleanup_cluster(k8sha_ctx *ctx, unsigned int flags, k8sha_found_cb found,
                          k8sha_cleanup_done_cb done, void *user_data) {
  if (!ctx || (flags & ~K8SHA_CLEANUP_DRY_RUN))
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY(&ctx->rt, K8SHA_ETHREAD);
  return k8sha__task_start(ctx, NULL, T_CLUSTER, NULL, flags, found, done, user_data);
}
