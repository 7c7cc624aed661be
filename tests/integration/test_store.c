/* The HA stores against kube-lite: Flink's state-handle-store, counter and checkpoint-store cases
 * (add/replace/remove with marked entries, idempotent re-add, non-leader writes refused with
 * nothing touched, unknown outcome keeps the blob, failing blob delete leaves a resumable marker,
 * counter set/get-and-increment/shutdown) and libk8sha's own: fenced job ConfigMaps, size
 * accounting before the server, conflicts retried, one request per commit, corrupted blobs
 * reported by id. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"
#include "k8sha/checkpoint.h"
#include "k8sha/cleanup.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"
#include "k8sha/jobgraph.h"
#include "k8sha/storage.h"
#include "k8sha/watch.h"
#include "election/elector.h"
#include "store/fenced.h"
#include "store/handles.h"

#define JOB "0123456789abcdef0123456789abcdef"
#define JOB_CM "it-" JOB "-config-map"
#define JOB_PATH "/api/v1/namespaces/flink/configmaps/" JOB_CM
#define CLUSTER_PATH "/api/v1/namespaces/flink/configmaps/it-cluster-config-map"

/* ---- a store fixture: kube-lite, a context with file storage in its temp dir, a leader ---- */

typedef struct fixture {
  itest t;
  k8sha_ctx *ctx;
  k8sha_election *e;
  int granted, revoked, reason;
  uint64_t term;
  char blobs[1100]; /* <storageDir>/it */
} fixture;

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  fixture *f = ud;
  (void)e;
  (void)session;
  f->granted++;
  f->term = term;
  uv_stop(&f->t.loop);
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  fixture *f = ud;
  (void)e;
  f->reason = reason;
  f->revoked++;
  uv_stop(&f->t.loop);
}

static void lead(fixture *f, k8sha_lock_kind kind) {
  k8sha_election_options o = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.user_data = f;
  o.identity = "jm-a";
  o.lock = kind;
  ck_assert_int_eq(k8sha_election_new(&f->e, f->ctx, &o, &cbs), 0);
  ck_assert_int_eq(k8sha_election_start(f->e), 0);
  it_run_until(&f->t, &f->granted);
}

/* Runs the loop until the election leads in a term above `term` (it calls uv_stop then). */
static void await_term_above(fixture *f, uint64_t term) {
  int turns = 0;
  while (!(f->granted && f->term > term)) {
    ck_assert_msg(turns++ < 100000, "never granted a term above %" PRIu64, term);
    uv_run(&f->t.loop, UV_RUN_DEFAULT);
  }
}

static void setup_with(fixture *f, const char *storage_dir, const char *const *extra,
                       k8sha_lock_kind kind) {
  const char *kv[16];
  char dir[1024];
  int n = 0, i;
  memset(f, 0, sizeof(*f));
  it_start(&f->t, NULL, NULL);
  if (!storage_dir) {
    snprintf(dir, sizeof(dir), "%s/ha", kubelite_dir(f->t.kl));
    storage_dir = dir;
  }
  snprintf(f->blobs, sizeof(f->blobs), "%s/it", storage_dir);
  kv[n++] = "high-availability.storageDir";
  kv[n++] = storage_dir;
  for (i = 0; extra && extra[i]; i++)
    kv[n++] = extra[i];
  kv[n] = NULL;
  f->ctx = it_ctx_with(&f->t, kubelite_kubeconfig(f->t.kl), kv);
  lead(f, kind);
}

static void setup(fixture *f) {
  setup_with(f, NULL, NULL, K8SHA_LOCK_CONFIGMAP);
}

static void teardown(fixture *f) {
  k8sha_election_free(f->e);
  k8sha_ctx_free(f->ctx);
  it_stop(&f->t);
}

