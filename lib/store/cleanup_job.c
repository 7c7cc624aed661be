/* The job cleanup: the job's checkpoint entries, counter and ConfigMap, then its graph and leader
 * entries in the cluster ConfigMap; and its dry run, which reports the same from a listing. */
#include <stdio.h>
#include <string.h>

#include "election/env.h"
#include "store/make.h"
#include "election/elector.h"
#include "k8sha/cleanup.h"
#include "k8sha/errors.h"
#include "election/fenced.h"
#include "store/handles.h"
#include "layout/flink.h"
#include "store/pointer.h"
#include "store/cleanup_task.h"

/* The job cleanup's own steps, after S_START (its dry run has S_START and S_LISTED only). */
enum job_step {
  J_CLAIMED = S_OWN, /* job ConfigMap claimed (or absent) */
  J_ENTRY,           /* removing checkpoint entries one by one */
  J_COUNTER,         /* counter dropped */
  J_DELETED,         /* job ConfigMap deleted */
  J_GRAPH_CLAIMED,   /* cluster ConfigMap checked */
  J_GRAPH_ENTRY,     /* removing graph entries one by one */
  J_LEADER_ENTRY     /* leader entry of the job dropped */
};

/* ---- pieces ---- */

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
    if (k8sha__value_describe(&t->env->rt->alloc, json_string_value(v), &info, why, sizeof(why)) !=
        0)
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

/* The job's graph keys (every Flink layout) present in the cluster ConfigMap, as the work list.
 * 0 or K8SHA_ENOMEM (a short work list would leave entries behind and report the job clean). */
