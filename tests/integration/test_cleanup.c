/* Cleanup of a job and of a cluster, and the orphan scan, against kube-lite; and objects that
 * outlive their election or context. */
#include "storefix.h"

static void put_graph(fixture *f, const char *job) {
  k8sha_jobgraph_store *g = NULL;
  res r;
  res_init(f, &r);
  ck_assert_int_eq(k8sha_jobgraph_store_open(&g, f->e, on_jg, &r), 0);
  it_run_until(&f->t, &r.done);
  res_init(f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put(g, job, "graph", 5, on_jg, &r), 0);
  it_run_until(&f->t, &r.done);
  ck_assert_int_eq(r.err, 0);
  k8sha_jobgraph_store_free(g);
}

static const char *const keep3[] = {"execution.checkpointing.num-retained", "3", NULL};

/* Two checkpoints, a counter and a job graph: three blobs (with num-retained 3). */
static void fill_job(fixture *f) {
  k8sha_checkpoint_store *s;
  res r;
  s = open_store(f);
  ck_assert_int_eq(cp_add(f, s, 1, "one", &r), 0);
  ck_assert_int_eq(cp_add(f, s, 2, "two", &r), 0);
  res_init(f, &r);
  ck_assert_int_eq(k8sha_checkpoint_counter_set(s, 3, on_cp, &r), 0);
  it_run_until(&f->t, &r.done);
  k8sha_checkpoint_store_free(s);
  put_graph(f, JOB);
}