/* Files in the blob folder (0 when it does not exist). */
static int blob_count(const fixture *f) {
  DIR *d = opendir(f->blobs);
  struct dirent *de;
  int n = 0;
  if (!d)
    return 0;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

/* The path of the only blob whose name starts with `kind` (fails unless there is exactly one). */
static void only_blob(const fixture *f, const char *kind, char *out, size_t size) {
  DIR *d = opendir(f->blobs);
  struct dirent *de;
  int n = 0;
  ck_assert_ptr_nonnull(d);
  while ((de = readdir(d)))
    if (strncmp(de->d_name, kind, strlen(kind)) == 0) {
      snprintf(out, size, "%s/%s", f->blobs, de->d_name);
      n++;
    }
  closedir(d);
  ck_assert_int_eq(n, 1);
}

/* GETs a ConfigMap and returns its parsed body (caller decrefs), or NULL on 404. */
static json_t *get_cm(fixture *f, const char *path) {
  it_result r;
  json_t *j;
  it_request(&f->t, f->ctx, K8SHA__GET, path, NULL, NULL, 5000, 1, &r);
  if (r.status == 404)
    return NULL;
  ck_assert_int_eq(r.status, 200);
  j = json_loads(r.body, 0, NULL);
  ck_assert_ptr_nonnull(j);
  return j;
}

static const char *data_of(json_t *cm, const char *key) {
  return json_string_value(json_object_get(json_object_get(cm, "data"), key));
}

/* PUTs `cm` back (a test playing another writer). */
static void put_cm(fixture *f, const char *path, json_t *cm) {
  it_result r;
  char *body = json_dumps(cm, JSON_COMPACT);
  it_request(&f->t, f->ctx, K8SHA__UPDATE, path, body, NULL, 5000, 1, &r);
  free(body);
  ck_assert_msg(r.status == 200, "PUT %s: %ld %s", path, r.status, r.message);
}

/* The same without running our loop (so no watch event reaches the library meanwhile). */
static void blocking_put(fixture *f, const char *path, json_t *cm) {
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  char url[2048], auth[256], *body = json_dumps(cm, JSON_COMPACT), *answer = NULL;
  long code = 0;
  if (kubelite_admin_token(f->t.kl)) {
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", kubelite_admin_token(f->t.kl));
    h = curl_slist_append(h, auth);
  }
  if (kubelite_ca_file(f->t.kl))
    curl_easy_setopt(c, CURLOPT_CAINFO, kubelite_ca_file(f->t.kl));
  snprintf(url, sizeof(url), "%s%s", kubelite_url(f->t.kl), path);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kubelite_collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  ck_assert_msg(code == 200, "PUT %s: %ld %s", path, code, answer ? answer : "");
  free(answer);
  free(body);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

/* ---- completions ---- */

typedef struct res {
  uv_loop_t *loop;
  int done, err;
  uint64_t value;
  char msg[1024];
  size_t n;
  uint64_t ids[16];
  int status[16];
  char data[16][64];
} res;

static void res_init(fixture *f, res *r) {
  memset(r, 0, sizeof(*r));
  r->loop = &f->t.loop;
}

static void finish_res(res *r, int err, const char *msg) {
  r->done = 1;
  r->err = err;
  snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
  uv_stop(r->loop);
}

static void on_cp(k8sha_checkpoint_store *s, int status, void *ud) {
  finish_res(ud, status, k8sha_checkpoint_store_last_error(s));
}

static void on_count(k8sha_checkpoint_store *s, int status, uint64_t value, void *ud) {
  res *r = ud;
  r->value = value;
  finish_res(r, status, k8sha_checkpoint_store_last_error(s));
}

static void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
                         size_t n, void *ud) {
  res *r = ud;
  size_t i;
  (void)s;
  r->n = n;
  for (i = 0; i < n && i < 16; i++) {
    r->ids[i] = list[i]->id;
    r->status[i] = list[i]->status;
    if (list[i]->status == 0)
      snprintf(r->data[i], sizeof(r->data[i]), "%.*s", (int)list[i]->len,
               (const char *)list[i]->data);
    else
      snprintf(r->data[i], sizeof(r->data[i]), "%s", list[i]->message);
    if (list[i]->status)
      ck_assert_ptr_nonnull(strstr(list[i]->message, "completedCheckpoint"));
  }
  finish_res(r, status, NULL);
}

static void on_h(int err, const char *message, void *ud) {
  finish_res(ud, err, message);
}

static void on_hget(int err, const char *message, const void *data, size_t len, int is_pointer,
                    void *ud) {
  res *r = ud;
  if (!err)
    snprintf(r->data[0], sizeof(r->data[0]), "%.*s", (int)len, (const char *)data);
  r->value = (uint64_t)is_pointer;
  finish_res(r, err, message);
}

static k8sha_checkpoint_store *open_store(fixture *f) {
  k8sha_checkpoint_store *s = NULL;
  res r;
  res_init(f, &r);
  ck_assert_int_eq(k8sha_checkpoint_store_open(&s, f->e, JOB, on_cp, &r), 0);
  it_run_until(&f->t, &r.done);
  ck_assert_msg(r.err == 0, "open: %s", r.msg);
  return s;
}

static int cp_add(fixture *f, k8sha_checkpoint_store *s, uint64_t id, const char *state,
                  res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha_checkpoint_add(s, id, state, strlen(state), on_cp, r), 0);
  it_run_until(&f->t, &r->done);
  return r->err;
}

static void recover(fixture *f, k8sha_checkpoint_store *s, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha_checkpoint_recover(s, on_recovered, r), 0);
  it_run_until(&f->t, &r->done);
  ck_assert_int_eq(r->err, 0);
}

/* ---- the handle store on a job ConfigMap ---- */

typedef struct hfix {
  k8sha__fcm *fcm;
  k8sha__hstore *h;
} hfix;

static void h_open(fixture *f, hfix *h) {
  res r;
  res_init(f, &r);
  ck_assert_int_eq(k8sha__fcm_new(f->e, JOB_CM, &h->fcm), 0);
  ck_assert_int_eq(k8sha__hstore_new(h->fcm, "completedCheckpoint", &h->h), 0);
  ck_assert_int_eq(k8sha__fcm_claim(h->fcm, 1, on_h, &r), 0);
  it_run_until(&f->t, &r.done);
  ck_assert_msg(r.err == 0, "claim: %s", r.msg);
}

static void h_close(hfix *h) {
  k8sha__fcm_free(h->fcm);
  k8sha__hstore_free(h->h);
}

static int h_add(fixture *f, hfix *h, const char *key, const char *v, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha__hstore_add(h->h, key, v, strlen(v), on_h, r), 0);
  it_run_until(&f->t, &r->done);
  return r->err;
}

static int h_get(fixture *f, hfix *h, const char *key, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha__hstore_get(h->h, key, on_hget, r), 0);
  it_run_until(&f->t, &r->done);
  return r->err;
}

