/* The orphan scan: blobs under the HA folder that no pointer references, deleted only on what it
 * knows (see k8sha/cleanup.h and docs/operations.md for its rules). */
#include <stdio.h>
#include <string.h>

#include "election/env.h"
#include "store/make.h"
#include "election/elector.h"
#include "k8sha/errors.h"
#include "storage/storage.h"
#include "store/cleanup_task.h"
#include "layout/flink.h"

/* The orphan scan's own steps. */
enum orphans_step {
  O_AGED = S_OWN, /* the candidates are old enough */
  O_CLAIMED,      /* claiming the HA ConfigMaps one by one */
  O_SIBLINGS      /* Flink's default folder beside ours listed */
};

/* Counts the blobs a store writes in Flink's default folder beside ours. */
static void on_siblings(const k8sha__blob_result *r, void *ud) {
  task *t = ud;
  size_t i;
  for (i = 0; r->err == 0 && i < r->n_entries; i++) {
    const char *base = strrchr(r->entries[i], '/');
    t->sibling_blobs += base && k8sha__is_blob_name(base + 1);
  }
  k8sha__task_run(t, r->err, r->message);
}

/* Lists Flink's default folder beside ours when high-availability.cluster-id was not given (the
 * scan must not guess which folder is this cluster's); otherwise goes on at once. */
static int list_siblings(task *t) {
  t->step = O_SIBLINGS;
  if (t->env->ha->ha_cluster_id_explicit || strcmp(t->env->ha->ha_cluster_id, "default") == 0) {
    k8sha__timer_start(t->kick, 0);
    return 0;
  }
  snprintf(t->sibling, sizeof(t->sibling), "%s/default/", t->env->ha->storage_dir);
  return k8sha__blob_list(t->env->storage, t->sibling, on_siblings, t);
}

/* The job ConfigMaps whose job has no graph entry (of any Flink layout). */
static void report_orphan_configmaps(task *t) {
  json_t *cluster = k8sha__task_item_named(t, t->cluster_cm), *item;
  size_t i;
  json_array_foreach(t->items, i, item) {
    char id[K8SHA__JOB_ID_LEN + 1], gkey[64];
    const k8sha__graph_kind *g;
    int has = 0;
    if (k8sha__ha_configmap(k8sha__task_item_name(item), t->env->ha->cluster_id, id) != 2)
      continue;
    for (g = k8sha__graph_kinds; g->key_prefix; g++) {
      snprintf(gkey, sizeof(gkey), "%s%s", g->key_prefix, id);
      has |= g->is_job && json_object_get(json_object_get(cluster, "data"), gkey) != NULL;
    }
    if (!has)
      k8sha__task_report(t, K8SHA_FOUND_ORPHAN_CONFIGMAP, "%s", k8sha__task_item_name(item));
  }
}

/* A temporary file ".<blob>.tmp-..." is pinned when its blob is. */
int k8sha__orphans_pinned(task *t, const char *canon) {
  char final[K8SHA__URI_MAX];
  const char *base = strrchr(canon, '/') + 1, *tmp;
  if (base[0] == '.' && (tmp = strstr(base, ".tmp-")) != NULL) {
    snprintf(final, sizeof(final), "%.*s%.*s", (int)(base - canon), canon, (int)(tmp - base - 1),
             base + 1);
    return k8sha__blob_pinned(t->env->storage, final);
  }
  return k8sha__blob_pinned(t->env->storage, canon);
}

/* S_START: pins watched, the blobs listed. */
static int start_scan(task *t) {
  if (k8sha__pins_watch(t->env->storage, 1) != 0) {
    k8sha__task_end(t, K8SHA_ENOMEM, "orphan scan: out of memory");
    return 0;
  }
  t->watching = 1;
  return k8sha__task_list_blobs(t);
}

/* S_BLOBS_LISTED: the candidates; deleting, a wait until they are old enough. */
static void blobs_listed(task *t) {
  if (k8sha__task_keep_blob_names(t) != 0) {
    k8sha__task_end(t, K8SHA_ENOMEM, "orphan scan: out of memory keeping the listed blobs; "
                                     "nothing was deleted");
    return;
  }
  t->step = O_AGED;
  if (t->leader) {
    k8sha__timer_start(t->kick, t->env->ha->lease_ms + t->env->ha->request_timeout_ms);
    return;
  }
  k8sha__orphans_run(t, 0, NULL);
}

/* S_LISTED: deleting, the HA ConfigMaps claimed one by one; else their pointers read from the
 * listing. */
