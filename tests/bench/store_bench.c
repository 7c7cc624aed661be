/* Benchmark of the checkpoint store (not a test): checkpoint commits on a k8sha-kube-lite with
 * the file backend under /tmp. Prints API requests per commit, commits/s and p50/p99 commit
 * latency for one job and for 100 jobs in one process, client CPU per commit, the process's RSS
 * with 100 job stores open, the pointer's size against Flink's Java-serialized handle, and how
 * many retained checkpoints fit in one ConfigMap.
 *
 *   build/tests/bench/store_bench [commits-per-job]     (default 200; 100-job run: a tenth)
 *
 * Run under tests/s3/s3proxy.sh, it first makes the same single-job commits with the s3 backend;
 * under tests/hdfs/minidfs.sh, with the hdfs backend (both nest, for all three side by side:
 * tests/hdfs/minidfs.sh tests/s3/s3proxy.sh build/tests/bench/store_bench).
 *
 * The election uses a Lease lock so that the ConfigMap requests counted are the store's only;
 * a commit is k8sha_checkpoint_add() (blob write + fsync, then the pointer update) followed by
 * the removal of the subsumed checkpoint (num-retained 1), as a JobManager does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include <curl/curl.h>
#include <jansson.h>
#include <k8sha.h>

#include "bench_clock.h"
#include "bench_kube.h"

#define JOBS 100
#define STATE_BYTES 512
/* Flink 1.15-1.20: base64 of a Java-serialized RetrievableStreamStateHandle wrapping a
 * FileStateHandle (class descriptors, the path as java.net.URI, the size); ~1 KB in a
 * ConfigMap for a short path, measured on Flink's own job ConfigMaps. */
#define FLINK_POINTER_BYTES 1000

static uv_loop_t loop;
static kubelite *kl;

static void die(const char *what, int err, const char *message) {
  fprintf(stderr, "store_bench: %s: %s (%s)\n", what, message ? message : "", k8sha_err_name(err));
  exit(1);
}

typedef struct job {
  k8sha_checkpoint_store *s;
  uint64_t next_id, remaining;
  double started;
  int opened;
} job;

static double *lat;
static size_t n_lat, running;
static char state[STATE_BYTES];

static void on_added(k8sha_checkpoint_store *s, int status, void *ud);

static void add_next(job *j) {
  int rc;
  j->started = now_ms();
  rc = k8sha_checkpoint_add(j->s, j->next_id, state, sizeof(state), on_added, j);
  if (rc)
    die("add", rc, NULL);
}

static void on_added(k8sha_checkpoint_store *s, int status, void *ud) {
  job *j = ud;
  if (status)
    die("add", status, k8sha_checkpoint_store_last_error(s));
  lat[n_lat++] = now_ms() - j->started;
  j->next_id++;
  if (--j->remaining)
    add_next(j);
  else if (--running == 0)
    uv_stop(&loop);
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  job *j = ud;
  if (status)
    die("open", status, k8sha_checkpoint_store_last_error(s));
  j->opened = 1;
  if (--running == 0)
    uv_stop(&loop);
}

