/* The HA stores against kube-lite: Flink's state-handle-store, counter and checkpoint-store cases
 * (add/replace/remove with marked entries, idempotent re-add, non-leader writes refused with
 * nothing touched, unknown outcome keeps the blob, failing blob delete leaves a resumable marker,
 * counter set/get-and-increment/shutdown) and libk8sha's own: fenced job ConfigMaps, size
 * accounting before the server, conflicts retried, one request per commit, corrupted blobs
 * reported by id. */
#include "core/alloc.h"
#include "core/base64.h"
#include "store/pointer.h"
#include "storefix.h"

/* 1 when the store's cached state holds `key` as a live (not marked) entry. */
static int live_entry(const k8sha__hstore *s, const char *key) {
  char **keys = NULL;
  size_t n = 0, i;
  int found = 0;
  ck_assert_int_eq(k8sha__hstore_keys(s, key, &keys, &n), 0);
  for (i = 0; i < n; i++)
    found |= strcmp(keys[i], key) == 0;
  k8sha__hstore_keys_free(s, keys, n);
  return found;
}

START_TEST(handles_add_get_replace_remove) {
  fixture f;
  hfix h;
  res r;
  json_t *cm;
  char **keys;
  size_t n;

  setup(&f);
  h_open(&f, &h);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_nonnull(cm); /* the claim created it, with Flink's labels and our term */
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(json_object_get(cm, "metadata"), "labels"), "app")),
                   "it");
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(json_object_get(cm, "metadata"), "labels"),
                       "configmap-type")),
                   "high-availability");
  ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(cm, "metadata"),
                                                        "annotations"),
                                        K8SHA__TERM_ANNOTATION));
  json_decref(cm);

  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "state-one", &r), 0);
  ck_assert_int_eq(blob_count(&f), 1);
  ck_assert_int_eq(live_entry(h.h, "checkpointID-1"), 1);
  ck_assert_int_eq(live_entry(h.h, "checkpointID-2"), 0);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_str_eq(r.data[0], "state-one");
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-2", &r), K8SHA_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(r.msg, "checkpointID-2"));

  /* replace: a new blob, the old one deleted after the commit */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha__hstore_replace(h.h, "checkpointID-1", "state-1b", 8, on_h, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(blob_count(&f), 1);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_str_eq(r.data[0], "state-1b");
  res_init(&f, &r);
  ck_assert_int_eq(k8sha__hstore_replace(h.h, "checkpointID-9", "x", 1, on_h, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, K8SHA_ENOTFOUND);
  ck_assert_int_eq(blob_count(&f), 1); /* the refused replace wrote no blob */

  ck_assert_int_eq(h_add(&f, &h, "checkpointID-2", "state-two", &r), 0);
  ck_assert_int_eq(k8sha__hstore_keys(h.h, "checkpointID-", &keys, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(keys[0], "checkpointID-1");
  ck_assert_str_eq(keys[1], "checkpointID-2");
  k8sha__hstore_keys_free(h.h, keys, n);

  /* remove: the key and the blob go; removing an absent key succeeds */
  ck_assert_int_eq(h_remove(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_int_eq(blob_count(&f), 1);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_null(data_of(cm, "checkpointID-1"));
  ck_assert_ptr_nonnull(data_of(cm, "checkpointID-2"));
  json_decref(cm);
  ck_assert_int_eq(h_remove(&f, &h, "checkpointID-1", &r), 0);
  /* The store's state, built from its writes' answers (the metadata alone) and the changes it
   * sent, is the server's object: data and resourceVersion alike. */
  cm = get_cm(&f, JOB_PATH);
  ck_assert_msg(json_equal(json_object_get(cm, "data"),
                           json_object_get(k8sha__fcm_object(h.fcm), "data")),
                "the store's data differs from the server's");
  ck_assert_str_eq(json_string_value(json_object_get(json_object_get(cm, "metadata"),
                                                     "resourceVersion")),
                   json_string_value(json_object_get(
                       json_object_get(k8sha__fcm_object(h.fcm), "metadata"), "resourceVersion")));
  json_decref(cm);
  h_close(&h);
  teardown(&f);
}
END_TEST

START_TEST(handles_identical_readd_and_different_entry) {
  fixture f;
  hfix h;
  res r;
  long updates;

  /* a Lease lock: the election's renewals are not ConfigMap updates, so counts are ours */
  setup_with(&f, NULL, NULL, K8SHA_LOCK_LEASE);
  h_open(&f, &h);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "same", &r), 0);
  updates = kubelite_count(f.t.kl, "patch", "configmaps", 0);
  /* a retried add of identical content succeeds without a blob or a write */
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "same", &r), 0);
  ck_assert_int_eq(blob_count(&f), 1);
  ck_assert_int_eq(kubelite_count(f.t.kl, "patch", "configmaps", 0), updates);
  /* different content under the same key: refused, nothing left behind */
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "other", &r), K8SHA_EEXISTS);
  ck_assert_ptr_nonnull(strstr(r.msg, "checkpointID-1"));
  ck_assert_int_eq(blob_count(&f), 1);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_str_eq(r.data[0], "same");
  h_close(&h);
  teardown(&f);
}
END_TEST

START_TEST(handles_marked_entries_count_as_absent_and_removal_resumes) {
  fixture f;
  hfix h;
  res r;
  json_t *cm, *data;
  char *marked;
  char **keys;
  size_t n;

  setup(&f);
  h_open(&f, &h);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), 0);
  ck_assert_int_eq(blob_count(&f), 1);
  /* A crash after marking: the entry carries the marker, its blob still exists. */
  cm = get_cm(&f, JOB_PATH);
  data = json_object_get(cm, "data");
  marked = malloc(strlen(data_of(cm, "checkpointID-1")) + 16);
  sprintf(marked, K8SHA__DELETING_MARKER "%s", data_of(cm, "checkpointID-1"));
  json_object_set_new(data, "checkpointID-1", json_string(marked));
  free(marked);
  put_cm(&f, JOB_PATH, cm);
  json_decref(cm);

  /* our cached state is stale: the next operation meets a conflict, re-reads, and sees it */
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-2", "two", &r), 0);
  ck_assert_int_eq(live_entry(h.h, "checkpointID-1"), 0);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-1", &r), K8SHA_ENOTFOUND);
  ck_assert_int_eq(k8sha__hstore_keys(h.h, "checkpointID-", &keys, &n), 0);
  ck_assert_uint_eq(n, 1);
  k8sha__hstore_keys_free(h.h, keys, n);
  ck_assert_int_eq(k8sha__hstore_marked_keys(h.h, "checkpointID-", &keys, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(keys[0], "checkpointID-1");
  k8sha__hstore_keys_free(h.h, keys, n);
  ck_assert_int_eq(blob_count(&f), 2);
  /* removing it again finishes the job: blob deleted, key dropped */
  ck_assert_int_eq(h_remove(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_int_eq(blob_count(&f), 1);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_null(data_of(cm, "checkpointID-1"));
  json_decref(cm);
  h_close(&h);
  teardown(&f);
}
END_TEST


START_TEST(handles_failing_blob_delete_leaves_resumable_marker) {
  fixture f;
  membackend m;
  hfix h;
  res r;
  json_t *cm;

  setup_mem(&f, &m, NULL);
  h_open(&f, &h);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), 0);
  ck_assert_int_eq(m.blobs, 1);
  m.fail_remove = 1;
  ck_assert_int_eq(h_remove(&f, &h, "checkpointID-1", &r), K8SHA_ESTORAGE);
  ck_assert_ptr_nonnull(strstr(r.msg, "permission denied"));
  ck_assert_ptr_nonnull(strstr(r.msg, "again"));
  ck_assert_int_eq(m.blobs, 1);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_msg(strncmp(data_of(cm, "checkpointID-1"), K8SHA__DELETING_MARKER,
                        strlen(K8SHA__DELETING_MARKER)) == 0,
                "the entry is marked");
  json_decref(cm);
  ck_assert_int_eq(live_entry(h.h, "checkpointID-1"), 0);
  m.fail_remove = 0;
  ck_assert_int_eq(h_remove(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_int_eq(m.blobs, 0);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_null(data_of(cm, "checkpointID-1"));
  json_decref(cm);
  h_close(&h);
  teardown(&f);
}
END_TEST

START_TEST(handles_failed_blob_write_commits_nothing) {
  fixture f;
  membackend m;
  hfix h;
  res r;
  long updates;

  /* a Lease lock: the election's renewals are not ConfigMap updates, so counts are ours */
  setup_mem_with(&f, &m, NULL, K8SHA_LOCK_LEASE);
  h_open(&f, &h);
  updates = kubelite_count(f.t.kl, "patch", "configmaps", 0);
  m.fail_write = 1;
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), K8SHA_ESTORAGE);
  ck_assert_ptr_nonnull(strstr(r.msg, "disk full"));
  ck_assert_ptr_nonnull(strstr(r.msg, "mem://bucket/ha/it/completedCheckpoint"));
  ck_assert_int_eq(kubelite_count(f.t.kl, "patch", "configmaps", 0), updates);
  ck_assert_int_eq(live_entry(h.h, "checkpointID-1"), 0);
  h_close(&h);
  teardown(&f);
}
END_TEST

START_TEST(handles_definite_failure_deletes_new_blob) {
  fixture f;
  membackend m;
  hfix h;
  res r;

  setup_mem(&f, &m, NULL);
  h_open(&f, &h);
  /* the server refuses the update (the patch, then the whole object the store writes after a
   * patch refused with 403): nothing committed, the new blob is deleted */
  ck_assert_int_gt(
      kubelite_add_fault(f.t.kl, "{\"verbs\":[\"update\",\"patch\"],\"resources\":[\"configmaps\"],"
                                 "\"name\":\"" JOB_CM "\",\"code\":403,\"count\":2}"),
      0);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), K8SHA_EFORBIDDEN);
  ck_assert_int_eq(m.blobs, 0);
  ck_assert_int_eq(m.removes, 1);
  ck_assert_int_eq(live_entry(h.h, "checkpointID-1"), 0);
  h_close(&h);
  teardown(&f);
}
END_TEST

