/* The store tests' fixture and helpers (storefix.h). */
#include "storefix.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

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

static int env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v;
}

const char *storage_scheme(void) {
  if (env_set("K8SHA_TEST_HDFS_WEBHDFS"))
    return "hdfs";
  if (env_set("K8SHA_TEST_S3_ENDPOINT"))
    return "s3";
  return "file";
}

/* The default storage directory: kube-lite's scratch folder, or, under tests/s3/s3proxy.sh or
 * tests/hdfs/minidfs.sh, a folder of its own named after that scratch folder (unique per test)
 * in the S3 server's bucket or in HDFS (whose namenode comes from HADOOP_CONF_DIR). */
static void default_storage(fixture *f, char *dir, size_t size, const char **kv, int *n) {
  const char *scheme = storage_scheme();
  const char *folder = strrchr(kubelite_dir(f->t.kl), '/') + 1;
  if (strcmp(scheme, "hdfs") == 0) {
    snprintf(dir, size, "hdfs:///%s/ha", folder);
    return;
  }
  if (strcmp(scheme, "s3") != 0) {
    snprintf(dir, size, "%s/ha", kubelite_dir(f->t.kl));
    return;
  }
  snprintf(dir, size, "s3://%s/%s/ha", getenv("K8SHA_TEST_S3_BUCKET"), folder);
  kv[(*n)++] = "s3.endpoint";
  kv[(*n)++] = getenv("K8SHA_TEST_S3_ENDPOINT");
  kv[(*n)++] = "s3.path.style.access";
  kv[(*n)++] = "true";
  kv[(*n)++] = "s3.access-key";
  kv[(*n)++] = getenv("K8SHA_TEST_S3_ACCESS_KEY");
  kv[(*n)++] = "s3.secret-key";
  kv[(*n)++] = getenv("K8SHA_TEST_S3_SECRET_KEY");
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
  }
  snprintf(f->blobs, sizeof(f->blobs), "%s/it", f->storage_dir);
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

/* ---- blobs on any test storage ---- */

/* Where the tests reach a blob or folder: the one place that maps a URI. Returns 0 with a local
 * path in `out` (a path, file:// or Flink's file: spelling; s3:// as the S3 server's file
 * <root>/<bucket>/<key>), or 1 with the WebHDFS URL of an hdfs:// URI's path (authority aside:
 * the tests have one HDFS), a query yet to come. */
static int locate(const char *uri, char *out, size_t size) {
  if (strncmp(uri, "hdfs://", 7) == 0) {
    const char *path = strchr(uri + 7, '/');
    snprintf(out, size, "%s/webhdfs/v1%s", getenv("K8SHA_TEST_HDFS_WEBHDFS"), path ? path : "/");
    return 1;
  }
  if (strncmp(uri, "s3://", 5) == 0)
    snprintf(out, size, "%s/%s", getenv("K8SHA_TEST_S3_ROOT"), uri + 5);
  else if (strncmp(uri, "file://", 7) == 0)
    snprintf(out, size, "%s", uri + 7);
  else if (strncmp(uri, "file:", 5) == 0)
    snprintf(out, size, "%s", uri + 5);
  else {
    ck_assert_msg(uri[0] == '/', "no storage the tests know: %s", uri);
    snprintf(out, size, "%s", uri);
  }
  return 0;
}

typedef struct http_body {
  char *data; /* NUL-terminated */
  size_t len;
} http_body;

static size_t collect(char *p, size_t size, size_t n, void *ud) {
  http_body *a = ud;
  char *grown = realloc(a->data, a->len + size * n + 1);
  ck_assert_ptr_nonnull(grown);
  memcpy(grown + a->len, p, size * n);
  a->len += size * n;
  grown[a->len] = '\0';
  a->data = grown;
  return size * n;
}

/* One WebHDFS request: `method` on url?op=OP&user.name=USER (or on url as it is when op is
 * NULL: a datanode's Location), with `data` as its body when not NULL. Redirects are followed,
 * unless `location` asks for the redirect's target. Returns the HTTP status; the caller frees
 * a->data. */
