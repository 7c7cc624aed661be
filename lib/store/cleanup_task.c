/* The task machinery of the cleanups and the orphan scan: its life, its callbacks, the listings
 * of ConfigMaps and blobs, and the pieces the tasks share (cleanup_task.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "election/env.h"
#include "core/k8s_names.h"
#include "core/timer.h"
#include "election/elector.h"
#include "election/lock.h"
#include "k8sha/cleanup.h"
#include "k8sha/errors.h"
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

/* The host freed the leader's election (during that free): the task ends on its next step. */
static void task_leader_gone(k8sha__election_link *link) {
  task *t = (task *)link;
  t->leader = NULL;
  t->leader_gone = 1;
}

static void task_free(task *t) {
  const k8sha_allocator *a = &t->env->rt->alloc;
  k8sha__rt_child(t->env->rt, -1);
  k8sha__election_link_remove(&t->link);
  if (t->watching)
    k8sha__pins_watch(t->env->storage, 0);
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
  va_start(ap, fmt);
  k8sha__vformat(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (t->done)
    t->done(err, err ? msg : NULL, t->user_data);
  task_free(t);
}

void k8sha__task_bad_step(task *t) {
  k8sha__task_end(t, K8SHA_EINVAL, "internal: the task has no step %d", t->step);
}

int k8sha__task_failed(task *t, int err, const char *message) {
  if (!err)
    return 0;
  k8sha__task_end(t, err, "%s", message ? message : k8sha_strerror(err));
  return 1;
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
  k8sha__task_run(ud, err, message);
}

static void on_blob(const k8sha__blob_result *r, void *ud) {
  task *t = ud;
  size_t i;
  if (t->step == S_BLOBS_LISTED && r->err == 0) {
    json_decref(t->work);
    t->work = json_array();
    for (i = 0; t->work && i < r->n_entries; i++) {
      if (json_array_append_new(t->work, json_string(r->entries[i])) != 0)
        break;
    }
    if (!t->work || i < r->n_entries) {
      /* (a listing with blobs missing would be reported as the whole of it) */
      k8sha__task_run(t, K8SHA_ENOMEM, "out of memory keeping the listed blobs");
      return;
    }
  }
  k8sha__task_run(t, r->err, r->message);
}

static int list_page(task *t);

#define LISTED_ALL 1 /* on_listed: the last page is in */

/* A page of the LIST: gathered into t->items; the next page is asked for while the server hands
 * out a continue token. An expired token (410: the namespace changed too much meanwhile) starts
 * the LIST over, a few times. Returns 0 while a page is on its way, LISTED_ALL after the last,
 * or the K8SHA_E* code that ends the listing (a listing cut short is never taken for whole). */

static int on_listed(task *t, const k8sha__resp *resp) {
  json_t *items = json_object_get(resp->json, "items");
  const char *cont =
      json_string_value(json_object_get(json_object_get(resp->json, "metadata"), "continue"));
  if (resp->err == K8SHA_EEXPIRED && t->next_page && t->list_restarts < LIST_RESTARTS) {
    t->list_restarts++;
    json_array_clear(t->items);
    k8sha__free(&t->env->rt->alloc, t->next_page);
    t->next_page = NULL;
    return list_page(t);
  }
  if (resp->err)
    return resp->err;
  /* A page without its items (a body that did not parse, a proxy's empty 200) is not an empty
   * page: taken for one, a listing cut short would pass for whole. */
  if (!json_is_array(items))
    return K8SHA_EBADRESPONSE;
  if (json_array_extend(t->items, items) != 0)
    return K8SHA_ENOMEM;
  k8sha__free(&t->env->rt->alloc, t->next_page);
  t->next_page = NULL;
  if (cont && *cont) {
    if (!(t->next_page = k8sha__strdup(&t->env->rt->alloc, cont)))
      return K8SHA_ENOMEM;
    return list_page(t);
  }
  return LISTED_ALL;
}

static void on_page(const k8sha__resp *resp, void *ud) {
  task *t = ud;
  int rc = on_listed(t, resp);
  if (rc == 0)
    return; /* the next page is on its way */
  /* (K8SHA_E* codes are negative: only LISTED_ALL says the listing is whole) */
  k8sha__task_run(t, rc == LISTED_ALL ? 0 : rc, rc == resp->err ? resp->message : NULL);
}

static void on_kick(void *ud) {
  k8sha__task_run(ud, 0, NULL);
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
  selector = k8sha__asprintf(&t->env->rt->alloc, K8SHA__HA_SELECTOR_FMT, t->env->ha->cluster_id);
  escaped = selector ? k8sha__query_escape(t->env->kube, selector) : NULL;
  if (t->next_page)
    token = k8sha__query_escape(t->env->kube, t->next_page);
  if (escaped && (!t->next_page || token))
    path = k8sha__asprintf(&t->env->rt->alloc,
                           K8SHA__CONFIGMAPS_PATH_FMT "?labelSelector=%s&limit=%d%s%s",
                           t->env->ha->namespace_, escaped, LIST_PAGE, token ? "&continue=" : "",
                           token ? token : "");
  memset(&o, 0, sizeof(o));
  o.verb = K8SHA__LIST;
  o.path = path;
  t->step = S_LISTED;
  rc = path ? k8sha__req_start(t->env->kube, &o, on_page, t, NULL) : K8SHA_ENOMEM;
  k8sha__free(&t->env->rt->alloc, selector);
  k8sha__free(&t->env->rt->alloc, escaped);
  k8sha__free(&t->env->rt->alloc, token);
  k8sha__free(&t->env->rt->alloc, path);
  return rc;
}

/* Lists the cluster's labelled ConfigMaps into t->items, page by page. */
int k8sha__task_list_configmaps(task *t) {
  json_decref(t->items);
  k8sha__free(&t->env->rt->alloc, t->next_page);
  t->next_page = NULL;
  t->list_restarts = 0;
  if (!(t->items = json_array()))
    return K8SHA_ENOMEM;
  return list_page(t);
}

static char *blob_prefix(task *t) {
  return k8sha__asprintf(&t->env->rt->alloc, "%s/%s/", t->env->ha->storage_dir,
                         t->env->ha->ha_cluster_id);
}

int k8sha__task_list_blobs(task *t) {
  char *prefix = blob_prefix(t);
  int rc;
  t->step = S_BLOBS_LISTED;
  rc = prefix ? k8sha__blob_list(t->env->storage, prefix, on_blob, t) : K8SHA_ENOMEM;
  k8sha__free(&t->env->rt->alloc, prefix);
  return rc;
}

/* 1 for the data keys that are not pointers: leader entries and the checkpoint counter. */
static int not_a_pointer(const char *key) {
  return strncmp(key, K8SHA__LEADER_KEY_PREFIX, strlen(K8SHA__LEADER_KEY_PREFIX)) == 0 ||
         strcmp(key, K8SHA__COUNTER_KEY) == 0;
}

/* Adds the blobs the pointers of `obj` reference to t->referenced (canonical URIs). With
 * `strict` (the orphan scan) any value it cannot read, or a host's opaque pointer, ends the task:
 * nothing can be deleted on a guess. A reference that cannot be recorded (out of memory) ends
 * the task either way: a blob missing from the set would be taken for unreferenced. Returns 0 or
 * ends the task and returns -1. */
int k8sha__task_collect_references(task *t, json_t *obj, int strict) {
  const char *key, *name = k8sha__task_item_name(obj);
  json_t *v;
  json_object_foreach(json_object_get(obj, "data"), key, v) {
    k8sha__value_info info;
    char why[300], canon[K8SHA__URI_MAX];
    int rc;
    if (not_a_pointer(key) || !json_string_value(v))
      continue;
    rc = k8sha__value_describe(&t->env->rt->alloc, json_string_value(v), &info, why, sizeof(why));
    if (rc == 0 && info.form == K8SHA__VALUE_OPAQUE) {
      rc = K8SHA_ECORRUPT;
      snprintf(why, sizeof(why), "a pointer in a form libk8sha does not read (a host's own)");
    }
    if (rc == 0 && k8sha__uri_canonical(info.uri, canon, sizeof(canon)) != 0) {
      rc = K8SHA_ECORRUPT;
      snprintf(why, sizeof(why), "its blob URI '%.200s' is not usable", info.uri);
    }
    if (rc) {
      if (!strict && rc != K8SHA_ENOMEM) {
        k8sha__task_report(t, K8SHA_FOUND_UNREADABLE, "%s/%s: %s", name, key, why);
        continue;
      }
      if (!strict) { /* (not read for want of memory: not "unreadable") */
        k8sha__task_end(t, rc, "cleanup: entry %s of ConfigMap %s could not be read: %s", key,
                        name, k8sha_strerror(rc));
        return -1;
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
    if (!t->referenced || json_object_set_new(t->referenced, canon, json_true()) != 0) {
      k8sha__task_end(t, K8SHA_ENOMEM,
                      "%s: out of memory recording the blob entry %s of ConfigMap %s references; "
                      "nothing was deleted", strict ? "orphan scan" : "cleanup", key, name);
      return -1;
    }
  }
  return 0;
}

/* Keeps only the HA ConfigMaps among the cluster's (Flink labels its other ConfigMaps alike). */
void k8sha__task_keep_ha_items(task *t) {
  size_t i = 0;
  while (i < json_array_size(t->items)) {
    if (k8sha__task_item_name(json_array_get(t->items, i)) &&
        k8sha__is_ha_object(json_array_get(t->items, i), t->env->ha->cluster_id))
      i++;
    else
      json_array_remove(t->items, i);
  }
}

/* The blob candidates of a listing: names a store writes, canonical, sorted as listed. Returns
 * 0 or K8SHA_ENOMEM: a URI left in its listed form would be compared with canonical references
 * and pins, and could be taken for unreferenced. */
int k8sha__task_keep_blob_names(task *t) {
  size_t i = 0;
  char canon[K8SHA__URI_MAX];
  while (i < json_array_size(t->work)) {
    const char *uri = json_string_value(json_array_get(t->work, i));
    const char *base = uri ? strrchr(uri, '/') : NULL;
    if (base && k8sha__is_blob_name(base + 1) &&
        k8sha__uri_canonical(uri, canon, sizeof(canon)) == 0) {
      if (json_array_set_new(t->work, i, json_string(canon)) != 0)
        return K8SHA_ENOMEM;
      i++;
    } else {
      json_array_remove(t->work, i); /* Flink's BlobStore folder, the job result store, ... */
    }
  }
  return 0;
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
    return k8sha__blob_remove(t->env->storage, uri, on_blob, t);
  }
  k8sha__task_end(t, 0, NULL);
  return 0;
}

void k8sha__task_run(task *t, int err, const char *message) {
  if (t->leader_gone) {
    k8sha__task_end(t, K8SHA_ECANCELED, "the election the task worked for was freed");
    return;
  }
  switch (t->kind) {
  case T_JOB:
    k8sha__cleanup_job_run(t, err, message);
    break;
  case T_JOB_DRY:
    k8sha__cleanup_dry_job_run(t, err, message);
    break;
  case T_CLUSTER:
    k8sha__cleanup_cluster_run(t, err, message);
    break;
  case T_ORPHANS:
    k8sha__orphans_run(t, err, message);
    break;
  }
}

/* ---- the start ---- */

int k8sha__task_start(k8sha__env *env, k8sha_election *leader, task_kind kind, const char *job_id,
                      unsigned int flags, k8sha_found_cb found, k8sha_cleanup_done_cb done,
                      void *user_data) {
  task *t = k8sha__calloc(&env->rt->alloc, 1, sizeof(*t));
  if (!t)
    return K8SHA_ENOMEM;
  t->env = env;
  k8sha__rt_child(env->rt, 1); /* a running task keeps its context (k8sha_ctx_free: K8SHA_EBUSY) */
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
  t->cm_name = job_id ? k8sha__job_configmap_name(env, job_id) : NULL;
  t->cluster_cm = k8sha__lock_default_name(env, K8SHA_LOCK_CONFIGMAP);
  t->kick = k8sha__timer_new(env->rt, on_kick, t);
  {
    char folder[K8SHA__URI_MAX];
    snprintf(folder, sizeof(folder), "%s/%s/", env->ha->storage_dir, env->ha->ha_cluster_id);
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