static int h_remove(fixture *f, hfix *h, const char *key, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha__hstore_remove(h->h, key, on_h, r), 0);
  it_run_until(&f->t, &r->done);
  return r->err;
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
  ck_assert_int_eq(k8sha__hstore_exists(h.h, "checkpointID-1"), 1);
  ck_assert_int_eq(k8sha__hstore_exists(h.h, "checkpointID-2"), 0);
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
  updates = kubelite_count(f.t.kl, "update", "configmaps", 0);
  /* a retried add of identical content succeeds without a blob or a write */
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "same", &r), 0);
  ck_assert_int_eq(blob_count(&f), 1);
  ck_assert_int_eq(kubelite_count(f.t.kl, "update", "configmaps", 0), updates);
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
  ck_assert_int_eq(k8sha__hstore_exists(h.h, "checkpointID-1"), 0);
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

/* ---- a storage backend the test controls ---- */

typedef struct membackend {
  int fail_remove, fail_write;
  int hold_write;          /* a write is visible at once but completes only when the test says */
  k8sha_storage_op *held;
  int blobs, removes;
  char uris[32][256];
  char data[32][64];
  size_t len[32];
} membackend;

static int mem_find(membackend *m, const char *uri) {
  int i;
  for (i = 0; i < 32; i++)
    if (strcmp(m->uris[i], uri) == 0)
      return i;
  return -1;
}

static int mem_write(void *self, const char *uri, const void *data, size_t len,
                     k8sha_storage_op *op) {
  membackend *m = self;
  int i = mem_find(m, "");
  if (m->fail_write) {
    k8sha_storage_op_complete(op, K8SHA_ESTORAGE, "disk full (injected)", NULL, 0);
    return 0;
  }
  ck_assert_int_ge(i, 0);
  ck_assert_uint_lt(len, 64);
  snprintf(m->uris[i], sizeof(m->uris[i]), "%s", uri);
  memcpy(m->data[i], data, len);
  m->len[i] = len;
  m->blobs++;
  if (m->hold_write) {
    m->held = op;
    return 0;
  }
  k8sha_storage_op_complete(op, 0, NULL, NULL, 0);
  return 0;
}

static int mem_read(void *self, const char *uri, k8sha_storage_op *op) {
  membackend *m = self;
  int i = mem_find(m, uri);
  if (i < 0)
    k8sha_storage_op_complete(op, K8SHA_ENOTFOUND, "no such blob", NULL, 0);
  else
    k8sha_storage_op_complete(op, 0, NULL, m->data[i], m->len[i]);
  return 0;
}

static int mem_remove(void *self, const char *uri, k8sha_storage_op *op) {
  membackend *m = self;
  int i = mem_find(m, uri);
  if (m->fail_remove) {
    k8sha_storage_op_complete(op, K8SHA_ESTORAGE, "permission denied (injected)", NULL, 0);
    return 0;
  }
  if (i >= 0) {
    m->uris[i][0] = '\0';
    m->blobs--;
  }
  m->removes++;
  k8sha_storage_op_complete(op, 0, NULL, NULL, 0);
  return 0;
}

static int mem_list(void *self, const char *prefix, k8sha_storage_op *op) {
  membackend *m = self;
  int i;
  for (i = 0; i < 32; i++)
    if (m->uris[i][0] && strncmp(m->uris[i], prefix, strlen(prefix)) == 0)
      k8sha_storage_op_add_entry(op, m->uris[i]);
  k8sha_storage_op_complete(op, 0, NULL, NULL, 0);
  return 0;
}

static void setup_mem_with(fixture *f, membackend *m, const char *const *extra,
                           k8sha_lock_kind kind) {
  static const k8sha_storage_backend vt = {K8SHA_STORAGE_BACKEND_VERSION, "mem", mem_write,
                                           mem_read, mem_remove, mem_list, NULL};
  const char *kv[16];
  int n = 0;
  kv[n++] = "high-availability.storageDir";
  kv[n++] = "mem://bucket/ha";
  kv[n++] = IT_STORAGE_SCHEME;
  kv[n++] = "mem";
  while (extra && *extra && n < 15)
    kv[n++] = *extra++;
  kv[n] = NULL;
  memset(m, 0, sizeof(*m));
  memset(f, 0, sizeof(*f));
  it_start(&f->t, NULL, NULL);
  f->ctx = it_ctx_with(&f->t, kubelite_kubeconfig(f->t.kl), kv);
  ck_assert_int_eq(k8sha_storage_register(f->ctx, &vt, m), 0);
  lead(f, kind);
}