/* The server applied the commit and the connection died before its answer (an API server going
 * down, a proxy restarting): the outcome is unknown, the blob stays, the request is not sent a
 * second time, and the entry the server holds is readable. (libcurl would resend the write on
 * a fresh connection by itself; the resend met a 409, the store read the ConfigMap again, found
 * its own entry and took it for someone else's identical one: it deleted the blob of a committed
 * pointer.) */
/* A Role without the verb "patch" (every patch answered 403): the store writes whole objects
 * instead, after one refused patch per ConfigMap, and commits as before. */
START_TEST(commit_without_patch_verb_writes_whole_objects) {
  fixture f;
  k8sha_checkpoint_store *s;
  res r;
  long puts, refused;

  setup_with(&f, NULL, NULL, K8SHA_LOCK_LEASE);
  ck_assert_int_gt(kubelite_add_fault(f.t.kl, "{\"verbs\":[\"patch\"],\"resources\":"
                                              "[\"configmaps\"],\"code\":403}"),
                   0);
  puts = kubelite_count(f.t.kl, "update", "configmaps", 200);
  refused = kubelite_count(f.t.kl, "patch", "configmaps", 403);
  s = open_store(&f);
  ck_assert_int_eq(cp_add(&f, s, 1, "one", &r), 0);
  ck_assert_int_eq(cp_add(&f, s, 2, "two", &r), 0);
  ck_assert_int_eq(cp_add(&f, s, 3, "three", &r), 0);
  ck_assert_int_eq(kubelite_count(f.t.kl, "patch", "configmaps", 403), refused + 1);
  ck_assert_int_eq(kubelite_count(f.t.kl, "update", "configmaps", 200), puts + 3);
  k8sha_checkpoint_store_free(s);
  s = open_store(&f);
  recover(&f, s, &r);
  ck_assert_uint_ge(r.n, 1);
  ck_assert_uint_eq(r.ids[r.n - 1], 3);
  ck_assert_int_eq(r.status[r.n - 1], 0);
  k8sha_checkpoint_store_free(s);
  /* (the rule has no count: a fault proxy in front of a real server outlives the test) */
  ck_assert_int_ge(kubelite_clear_faults(f.t.kl), 0);
  teardown(&f);
}
END_TEST

START_TEST(handles_commit_applied_then_connection_dropped_keeps_blob) {
  fixture f;
  membackend m;
  hfix h;
  res r;

  setup_mem(&f, &m, NULL);
  h_open(&f, &h);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), 0); /* a connection to reuse */
  ck_assert_int_gt(
      kubelite_add_fault(f.t.kl, "{\"verbs\":[\"update\",\"patch\"],\"resources\":[\"configmaps\"],"
                                 "\"name\":\"" JOB_CM "\",\"afterApply\":true,\"drop\":true,"
                                 "\"count\":1}"),
      0);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-2", "two", &r), K8SHA_EUNKNOWN_OUTCOME);
  ck_assert_ptr_nonnull(strstr(r.msg, "kept"));
  ck_assert_int_eq(m.removes, 0);
  ck_assert_int_eq(m.blobs, 2);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-2", &r), 0);
  ck_assert_str_eq(r.data[0], "two");
  h_close(&h);
  teardown(&f);
}
END_TEST

/* A server that applies the commit and answers 409 anyway: the store reads again, finds its own
 * pointer (the same blob) and reports success; the blob is never deleted. */
START_TEST(handles_commit_applied_then_refused_keeps_blob) {
  fixture f;
  membackend m;
  hfix h;
  res r;

  setup_mem(&f, &m, NULL);
  h_open(&f, &h);
  ck_assert_int_gt(
      kubelite_add_fault(f.t.kl, "{\"verbs\":[\"update\",\"patch\"],\"resources\":[\"configmaps\"],"
                                 "\"name\":\"" JOB_CM "\",\"afterApply\":true,\"code\":409,"
                                 "\"count\":1}"),
      0);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), 0);
  ck_assert_int_eq(m.removes, 0);
  ck_assert_int_eq(m.blobs, 1);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_str_eq(r.data[0], "one");
  h_close(&h);
  teardown(&f);
}
END_TEST

typedef struct landing {
  uv_loop_t *loop;
  int landed;
} landing;

/* Notices when checkpointID-2 appears in the job ConfigMap. */
static void on_landing(k8sha_watch *w, const k8sha_watch_event *ev, void *ud) {
  landing *l = ud;
  (void)w;
  if ((ev->type == K8SHA_WATCH_ADDED || ev->type == K8SHA_WATCH_MODIFIED) &&
      strcmp(ev->name, JOB_CM) == 0 && strstr(ev->object_json, "\"checkpointID-2\"")) {
    l->landed = 1;
    uv_stop(l->loop);
  }
}