static long webhdfs(const char *method, const char *url, const char *op, const void *data,
                    size_t len, http_body *a, char *location, size_t locsize) {
  CURL *c = curl_easy_init();
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
  const char *user = getenv("HADOOP_USER_NAME");
  char full[4096];
  long code = 0;
  CURLcode rc;
  char *target = NULL;
  h = curl_slist_append(h, "Expect:");
  if (op)
    snprintf(full, sizeof(full), "%s?op=%s&user.name=%s", url, op, user && *user ? user : "k8sha");
  else
    snprintf(full, sizeof(full), "%s", url);
  memset(a, 0, sizeof(*a));
  curl_easy_setopt(c, CURLOPT_URL, full);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, location ? 0L : 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (data) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
  rc = curl_easy_perform(c);
  ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, full, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (location) {
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &target);
    snprintf(location, locsize, "%s", target ? target : "");
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return code;
}

/* Fails the test on a WebHDFS answer other than `want` (or `also`, when not 0). */
static void webhdfs_expect(long code, long want, long also, const char *what, const char *uri,
                           const http_body *a) {
  ck_assert_msg(code == want || (also && code == also), "WebHDFS %s %s: %ld %s", what, uri, code,
                a->data ? a->data : "");
}

/* Calls `each` with every name in the folder at `uri` but those starting with '.' (none when
 * the folder does not exist). */
static void each_name(const char *uri, void (*each)(const char *name, void *ud), void *ud) {
  char where[4096];
  if (locate(uri, where, sizeof(where))) {
    http_body a;
    json_t *j, *list, *st;
    size_t i;
    long code = webhdfs("GET", where, "LISTSTATUS", NULL, 0, &a, NULL, 0);
    webhdfs_expect(code, 200, 404, "LISTSTATUS", uri, &a);
    if (code == 200) {
      j = json_loads(a.data ? a.data : "", 0, NULL);
      list = json_object_get(json_object_get(j, "FileStatuses"), "FileStatus");
      ck_assert_msg(json_is_array(list), "LISTSTATUS %s: %s", uri, a.data ? a.data : "");
      json_array_foreach(list, i, st) {
        const char *name = json_string_value(json_object_get(st, "pathSuffix"));
        if (name && name[0] != '.')
          each(name, ud);
      }
      json_decref(j);
    }
    free(a.data);
  } else {
    DIR *d = opendir(where);
    struct dirent *de;
    while (d && (de = readdir(d)))
      if (de->d_name[0] != '.')
        each(de->d_name, ud);
    if (d)
      closedir(d);
  }
}

typedef struct pick {
  const char *folder, *prefix, *not_this;
  char *out;
  size_t size;
  int n;
} pick;

static void pick_one(const char *name, void *ud) {
  pick *p = ud;
  char uri[2048];
  snprintf(uri, sizeof(uri), "%s/%s", p->folder, name);
  if (strncmp(name, p->prefix, strlen(p->prefix)) != 0 ||
      (p->not_this && strcmp(uri, p->not_this) == 0))
    return;
  if (p->n++ == 0 && p->out)
    snprintf(p->out, p->size, "%s", uri);
}

/* How many blobs of f's folder are named `prefix`... and are not `not_this`; the URI of the
 * first one (in listing order) into `out` when not NULL. */
static int pick_blobs(const fixture *f, const char *prefix, const char *not_this, char *out,
                      size_t size) {
  pick p = {f->blobs, prefix, not_this, out, size, 0};
  each_name(f->blobs, pick_one, &p);
  return p.n;
}

int blob_count(const fixture *f) {
  return pick_blobs(f, "", NULL, NULL, 0);
}

void only_blob(const fixture *f, const char *prefix, char *out, size_t size) {
  ck_assert_int_eq(pick_blobs(f, prefix, NULL, out, size), 1);
}

void other_blob(const fixture *f, const char *not_this, char *out, size_t size) {
  ck_assert_msg(pick_blobs(f, "", not_this, out, size) > 0, "no blob but %s", not_this);
}