static void setup_mem(fixture *f, membackend *m, const char *const *extra) {
  setup_mem_with(f, m, extra, K8SHA_LOCK_CONFIGMAP);
}

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
  ck_assert_int_eq(k8sha__hstore_exists(h.h, "checkpointID-1"), 0);
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
  updates = kubelite_count(f.t.kl, "update", "configmaps", 0);
  m.fail_write = 1;
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), K8SHA_ESTORAGE);
  ck_assert_ptr_nonnull(strstr(r.msg, "disk full"));
  ck_assert_ptr_nonnull(strstr(r.msg, "mem://bucket/ha/it/completedCheckpoint"));
  ck_assert_int_eq(kubelite_count(f.t.kl, "update", "configmaps", 0), updates);
  ck_assert_int_eq(k8sha__hstore_exists(h.h, "checkpointID-1"), 0);
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
  /* the server refuses the update: nothing committed, the new blob is deleted */
  ck_assert_int_gt(
      kubelite_add_fault(f.t.kl, "{\"verbs\":[\"update\"],\"resources\":[\"configmaps\"],"
                                 "\"name\":\"" JOB_CM "\",\"code\":403,\"count\":1}"),
      0);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), K8SHA_EFORBIDDEN);
  ck_assert_int_eq(m.blobs, 0);
  ck_assert_int_eq(m.removes, 1);
  ck_assert_int_eq(k8sha__hstore_exists(h.h, "checkpointID-1"), 0);
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
      kubelite_add_fault(f.t.kl, "{\"verbs\":[\"update\"],\"resources\":[\"configmaps\"],"
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
      kubelite_add_fault(f.t.kl, "{\"verbs\":[\"update\"],\"resources\":[\"configmaps\"],"
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
  updates = kubelite_count(f.t.kl, "update", "configmaps", 0);
  for (i = 2; i < 7; i++) {
    char key[32];
    snprintf(key, sizeof(key), "checkpointID-%d", i);
    ck_assert_int_eq(h_add(&f, &h, key, key, &r), 0);
  }
  ck_assert_int_eq(kubelite_count(f.t.kl, "get", "configmaps", 0), gets);
  ck_assert_int_eq(kubelite_count(f.t.kl, "update", "configmaps", 0), updates + 5);

  /* another writer changes an unrelated key: one 409, a re-read, and the add lands */
  cm = get_cm(&f, JOB_PATH);
  ck_assert_int_eq(json_object_set_new(k8sha__configmap_data(cm, 1), "unrelated", json_string("x")), 0);
  put_cm(&f, JOB_PATH, cm);
  json_decref(cm);
  conflicts = kubelite_count(f.t.kl, "update", "configmaps", 409);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-7", "seven", &r), 0);
  ck_assert_int_eq(kubelite_count(f.t.kl, "update", "configmaps", 409), conflicts + 1);
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
  updates = kubelite_count(f.t.kl, "update", "configmaps", 0);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), K8SHA_ETOOLARGE);
  ck_assert_ptr_nonnull(strstr(r.msg, "1048576"));
  ck_assert_ptr_nonnull(strstr(r.msg, JOB_CM));
  ck_assert_int_eq(kubelite_count(f.t.kl, "update", "configmaps", 0), updates);
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

  setup(&f);
  h_open(&f, &h);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha__hstore_add_pointer(h.h, "checkpointID-1", "K8Pxx", 5, on_h, &r),
                   K8SHA_EINVAL);
  ck_assert_int_eq(k8sha__hstore_add_pointer(h.h, "checkpointID-1", java, sizeof(java), on_h, &r),
                   0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(blob_count(&f), 0);
  ck_assert_int_eq(h_get(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_int_eq((int)r.value, 1); /* handed back as a pointer */
  ck_assert_int_eq(h_remove(&f, &h, "checkpointID-1", &r), 0);
  ck_assert_int_eq(k8sha__hstore_exists(h.h, "checkpointID-1"), 0);
  h_close(&h);
  teardown(&f);
}
END_TEST

/* ---- fencing ---- */

START_TEST(fencing_newer_claim_refuses_old_leader) {
  fixture f;
  hfix h;
  res r;
  json_t *cm;
  char newer[32], *before;
  int blobs;

  setup(&f);
  h_open(&f, &h);
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-1", "one", &r), 0);
  /* a newer leader claims the job ConfigMap (what a takeover does first) */
  cm = get_cm(&f, JOB_PATH);
  snprintf(newer, sizeof(newer), "%" PRIu64, f.term + 1);
  json_object_set_new(json_object_get(json_object_get(cm, "metadata"), "annotations"),
                      K8SHA__TERM_ANNOTATION, json_string(newer));
  put_cm(&f, JOB_PATH, cm);
  json_decref(cm);
  cm = get_cm(&f, JOB_PATH);
  before = json_dumps(json_object_get(cm, "data"), JSON_SORT_KEYS);
  json_decref(cm);
  blobs = blob_count(&f);

  /* the old leader (still leading the lock as far as it knows) is refused, changes nothing */
  ck_assert_int_eq(h_add(&f, &h, "checkpointID-2", "two", &r), K8SHA_ENOTLEADER);
  ck_assert_ptr_nonnull(strstr(r.msg, "newer leader"));
  ck_assert_int_eq(h_remove(&f, &h, "checkpointID-1", &r), K8SHA_ENOTLEADER);
  ck_assert_int_eq(blob_count(&f), blobs);
  cm = get_cm(&f, JOB_PATH);
  {
    char *after = json_dumps(json_object_get(cm, "data"), JSON_SORT_KEYS);
    ck_assert_str_eq(after, before);
    free(after);
  }
  json_decref(cm);
  h_close(&h);

  /* The lock still names it, so that claim came from an earlier incarnation of the lock: the
   * election takes a term above it (revoked, then granted again), and only then claims. */
  await_term_above(&f, strtoull(newer, NULL, 10));
  ck_assert_int_eq(f.reason, K8SHA_ECONFLICT);
  ck_assert_int_eq(k8sha__fcm_new(f.e, JOB_CM, &h.fcm), 0);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha__fcm_claim(h.fcm, 1, on_h, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, 0);
  k8sha__fcm_free(h.fcm);
  cm = get_cm(&f, JOB_PATH);
  {
    char *after = json_dumps(json_object_get(cm, "data"), JSON_SORT_KEYS);
    ck_assert_str_eq(after, before);
    free(after);
  }
  json_decref(cm);
  free(before);
  teardown(&f);
}
END_TEST

START_TEST(fencing_not_leader_writes_nothing) {
  fixture f;
  k8sha_checkpoint_store *s;
  res r;
  json_t *cm;
  int turns = 0;

  setup(&f);
  s = open_store(&f);
  ck_assert_int_eq(cp_add(&f, s, 1, "one", &r), 0);
  /* the lock is handed to someone else: the election is revoked */
  cm = get_cm(&f, CLUSTER_PATH);
  json_object_set_new(json_object_get(json_object_get(cm, "metadata"), "annotations"),
                      "control-plane.alpha.kubernetes.io/leader",
                      json_string("{\"holderIdentity\":\"jm-b\",\"leaseDuration\":15.0,"
                                  "\"acquireTime\":\"2026-01-01T00:00:00.000000Z\","
                                  "\"renewTime\":\"2026-01-01T00:00:00.000000Z\","
                                  "\"leaderTransitions\":99}"));
  put_cm(&f, CLUSTER_PATH, cm);
  json_decref(cm);
  while (!f.revoked) {
    ck_assert_msg(turns++ < 100000, "never revoked");
    uv_run(&f.t.loop, UV_RUN_DEFAULT);
  }
  ck_assert_int_eq(cp_add(&f, s, 2, "two", &r), K8SHA_ENOTLEADER);
  ck_assert_int_eq(blob_count(&f), 1); /* no blob was written for the refused add */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_counter_get_and_increment(s, on_count, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, K8SHA_ENOTLEADER);
  cm = get_cm(&f, JOB_PATH);
  ck_assert_ptr_null(data_of(cm, "checkpointID-0000000000000000002"));
  ck_assert_ptr_null(data_of(cm, "counter"));
  json_decref(cm);
  k8sha_checkpoint_store_free(s);
  /* a store cannot be opened by a non-leader */
  ck_assert_int_eq(k8sha_checkpoint_store_open(&s, f.e, JOB, on_cp, &r), K8SHA_ENOTLEADER);
  teardown(&f);
}
END_TEST

/* A lock deleted and created again by a process that never saw it (a restart, a watch gap) starts
 * its terms over: the new leadership can get the very term number the old one claimed the job
 * ConfigMap with, even under the same identity. The term alone must not make the claim ours:
 * the new leader is refused, takes a term above it, and its claim changes the resourceVersion,
 * so a write the old leadership still had on the way cannot land after it. */
START_TEST(fencing_recreated_lock_reusing_a_term) {
  fixture f;
  k8sha_checkpoint_store *s;
  k8sha_ctx *old_ctx;
  json_t *stale, *cm;
  const char *kv[] = {"high-availability.storageDir", NULL, NULL};
  char dir[1024], *body;
  const char *session;
  uint64_t old_term;
  it_result put;
  res r;

  setup(&f);
  s = open_store(&f);
  ck_assert_int_eq(cp_add(&f, s, 1, "one", &r), 0);
  old_term = f.term;
  /* what the old leadership's next update is built on */
  stale = get_cm(&f, JOB_PATH);
  ck_assert_ptr_nonnull(stale);
  k8sha_checkpoint_store_free(s);
  /* the old process stalls (nothing of it runs any more); the lock is deleted */
  k8sha_election_free(f.e);
  f.e = NULL;
  old_ctx = f.ctx;
  it_request(&f.t, old_ctx, K8SHA__DELETE, CLUSTER_PATH, NULL, NULL, 5000, 1, &put);
  ck_assert_int_eq(put.status, 200);

  /* a fresh process with the same identity creates the lock again: the same term number */
  snprintf(dir, sizeof(dir), "%s/ha", kubelite_dir(f.t.kl));
  kv[1] = dir;
  f.ctx = it_ctx_with(&f.t, kubelite_kubeconfig(f.t.kl), kv);
  f.granted = 0;
  lead(&f, K8SHA_LOCK_CONFIGMAP);
  ck_assert_uint_eq(f.term, old_term); /* the situation this test is about */

  /* its claim is refused (the ConfigMap holds that term with another session) ... */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_store_open(&s, f.e, JOB, on_cp, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, K8SHA_ENOTLEADER);
  ck_assert_msg(strstr(r.msg, "another leadership") != NULL, "%s", r.msg);
  k8sha_checkpoint_store_free(s);
  /* ... and the election takes the lock anew, above that term */
  await_term_above(&f, old_term);
  ck_assert_int_eq(f.reason, K8SHA_ECONFLICT);
  ck_assert_uint_gt(f.term, old_term);
  session = k8sha_election_session(f.e);
  ck_assert_ptr_nonnull(session);

  s = open_store(&f);
  recover(&f, s, &r);
  ck_assert_int_eq((int)r.n, 1);
  ck_assert_str_eq(r.data[0], "one");

  /* the old leadership's delayed update arrives now: it must not land */
  json_object_set_new(json_object_get(stale, "data"), "checkpointID-0000000000000000002",
                      json_string("from the deposed leadership"));
  body = json_dumps(stale, JSON_COMPACT);
  it_request(&f.t, f.ctx, K8SHA__UPDATE, JOB_PATH, body, NULL, 5000, 1, &put);
  free(body);
  ck_assert_int_eq(put.status, 409);

  ck_assert_int_eq(cp_add(&f, s, 2, "two", &r), 0);
  cm = get_cm(&f, JOB_PATH);
  {
    json_t *ann = json_object_get(json_object_get(cm, "metadata"), "annotations");
    char t[24];
    snprintf(t, sizeof(t), "%" PRIu64, f.term);
    ck_assert_str_eq(json_string_value(json_object_get(ann, K8SHA__TERM_ANNOTATION)), t);
    ck_assert_str_eq(json_string_value(json_object_get(ann, K8SHA__SESSION_ANNOTATION)), session);
  }
  json_decref(cm);
  json_decref(stale);
  k8sha_checkpoint_store_free(s);
  k8sha_ctx_free(old_ctx);
  teardown(&f);
}
END_TEST

/* A leader of a deleted lock that has not heard of the deletion yet, with a term higher than the
 * one the lock was created again with: a job ConfigMap the new leader has claimed carries a lower
 * term, which looks like a takeover to the old leader. Before writing over a claim that is not
 * its own, a store reads the lock afresh, finds it no longer names its leadership, and writes
 * nothing. (The old leader is cut off from its watch and its renewals by fault rules for its
 * user only, and stays within its renew deadline.) */
START_TEST(fencing_old_incarnation_cannot_override_a_lower_claim) {
  const char *kv[] = {
      "high-availability.storageDir", NULL,
      "high-availability.kubernetes.leader-election.lease-duration", "120 s",
      "high-availability.kubernetes.leader-election.renew-deadline", "100 s",
      "high-availability.kubernetes.leader-election.retry-period", "250 ms", NULL};
  kubelite_options ko;
  fixture f;
  k8sha_checkpoint_store *s, *old_s = NULL;
  k8sha_election *old_e;
  k8sha_ctx *old_ctx;
  json_t *cm;
  char dir[1024], kc[1024], *before, *after;
  it_result r0;
  res r;

  memset(&f, 0, sizeof(f));
  memset(&ko, 0, sizeof(ko));
  ko.tokens = "old-token,old,*:*\n";
  it_start(&f.t, &ko, NULL);
  snprintf(dir, sizeof(dir), "%s/ha", kubelite_dir(f.t.kl));
  snprintf(f.blobs, sizeof(f.blobs), "%s/it", dir);
  kv[1] = dir;
  /* a released lock with 3 transitions: the old leader takes term 4 */
  it_request(&f.t, f.t.ctx, K8SHA__CREATE, "/api/v1/namespaces/flink/configmaps",
             "{\"metadata\":{\"name\":\"it-cluster-config-map\",\"annotations\":{"
             "\"control-plane.alpha.kubernetes.io/leader\":\"{\\\"holderIdentity\\\":\\\"\\\","
             "\\\"leaseDuration\\\":1.0,\\\"leaderTransitions\\\":3}\"}}}",
             NULL, 0, 0, &r0);
  ck_assert_msg(r0.err == 0, "%s", r0.message);
  snprintf(kc, sizeof(kc),
           "apiVersion: v1\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u, "
           "namespace: flink}}]\nclusters: [{name: k, cluster: {server: '%s'}}]\n"
           "users: [{name: u, user: {token: old-token}}]\n",
           kubelite_url(f.t.kl));
  f.ctx = old_ctx = it_ctx_with(&f.t, it_file(&f.t, "kc-old", kc), kv);
  lead(&f, K8SHA_LOCK_CONFIGMAP);
  ck_assert_uint_eq(f.term, 4);
  old_e = f.e;

  /* the old leader stops hearing about the lock and cannot renew it */
  ck_assert_int_eq(kubelite_add_fault(f.t.kl, "{\"users\":[\"old\"],\"verbs\":[\"watch\",\"list\"],"
                                              "\"code\":503}") >= 0, 1);
  ck_assert_int_eq(kubelite_add_fault(f.t.kl, "{\"users\":[\"old\"],\"verbs\":[\"update\"],"
                                              "\"name\":\"it-cluster-config-map\",\"code\":503}") >= 0, 1);
  ck_assert_int_ge(kubelite_end_watches(f.t.kl), 1);
  it_request(&f.t, f.t.ctx, K8SHA__DELETE, CLUSTER_PATH, NULL, NULL, 5000, 1, &r0);
  ck_assert_int_eq(r0.status, 200);

  /* a fresh process creates the lock again (term 0), claims the job and commits */
  f.ctx = it_ctx_with(&f.t, kubelite_kubeconfig(f.t.kl), kv);
  f.granted = 0;
  lead(&f, K8SHA_LOCK_CONFIGMAP);
  ck_assert_uint_eq(f.term, 0);
  s = open_store(&f);
  ck_assert_int_eq(cp_add(&f, s, 1, "one", &r), 0);
  cm = get_cm(&f, JOB_PATH);
  before = json_dumps(cm, JSON_SORT_KEYS);
  json_decref(cm);

  /* the old leader, still within its deadline, opens the job's store: refused, nothing written */
  ck_assert_int_eq(k8sha__election_term(old_e), 4);
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_store_open(&old_s, old_e, JOB, on_cp, &r), 0);
  it_run_until(&f.t, &r.done);
  ck_assert_int_eq(r.err, K8SHA_ENOTLEADER);
  ck_assert_msg(strstr(r.msg, "no longer names the leadership of term 4") != NULL, "%s", r.msg);
  cm = get_cm(&f, JOB_PATH);
  after = json_dumps(cm, JSON_SORT_KEYS);
  json_decref(cm);
  ck_assert_str_eq(after, before);
  free(after);
  free(before);

  /* the new leader goes on undisturbed */
  ck_assert_int_eq(cp_add(&f, s, 2, "two", &r), 0);
  k8sha_checkpoint_store_free(old_s);
  k8sha_checkpoint_store_free(s);
  k8sha_election_free(old_e);
  k8sha_ctx_free(old_ctx);
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

START_TEST(checkpoints_corrupted_and_missing_blobs_reported_by_id) {
  static const char *const keep3[] = {"execution.checkpointing.num-retained", "3", NULL};
  fixture f;
  k8sha_checkpoint_store *s;
  res r;
  char path[4096];
  FILE *fp;
  DIR *d;
  struct dirent *de;
  int i = 0;
  char paths[2][4096];

  setup_with(&f, NULL, keep3, K8SHA_LOCK_CONFIGMAP);
  s = open_store(&f);
  ck_assert_int_eq(cp_add(&f, s, 10, "aaaa", &r), 0);
  only_blob(&f, "completedCheckpoint", paths[0], sizeof(paths[0]));
  ck_assert_int_eq(cp_add(&f, s, 11, "bbbb", &r), 0);
  ck_assert_int_eq(cp_add(&f, s, 12, "cccc", &r), 0);
  /* damage checkpoint 10's blob (same size, other bytes) and delete another one */
  fp = fopen(paths[0], "r+");
  ck_assert_ptr_nonnull(fp);
  fputs("aaab", fp);
  fclose(fp);
  d = opendir(f.blobs);
  while ((de = readdir(d)))
    if (de->d_name[0] != '.') {
      snprintf(path, sizeof(path), "%s/%s", f.blobs, de->d_name);
      if (strcmp(path, paths[0]) != 0 && i < 1) {
        snprintf(paths[1], sizeof(paths[1]), "%s", path);
        i++;
      }
    }
  closedir(d);
  ck_assert_int_eq(unlink(paths[1]), 0);
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
  char first[4096], path[4096];
  FILE *fp;
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
  {
    DIR *d = opendir(f.blobs);
    struct dirent *de;
    path[0] = '\0';
    while ((de = readdir(d)))
      if (de->d_name[0] != '.') {
        snprintf(path, sizeof(path), "%s/%s", f.blobs, de->d_name);
        if (strcmp(path, first) != 0)
          break;
        path[0] = '\0';
      }
    closedir(d);
  }
  ck_assert_msg(path[0] != '\0', "the second blob was not found");
  fp = fopen(path, "r+");
  ck_assert_ptr_nonnull(fp);
  fputs("twX", fp);
  fclose(fp);
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

/* ---- job graphs ---- */

static void on_jg(k8sha_jobgraph_store *s, int status, void *ud) {
  finish_res(ud, status, k8sha_jobgraph_store_last_error(s));
}

static void on_jg_got(k8sha_jobgraph_store *s, int status, const void *graph, size_t len,
                      void *ud) {
  res *r = ud;
  if (!status)
    snprintf(r->data[0], sizeof(r->data[0]), "%.*s", (int)len, (const char *)graph);
  finish_res(r, status, k8sha_jobgraph_store_last_error(s));
}

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

/* ---- cleanup and orphans ---- */

typedef struct found_log {
  uv_loop_t *loop;
  int done, err;
  char msg[1024];
  char seen[8192];
  int count;
} found_log;

static void on_found(k8sha_found_kind kind, const char *name, void *ud) {
  found_log *l = ud;
  size_t n = strlen(l->seen);
  snprintf(l->seen + n, sizeof(l->seen) - n, "%s %s\n", k8sha_found_kind_name(kind), name);
  l->count++;
}

static void on_cleaned(int status, const char *message, void *ud) {
  found_log *l = ud;
  l->done = 1;
  l->err = status;
  snprintf(l->msg, sizeof(l->msg), "%s", message ? message : "");
  uv_stop(l->loop);
}

static void log_init(fixture *f, found_log *l) {
  memset(l, 0, sizeof(*l));
  l->loop = &f->t.loop;
}

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
/* The same with a 6 s lease: an orphan scan that deletes waits lease + request timeout. */
static const char *const keep3_short_lease[] = {
    "execution.checkpointing.num-retained", "3",
    "high-availability.kubernetes.leader-election.lease-duration", "6 s",
    "high-availability.kubernetes.leader-election.renew-deadline", "3 s",
    "high-availability.kubernetes.leader-election.retry-period", "1 s", NULL};

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
  ck_assert_ptr_nonnull(strstr(l.seen, "blob file://"));
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
  char stray[2048];
  FILE *fp;

  setup_with(&f, NULL, keep3_short_lease, K8SHA_LOCK_CONFIGMAP);
  fill_job(&f); /* JOB has a graph */
  res_init(&f, &r);
  ck_assert_int_eq(k8sha_checkpoint_store_open(&s, f.e, JOB2, on_cp, &r), 0);
  it_run_until(&f.t, &r.done);
  k8sha_checkpoint_store_free(s); /* JOB2's ConfigMap exists, its graph does not */
  snprintf(stray, sizeof(stray), "%s/completedCheckpoint00000000abcd", f.blobs);
  fp = fopen(stray, "w");
  ck_assert_ptr_nonnull(fp);
  fputs("left by a crash between blob and pointer", fp);
  fclose(fp);

  log_init(&f, &l);
  ck_assert_int_eq(k8sha_orphans_scan(f.ctx, NULL, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_eq(l.count, 2);
  ck_assert_ptr_nonnull(strstr(l.seen, "orphan-blob file://"));
  ck_assert_ptr_nonnull(strstr(l.seen, "completedCheckpoint00000000abcd"));
  ck_assert_ptr_nonnull(strstr(l.seen, "orphan-configmap it-" JOB2 "-config-map"));
  ck_assert_int_eq(access(stray, F_OK), 0); /* a scan without a leader deletes nothing */

  log_init(&f, &l);
  ck_assert_int_eq(k8sha_orphans_scan(f.ctx, f.e, on_found, on_cleaned, &l), 0);
  it_run_until(&f.t, &l.done);
  ck_assert_msg(l.err == 0, "%s", l.msg);
  ck_assert_int_ne(access(stray, F_OK), 0);
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
    FILE *fp;

    setup_with(&f, NULL, keep3, K8SHA_LOCK_CONFIGMAP);
    fill_job(&f);
    cm = get_cm(&f, JOB_PATH);
    json_object_set_new(json_object_get(cm, "data"), "checkpointID-0000000000000000009",
                        json_string(values[v]));
    put_cm(&f, JOB_PATH, cm);
    json_decref(cm);
    snprintf(stray, sizeof(stray), "%s/completedCheckpoint00000000abcd", f.blobs);
    fp = fopen(stray, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("unreferenced", fp);
    fclose(fp);
    log_init(&f, &l);
    ck_assert_int_eq(k8sha_orphans_scan(f.ctx, NULL, on_found, on_cleaned, &l), 0);
    it_run_until(&f.t, &l.done);
    ck_assert_int_eq(l.err, K8SHA_ECORRUPT);
    ck_assert_msg(strstr(l.msg, "checkpointID-0000000000000000009") && strstr(l.msg, JOB_CM) &&
                      strstr(l.msg, "nothing was deleted"),
                  "%s", l.msg);
    ck_assert_int_eq(access(stray, F_OK), 0);
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

/* ---- a fault on every kind of request the stores make ---- */

/* Every live entry of the job ConfigMap points to an existing blob of the recorded size. */
static void assert_no_dangling(fixture *f) {
  json_t *cm = get_cm(f, JOB_PATH), *v;
  const char *key;
  json_object_foreach(json_object_get(cm, "data"), key, v) {
    k8sha_pointer_info *info = NULL;
    struct stat st;
    if (strncmp(key, "checkpointID-", 13) != 0)
      continue;
    ck_assert_int_eq(k8sha_pointer_describe(json_string_value(v), &info), 0);
    if (!info->marked) {
      ck_assert_msg(stat(info->uri + strlen("file://"), &st) == 0,
                    "%s points to a missing blob", key);
      ck_assert_uint_eq((uint64_t)st.st_size, info->size);
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

    /* update (a commit): refused -> blob deleted; no answer -> blob kept, outcome unknown */
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
  it_add(tc, handles_unknown_outcome_keeps_blob, IT_FAULTS);
  it_add(tc, handles_conflict_is_retried_and_steady_state_is_one_request, IT_ANY);
  it_add(tc, handles_too_large_refused_before_the_server, IT_ANY);
  it_add(tc, handles_opaque_pointers, IT_ANY);
  it_add(tc, fencing_newer_claim_refuses_old_leader, IT_ANY);
  it_add(tc, fencing_recreated_lock_reusing_a_term, IT_ANY);
  it_add(tc, fencing_old_incarnation_cannot_override_a_lower_claim, IT_KUBELITE);
  it_add(tc, fencing_not_leader_writes_nothing, IT_ANY);
  it_add(tc, checkpoints_retained_and_recovered, IT_ANY);
  it_add(tc, checkpoints_corrupted_and_missing_blobs_reported_by_id, IT_ANY);
  it_add(tc, commit_next_and_recover_latest_intact, IT_ANY);
  it_add(tc, counter_get_increment_set_shutdown, IT_ANY);
  it_add(tc, jobgraphs_in_lock_configmap, IT_ANY);
  it_add(tc, jobgraphs_with_lease_lock, IT_ANY);
  it_add(tc, jobgraph_write_fenced_by_holder_in_same_object, IT_ANY);
  it_add(tc, cleanup_job_dry_run_then_real_then_again, IT_ANY);
  it_add(tc, cleanup_job_resumes_after_failed_blob_delete, IT_ANY);
  it_add(tc, orphans_found_and_deleted_by_leader, IT_ANY);
  it_add(tc, orphans_spare_an_add_in_flight, IT_ANY);
  it_add(tc, orphans_fail_closed_on_unreadable_pointers, IT_ANY);
  it_add(tc, cleanup_cluster_removes_everything, IT_ANY);
  it_add(tc, cleanup_lists_many_configmaps_in_pages, IT_ANY);
  it_add(tc, stores_freed_from_their_own_callbacks, IT_ANY);
  it_add(tc, stores_and_tasks_outlive_their_election_inert, IT_ANY);
  it_add(tc, store_then_context_freed_with_a_blob_write_in_flight, IT_ANY);
  it_add(tc, faults_on_every_store_request, IT_FAULTS);
  suite_add_tcase(s, tc);
  return it_run_suite(s);
}