START_TEST(handles_unknown_outcome_keeps_blob) {
  static const char *const timing[] = {
      "high-availability.kubernetes.leader-election.lease-duration", "6 s",
      "high-availability.kubernetes.leader-election.renew-deadline", "3 s",
      "high-availability.kubernetes.leader-election.retry-period", "1 s", NULL};
  fixture f;
  membackend m;
  hfix h;
  res r;
  landing seen;
  k8sha_watch *w = NULL;

  setup_mem(&f, &m, timing);
  h_open(&f, &h);
  memset(&seen, 0, sizeof(seen));
  seen.loop = &f.t.loop;
  ck_assert_int_eq(k8sha_watch_new(&w, f.ctx, NULL, on_landing, &seen), 0);
  /* 5xx: the server may have applied it. The blob stays; the caller is told. */
  ck_assert_int_gt(
      kubelite_add_fault(f.t.kl, "{\"verbs\":[\"update\",\"patch\"],\"resources\":[\"configmaps\"],"
                                 "\"name\":\"" JOB_CM "\",\"code\":503,\"count\":1}"),
      0);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), K8SHA_EUNKNOWN_OUTCOME);
  ck_assert_ptr_nonnull(strstr(r.msg, "kept"));
  ck_assert_int_eq(m.blobs, 1);
  ck_assert_int_eq(m.removes, 0);
  /* it did not land here: a retry of the same content re-reads, adds, and reuses nothing */
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), 0);

  /* A slow answer: the update lands after our request timeout (1 s = renew/3). */
  ck_assert_int_gt(
      kubelite_add_fault(f.t.kl, "{\"verbs\":[\"update\",\"patch\"],\"resources\":[\"configmaps\"],"
                                 "\"name\":\"" JOB_CM "\",\"latencyMs\":2500,\"count\":1}"),
      0);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-2", "two", &r), K8SHA_EUNKNOWN_OUTCOME);
  ck_assert_int_eq(m.blobs, 3);
  /* wait for the server to apply it (its watch event), then read back: there and readable */
  it_run_until(&f.t, &seen.landed);
  k8sha_watch_free(w);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-2", &r), 0);
  ck_assert_str_eq(r.data[0], "two");
  h_close(&h);
  teardown(&f);
}
END_TEST

START_TEST(handles_conflict_is_retried_and_steady_state_is_one_request) {
  fixture f;
  hfix h;
  res r;
  json_t *cm;
  long gets, updates, conflicts;
  int i;

  /* a Lease lock: the election's renewals are not ConfigMap updates, so counts are ours */
  setup_with(&f, NULL, NULL, K8SHA_LOCK_LEASE);
  h_open(&f, &h);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), 0);
  /* steady state: one update per add, no read */
  gets = kubelite_count(f.t.kl, "get", "configmaps", 0);
  updates = kubelite_count(f.t.kl, "patch", "configmaps", 0);
  for (i = 2; i < 7; i++) {
    char key[32];
    snprintf(key, sizeof(key), "checkpointID-%d", i);
    ck_assert_int_eq(h_add(&f, &h, key, key, &r), 0);
  }
  ck_assert_int_eq(kubelite_count(f.t.kl, "get", "configmaps", 0), gets);
  ck_assert_int_eq(kubelite_count(f.t.kl, "patch", "configmaps", 0), updates + 5);

  /* another writer changes an unrelated key: one 409, a re-read, and the add lands */
  cm = get_cm(&f, JOB_PATH);
  ck_assert_int_eq(json_object_set_new(k8sha__configmap_data(cm, 1), "unrelated", json_string("x")), 0);
  put_cm(&f, JOB_PATH, cm);
  json_decref(cm);
  conflicts = kubelite_count(f.t.kl, "patch", "configmaps", 409);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-7", "seven", &r), 0);
  ck_assert_int_eq(kubelite_count(f.t.kl, "patch", "configmaps", 409), conflicts + 1);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_str_eq(data_of(cm, "unrelated"), "x");
  ck_assert_ptr_nonnull(data_of(cm, "checkpointID-7"));
  json_decref(cm);
  h_close(&h);
  teardown(&f);
}
END_TEST

START_TEST(handles_too_large_refused_before_the_server) {
  fixture f;
  hfix h;
  res r;
  json_t *cm;
  char *big;
  long updates;

  /* a Lease lock: the election's renewals are not ConfigMap updates, so counts are ours */
  setup_with(&f, NULL, NULL, K8SHA_LOCK_LEASE);
  h_open(&f, &h);
  /* fill the ConfigMap to 100 bytes under the limit */
  cm = get_cm(&f, JOB_PATH);
  big = malloc(K8SHA__CONFIGMAP_MAX_BYTES);
  memset(big, 'x', K8SHA__CONFIGMAP_MAX_BYTES - 100 - strlen("filler"));
  big[K8SHA__CONFIGMAP_MAX_BYTES - 100 - strlen("filler")] = '\0';
  ck_assert_int_eq(json_object_set_new(k8sha__configmap_data(cm, 1), "filler", json_string(big)), 0);
  free(big);
  put_cm(&f, JOB_PATH, cm);
  json_decref(cm);
  /* a store opened now reads the new state when it claims the ConfigMap */
  h_close(&h);
  h_open(&f, &h);
  updates = kubelite_count(f.t.kl, "patch", "configmaps", 0);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), K8SHA_ETOOLARGE);
  ck_assert_ptr_nonnull(strstr(r.msg, "1048576"));
  ck_assert_ptr_nonnull(strstr(r.msg, JOB_CM));
  ck_assert_int_eq(kubelite_count(f.t.kl, "patch", "configmaps", 0), updates);
  ck_assert_int_eq(blob_count(&f), 0);
  h_close(&h);
  teardown(&f);
}
END_TEST