static int configmaps_listed(task *t) {
  json_t *item;
  k8sha__task_keep_ha_items(t);
  t->referenced = json_object();
  t->i = 0;
  t->step = O_CLAIMED;
  if (!t->leader) {
    json_array_foreach(t->items, t->i, item) {
      if (k8sha__task_collect_references(t, item, 1) != 0)
        return 0;
    }
    return list_siblings(t);
  }
  k8sha__orphans_run(t, K8SHA_ENOTFOUND, NULL);
  return 0;
}

/* O_CLAIMED: the ConfigMap t->i - 1 is claimed (or gone): its pointers, read from the claimed
 * state; then the next one claimed, or after the last, the siblings listed. */
static int claim_next_configmap(task *t, int err) {
  json_t *item;
  char id[K8SHA__JOB_ID_LEN + 1];
  if (t->jf && err == 0 && k8sha__task_collect_references(t, k8sha__fcm_object(t->jf), 1) != 0)
    return 0;
  k8sha__hstore_free(t->jh);
  k8sha__fcm_free(t->jf);
  t->jh = NULL;
  t->jf = NULL;
  if (t->i < json_array_size(t->items)) {
    item = json_array_get(t->items, t->i++);
    return k8sha__store_open(
        t->leader, k8sha__task_item_name(item),
        k8sha__ha_configmap(k8sha__task_item_name(item), t->env->ha->cluster_id, id) == 2
            ? K8SHA__CHECKPOINT_BLOB
            : k8sha__graph_kind_written(t->env->ha->flink_layout)->blob_kind,
        0, k8sha__task_on_fcm, t, &t->jf, &t->jh);
  }
  return list_siblings(t);
}

/* O_SIBLINGS: refused when the default folder beside ours holds blobs; else the orphan
 * ConfigMaps reported and the blobs deleted. */
static void siblings_listed(task *t, int err) {
  if (err == 0 && t->sibling_blobs) {
    k8sha__task_end(t, K8SHA_EINVAL,
        "orphan scan: %s holds Flink HA blobs (Flink's default high-availability.cluster-id "
        "is /default) and high-availability.cluster-id is not set, so which folder is this "
        "cluster's is a guess; set it; nothing was deleted",
        t->sibling);
    return;
  }
  report_orphan_configmaps(t);
  t->step = S_BLOB_DELETE;
  t->i = 0;
  k8sha__orphans_run(t, 0, NULL);
}

/* The orphan scan, in its order: blobs listed first (only what exists now can be a candidate),
 * then, deleting, a wait until each candidate is older than lease + request timeout (a writer
 * that could still commit a pointer to it has lost its lease by then), then every HA ConfigMap
 * claimed with our term (an update an older leader left in flight gets a conflict and never
 * lands), then the pointers read from the claimed state, each of which must be understood. */
void k8sha__orphans_run(task *t, int err, const char *message) {
  int rc = 0;

  if (!(t->step == S_BLOB_DELETE && err == K8SHA_ENOTFOUND) &&
      !(t->step == O_CLAIMED && err == K8SHA_ENOTFOUND) && k8sha__task_failed(t, err, message))
    return;
  switch (t->step) {
  case S_START:
    rc = start_scan(t);
    break;
  case S_BLOBS_LISTED:
    blobs_listed(t);
    return;
  case O_AGED:
    rc = k8sha__task_list_configmaps(t);
    break;
  case S_LISTED:
    rc = configmaps_listed(t);
    break;
  case O_CLAIMED:
    rc = claim_next_configmap(t, err);
    break;
  case O_SIBLINGS:
    siblings_listed(t, err);
    return;
  case S_BLOB_DELETE:
    rc = k8sha__task_next_blob(t);
    break;
  default:
    k8sha__task_bad_step(t);
    return;
  }
  if (rc)
    k8sha__task_end(t, rc, "orphan scan: %s", k8sha_strerror(rc));
}

int k8sha__orphans_scan(k8sha__env *env, k8sha_election *leader, k8sha_found_cb found,
                       k8sha_cleanup_done_cb done, void *user_data) {
  if (!env || (leader && k8sha__election_env(leader) != env))
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY_AS(env->rt, K8SHA_ETHREAD, "k8sha_orphans_scan");
  if (leader && !k8sha_election_is_leader(leader))
    return K8SHA_ENOTLEADER;
  return k8sha__task_start(env, leader, T_ORPHANS, NULL, 0, found, done, user_data);
}