static int granted;
static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  (void)e;
  (void)session;
  (void)term;
  (void)ud;
  granted = 1;
  uv_stop(&loop);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void run(k8sha_election *e, size_t n_jobs, uint64_t per_job, const char *label) {
  job *jobs = calloc(n_jobs, sizeof(*jobs));
  long updates0, gets0, creates0, updates, gets, creates;
  double t0, cpu0, elapsed, cpu;
  size_t i;

  lat = calloc(n_jobs * per_job, sizeof(*lat));
  n_lat = 0;
  running = n_jobs;
  for (i = 0; i < n_jobs; i++) {
    char id[33];
    snprintf(id, sizeof(id), "%016zx%016zx", (size_t)0xbe9c4, i + (n_jobs > 1 ? 1000 : 0));
    if (k8sha_checkpoint_store_open(&jobs[i].s, e, id, on_opened, &jobs[i]) != 0)
      die("open", -1, id);
  }
  while (running)
    uv_run(&loop, UV_RUN_DEFAULT);
  if (n_jobs == JOBS)
    printf("  RSS with %zu job stores open:           %.1f MiB (target < 16 MiB)\n", n_jobs,
           rss_kib() / 1024.0);
  /* one warm-up commit per job (the first add of a job has no checkpoint to subsume) */
  running = n_jobs;
  for (i = 0; i < n_jobs; i++) {
    jobs[i].next_id = 1;
    jobs[i].remaining = 1;
    add_next(&jobs[i]);
  }
  while (running)
    uv_run(&loop, UV_RUN_DEFAULT);
  n_lat = 0;
  updates0 = kubelite_count(kl, "update", "configmaps", 0) + kubelite_count(kl, "patch", "configmaps", 0);
  gets0 = kubelite_count(kl, "get", "configmaps", 0);
  creates0 = kubelite_count(kl, "create", "configmaps", 0);
  cpu0 = cpu_ms();
  t0 = now_ms();
  running = n_jobs;
  for (i = 0; i < n_jobs; i++) {
    jobs[i].remaining = per_job;
    add_next(&jobs[i]);
  }
  while (running)
    uv_run(&loop, UV_RUN_DEFAULT);
  elapsed = now_ms() - t0;
  cpu = cpu_ms() - cpu0;
  updates = kubelite_count(kl, "update", "configmaps", 0) +
            kubelite_count(kl, "patch", "configmaps", 0) - updates0;
  gets = kubelite_count(kl, "get", "configmaps", 0) - gets0;
  creates = kubelite_count(kl, "create", "configmaps", 0) - creates0;
  qsort(lat, n_lat, sizeof(*lat), cmp_double);
  printf("%s: %zu commits\n", label, n_lat);
  printf("  commits/s:                              %.0f\n", n_lat / (elapsed / 1e3));
  printf("  commit latency p50 / p99:               %.2f / %.2f ms\n", lat[n_lat / 2],
         lat[n_lat * 99 / 100]);
  printf("  API requests per commit:                %.2f (target 1: %.2f updates, %.2f reads, %.2f "
         "creates; the subsumed checkpoint is marked in the same update)\n",
         (double)(updates + gets + creates) / n_lat, (double)updates / n_lat,
         (double)gets / n_lat, (double)creates / n_lat);
  printf("  client CPU per commit:                  %.3f ms\n", cpu / n_lat);
  for (i = 0; i < n_jobs; i++)
    k8sha_checkpoint_store_free(jobs[i].s);
  free(jobs);
  free(lat);
}

/* A context and a Lease-lock election on kube-lite for cluster `cluster_id`, blobs in `dir`
 * (with the s3 keys of tests/s3/s3proxy.sh's server when `s3`), led by this process. */