START_TEST(cleanup_job_dry_run_then_real_then_again) {
  fixture f;
  found_log l;
  json_t *cm;
  char want[64];

  setup_with(&f, NULL, keep3, K8SHA_LOCK_CONFIGMAP);
  fill_job(&f);
  ck_assert_int_eq(blob_count(&f), 3);
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_job(f.ctx, NULL, JOB, K8SHA_CLEANUP_DRY_RUN, on_found,
                                     on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_int_eq(l.err, 0);
  ck_assert_ptr_nonnull(strstr(l.seen, "entry " JOB_CM "/checkpointID-0000000000000000001"));
  ck_assert_ptr_nonnull(strstr(l.seen, "entry " JOB_CM "/counter"));
  ck_assert_ptr_nonnull(strstr(l.seen, "configmap " JOB_CM));
  ck_assert_ptr_nonnull(strstr(l.seen, "entry it-cluster-config-map/jobGraph-" JOB));
  snprintf(want, sizeof(want), "blob %s://", storage_scheme());
  ck_assert_ptr_nonnull(strstr(l.seen, want));
  ck_assert_int_eq(blob_count(&f), 3); /* a dry run deletes nothing */
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_nonnull(cm);
  json_decref(cm);

  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_job(f.ctx, NULL, JOB, 0, on_found, on_cleaned, &l), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_cleanup_job(f.ctx, f.e, JOB, 0, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_eq(blob_count(&f), 0);
  ck_assert_ptr_null(get_cm(&f, JOB_PATH));
  cm = get_cm(&f, CLUSTER_PATH);
  ck_assert_ptr_null(data_of(cm, "jobGraph-" JOB));
  json_decref(cm);

  /* idempotent: again, nothing left to do, success */
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_job(f.ctx, f.e, JOB, 0, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_eq(l.count, 0);
  teardown(&f);
}
END_TEST

START_TEST(cleanup_job_resumes_after_failed_blob_delete) {
  fixture f;
  membackend m;
  json_t *cm;
  found_log l;
  k8sha_checkpoint_store *s;
  res r;

  setup_mem(&f, &m, NULL);
  s = open_store(&f);
  ck_assert_int_eq(cp_add(&f, s, 1, "one", &r), 0);
  k8sha_checkpoint_store_free(s);
  m.fail_remove = 1;
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_job(f.ctx, f.e, JOB, 0, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_int_eq(l.err, K8SHA_ESTORAGE);
  ck_assert_int_eq(m.blobs, 1);
  cm = get_cm(&f, JOB_PATH); /* the ConfigMap stays until its entries are gone */
  ck_assert_ptr_nonnull(cm);
  json_decref(cm);
  m.fail_remove = 0;
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_job(f.ctx, f.e, JOB, 0, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_eq(m.blobs, 0);
  ck_assert_ptr_null(get_cm(&f, JOB_PATH));
  teardown(&f);
}
END_TEST

#define JOB2 "fedcba9876543210fedcba9876543210"

START_TEST(orphans_found_and_deleted_by_leader) {
  fixture f;
  found_log l;
  k8sha_checkpoint_store *s = NULL;
  res r;
  char stray[2048], want[64];
  static const char left[] = "left by a crash between blob and pointer";

  setup_with(&f, NULL, keep3_short_lease, K8SHA_LOCK_CONFIGMAP);
  fill_job(&f); /* JOB has a graph */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_store_open(&s, f.e, JOB2, on_cp, &r), 0);
  it_run_until(&f.t, &r.done);
  k8sha_checkpoint_store_free(s); /* JOB2's ConfigMap exists, its graph does not */
  snprintf(stray, sizeof(stray), "%s/completedCheckpoint00000000abcd", f.blobs);
  blob_write(stray, left, strlen(left));

  log_init(&f, &l);
  ck_assert_int_eq(k8sha_orphans_scan(f.ctx, NULL, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_eq(l.count, 2);
  snprintf(want, sizeof(want), "orphan-blob %s://", storage_scheme());
  ck_assert_ptr_nonnull(strstr(l.seen, want));
  ck_assert_ptr_nonnull(strstr(l.seen, "completedCheckpoint00000000abcd"));
  ck_assert_ptr_nonnull(strstr(l.seen, "orphan-configmap it-" JOB2 "-config-map"));
  ck_assert_int_eq(blob_exists(stray), 1); /* a scan without a leader deletes nothing */

  log_init(&f, &l);
  ck_assert_int_eq(k8sha_orphans_scan(f.ctx, f.e, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_eq(blob_exists(stray), 0);
  ck_assert_int_eq(blob_count(&f), 3); /* the referenced ones stay */
  teardown(&f);
}
END_TEST

/* A leader's own scan while one of its adds is in flight (its blob written and listed, the
 * write not yet complete for longer than the scan's minimum age, so no pointer names it): the
 * scan must not delete that blob, and the add then commits a pointer to an intact blob. */
START_TEST(orphans_spare_an_add_in_flight) {
  static const char *const timing[] = {
      "high-availability.kubernetes.leader-election.lease-duration", "2 s",
      "high-availability.kubernetes.leader-election.renew-deadline", "1500 ms",
      "high-availability.kubernetes.leader-election.retry-period", "300 ms", NULL};
  fixture f;
  membackend m;
  found_log l;
  k8sha_checkpoint_store *s;
  res r, rec;
  int turns = 0;

  setup_mem(&f, &m, timing);
  s = open_store(&f);
  m.hold_write = 1;
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_add(s, 1, "one", 3, on_cp, &r), 0); /* not waited on */
  while (!m.held) {
    ck_assert_msg(turns++ < 100000, "the blob write never started");
    uv_run(&f.t.loop, UV_RUN_ONCE);
  }
  ck_assert_int_eq(m.blobs, 1);
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_orphans_scan(f.ctx, f.e, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_msg(strstr(l.seen, "orphan-blob") == NULL, "%s", l.seen);
  ck_assert_int_eq(m.blobs, 1);
  ck_assert_int_eq(m.removes, 0);
  k8sha_storage_op_complete(m.held, 0, NULL, NULL, 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  recover(&f, s, &rec);
  ck_assert_int_eq(rec.err, 0);
  ck_assert_uint_eq(rec.n, 1);
  ck_assert_str_eq(rec.data[0], "one");
  k8sha_checkpoint_store_free(s);
  teardown(&f);
}
END_TEST

/* The server fails every LIST of ConfigMaps (500, after the client's own retries): the scan,
 * with or without a leader, ends with that error and takes no blob for an orphan. A failed
 * listing taken for an empty one would make every blob unreferenced, and a leader's scan would
 * delete them all. */
START_TEST(orphans_never_take_a_failed_listing_for_an_empty_one) {
  static const char *const timing[] = {
      "high-availability.kubernetes.leader-election.lease-duration", "2 s",
      "high-availability.kubernetes.leader-election.renew-deadline", "1500 ms",
      "high-availability.kubernetes.leader-election.retry-period", "300 ms", NULL};
  fixture f;
  membackend m;
  found_log l;
  k8sha_checkpoint_store *s;
  res r;
  int scan;

  setup_mem(&f, &m, timing);
  s = open_store(&f);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_add(s, 1, "one", 3, on_cp, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  ck_assert_int_eq(m.blobs, 1);
  ck_assert_int_gt(kubelite_add_fault(f.t.kl, "{\"verbs\":[\"list\"],"
                                              "\"resources\":[\"configmaps\"],\"code\":500}"),
                   0);
  for (scan = 0; scan < 2; scan++) { /* without a leader, then with one (it would delete) */
    log_init(&f, &l);
    ck_assert_int_eq(k8sha_orphans_scan(f.ctx, scan ? f.e : NULL, on_found, on_cleaned, &l), 0);
    it_run_until(&f.t, &l.done);
    ck_assert_msg(l.err == K8SHA_EUNAVAILABLE, "scan %d ended with %s: %s", scan,
                  k8sha_err_name(l.err), l.msg);
    ck_assert_msg(strstr(l.seen, "orphan-blob") == NULL, "%s", l.seen);
    ck_assert_int_eq(m.blobs, 1);
    ck_assert_int_eq(m.removes, 0);
  }
  /* (through a shared fault proxy the rule would outlive the test) */
  ck_assert_int_ge(kubelite_clear_faults(f.t.kl), 0);
  k8sha_checkpoint_store_free(s);
  teardown(&f);
}
END_TEST

/* A store freed while its blob write is in flight, then its context, before the backend
 * completes: the write's callback never comes, and what the store left to it is released once
 * the backend is done (ASan and valgrind, which run this suite, see any leak). */
/* The election freed before what was made with it: its stores and a cleanup task become inert,
 * every operation on them completing with K8SHA_ECANCELED and writing nothing (a crash before). */
START_TEST(stores_and_tasks_outlive_their_election_inert) {
  fixture f;
  k8sha_checkpoint_store *s;
  k8sha_jobgraph_store *g = NULL;
  found_log l;
  res r;
  int blobs;

  setup(&f);
  s = open_store(&f);
  ck_assert_int_eq(cp_add(&f, s, 1, "one", &r), 0);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_store_open(&g, f.e, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_job(f.ctx, f.e, JOB, 0, on_found, on_cleaned, &l), 0);
  blobs = blob_count(&f);

  k8sha_election_free(f.e); /* before the task's first step */
  f.e = NULL;
  it_run_until(&f.t, &l.done);
  ck_assert_int_eq(l.err, K8SHA_ECANCELED);
  ck_assert_int_eq(cp_add(&f, s, 2, "two", &r), K8SHA_ECANCELED);
  ck_assert_msg(strstr(r.msg, "election was freed") != NULL, "%s", r.msg);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_recover(s, on_recovered, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, K8SHA_ECANCELED);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put(g, JOB, "graph", 5, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, K8SHA_ECANCELED);
  ck_assert_int_eq(blob_count(&f), blobs); /* nothing written, nothing deleted */
  {
    json_t *cm = get_cm(&f, JOB_PATH);
    ck_assert_ptr_nonnull(data_of(cm, "checkpointID-0000000000000000001"));
    ck_assert_ptr_null(data_of(cm, "checkpointID-0000000000000000002"));
    json_decref(cm);
  }
  k8sha_jobgraph_store_free(g);
  k8sha_checkpoint_store_free(s);
  teardown(&f);
}
END_TEST

START_TEST(store_then_context_freed_with_a_blob_write_in_flight) {
  fixture f;
  membackend m;
  k8sha_checkpoint_store *s;
  res r;
  int turns = 0;

  setup_mem(&f, &m, NULL);
  s = open_store(&f);
  m.hold_write = 1;
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_add(s, 1, "one", 3, on_cp, &r), 0);
  while (!m.held) {
    ck_assert_msg(turns++ < 100000, "the blob write never started");
    uv_run(&f.t.loop, UV_RUN_ONCE);
  }
  k8sha_checkpoint_store_free(s);
  k8sha_election_free(f.e);
  f.e = NULL;
  k8sha_ctx_free(f.ctx);
  f.ctx = NULL;
  k8sha_storage_op_complete(m.held, 0, NULL, NULL, 0);
  teardown(&f);
  ck_assert_int_eq(r.done, 0); /* the add's callback never came */
}
END_TEST

/* A pointer the scan cannot read (damaged, or bytes in a host's own form) may name any blob:
 * the scan deletes nothing and names the entry. */
START_TEST(orphans_fail_closed_on_unreadable_pointers) {
  static const char *const values[] = {"rO0ABXQAA2FiYw==", "bm90LWEtcG9pbnRlcg==", "%%%"};
  size_t v;
  for (v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
    fixture f;
    found_log l;
    json_t *cm;
    char stray[2048];

    setup_with(&f, NULL, keep3, K8SHA_LOCK_CONFIGMAP);
    fill_job(&f);
    cm = get_cm(&f, JOB_PATH);
    json_object_set_new(json_object_get(cm, "data"), "checkpointID-0000000000000000009",
                        json_string(values[v]));
    put_cm(&f, JOB_PATH, cm);
    json_decref(cm);
    snprintf(stray, sizeof(stray), "%s/completedCheckpoint00000000abcd", f.blobs);
    blob_write(stray, "unreferenced", 12);
    log_init(&f, &l);
    ck_assert_int_eq(k8sha_orphans_scan(f.ctx, NULL, on_found, on_cleaned, &l), 0);
    it_run_until(&f.t, &l.done);
    ck_assert_int_eq(l.err, K8SHA_ECORRUPT);
    ck_assert_msg(strstr(l.msg, "checkpointID-0000000000000000009") && strstr(l.msg, JOB_CM) &&
                      strstr(l.msg, "nothing was deleted"),
                  "%s", l.msg);
    ck_assert_int_eq(blob_exists(stray), 1);
    ck_assert_int_eq(blob_count(&f), 4);
    teardown(&f);
  }
}
END_TEST

START_TEST(cleanup_cluster_removes_everything) {
  fixture f;
  found_log l;
  it_result lr;

  setup_with(&f, NULL, keep3, K8SHA_LOCK_CONFIGMAP);
  fill_job(&f);
  k8sha_election_free(f.e); /* a stopped cluster */
  f.e = NULL;
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_cluster(f.ctx, K8SHA_CLEANUP_DRY_RUN, on_found, on_cleaned, &l),
                   0);
  it_run_until(&f.t, &l.done);
  ck_assert_int_eq(l.err, 0);
  ck_assert_int_eq(l.count, 2 + 3); /* two ConfigMaps, three blobs */
  ck_assert_int_eq(blob_count(&f), 3);
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_cluster(f.ctx, 0, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_eq(blob_count(&f), 0);
  it_request(&f.t, f.ctx, K8SHA__LIST,
             "/api/v1/namespaces/flink/configmaps?labelSelector=app%3Dit", NULL, NULL, 5000, 1,
             &lr);
  ck_assert_ptr_null(strstr(lr.body, "config-map"));
  /* again: nothing left, success */
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_cluster(f.ctx, 0, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_int_eq(l.err, 0);
  ck_assert_int_eq(l.count, 0);
  teardown(&f);
}
END_TEST

static uv_loop_t *pub_loop;

static void on_published(k8sha_election *e, int status, void *ud) {
  int *done = ud;
  (void)e;
  *done = status == 0 ? 1 : status;
  uv_stop(pub_loop);
}

/* Under a Lease lock the published addresses have a ConfigMap of their own; with Flink 2's
 * layout (no configmap-type label) only its name says it is the cluster's: cleanup deletes it
 * too. */
START_TEST(cleanup_cluster_removes_the_lease_addresses) {
  static const char *const layout2[] = {"libk8sha.flink-layout", "2.x", NULL};
  fixture f;
  found_log l;
  it_result lr;
  int published = 0;

  setup_with(&f, NULL, layout2, K8SHA_LOCK_LEASE);
  pub_loop = &f.t.loop;
  ck_assert_int_eq(k8sha_election_publish(f.e, "restserver", "http://one:8081", on_published,
                                          &published), 0);
  it_run_until(&f.t, &published);
  ck_assert_int_eq(published, 1);
  it_request(&f.t, f.ctx, K8SHA__GET, "/api/v1/namespaces/flink/configmaps/it-cluster-lease-addresses",
             NULL, NULL, 5000, 1, &lr);
  ck_assert_int_eq(lr.err, 0);
  ck_assert_ptr_null(strstr(lr.body, "configmap-type"));
  k8sha_election_free(f.e); /* a stopped cluster */
  f.e = NULL;
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_cluster(f.ctx, 0, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  it_request(&f.t, f.ctx, K8SHA__LIST,
             "/api/v1/namespaces/flink/configmaps?labelSelector=app%3Dit", NULL, NULL, 5000, 1,
             &lr);
  ck_assert_int_eq(lr.err, 0);
  ck_assert_ptr_null(strstr(lr.body, "it-cluster-lease-addresses"));
  teardown(&f);
}
END_TEST

/* A cluster with more HA ConfigMaps than one page of a LIST: cleanup lists them page by page
 * (limit/continue), so no response carries them all, and finds every one. */
START_TEST(cleanup_lists_many_configmaps_in_pages) {
  fixture f;
  found_log l;
  it_result r;
  int i;
  long lists;
  char path[128], body[512];

  setup_with(&f, NULL, NULL, K8SHA_LOCK_CONFIGMAP);
  k8sha_election_free(f.e);
  f.e = NULL;
  for (i = 0; i < 70; i++) {
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
             "\"it-%032x-config-map\",\"labels\":{\"app\":\"it\",\"type\":"
             "\"flink-native-kubernetes\",\"configmap-type\":\"high-availability\"}}}",
             i + 1);
    snprintf(path, sizeof(path), "/api/v1/namespaces/flink/configmaps");
    it_request(&f.t, f.ctx, K8SHA__CREATE, path, body, NULL, 5000, 1, &r);
    ck_assert_msg(r.err == 0, "creating ConfigMap %d: %s", i, r.message);
  }
  lists = kubelite_count(f.t.kl, "list", "configmaps", 200);
  ck_assert_int_ge(lists, 0);
  log_init(&f, &l);
  ck_assert_int_eq(k8sha_cleanup_cluster(f.ctx, K8SHA_CLEANUP_DRY_RUN, on_found, on_cleaned, &l),
                   0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_ge(l.count, 70);
  /* 70 ConfigMaps and the lock, 32 per page: three pages */
  ck_assert_int_ge(kubelite_count(f.t.kl, "list", "configmaps", 200) - lists, 3);
  teardown(&f);
}
END_TEST

int main(void) {
  Suite *s = suite_create("cleanup");
  TCase *tc = tcase_create("cleanup");
  tcase_set_timeout(tc, 120);
  it_add(tc, cleanup_job_dry_run_then_real_then_again, IT_ANY);
  it_add(tc, cleanup_job_resumes_after_failed_blob_delete, IT_ANY);
  it_add(tc, orphans_found_and_deleted_by_leader, IT_ANY);
  it_add(tc, orphans_spare_an_add_in_flight, IT_ANY);
  it_add(tc, orphans_fail_closed_on_unreadable_pointers, IT_ANY);
  it_add(tc, orphans_never_take_a_failed_listing_for_an_empty_one, IT_FAULTS);
  it_add(tc, cleanup_cluster_removes_everything, IT_ANY);
  it_add(tc, cleanup_cluster_removes_the_lease_addresses, IT_ANY);
  it_add(tc, cleanup_lists_many_configmaps_in_pages, IT_ANY);
  it_add(tc, stores_and_tasks_outlive_their_election_inert, IT_ANY);
  it_add(tc, store_then_context_freed_with_a_blob_write_in_flight, IT_ANY);
  suite_add_tcase(s, tc);
  return it_run_suite(s);
}