START_TEST(handles_opaque_pointers) {
  fixture f;
  hfix h;
  res r;
  static const unsigned char java[] = {0xac, 0xed, 0x00, 0x05, 's', 'r', 0x00, 0x01, 'x'};
  int updates;

  setup(&f);
  h_open(&f, &h);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha__hstore_add_pointer(h.h, "checkpointID-1", "K8Pxx", 5, on_h, &r),
                   K8SHA_EINVAL);
  /* bytes that start like Java serialization but are not Flink's handle: the store would take
   * them for a handle whose blob it owns, and could name no blob; refused, nothing written */
  updates = kubelite_count(f.t.kl, "patch", "configmaps", 0);
  ck_assert_int_eq(k8sha__hstore_add_pointer(h.h, "checkpointID-1", java, sizeof(java), on_h, &r),
                   K8SHA_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(k8sha_last_error(), "0xACED"));
  ck_assert_ptr_nonnull(strstr(k8sha_last_error(), "checkpointID-1"));
  ck_assert_int_eq(kubelite_count(f.t.kl, "patch", "configmaps", 0), updates);
  ck_assert_int_eq(live_entry(h.h, "checkpointID-1"), 0);
  ck_assert_int_eq(k8sha__hstore_add_pointer(h.h, "checkpointID-1", "host-ptr", 8, on_h, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(blob_count(&f), 0);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_int_eq((int)r.value, 1); /* handed back as a pointer */
  ck_assert_int_eq(h_remove(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_int_eq(live_entry(h.h, "checkpointID-1"), 0);
  h_close(&h);
  teardown(&f);
}
END_TEST


/* ---- stores freed from their own callbacks ---- */

/* The host frees the store inside the callback of one of its operations (the documented way to
 * stop using it at once); other operations queued behind it never call back. Each step of a
 * store's life is tried: opened, an add, a recovery, the counter; and the job-graph store's
 * opened, put and get. */
typedef struct freeing {
  uv_loop_t *loop;
  int when, step, done, later_calls;
  k8sha_checkpoint_store *cs;
  k8sha_jobgraph_store *gs;
} freeing;

static void freeing_step(freeing *fr) {
  if (fr->step++ != fr->when)
    return;
  if (fr->cs) {
    k8sha_checkpoint_store_free(fr->cs);
    /* freed: a call made from the same callback is refused, not a crash */
    ck_assert_int_eq(k8sha_checkpoint_add(fr->cs, 99, "x", 1, NULL, NULL), K8SHA_ECLOSED);
  }
  if (fr->gs) {
    k8sha_jobgraph_store_free(fr->gs);
    ck_assert_int_eq(k8sha_jobgraph_put(fr->gs, JOB, "x", 1, NULL, NULL), K8SHA_ECLOSED);
  }
  fr->done = 1;
  uv_stop(fr->loop);
}

static void on_free_cp(k8sha_checkpoint_store *s, int status, void *ud) {
  freeing *fr = ud;
  if (fr->done) {
    fr->later_calls++;
    return;
  }
  ck_assert_msg(status == 0, "checkpoint step %d (freeing at %d): %s", fr->step, fr->when,
                k8sha_checkpoint_store_last_error(s));
  freeing_step(fr);
}

static void on_free_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *l,
                              size_t n, void *ud) {
  (void)l;
  (void)n;
  on_free_cp(s, status, ud);
}

static void on_free_count(k8sha_checkpoint_store *s, int status, uint64_t v, void *ud) {
  (void)v;
  on_free_cp(s, status, ud);
}

static void on_free_committed(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  (void)id;
  on_free_cp(s, status, ud);
}

static void on_free_latest(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *latest,
                           size_t skipped, void *ud) {
  (void)latest;
  (void)skipped;
  on_free_cp(s, status, ud);
}

static void on_free_jg_got(k8sha_jobgraph_store *s, int status, const void *g, size_t len,
                           void *ud);

/* Job-graph operations are not queued behind each other: each callback starts the next one
 * (put, get, remove) before the step that frees the store. */
static void on_free_jg(k8sha_jobgraph_store *s, int status, void *ud) {
  freeing *fr = ud;
  if (fr->done) {
    fr->later_calls++;
    return;
  }
  ck_assert_msg(status == 0, "job graph step %d (freeing at %d): %s", fr->step, fr->when,
                k8sha_jobgraph_store_last_error(s));
  if (fr->step == 0)
    ck_assert_int_eq(k8sha_jobgraph_put(s, JOB, "graph", 5, on_free_jg, fr), 0);
  else if (fr->step == 1)
    ck_assert_int_eq(k8sha_jobgraph_get(s, JOB, on_free_jg_got, fr), 0);
  else
    ck_assert_int_eq(k8sha_jobgraph_remove(s, JOB, on_free_jg, fr), 0);
  freeing_step(fr);
}

static void on_free_jg_got(k8sha_jobgraph_store *s, int status, const void *g, size_t len,
                           void *ud) {
  (void)g;
  (void)len;
  on_free_jg(s, status, ud);
}

START_TEST(stores_freed_from_their_own_callbacks) {
  int when;
  for (when = 0; when < 8; when++) {
    /* (three retained: the two adds in flight at once may commit in either order) */
    static const char *const keep3[] = {"execution.checkpointing.num-retained", "3", NULL};
    fixture f;
    freeing fr;
    setup_with(&f, NULL, keep3, K8SHA_LOCK_CONFIGMAP);
    memset(&fr, 0, sizeof(fr));
    fr.loop = &f.t.loop;
    fr.when = when;
    /* open, then (queued at once, run in turn) every other kind of operation; those behind the
     * one whose callback frees the store never call back */
    ck_assert_int_eq(k8sha_checkpoint_store_open(&fr.cs, f.e, JOB, on_free_cp, &fr), 0);
    ck_assert_int_eq(k8sha_checkpoint_add(fr.cs, 1, "one", 3, on_free_cp, &fr), 0);
    ck_assert_int_eq(k8sha_checkpoint_recover(fr.cs, on_free_recovered, &fr), 0);
    ck_assert_int_eq(k8sha_checkpoint_counter_get_and_increment(fr.cs, on_free_count, &fr), 0);
    ck_assert_int_eq(k8sha_checkpoint_counter_set(fr.cs, 10, on_free_cp, &fr), 0);
    ck_assert_int_eq(k8sha_checkpoint_commit(fr.cs, "ten", 3, on_free_committed, &fr), 0);
    ck_assert_int_eq(k8sha_checkpoint_recover_latest(fr.cs, on_free_latest, &fr), 0);
    ck_assert_int_eq(k8sha_checkpoint_store_shutdown(fr.cs, K8SHA_JOB_SUSPENDED, on_free_cp, &fr),
                     0);
    it_run_until(&f.t, &fr.done);
    ck_assert_int_eq(fr.step, when + 1);
    teardown(&f);
    ck_assert_int_eq(fr.later_calls, 0);
  }
  for (when = 0; when < 3; when++) {
    fixture f;
    freeing fr;
    setup(&f);
    memset(&fr, 0, sizeof(fr));
    fr.loop = &f.t.loop;
    fr.when = when;
    ck_assert_int_eq(k8sha_jobgraph_store_open(&fr.gs, f.e, on_free_jg, &fr), 0);
    it_run_until(&f.t, &fr.done);
    ck_assert_int_eq(fr.step, when + 1);
    teardown(&f);
    ck_assert_int_eq(fr.later_calls, 0);
  }
}
END_TEST

/* ---- checkpoint store and counter ---- */

START_TEST(checkpoints_retained_and_recovered) {
  static const char *const keep2[] = {"execution.checkpointing.num-retained", "2", NULL};
  fixture f;
  k8sha_checkpoint_store *s;
  res r;
  json_t *cm;

  setup_with(&f, NULL, keep2, K8SHA_LOCK_CONFIGMAP);
  s = open_store(&f);
  ck_assert_str_eq(k8sha_checkpoint_store_configmap(s), JOB_CM);
  ck_assert_int_eq(cp_add(&f, s, 1, "s1", &r), 0);
  ck_assert_int_eq(cp_add(&f, s, 2, "s2", &r), 0);
  ck_assert_int_eq(cp_add(&f, s, 3, "s3", &r), 0);
  ck_assert_int_eq(blob_count(&f), 2); /* checkpoint 1's blob is gone with its entry */
  cm = get_cm(&f, JOB_PATH);
  /* subsumed in the same update as the add of 3: marked (its key goes with the next add) */
  ck_assert_ptr_nonnull(strstr(data_of(cm, "checkpointID-0000000000000000001"),
                               K8SHA__DELETING_MARKER));
  ck_assert_ptr_nonnull(data_of(cm, "checkpointID-0000000000000000002"));
  ck_assert_ptr_nonnull(data_of(cm, "checkpointID-0000000000000000003"));
  json_decref(cm);
  recover(&f, s, &r);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_uint_eq(r.ids[0], 2);
  ck_assert_str_eq(r.data[0], "s2");
  ck_assert_uint_eq(r.ids[1], 3);
  ck_assert_str_eq(r.data[1], "s3");
  /* the same id again with the same state: success; different state: exists */
  ck_assert_int_eq(cp_add(&f, s, 3, "s3", &r), 0);
  ck_assert_int_eq(cp_add(&f, s, 3, "other", &r), K8SHA_EEXISTS);
  ck_assert_int_eq(blob_count(&f), 2);
  /* the next add drops the marked key of 1 and marks 2, in its one update */
  ck_assert_int_eq(cp_add(&f, s, 4, "s4", &r), 0);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_null(data_of(cm, "checkpointID-0000000000000000001"));
  ck_assert_ptr_nonnull(strstr(data_of(cm, "checkpointID-0000000000000000002"),
                               K8SHA__DELETING_MARKER));
  json_decref(cm);
  ck_assert_int_eq(blob_count(&f), 2);
  /* an id older than every retained one would be subsumed by its own update: refused, never
   * reported as added (nothing written) */
  ck_assert_int_eq(cp_add(&f, s, 1, "late", &r), K8SHA_EINVAL);
  ck_assert_msg(strstr(r.msg, "checkpointID-0000000000000000001 is older than the 2 newest") !=
                    NULL, "%s", r.msg);
  ck_assert_int_eq(blob_count(&f), 2);
  k8sha_checkpoint_store_free(s);

  /* a new store (a new leader process would do the same) recovers the same */
  s = open_store(&f);
  recover(&f, s, &r);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_uint_eq(r.ids[0], 3);
  ck_assert_uint_eq(r.ids[1], 4);
  k8sha_checkpoint_store_free(s);
  teardown(&f);
}
END_TEST

static int cp_add_retiring(fixture *f, k8sha_checkpoint_store *s, uint64_t id, const char *state,
                           const uint64_t *retire, size_t n, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha_checkpoint_add_retiring(s, id, state, strlen(state), retire, n, on_cp, r),
                   0);
  it_run_until(&f->t, &r->done);
  return r->err;
}

/* The host decides retention (as Flink's subsumption does): exactly the listed checkpoints go,
 * in the add's one update, whatever num-retained says. */
START_TEST(checkpoints_retired_as_the_host_decides) {
  static const char *const keep1[] = {"execution.checkpointing.num-retained", "1", NULL};
  static const uint64_t none[1] = {0}, two[] = {2}, one_and_absent[] = {1, 99}, self[] = {5};
  fixture f;
  k8sha_checkpoint_store *s;
  res r;
  json_t *cm;

  setup_with(&f, NULL, keep1, K8SHA_LOCK_CONFIGMAP);
  s = open_store(&f);
  ck_assert_int_eq(cp_add_retiring(&f, s, 1, "c1", none, 0, &r), 0);
  ck_assert_int_eq(cp_add_retiring(&f, s, 2, "s2", NULL, 0, &r), 0); /* beyond num-retained: kept */
  ck_assert_int_eq(cp_add_retiring(&f, s, 3, "s3", two, 1, &r), 0);  /* retires 2, keeps 1 */
  ck_assert_int_eq(blob_count(&f), 2);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_null(strstr(data_of(cm, "checkpointID-0000000000000000001"),
                            K8SHA__DELETING_MARKER));
  ck_assert_ptr_nonnull(strstr(data_of(cm, "checkpointID-0000000000000000002"),
                               K8SHA__DELETING_MARKER));
  json_decref(cm);
  recover(&f, s, &r);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_uint_eq(r.ids[0], 1);
  ck_assert_uint_eq(r.ids[1], 3);
  /* an id the store does not hold is skipped; the marked key of 2 is dropped in this update */
  ck_assert_int_eq(cp_add_retiring(&f, s, 4, "c4", one_and_absent, 2, &r), 0);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_null(data_of(cm, "checkpointID-0000000000000000002"));
  ck_assert_ptr_nonnull(strstr(data_of(cm, "checkpointID-0000000000000000001"),
                               K8SHA__DELETING_MARKER));
  json_decref(cm);
  ck_assert_int_eq(blob_count(&f), 2);
  /* retiring the checkpoint being added: refused, nothing written */
  ck_assert_int_eq(cp_add_retiring(&f, s, 5, "c5", self, 1, &r), K8SHA_EINVAL);
  ck_assert_msg(strstr(r.msg, "checkpointID-0000000000000000005 is among the entries its own add "
                              "retires") != NULL, "%s", r.msg);
  ck_assert_int_eq(blob_count(&f), 2);
  /* a count without a list is a caller's error, reported at once */
  ck_assert_int_eq(k8sha_checkpoint_add_retiring(s, 6, "x", 1, NULL, 1, on_cp, &r), K8SHA_EINVAL);
  recover(&f, s, &r);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_uint_eq(r.ids[0], 3);
  ck_assert_str_eq(r.data[0], "s3");
  ck_assert_uint_eq(r.ids[1], 4);
  /* pointer bytes of the host's, retiring as the host decides */
  {
    static const uint64_t three[] = {3};
    res_init(&f, &r);
    ck_assert_int_eq(k8sha_checkpoint_add_pointer_retiring(s, 7, "host-ptr", 8, three, 1, on_cp,
                                                           &r), 0);
    it_run_until(&f.t, &r.done);
    ck_assert_int_eq(r.err, 0);
  }
  recover(&f, s, &r);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_uint_eq(r.ids[0], 4);
  ck_assert_uint_eq(r.ids[1], 7);
  ck_assert_str_eq(r.data[1], "host-ptr");
  ck_assert_int_eq(blob_count(&f), 1); /* 3's went with its entry, 4's stays */
  k8sha_checkpoint_store_free(s);
  teardown(&f);
}
END_TEST

START_TEST(checkpoints_corrupted_and_missing_blobs_reported_by_id) {
  static const char *const keep3[] = {"execution.checkpointing.num-retained", "3", NULL};
  fixture f;
  k8sha_checkpoint_store *s;
  res r;
  char paths[2][4096];

  setup_with(&f, NULL, keep3, K8SHA_LOCK_CONFIGMAP);
  s = open_store(&f);
  ck_assert_int_eq(cp_add(&f, s, 10, "aaaa", &r), 0);
  only_blob(&f, "completedCheckpoint", paths[0], sizeof(paths[0]));
  ck_assert_int_eq(cp_add(&f, s, 11, "bbbb", &r), 0);
  ck_assert_int_eq(cp_add(&f, s, 12, "cccc", &r), 0);
  /* damage checkpoint 10's blob (same size, other bytes) and delete another one */
  blob_damage(paths[0], "aaab");
  other_blob(&f, paths[0], paths[1], sizeof(paths[1]));
  ck_assert_int_eq(blob_delete(paths[1]), 1);
  recover(&f, s, &r);
  ck_assert_uint_eq(r.n, 3);
  ck_assert_uint_eq(r.ids[0], 10);
  ck_assert_int_eq(r.status[0], K8SHA_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(r.data[0], "completedCheckpoint"));
  /* exactly one of 11 and 12 is missing; the other is intact */
  ck_assert_msg((r.status[1] == K8SHA_ENOTFOUND && r.status[2] == 0) ||
                    (r.status[1] == 0 && r.status[2] == K8SHA_ENOTFOUND),
                "statuses %d %d", r.status[1], r.status[2]);
  k8sha_checkpoint_store_free(s);
  teardown(&f);
}
END_TEST

/* The two steps a scheduler takes: commit the next checkpoint (counter and add in one call) and,
 * when it leads again, take the newest checkpoint that reads back intact. */
static void on_committed(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  res *r = ud;
  r->value = id;
  finish_res(r, status, k8sha_checkpoint_store_last_error(s));
}

static void on_latest(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *latest,
                      size_t skipped, void *ud) {
  res *r = ud;
  (void)s;
  r->n = skipped;
  r->value = latest ? latest->id : 0;
  if (latest)
    snprintf(r->data[0], sizeof(r->data[0]), "%.*s", (int)latest->len,
             (const char *)latest->data);
  finish_res(r, status, NULL);
}

static void commit(fixture *f, k8sha_checkpoint_store *s, const char *state, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha_checkpoint_commit(s, state, strlen(state), on_committed, r), 0);
  it_run_until(&f->t, &r->done);
}

