/* The store tests' fixture and helpers (storefix.h). */
#include "storefix.h"

/* Three retained checkpoints with a 6 s lease: an orphan scan that deletes waits lease + request
 * timeout. (+ 2: the lease settings alone.) */
const char *const keep3_short_lease[] = {
    "execution.checkpointing.num-retained", "3",
    "high-availability.kubernetes.leader-election.lease-duration", "6 s",
    "high-availability.kubernetes.leader-election.renew-deadline", "3 s",
    "high-availability.kubernetes.leader-election.retry-period", "1 s", NULL};

/* ---- a store fixture: kube-lite, a context with file storage in its temp dir, a leader ---- */


void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  fixture *f = ud;
  (void)e;
  (void)session;
  f->granted++;
  f->term = term;
  uv_stop(&f->t.loop);
}

void on_revoked(k8sha_election *e, int reason, void *ud) {
  fixture *f = ud;
  (void)e;
  f->reason = reason;
  f->revoked++;
  uv_stop(&f->t.loop);
}

void lead(fixture *f, k8sha_lock_kind kind) {
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
void await_term_above(fixture *f, uint64_t term) {
  int turns = 0;
  while (!(f->granted && f->term > term)) {
    ck_assert_msg(turns++ < 100000, "never granted a term above %" PRIu64, term);
    uv_run(&f->t.loop, UV_RUN_DEFAULT);
  }
}

/* The default storage directory: kube-lite's scratch folder, or, under tests/s3/s3proxy.sh, a
 * folder of its own in the S3 server's bucket (f->blobs is then where that server keeps the
 * objects as files, so the tests count and damage blobs the same way). */
static void default_storage(fixture *f, char *dir, size_t size, const char **kv, int *n) {
  const char *endpoint = getenv("K8SHA_TEST_S3_ENDPOINT");
  if (!endpoint || !*endpoint) {
    snprintf(dir, size, "%s/ha", kubelite_dir(f->t.kl));
    snprintf(f->blobs, sizeof(f->blobs), "%s/it", dir);
    return;
  }
  {
    const char *folder = strrchr(kubelite_dir(f->t.kl), '/') + 1; /* unique per test */
    snprintf(dir, size, "s3://%s/%s/ha", getenv("K8SHA_TEST_S3_BUCKET"), folder);
    snprintf(f->blobs, sizeof(f->blobs), "%s/%s/%s/ha/it", getenv("K8SHA_TEST_S3_ROOT"),
             getenv("K8SHA_TEST_S3_BUCKET"), folder);
  }
  kv[(*n)++] = "s3.endpoint";
  kv[(*n)++] = endpoint;
  kv[(*n)++] = "s3.path.style.access";
  kv[(*n)++] = "true";
  kv[(*n)++] = "s3.access-key";
  kv[(*n)++] = getenv("K8SHA_TEST_S3_ACCESS_KEY");
  kv[(*n)++] = "s3.secret-key";
  kv[(*n)++] = getenv("K8SHA_TEST_S3_SECRET_KEY");
}

const char *blob_file(const char *uri, char *out, size_t size) {
  const char *sep = strstr(uri, "://");
  if (strncmp(uri, "file://", 7) == 0)
    snprintf(out, size, "%s", uri + 7);
  else if (storage_is_s3() && sep)
    snprintf(out, size, "%s/%s", getenv("K8SHA_TEST_S3_ROOT"), sep + 3);
  else
    snprintf(out, size, "%s", uri);
  return out;
}

int storage_is_s3(void) {
  const char *endpoint = getenv("K8SHA_TEST_S3_ENDPOINT");
  return endpoint && *endpoint;
}

void setup_with(fixture *f, const char *storage_dir, const char *const *extra,
                       k8sha_lock_kind kind) {
  const char *kv[32];
  int n = 2, i;
  memset(f, 0, sizeof(*f));
  it_start(&f->t, NULL, NULL);
  if (!storage_dir) {
    default_storage(f, f->storage_dir, sizeof(f->storage_dir), f->storage_kv, &n);
  } else {
    snprintf(f->storage_dir, sizeof(f->storage_dir), "%s", storage_dir);
    snprintf(f->blobs, sizeof(f->blobs), "%s/it", storage_dir);
  }
  f->storage_kv[0] = "high-availability.storageDir";
  f->storage_kv[1] = f->storage_dir;
  f->storage_kv[n] = NULL;
  memcpy(kv, f->storage_kv, (size_t)n * sizeof(kv[0]));
  for (i = 0; extra && extra[i] && n < 31; i++)
    kv[n++] = extra[i];
  kv[n] = NULL;
  f->ctx = it_ctx_with(&f->t, kubelite_kubeconfig(f->t.kl), kv);
  lead(f, kind);
}

void setup(fixture *f) {
  setup_with(f, NULL, NULL, K8SHA_LOCK_CONFIGMAP);
}

void teardown(fixture *f) {
  k8sha_election_free(f->e);
  k8sha_ctx_free(f->ctx);
  it_stop(&f->t);
}

/* Files in the blob folder (0 when it does not exist). */
int blob_count(const fixture *f) {
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
void only_blob(const fixture *f, const char *kind, char *out, size_t size) {
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
json_t *get_cm(fixture *f, const char *path) {
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

const char *data_of(json_t *cm, const char *key) {
  return json_string_value(json_object_get(json_object_get(cm, "data"), key));
}

/* PUTs `cm` back (a test playing another writer). */
void put_cm(fixture *f, const char *path, json_t *cm) {
  it_result r;
  char *body = json_dumps(cm, JSON_COMPACT);
  it_request(&f->t, f->ctx, K8SHA__UPDATE, path, body, NULL, 5000, 1, &r);
  free(body);
  ck_assert_msg(r.status == 200, "PUT %s: %ld %s", path, r.status, r.message);
}

/* The same without running our loop (so no watch event reaches the library meanwhile). */
void blocking_put(fixture *f, const char *path, json_t *cm) {
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


void res_init(fixture *f, res *r) {
  memset(r, 0, sizeof(*r));
  r->loop = &f->t.loop;
}

void finish_res(res *r, int err, const char *msg) {
  r->done = 1;
  r->err = err;
  snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
  uv_stop(r->loop);
}

void on_cp(k8sha_checkpoint_store *s, int status, void *ud) {
  finish_res(ud, status, k8sha_checkpoint_store_last_error(s));
}

void on_count(k8sha_checkpoint_store *s, int status, uint64_t value, void *ud) {
  res *r = ud;
  r->value = value;
  finish_res(r, status, k8sha_checkpoint_store_last_error(s));
}

void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
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

void on_h(int err, const char *message, void *ud) {
  finish_res(ud, err, message);
}

void on_hget(int err, const char *message, const void *data, size_t len, int is_pointer,
                    void *ud) {
  res *r = ud;
  if (!err)
    snprintf(r->data[0], sizeof(r->data[0]), "%.*s", (int)len, (const char *)data);
  r->value = (uint64_t)is_pointer;
  finish_res(r, err, message);
}

k8sha_checkpoint_store *open_store(fixture *f) {
  k8sha_checkpoint_store *s = NULL;
  res r;
  res_init(f, &r);
  ck_assert_int_eq(k8sha_checkpoint_store_open(&s, f->e, JOB, on_cp, &r), 0);
  it_run_until(&f->t, &r.done);
  ck_assert_msg(r.err == 0, "open: %s", r.msg);
  return s;
}

int cp_add(fixture *f, k8sha_checkpoint_store *s, uint64_t id, const char *state,
                  res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha_checkpoint_add(s, id, state, strlen(state), on_cp, r), 0);
  it_run_until(&f->t, &r->done);
  return r->err;
}

void recover(fixture *f, k8sha_checkpoint_store *s, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha_checkpoint_recover(s, on_recovered, r), 0);
  it_run_until(&f->t, &r->done);
  ck_assert_int_eq(r->err, 0);
}

/* ---- the handle store on a job ConfigMap ---- */


void h_open(fixture *f, hfix *h) {
  res r;
  res_init(f, &r);
  ck_assert_int_eq(k8sha__fcm_new(f->e, JOB_CM, &h->fcm), 0);
  ck_assert_int_eq(k8sha__hstore_new(h->fcm, "completedCheckpoint", &h->h), 0);
  ck_assert_int_eq(k8sha__fcm_claim(h->fcm, 1, on_h, &r), 0);
  it_run_until(&f->t, &r.done);
  ck_assert_msg(r.err == 0, "claim: %s", r.msg);
}

void h_close(hfix *h) {
  k8sha__fcm_free(h->fcm);
  k8sha__hstore_free(h->h);
}

int h_add(fixture *f, hfix *h, const char *key, const char *v, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha__hstore_add(h->h, key, v, strlen(v), on_h, r), 0);
  it_run_until(&f->t, &r->done);
  return r->err;
}

int h_get(fixture *f, hfix *h, const char *key, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha__hstore_get(h->h, key, on_hget, r), 0);
  it_run_until(&f->t, &r->done);
  return r->err;
}

int h_remove(fixture *f, hfix *h, const char *key, res *r) {
  res_init(f, r);
  ck_assert_int_eq(k8sha__hstore_remove(h->h, key, on_h, r), 0);
  it_run_until(&f->t, &r->done);
  return r->err;
}

/* ---- a storage backend the test controls ---- */


int mem_find(membackend *m, const char *uri) {
  int i;
  for (i = 0; i < 32; i++)
    if (strcmp(m->uris[i], uri) == 0)
      return i;
  return -1;
}

int mem_write(void *self, const char *uri, const void *data, size_t len,
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

int mem_read(void *self, const char *uri, k8sha_storage_op *op) {
  membackend *m = self;
  int i = mem_find(m, uri);
  if (m->hold_read) {
    m->held_read = op;
    return 0;
  }
  if (i < 0)
    k8sha_storage_op_complete(op, K8SHA_ENOTFOUND, "no such blob", NULL, 0);
  else
    k8sha_storage_op_complete(op, 0, NULL, m->data[i], m->len[i]);
  return 0;
}

int mem_remove(void *self, const char *uri, k8sha_storage_op *op) {
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

int mem_list(void *self, const char *prefix, k8sha_storage_op *op) {
  membackend *m = self;
  int i;
  for (i = 0; i < 32; i++)
    if (m->uris[i][0] && strncmp(m->uris[i], prefix, strlen(prefix)) == 0)
      k8sha_storage_op_add_entry(op, m->uris[i]);
  k8sha_storage_op_complete(op, 0, NULL, NULL, 0);
  return 0;
}

void setup_mem_with(fixture *f, membackend *m, const char *const *extra,
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

void setup_mem(fixture *f, membackend *m, const char *const *extra) {
  setup_mem_with(f, m, extra, K8SHA_LOCK_CONFIGMAP);
}

/* ---- job graphs ---- */

void on_jg(k8sha_jobgraph_store *s, int status, void *ud) {
  finish_res(ud, status, k8sha_jobgraph_store_last_error(s));
}

void on_jg_got(k8sha_jobgraph_store *s, int status, const void *graph, size_t len,
                      void *ud) {
  res *r = ud;
  if (!status)
    snprintf(r->data[0], sizeof(r->data[0]), "%.*s", (int)len, (const char *)graph);
  finish_res(r, status, k8sha_jobgraph_store_last_error(s));
}

/* ---- cleanup and orphans ---- */


void on_found(k8sha_found_kind kind, const char *name, void *ud) {
  found_log *l = ud;
  size_t n = strlen(l->seen);
  snprintf(l->seen + n, sizeof(l->seen) - n, "%s %s\n", k8sha_found_kind_name(kind), name);
  l->count++;
}

void on_cleaned(int status, const char *message, void *ud) {
  found_log *l = ud;
  l->done = 1;
  l->err = status;
  snprintf(l->msg, sizeof(l->msg), "%s", message ? message : "");
  uv_stop(l->loop);
}

void log_init(fixture *f, found_log *l) {
  memset(l, 0, sizeof(*l));
  l->loop = &f->t.loop;
}