static void lead(const char *cluster_id, const char *dir, int s3, k8sha_ctx **ctx,
                 k8sha_election **e) {
  k8sha_config *cfg = bench_config(kl, cluster_id, dir);
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  if (s3) {
    k8sha_config_set(cfg, "s3.endpoint", getenv("K8SHA_TEST_S3_ENDPOINT"));
    k8sha_config_set(cfg, "s3.path.style.access", "true");
    k8sha_config_set(cfg, "s3.access-key", getenv("K8SHA_TEST_S3_ACCESS_KEY"));
    k8sha_config_set(cfg, "s3.secret-key", getenv("K8SHA_TEST_S3_SECRET_KEY"));
  }
  *ctx = bench_context(&loop, cfg);
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  eo.lock = K8SHA_LOCK_LEASE;
  granted = 0;
  if (k8sha_election_new(e, *ctx, &eo, &cbs) || k8sha_election_start(*e))
    die("election", -1, NULL);
  while (!granted)
    uv_run(&loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv) {
  uint64_t per_job = argc > 1 ? strtoull(argv[1], NULL, 10) : 200;
  const char *s3 = getenv("K8SHA_TEST_S3_ENDPOINT");
  const char *hdfs = getenv("K8SHA_TEST_HDFS_WEBHDFS");
  k8sha_ctx *ctx = NULL;
  k8sha_election *e = NULL;
  char dir[600];

  kl = bench_start(&loop, state, sizeof(state));
  if (s3 && *s3) {
    /* the same commits with the blobs in S3 (under tests/s3/s3proxy.sh: S3Proxy on loopback,
     * objects as files on the same disk), beside the file backend below */
    snprintf(dir, sizeof(dir), "s3://%s/bench", getenv("K8SHA_TEST_S3_BUCKET"));
    lead("bench-s3", dir, 1, &ctx, &e);
    printf("checkpoint store on k8sha-kube-lite, s3 backend (S3Proxy at %s, SigV4), %d-byte "
           "states\n",
           s3, STATE_BYTES);
    run(e, 1, per_job, "1 job, s3");
    k8sha_election_free(e);
    k8sha_ctx_free(ctx);
  }
  if (hdfs && *hdfs) {
    /* in HDFS (under tests/hdfs/minidfs.sh: Hadoop's MiniDFSCluster on loopback, one datanode,
     * through WebHDFS; the file system is HADOOP_CONF_DIR's fs.defaultFS) */
    lead("bench-hdfs", "hdfs:///bench", 0, &ctx, &e);
    printf("checkpoint store on k8sha-kube-lite, hdfs backend (MiniDFSCluster, WebHDFS at %s), "
           "%d-byte states\n",
           hdfs, STATE_BYTES);
    run(e, 1, per_job, "1 job, hdfs");
    k8sha_election_free(e);
    k8sha_ctx_free(ctx);
  }
  snprintf(dir, sizeof(dir), "file://%s/ha", kubelite_dir(kl));
  lead("bench", dir, 0, &ctx, &e);
  printf("checkpoint store on k8sha-kube-lite, file backend under %s, %d-byte states\n",
         kubelite_dir(kl), STATE_BYTES);
  run(e, 1, per_job, (s3 && *s3) || (hdfs && *hdfs) ? "1 job, file" : "1 job");
  run(e, JOBS, per_job / 10 ? per_job / 10 : 1, "100 jobs, one process");

  {
    /* the pointer as stored, read back from a job ConfigMap */
    char url[900], *body = NULL;
    CURL *c = curl_easy_init();
    json_t *cm;
    const char *key, *v0;
    json_t *v;
    size_t value_len = 0, key_len = strlen("checkpointID-0000000000000000001");
    snprintf(url, sizeof(url),
             "%s/api/v1/namespaces/flink/configmaps/bench-%016zx%016zx-config-map",
             kubelite_url(kl), (size_t)0xbe9c4, (size_t)0);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kubelite_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(c) != CURLE_OK)
      die("reading the job ConfigMap", -1, url);
    curl_easy_cleanup(c);
    cm = body ? json_loads(body, 0, NULL) : NULL;
    json_object_foreach(json_object_get(cm, "data"), key, v) {
      if (strncmp(key, "checkpointID-", 13) == 0) {
        v0 = json_string_value(v);
        value_len = strlen(v0);
      }
    }
    printf("pointer per checkpoint:                   %zu bytes (Flink's Java-serialized handle: "
           "~%d bytes)\n",
           value_len, FLINK_POINTER_BYTES);
    printf("retained checkpoints that fit in one ConfigMap (1,048,576 bytes of data): %zu "
           "(Flink: ~%zu)\n",
           value_len ? (size_t)1048576 / (key_len + value_len) : 0,
           (size_t)1048576 / (key_len + FLINK_POINTER_BYTES));
    json_decref(cm);
    free(body);
  }
  k8sha_election_free(e);
  k8sha_ctx_free(ctx);
  while (uv_run(&loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&loop);
  kubelite_free(kl);
  return 0;
}