static void latest(fixture *f, k8sha_checkpoint_store *s, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha_checkpoint_recover_latest(s, on_latest, r), 0);
  it_run_until(&f->t, &r->done);
  ck_assert_int_eq(r->err, 0);
}

START_TEST(commit_next_and_recover_latest_intact) {
  static const char *const keep3[] = {"execution.checkpointing.num-retained", "3", NULL};
  fixture f;
  k8sha_checkpoint_store *s;
  res r;
  char first[4096], second[4096];
  json_t *cm;

  setup_with(&f, NULL, keep3, K8SHA_LOCK_CONFIGMAP);
  s = open_store(&f);
  latest(&f, s, &r); /* nothing yet */
  ck_assert_uint_eq(r.value, 0);
  ck_assert_uint_eq(r.n, 0);
  commit(&f, s, "one", &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_uint_eq(r.value, 1);
  only_blob(&f, "completedCheckpoint", first, sizeof(first));
  commit(&f, s, "two", &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_uint_eq(r.value, 2);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_str_eq(data_of(cm, "counter"), "3");
  ck_assert_ptr_nonnull(data_of(cm, "checkpointID-0000000000000000002"));
  json_decref(cm);
  latest(&f, s, &r);
  ck_assert_uint_eq(r.value, 2);
  ck_assert_str_eq(r.data[0], "two");
  ck_assert_uint_eq(r.n, 0);
  /* damage the newest checkpoint's blob: the one before it is the newest intact */
  other_blob(&f, first, second, sizeof(second));
  blob_damage(second, "twX");
  latest(&f, s, &r);
  ck_assert_uint_eq(r.value, 1);
  ck_assert_str_eq(r.data[0], "one");
  ck_assert_uint_eq(r.n, 1);
  k8sha_checkpoint_store_free(s);
  teardown(&f);
}
END_TEST

START_TEST(counter_get_increment_set_shutdown) {
  fixture f;
  k8sha_checkpoint_store *s;
  res r;
  json_t *cm;

  setup(&f);
  s = open_store(&f);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_counter_get(s, on_count, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_uint_eq(r.value, 1); /* the NEXT id, starting at 1 */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_counter_get_and_increment(s, on_count, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_uint_eq(r.value, 1);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_counter_get_and_increment(s, on_count, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_uint_eq(r.value, 2);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_str_eq(data_of(cm, "counter"), "3");
  json_decref(cm);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_counter_set(s, 0, on_cp, &r), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_checkpoint_counter_set(s, 42, on_cp, &r), 0);
  it_run_until(&f.t, &r.done);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_counter_get(s, on_count, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_uint_eq(r.value, 42);
  ck_assert_int_eq(cp_add(&f, s, 41, "s41", &r), 0);

  /* suspended: everything stays */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_store_shutdown(s, K8SHA_JOB_SUSPENDED, on_cp, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(k8sha_checkpoint_add(s, 42, "x", 1, on_cp, &r), K8SHA_ECLOSED);
  k8sha_checkpoint_store_free(s);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_str_eq(data_of(cm, "counter"), "42");
  ck_assert_ptr_nonnull(data_of(cm, "checkpointID-0000000000000000041"));
  json_decref(cm);
  ck_assert_int_eq(blob_count(&f), 1);

  /* globally terminal: checkpoints (and their blobs) and the counter go */
  s = open_store(&f);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_store_shutdown(s, K8SHA_JOB_GLOBALLY_TERMINAL, on_cp, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  k8sha_checkpoint_store_free(s);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_null(data_of(cm, "counter"));
  ck_assert_ptr_null(data_of(cm, "checkpointID-0000000000000000041"));
  json_decref(cm);
  ck_assert_int_eq(blob_count(&f), 0);
  teardown(&f);
}
END_TEST


static void jobgraphs(k8sha_lock_kind kind) {
  fixture f;
  k8sha_jobgraph_store *s = NULL;
  res r;
  json_t *cm;
  char **ids;
  size_t n;

  setup_with(&f, NULL, NULL, kind);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_store_open(&s, f.e, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put(s, "not-a-job-id", "g", 1, on_jg, &r), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_jobgraph_put(s, JOB, "graph-1", 7, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  cm = get_cm(&f, CLUSTER_PATH);
  ck_assert_ptr_nonnull(data_of(cm, "jobGraph-" JOB));
  json_decref(cm);
  ck_assert_int_eq(k8sha_jobgraph_ids(s, &ids, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(ids[0], JOB);
  k8sha_jobgraph_ids_free(s, ids, n);
  /* put again: replaced, the old blob deleted */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put(s, JOB, "graph-2", 7, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(blob_count(&f), 1);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_get(s, JOB, on_jg_got, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_str_eq(r.data[0], "graph-2");
  /* pointer bytes the host encoded replace the graph, whose blob goes; a graph replaces them */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, "K8P", 3, on_jg, &r), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, "host-ptr", 8, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(blob_count(&f), 0);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_get(s, JOB, on_jg_got, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_str_eq(r.data[0], "host-ptr");
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put(s, JOB, "graph-3", 7, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(blob_count(&f), 1);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_remove(s, JOB, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(blob_count(&f), 0);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_get(s, JOB, on_jg_got, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, K8SHA_ENOTFOUND);
  /* the election keeps renewing around the store's writes */
  ck_assert_int_eq(k8sha_election_is_leader(f.e), 1);
  k8sha_jobgraph_store_free(s);
  teardown(&f);
}

START_TEST(jobgraphs_in_lock_configmap) {
  jobgraphs(K8SHA_LOCK_CONFIGMAP);
}
END_TEST

START_TEST(jobgraphs_with_lease_lock) {
  jobgraphs(K8SHA_LOCK_LEASE);
}
END_TEST

/* Fails unless exactly one blob's name starts with `prefix`, and it is longer. */
static void assert_one_blob_named(const fixture *f, const char *prefix) {
  char uri[2048];
  only_blob(f, prefix, uri, sizeof(uri));
  ck_assert_msg(strlen(strrchr(uri, '/') + 1) > strlen(prefix), "blob: '%s'", uri);
}

/* Flink 2.3's applications beside the job graphs, in the same cluster ConfigMap: two stores of
 * one leadership, each seeing only its own entries and naming its blobs after its kind. */
static void applications_beside_job_graphs(k8sha_lock_kind kind) {
  static const char *const layout2[] = {"libk8sha.flink-layout", "2.x", NULL};
  fixture f;
  k8sha_jobgraph_store *jobs = NULL, *apps = NULL, *bad = NULL;
  res r;
  json_t *cm;
  char **ids;
  size_t n;

  setup_with(&f, NULL, layout2, kind);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_store_open_kind(&bad, f.e, (k8sha_graph_kind)7, on_jg, &r),
                   K8SHA_EINVAL);
  ck_assert_ptr_null(bad);
  ck_assert_int_eq(k8sha_jobgraph_store_open(&jobs, f.e, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_store_open_kind(&apps, f.e, K8SHA_GRAPH_APPLICATIONS, on_jg, &r),
                   0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);

  /* one id in both: two entries */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put(jobs, JOB, "plan-1", 6, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put(apps, JOB, "application-1", 13, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  cm = get_cm(&f, CLUSTER_PATH);
  ck_assert_ptr_nonnull(data_of(cm, "executionPlan-" JOB));
  ck_assert_ptr_nonnull(data_of(cm, "application-" JOB));
  ck_assert_ptr_null(data_of(cm, "jobGraph-" JOB));
  json_decref(cm);
  assert_one_blob_named(&f, "submittedApplication");
  assert_one_blob_named(&f, "submittedExecutionPlan");
  ck_assert_int_eq(blob_count(&f), 2);

  ck_assert_int_eq(k8sha_jobgraph_ids(apps, &ids, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(ids[0], JOB);
  k8sha_jobgraph_ids_free(apps, ids, n);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_get(apps, JOB, on_jg_got, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_str_eq(r.data[0], "application-1");

  /* removing the application leaves the plan */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_remove(apps, JOB, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(k8sha_jobgraph_ids(apps, &ids, &n), 0);
  ck_assert_uint_eq(n, 0);
  k8sha_jobgraph_ids_free(apps, ids, n);
  ck_assert_int_eq(blob_count(&f), 1);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_get(jobs, JOB, on_jg_got, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_str_eq(r.data[0], "plan-1");
  k8sha_jobgraph_store_free(apps);
  k8sha_jobgraph_store_free(jobs);
  teardown(&f);
}

START_TEST(applications_beside_job_graphs_in_lock_configmap) {
  applications_beside_job_graphs(K8SHA_LOCK_CONFIGMAP);
}
END_TEST

START_TEST(applications_beside_job_graphs_with_lease_lock) {
  applications_beside_job_graphs(K8SHA_LOCK_LEASE);
}
END_TEST

/* The first place `m` bytes of `needle` occur in `hay`, or NULL. */
static unsigned char *find_bytes(unsigned char *hay, size_t n, const void *needle, size_t m) {
  size_t i;
  for (i = 0; m <= n && i <= n - m; i++)
    if (memcmp(hay + i, needle, m) == 0)
      return hay + i;
  return NULL;
}

/* Flink's own handle of the blob `path` (`size` bytes), made from a handle Flink 1.20.1 wrote
 * (tests/fixtures): its URI string (a Java TC_STRING, two length bytes before it) and its
 * stateSize (eight bytes, big-endian) replaced. The result is checked by the handle grammar. */
static void flink_handle(const char *uri, uint64_t size, unsigned char *out, size_t *out_len) {
  char path[1024];
  json_t *cms, *cm;
  const char *b64 = NULL;
  unsigned char *raw, *u, *sz, be[8], *w;
  size_t n, i, old_len;
  k8sha__value_info info;
  char why[256], *enc;
  json_error_t je;

  snprintf(path, sizeof(path), "%s/tests/fixtures/flink-1.20.1/configmaps.json", SOURCE_ROOT);
  cms = json_load_file(path, 0, &je);
  ck_assert_msg(cms != NULL, "%s: %s", path, je.text);
  json_array_foreach(cms, i, cm) {
    b64 = json_string_value(json_object_get(json_object_get(cm, "data"),
                                            "checkpointID-0000000000000000003"));
    if (b64)
      break;
  }
  ck_assert_ptr_nonnull(b64);
  ck_assert_int_eq(k8sha__value_describe(k8sha__default_allocator(), b64, &info, why,
                                         sizeof(why)), 0);
  ck_assert_int_eq(k8sha__base64_decode(k8sha__default_allocator(), b64, strlen(b64), &raw, &n),
                   0);
  old_len = strlen(info.uri);
  u = find_bytes(raw, n, info.uri, old_len);
  ck_assert_ptr_nonnull(u);
  ck_assert_uint_eq(((size_t)u[-2] << 8) | u[-1], old_len);
  for (i = 0; i < 8; i++)
    be[i] = (unsigned char)(info.size >> (56 - 8 * i));
  sz = find_bytes(raw, n, be, 8);
  ck_assert_ptr_nonnull(sz);
  ck_assert(sz < u);
  for (i = 0; i < 8; i++)
    sz[i] = (unsigned char)(size >> (56 - 8 * i));
  w = out;
  memcpy(w, raw, (size_t)(u - 2 - raw));
  w += u - 2 - raw;
  *w++ = (unsigned char)(strlen(uri) >> 8);
  *w++ = (unsigned char)strlen(uri);
  memcpy(w, uri, strlen(uri));
  w += strlen(uri);
  memcpy(w, u + old_len, n - (size_t)(u + old_len - raw));
  w += n - (size_t)(u + old_len - raw);
  *out_len = (size_t)(w - out);
  free(raw);
  json_decref(cms);
  /* what the store will read from it */
  ck_assert_int_eq(k8sha__base64_encode(k8sha__default_allocator(), out, *out_len, &enc), 0);
  ck_assert_int_eq(k8sha__value_describe(k8sha__default_allocator(), enc, &info, why,
                                         sizeof(why)), 0);
  ck_assert_str_eq(info.uri, uri);
  ck_assert_uint_eq(info.size, size);
  free(enc);
}

/* A graph entry holding Flink's handle replaced by another handle that names the same blob, in
 * another spelling ("file:/x" as Flink's Path writes it, "file:///x"), or one whose URI has no
 * canonical form (it may be the same blob): the blob stays; replaced by a handle of another
 * blob, it goes. */
START_TEST(a_replaced_flink_handle_naming_the_same_blob_keeps_it) {
  fixture f;
  k8sha_jobgraph_store *s = NULL;
  res r;
  unsigned char h[8192];
  size_t hn;
  char blob[1200], uri[1300], file[1200];

  if (strcmp(storage_scheme(), "file") != 0) {
    printf("file storage only (Flink's spellings of file URIs): %s\n", __func__);
    return;
  }
  setup(&f);
  snprintf(blob, sizeof(blob), "%s/submittedJobGraph0123456789ab", f.blobs);
  snprintf(file, sizeof(file), "%s/submittedJobGraph0123456789cd", f.blobs);
  blob_write(blob, "graph", 5);
  blob_write(file, "other", 5);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_store_open(&s, f.e, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);

  snprintf(uri, sizeof(uri), "file:%s", blob);
  flink_handle(uri, 5, h, &hn);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, h, hn, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  snprintf(uri, sizeof(uri), "file://%s", blob);
  flink_handle(uri, 5, h, &hn);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, h, hn, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  ck_assert_int_eq(blob_exists(blob), 1);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_get(s, JOB, on_jg_got, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  ck_assert_str_eq(r.data[0], "graph");

  /* a new entry whose URI has no canonical form may name the same blob: it is kept (the delete
   * fails closed), and so is it when the blob's handle comes back */
  flink_handle("relative/submittedJobGraph0123456789ab", 5, h, &hn);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, h, hn, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  ck_assert_int_eq(blob_exists(blob), 1);
  snprintf(uri, sizeof(uri), "file:%s", blob);
  flink_handle(uri, 5, h, &hn);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, h, hn, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  ck_assert_int_eq(blob_exists(blob), 1);

  snprintf(uri, sizeof(uri), "file:%s", file);
  flink_handle(uri, 5, h, &hn);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, h, hn, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  ck_assert_int_eq(blob_exists(blob), 0);
  ck_assert_int_eq(blob_exists(file), 1);

  /* host bytes the store cannot read may name the blob in their own form: it is kept, also when
   * that entry goes (its blob is the host's) */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, "host-ptr", 8, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  ck_assert_int_eq(blob_exists(file), 1);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_remove(s, JOB, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_msg(r.err == 0, "%s", r.msg);
  ck_assert_int_eq(blob_exists(file), 1);

  /* bytes that start like Flink's handle and are not one: refused, the entry stays absent */
  {
    snprintf(uri, sizeof(uri), "file:%s", file);
    flink_handle(uri, 5, h, &hn);
    ck_assert_int_eq(k8sha_jobgraph_put_pointer(s, JOB, h, hn - 1, on_jg, &r), K8SHA_ECORRUPT);
    ck_assert_ptr_nonnull(strstr(k8sha_last_error(), "not Flink's state handle"));
  }
  k8sha_jobgraph_store_free(s);
  teardown(&f);
}
END_TEST

START_TEST(jobgraph_write_fenced_by_holder_in_same_object) {
  fixture f;
  k8sha_jobgraph_store *s = NULL;
  res r;
  json_t *cm;
  int blobs;

  setup(&f);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_store_open(&s, f.e, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  /* Someone else takes the lock while our loop does not run: when the put is built, the
   * election still believes it leads, but the write is conditional on the lock object's version
   * and is refused; the re-read shows the new holder. */
  cm = get_cm(&f, CLUSTER_PATH);
  json_object_set_new(json_object_get(json_object_get(cm, "metadata"), "annotations"),
                      "control-plane.alpha.kubernetes.io/leader",
                      json_string("{\"holderIdentity\":\"jm-b\",\"leaseDuration\":15.0,"
                                  "\"acquireTime\":\"2026-01-01T00:00:00.000000Z\","
                                  "\"renewTime\":\"2026-01-01T00:00:00.000000Z\","
                                  "\"leaderTransitions\":99}"));
  blocking_put(&f, CLUSTER_PATH, cm);
  json_decref(cm);
  blobs = blob_count(&f);
  ck_assert_int_eq(k8sha_election_is_leader(f.e), 1);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_jobgraph_put(s, JOB, "graph", 5, on_jg, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, K8SHA_ENOTLEADER);
  ck_assert_int_eq(blob_count(&f), blobs);
  cm = get_cm(&f, CLUSTER_PATH);
  ck_assert_ptr_null(data_of(cm, "jobGraph-" JOB));
  json_decref(cm);
  k8sha_jobgraph_store_free(s);
  teardown(&f);
}
END_TEST


/* ---- a fault on every kind of request the stores make ---- */

/* Every live entry of the job ConfigMap points to an existing blob of the recorded size. */
static void assert_no_dangling(fixture *f) {
  json_t *cm = get_cm(f, JOB_PATH), *v;
  const char *key;
  json_object_foreach(json_object_get(cm, "data"), key, v) {
    k8sha_pointer_info *info = NULL;
    long long size;
    if (strncmp(key, "checkpointID-", 13) != 0)
      continue;
    ck_assert_int_eq(k8sha_pointer_describe(json_string_value(v), &info), 0);
    if (!info->marked) {
      size = blob_size(info->uri);
      ck_assert_msg(size >= 0, "%s points to a missing blob", key);
      ck_assert_uint_eq((uint64_t)size, info->size);
    }
    k8sha_pointer_info_free(info);
  }
  json_decref(cm);
}

static void fault_once(fixture *f, const char *verb, int code) {
  char rule[256];
  /* a create names no object in its path: it matches on the verb (the lock exists already) */
  snprintf(rule, sizeof(rule),
           "{\"verbs\":[\"%s\"],\"resources\":[\"configmaps\"]%s,\"code\":%d,\"count\":1}",
           verb, strcmp(verb, "create") ? ",\"name\":\"" JOB_CM "\"" : "", code);
  ck_assert_int_gt(kubelite_add_fault(f->t.kl, rule), 0);
}

START_TEST(faults_on_every_store_request) {
  static const int codes[] = {403, 500};
  size_t c;
  for (c = 0; c < 2; c++) {
    int code = codes[c];
    fixture f;
    k8sha_checkpoint_store *s = NULL;
    found_log l;
    res r;
    int want_write = code == 403 ? K8SHA_EFORBIDDEN : K8SHA_EUNKNOWN_OUTCOME;

    setup_with(&f, NULL, keep3_short_lease + 2, K8SHA_LOCK_CONFIGMAP);
    /* create (the claim of a new job ConfigMap) */
    fault_once(&f, "create", code);
    res_init(&f, &r);
    ck_assert_int_eq(k8sha_checkpoint_store_open(&s, f.e, JOB, on_cp, &r), 0);
    it_run_until(&f.t, &r.done);
    ck_assert_int_eq(r.err, want_write);
    ck_assert_ptr_nonnull(strstr(r.msg, JOB_CM));
    k8sha_checkpoint_store_free(s);
    s = open_store(&f);
    ck_assert_int_eq(cp_add(&f, s, 1, "one", &r), 0);

    /* update (a commit, a merge patch): refused -> blob deleted; no answer -> blob kept,
     * outcome unknown. A patch refused with 403 is written again as a whole object (a Role
     * without the verb "patch"): that is refused too here. */
    fault_once(&f, "patch", code);
    if (code == 403)
      fault_once(&f, "update", code);
    ck_assert_int_eq(cp_add(&f, s, 2, "two", &r), want_write);
    ck_assert_int_eq(blob_count(&f), code == 403 ? 1 : 2);
    assert_no_dangling(&f);
    ck_assert_int_eq(cp_add(&f, s, 3, "three", &r), 0);

    /* get (a re-read after the unknown outcome, or of a new store's claim): reads are retried
     * on 5xx within the request timeout, so only 403 reaches the caller */
    k8sha_checkpoint_store_free(s);
    fault_once(&f, "get", code);
    res_init(&f, &r);
    ck_assert_int_eq(k8sha_checkpoint_store_open(&s, f.e, JOB, on_cp, &r), 0);
    it_run_until(&f.t, &r.done);
    ck_assert_int_eq(r.err, code == 403 ? K8SHA_EFORBIDDEN : 0);
    k8sha_checkpoint_store_free(s);
    s = open_store(&f);
    recover(&f, s, &r);
    ck_assert_uint_ge(r.n, 1);
    ck_assert_int_eq(r.status[r.n - 1], 0);
    ck_assert_uint_eq(r.ids[r.n - 1], 3);
    k8sha_checkpoint_store_free(s);

    /* delete (of the job ConfigMap, by a job cleanup): the cleanup stops, a rerun finishes */
    fault_once(&f, "delete", code);
    log_init(&f, &l);
    ck_assert_int_eq(k8sha_cleanup_job(f.ctx, f.e, JOB, 0, on_found, on_cleaned, &l), 0);
    it_run_until(&f.t, &l.done);
    ck_assert_int_eq(l.err, code == 403 ? K8SHA_EFORBIDDEN : K8SHA_EUNKNOWN_OUTCOME);
    ck_assert_ptr_nonnull(strstr(l.msg, JOB_CM));
    assert_no_dangling(&f);
    log_init(&f, &l);
    ck_assert_int_eq(k8sha_cleanup_job(f.ctx, f.e, JOB, 0, on_found, on_cleaned, &l), 0);
    it_run_until(&f.t, &l.done);
    ck_assert_msg(l.err == 0, "%s", l.msg);
    ck_assert_ptr_null(get_cm(&f, JOB_PATH));
    /* the blob kept for the unanswered update (it did not land) stays pinned in the writer's
     * own context, whose scan never deletes it (the update might still be held in the API
     * server); only a scan after a new term's claims can call it an orphan */
    ck_assert_int_eq(blob_count(&f), code == 403 ? 0 : 1);
    log_init(&f, &l);
    ck_assert_int_eq(k8sha_orphans_scan(f.ctx, f.e, on_found, on_cleaned, &l), 0);
    it_run_until(&f.t, &l.done);
    ck_assert_msg(l.err == 0, "%s", l.msg);
    ck_assert_int_eq(l.count, 0);
    ck_assert_int_eq(blob_count(&f), code == 403 ? 0 : 1);
    teardown(&f);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("store");
  tcase_set_timeout(tc, 120);
  it_add(tc, handles_add_get_replace_remove, IT_ANY);
  it_add(tc, handles_identical_readd_and_different_entry, IT_ANY);
  it_add(tc, handles_marked_entries_count_as_absent_and_removal_resumes, IT_ANY);
  it_add(tc, handles_failing_blob_delete_leaves_resumable_marker, IT_ANY);
  it_add(tc, handles_failed_blob_write_commits_nothing, IT_ANY);
  it_add(tc, handles_definite_failure_deletes_new_blob, IT_FAULTS);
  it_add(tc, commit_without_patch_verb_writes_whole_objects, IT_FAULTS);
  it_add(tc, handles_unknown_outcome_keeps_blob, IT_FAULTS);
  it_add(tc, handles_commit_applied_then_connection_dropped_keeps_blob, IT_FAULTS);
  it_add(tc, handles_commit_applied_then_refused_keeps_blob, IT_FAULTS);
  it_add(tc, handles_conflict_is_retried_and_steady_state_is_one_request, IT_ANY);
  it_add(tc, handles_too_large_refused_before_the_server, IT_ANY);
  it_add(tc, handles_opaque_pointers, IT_ANY);
  it_add(tc, checkpoints_retained_and_recovered, IT_ANY);
  it_add(tc, checkpoints_retired_as_the_host_decides, IT_ANY);
  it_add(tc, checkpoints_corrupted_and_missing_blobs_reported_by_id, IT_ANY);
  it_add(tc, commit_next_and_recover_latest_intact, IT_ANY);
  it_add(tc, counter_get_increment_set_shutdown, IT_ANY);
  it_add(tc, jobgraphs_in_lock_configmap, IT_ANY);
  it_add(tc, jobgraphs_with_lease_lock, IT_ANY);
  it_add(tc, applications_beside_job_graphs_in_lock_configmap, IT_ANY);
  it_add(tc, applications_beside_job_graphs_with_lease_lock, IT_ANY);
  it_add(tc, a_replaced_flink_handle_naming_the_same_blob_keeps_it, IT_ANY);
  it_add(tc, jobgraph_write_fenced_by_holder_in_same_object, IT_ANY);
  it_add(tc, stores_freed_from_their_own_callbacks, IT_ANY);
  it_add(tc, faults_on_every_store_request, IT_FAULTS);
  suite_add_tcase(s, tc);
  return it_run_suite(s);
}