char *blob_read(const char *uri, size_t *len) {
  char where[4096];
  http_body a = {NULL, 0};
  if (locate(uri, where, sizeof(where))) {
    long code = webhdfs("GET", where, "OPEN", NULL, 0, &a, NULL, 0);
    webhdfs_expect(code, 200, 404, "OPEN", uri, &a);
    if (code == 404) {
      free(a.data);
      return NULL;
    }
  } else {
    FILE *fp = fopen(where, "rb");
    char chunk[4096];
    size_t n;
    if (!fp)
      return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
      collect(chunk, 1, n, &a);
    ck_assert_int_eq(ferror(fp), 0);
    fclose(fp);
  }
  if (!a.data) /* an empty blob */
    a.data = calloc(1, 1);
  *len = a.len;
  return a.data;
}

void blob_write(const char *uri, const void *data, size_t len) {
  char where[4096];
  if (locate(uri, where, sizeof(where))) {
    /* the namenode names a datanode (307), which takes the bytes (201); HDFS makes the parents */
    char datanode[4096];
    http_body a;
    long code = webhdfs("PUT", where, "CREATE&overwrite=true", "", 0, &a, datanode,
                        sizeof(datanode));
    webhdfs_expect(code, 307, 0, "CREATE", uri, &a);
    free(a.data);
    code = webhdfs("PUT", datanode, NULL, data, len, &a, NULL, 0);
    webhdfs_expect(code, 201, 0, "CREATE (datanode)", uri, &a);
    free(a.data);
  } else {
    FILE *fp;
    char *slash;
    for (slash = strchr(where + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
      *slash = '\0';
      ck_assert_msg(mkdir(where, 0755) == 0 || errno == EEXIST, "mkdir %s", where);
      *slash = '/';
    }
    fp = fopen(where, "wb");
    ck_assert_msg(fp != NULL, "cannot write %s", where);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
  }
}

void blob_damage(const char *uri, const char *bytes) {
  size_t len, n = strlen(bytes);
  char *data = blob_read(uri, &len);
  ck_assert_msg(data != NULL, "no blob %s", uri);
  ck_assert_uint_ge(len, n);
  memcpy(data, bytes, n);
  blob_write(uri, data, len);
  free(data);
}

int blob_delete(const char *uri) {
  char where[4096];
  if (locate(uri, where, sizeof(where))) {
    http_body a;
    json_t *j;
    int deleted;
    long code = webhdfs("DELETE", where, "DELETE", NULL, 0, &a, NULL, 0);
    webhdfs_expect(code, 200, 0, "DELETE", uri, &a);
    j = json_loads(a.data ? a.data : "", 0, NULL);
    ck_assert_msg(json_is_boolean(json_object_get(j, "boolean")), "DELETE %s: %s", uri, a.data);
    deleted = json_is_true(json_object_get(j, "boolean"));
    json_decref(j);
    free(a.data);
    return deleted;
  }
  if (unlink(where) == 0)
    return 1;
  ck_assert_msg(errno == ENOENT, "unlink %s: %s", where, strerror(errno));
  return 0;
}

long long blob_size(const char *uri) {
  char where[4096];
  struct stat st;
  if (locate(uri, where, sizeof(where))) {
    http_body a;
    json_t *j, *length;
    long long size;
    long code = webhdfs("GET", where, "GETFILESTATUS", NULL, 0, &a, NULL, 0);
    webhdfs_expect(code, 200, 404, "GETFILESTATUS", uri, &a);
    if (code == 404) {
      free(a.data);
      return -1;
    }
    j = json_loads(a.data ? a.data : "", 0, NULL);
    length = json_object_get(json_object_get(j, "FileStatus"), "length");
    ck_assert_msg(json_is_integer(length), "GETFILESTATUS %s: %s", uri, a.data);
    size = (long long)json_integer_value(length);
    json_decref(j);
    free(a.data);
    return size;
  }
  return stat(where, &st) == 0 ? (long long)st.st_size : -1;
}

int blob_exists(const char *uri) {
  return blob_size(uri) >= 0;
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

