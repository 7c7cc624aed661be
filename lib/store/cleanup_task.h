/* Internal: the task behind the job cleanup (cleanup_job.c), the cluster cleanup
 * (cleanup_cluster.c) and the orphan scan (orphans.c), run by cleanup_task.c: a short state
 * machine over listings of ConfigMaps and blobs. */
#ifndef K8SHA_STORE_CLEANUP_TASK_H
#define K8SHA_STORE_CLEANUP_TASK_H

#include <jansson.h>
#include <stdint.h>

#include "core/timer.h"
#include "k8sha/cleanup.h"
#include "storage/storage.h"
#include "storage/uri.h"
#include "election/elector.h"
#include "election/fenced.h"
#include "store/handles.h"
#include "store/jobs.h"

typedef enum task_kind { T_JOB, T_JOB_DRY, T_CLUSTER, T_ORPHANS } task_kind;

/* The steps the shared machinery (cleanup_task.c) sets or reads. Each task numbers its own steps
 * from S_OWN on, in its file; t->step holds either. */
enum task_step {
  S_START,        /* the first step, run from the loop */
  S_LISTED,       /* HA ConfigMaps listed */
  S_BLOBS_LISTED, /* blobs listed */
  S_BLOB_DELETE,  /* deleting blobs one by one */
  S_OWN
};

typedef struct task {
  k8sha__election_link link; /* to leader, when there is one */
  int leader_gone;           /* the host freed the leader's election: the task ends */
  k8sha__env *env;
  k8sha_election *leader;
  uint64_t term;
  task_kind kind;
  unsigned int flags;
  char job_id[K8SHA__JOB_ID_LEN + 1];
  k8sha_found_cb found;
  k8sha_cleanup_done_cb done;
  void *user_data;
  int step;           /* an S_* step, or one of the task's own */
  json_t *items;      /* listed HA ConfigMaps */
  char *next_page;    /* the continue token of the LIST in progress, or NULL */
  int list_restarts;  /* LISTs started over after an expired continue token */
  json_t *work;       /* array of strings: the names or URIs being worked through */
  size_t i;
  json_t *referenced; /* orphan scan: URI -> true */
  k8sha__fcm *jf, *cf;
  k8sha__hstore *jh, *ch;
  k8sha__timer *kick;
  char *cm_name, *cluster_cm;
  char leader_key[128];
  char folder[K8SHA__URI_MAX];  /* canonical <storageDir>/<ha-cluster-id>/ */
  char sibling[K8SHA__URI_MAX]; /* orphan scan: Flink's default folder beside it */
  int watching;                 /* orphan scan: watching pins */
  size_t sibling_blobs;
} task;

void k8sha__task_end(task *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Ends the task at a step its run function has no case for (a defect), saying so. */
void k8sha__task_bad_step(task *t);
/* With `err` set, ends the task with `message` (or the error's text) and returns 1; else 0. */
int k8sha__task_failed(task *t, int err, const char *message);
void k8sha__task_report(task *t, k8sha_found_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Advances the task: its next step (ended when the leader's election was freed). */
void k8sha__task_run(task *t, int err, const char *message);
/* The callback of a fenced ConfigMap (or store) operation: advances the task. */
void k8sha__task_on_fcm(int err, const char *message, void *ud);
const char *k8sha__task_item_name(json_t *item);
json_t *k8sha__task_item_named(task *t, const char *name);
/* Lists the cluster's ConfigMaps (step S_LISTED) / the blobs of its HA folder (S_BLOBS_LISTED). */
int k8sha__task_list_configmaps(task *t);
int k8sha__task_list_blobs(task *t);
/* Adds the blobs the pointers of `obj` name to t->referenced (canonical). With `strict` any value
 * it cannot read, or one outside the HA folder, ends the task (returns -1): nothing is deleted on
 * a guess; without, such a value is reported "unreadable". */
int k8sha__task_collect_references(task *t, json_t *obj, int strict);
/* Filters t->items to the HA ConfigMaps, t->work to blob names a store writes (canonical). */
void k8sha__task_keep_ha_items(task *t);
int k8sha__task_keep_blob_names(task *t);
/* Reports and deletes the next blob of t->work that goes; ends the task after the last. */
int k8sha__task_next_blob(task *t);
int k8sha__task_start(k8sha__env *env, k8sha_election *leader, task_kind kind, const char *job_id,
                      unsigned int flags, k8sha_found_cb found, k8sha_cleanup_done_cb done,
                      void *user_data);

/* Each task's own steps: cleanup_job.c (the job cleanup and its dry run), cleanup_cluster.c,
 * orphans.c. */
void k8sha__cleanup_job_run(task *t, int err, const char *message);
void k8sha__cleanup_dry_job_run(task *t, int err, const char *message);
void k8sha__cleanup_cluster_run(task *t, int err, const char *message);
void k8sha__orphans_run(task *t, int err, const char *message);
int k8sha__orphans_pinned(task *t, const char *canon);

#endif