static int graph_keys_to_work(task *t) {
  const k8sha__graph_kind *g;
  char gkey[64];
  json_t *data = json_object_get(k8sha__fcm_object(t->cf), "data");
  json_decref(t->work);
  t->work = json_array();
  t->i = 0;
  for (g = k8sha__graph_kinds; g->key_prefix; g++) {
    snprintf(gkey, sizeof(gkey), "%s%s", g->key_prefix, t->job_id);
    if (g->is_job && json_object_get(data, gkey) &&
        (!t->work || json_array_append_new(t->work, json_string(gkey)) != 0))
      return K8SHA_ENOMEM;
  }
  return t->work ? 0 : K8SHA_ENOMEM;
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
  if (rc == 0 && !t->work)
    rc = K8SHA_ENOMEM;
  for (i = 0; rc == 0 && i < nm; i++)
    if (json_array_append_new(t->work, json_string(marked[i])) != 0)
      rc = K8SHA_ENOMEM;
  for (i = 0; rc == 0 && i < nl; i++)
    if (json_array_append_new(t->work, json_string(live[i])) != 0)
      rc = K8SHA_ENOMEM;
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

/* Reports the next key of the work list (its entry in `obj` of ConfigMap `cm`) and removes it
 * from `h`; 0 after the last, when there is nothing to remove. */
static int remove_next_key(task *t, json_t *obj, const char *cm, k8sha__hstore *h, int *rc) {
  const char *key;
  if (t->i >= json_array_size(t->work))
    return 0;
  key = json_string_value(json_array_get(t->work, t->i++));
  report_entries(t, obj, cm, key);
  *rc = k8sha__hstore_remove(h, key, k8sha__task_on_fcm, t);
  return 1;
}

/* ---- the job cleanup, a step a function ---- */

/* S_START: the job ConfigMap claimed. */
static int claim_job_configmap(task *t) {
  t->step = J_CLAIMED;
  return k8sha__store_open(t->leader, t->cm_name, K8SHA__CHECKPOINT_BLOB, 0, k8sha__task_on_fcm,
                           t, &t->jf, &t->jh);
}

/* J_CLAIMED: its checkpoint keys (marked ones first) as the work list. */
static int job_claimed(task *t, int err, const char *message) {
  int rc;
  if (err == K8SHA_ENOTFOUND) { /* no job ConfigMap (any more) */
    t->step = J_DELETED;
    k8sha__cleanup_job_run(t, 0, NULL);
    return 0;
  }
  if (k8sha__task_failed(t, err, message))
    return 0;
  rc = keys_to_work(t, t->jh, K8SHA__CHECKPOINT_PREFIX);
  t->step = J_ENTRY;
  if (rc == 0)
    k8sha__cleanup_job_run(t, 0, NULL);
  return rc;
}

/* J_ENTRY: the next checkpoint entry removed; after the last, the counter dropped. */
static int remove_checkpoint_entry(task *t, int err, const char *message) {
  int rc = 0;
  if (k8sha__task_failed(t, err, message))
    return 0;
  if (remove_next_key(t, k8sha__fcm_object(t->jf), t->cm_name, t->jh, &rc))
    return rc;
  t->step = J_COUNTER;
  if (json_object_get(json_object_get(k8sha__fcm_object(t->jf), "data"), K8SHA__COUNTER_KEY))
    k8sha__task_report(t, K8SHA_FOUND_ENTRY, "%s/counter", t->cm_name);
  return k8sha__fcm_update(t->jf, edit_drop_key, K8SHA__COUNTER_KEY, k8sha__task_on_fcm, t);
}

/* J_COUNTER: the job ConfigMap deleted. */
static int delete_job_configmap(task *t, int err, const char *message) {
  if (k8sha__task_failed(t, err, message))
    return 0;
  t->step = J_DELETED;
  k8sha__task_report(t, K8SHA_FOUND_CONFIGMAP, "%s", t->cm_name);
  return k8sha__fcm_delete(t->jf, k8sha__task_on_fcm, t);
}

/* J_DELETED: the cluster ConfigMap claimed. */
static int claim_cluster_configmap(task *t, int err, const char *message) {
  if (k8sha__task_failed(t, err, message))
    return 0;
  t->step = J_GRAPH_CLAIMED;
  return k8sha__store_open(t->leader, t->cluster_cm,
                           k8sha__graph_kind_written(t->env->ha->flink_layout)->blob_kind, 0,
                           k8sha__task_on_fcm, t, &t->cf, &t->ch);
}

/* J_GRAPH_CLAIMED: the job's graph keys as the work list; no cluster ConfigMap: done. */
static int cluster_claimed(task *t, int err, const char *message) {
  if (err == K8SHA_ENOTFOUND) {
    k8sha__task_end(t, 0, NULL);
    return 0;
  }
  if (k8sha__task_failed(t, err, message))
    return 0;
  if (graph_keys_to_work(t) != 0)
    return K8SHA_ENOMEM;
  t->step = J_GRAPH_ENTRY;
  k8sha__cleanup_job_run(t, 0, NULL);
  return 0;
}

/* J_GRAPH_ENTRY: the next graph entry removed; after the last, the job's leader entry dropped. */
static int remove_graph_entry(task *t, int err, const char *message) {
  int rc = 0;
  if (k8sha__task_failed(t, err, message))
    return 0;
  if (remove_next_key(t, k8sha__fcm_object(t->cf), t->cluster_cm, t->ch, &rc))
    return rc;
  t->step = J_LEADER_ENTRY;
  snprintf(t->leader_key, sizeof(t->leader_key), K8SHA__LEADER_KEY_PREFIX "job-%s",
           t->job_id);
  if (json_object_get(json_object_get(k8sha__fcm_object(t->cf), "data"), t->leader_key))
    k8sha__task_report(t, K8SHA_FOUND_ENTRY, "%s/%s", t->cluster_cm, t->leader_key);
  return k8sha__fcm_update(t->cf, edit_drop_key, t->leader_key, k8sha__task_on_fcm, t);
}

void k8sha__cleanup_job_run(task *t, int err, const char *message) {
  int rc;
  switch (t->step) {
  case S_START:
    rc = claim_job_configmap(t);
    break;
  case J_CLAIMED:
    rc = job_claimed(t, err, message);
    break;
  case J_ENTRY:
    rc = remove_checkpoint_entry(t, err, message);
    break;
  case J_COUNTER:
    rc = delete_job_configmap(t, err, message);
    break;
  case J_DELETED:
    rc = claim_cluster_configmap(t, err, message);
    break;
  case J_GRAPH_CLAIMED:
    rc = cluster_claimed(t, err, message);
    break;
  case J_GRAPH_ENTRY:
    rc = remove_graph_entry(t, err, message);
    break;
  case J_LEADER_ENTRY:
    k8sha__task_end(t, err, "%s", message ? message : "");
    return;
  default:
    k8sha__task_bad_step(t);
    return;
  }
  if (rc)
    k8sha__task_end(t, rc, "job cleanup of %s: %s", t->job_id, k8sha_strerror(rc));
}

/* ---- the dry run: the cluster's HA ConfigMaps listed, what the cleanup removes reported ---- */

void k8sha__cleanup_dry_job_run(task *t, int err, const char *message) {
  json_t *job;
  int rc;
  if (k8sha__task_failed(t, err, message))
    return;
  switch (t->step) {
  case S_START:
    rc = k8sha__task_list_configmaps(t);
    if (rc)
      k8sha__task_end(t, rc, "cleanup: %s", k8sha_strerror(rc));
    return;
  case S_LISTED:
    k8sha__task_keep_ha_items(t);
    job = k8sha__task_item_named(t, t->cm_name);
    if (job) {
      report_entries(t, job, t->cm_name, K8SHA__CHECKPOINT_PREFIX);
      if (json_object_get(json_object_get(job, "data"), K8SHA__COUNTER_KEY))
        k8sha__task_report(t, K8SHA_FOUND_ENTRY, "%s/" K8SHA__COUNTER_KEY, t->cm_name);
      k8sha__task_report(t, K8SHA_FOUND_CONFIGMAP, "%s", t->cm_name);
    }
    report_graph_entries(t, k8sha__task_item_named(t, t->cluster_cm));
    k8sha__task_end(t, 0, NULL);
    return;
  default:
    k8sha__task_bad_step(t);
    return;
  }
}

/* ---- entry point ---- */

int k8sha__cleanup_job(k8sha__env *env, k8sha_election *leader, const char *job_id,
                      unsigned int flags, k8sha_found_cb found, k8sha_cleanup_done_cb done,
                      void *user_data) {
  int dry = (flags & K8SHA_CLEANUP_DRY_RUN) != 0;
  if (!env || !k8sha__job_id_valid(job_id) || (flags & ~K8SHA_CLEANUP_DRY_RUN) ||
      (!leader && !dry) || (leader && k8sha__election_env(leader) != env))
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY_AS(env->rt, K8SHA_ETHREAD, "k8sha_cleanup_job");
  if (!dry && !k8sha_election_is_leader(leader))
    return K8SHA_ENOTLEADER;
  return k8sha__task_start(env, dry ? NULL : leader, dry ? T_JOB_DRY : T_JOB, job_id, flags, found,
                           done, user_data);
}
