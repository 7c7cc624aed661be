/* Benchmark (not a test): what one checkpoint commit costs this process in CPU, and how that
 * grows with the checkpoints a job retains. A commit is k8sha_checkpoint_add() of the next id
 * (the blob, then the pointer with the subsumed checkpoint marked: one ConfigMap write), as a
 * JobManager completes a checkpoint whose id it took from the counter when it began it; with
 * 512-byte states, on a k8sha-kube-lite (its own process: its CPU is not counted).
 *
 * The blobs go either to a storage backend that keeps nothing and completes each operation at
 * once (scheme "null": what remains is the library's own work, with jansson, libcurl and the
 * kernel's loopback sockets), or to the file backend (its writes and fsyncs added). Each row is
 * measured at num-retained 1 and 1,000 (the job ConfigMap then holds 1,000 pointers).
 *
 *   build/tests/bench/commit_cost [commits [BACKEND:RETAINED ...]]
 *       (default 2000 commits a row; rows null:1 null:1000 file:1 file:1000)
 *
 * For where the time goes: perf record -g -- build/tests/bench/commit_cost 20000, then
 * perf report --no-children --comm commit_cost --sort dso,sym. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include <k8sha.h>

#include "bench_clock.h"
#include "bench_kube.h"

#define STATE_BYTES 512

static uv_loop_t loop;
static kubelite *kl;
static k8sha_checkpoint_store *store;
static char state[STATE_BYTES];
static unsigned long remaining;
static uint64_t next_id;
static int granted, opened;

static void die(const char *what, const char *message) {
  fprintf(stderr, "commit_cost: %s: %s\n", what, message ? message : k8sha_last_error());
  exit(1);
}

/* ---- the storage backend that keeps nothing ---- */

static int null_write(void *self, const char *uri, const void *data, size_t len,
                      k8sha_storage_op *op) {
  (void)self, (void)uri, (void)data, (void)len;
  k8sha_storage_op_complete(op, 0, NULL, NULL, 0);
  return 0;
}

static int null_read(void *self, const char *uri, k8sha_storage_op *op) {
  (void)self;
  k8sha_storage_op_complete(op, K8SHA_ENOTFOUND, uri, NULL, 0);
  return 0;
}

static int null_remove(void *self, const char *uri, k8sha_storage_op *op) {
  (void)self, (void)uri;
  k8sha_storage_op_complete(op, 0, NULL, NULL, 0);
  return 0;
}

static int null_list(void *self, const char *prefix, k8sha_storage_op *op) {
  (void)self, (void)prefix;
  k8sha_storage_op_complete(op, 0, NULL, NULL, 0);
  return 0;
}

/* ---- leading and committing ---- */

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  (void)e, (void)session, (void)term, (void)ud;
  granted = 1;
  uv_stop(&loop);
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  (void)ud;
  if (status)
    die("open", k8sha_checkpoint_store_last_error(s));
  opened = 1;
  uv_stop(&loop);
}

static void on_committed(k8sha_checkpoint_store *s, int status, void *ud) {
  (void)ud;
  if (status)
    die("commit", k8sha_checkpoint_store_last_error(s));
  if (--remaining == 0) {
    uv_stop(&loop);
    return;
  }
  if (k8sha_checkpoint_add(s, next_id++, state, sizeof(state), on_committed, NULL))
    die("commit", k8sha_checkpoint_store_last_error(s));
}

static void commits(unsigned long n) {
  remaining = n;
  if (k8sha_checkpoint_add(store, next_id++, state, sizeof(state), on_committed, NULL))
    die("commit", k8sha_checkpoint_store_last_error(store));
  while (remaining)
    uv_run(&loop, UV_RUN_DEFAULT);
}

static double usec(const struct timeval *tv) {
  return tv->tv_sec * 1e6 + tv->tv_usec;
}

/* One row: a new cluster id, `retained` commits unmeasured (to fill the ConfigMap), then `n`
 * measured. */
static void row(const char *backend, unsigned int retained, unsigned long n, int seq) {
  k8sha_config *cfg = NULL;
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  k8sha_ctx *ctx = NULL;
  k8sha_election *e = NULL;
  struct rusage r0, r1;
  char dir[600], cid[64], num[24];
  long req0, req1;
  double t0, wall;
  int null = strcmp(backend, "null") == 0;

  snprintf(cid, sizeof(cid), "cost%d", seq);
  snprintf(num, sizeof(num), "%u", retained);
  if (null)
    snprintf(dir, sizeof(dir), "null://bench/ha");
  else
    snprintf(dir, sizeof(dir), "file://%s/ha", kubelite_dir(kl));
  cfg = bench_config(kl, cid, dir);
  k8sha_config_set(cfg, "execution.checkpointing.num-retained", num);
  if (null && k8sha_config_add_storage_scheme(cfg, "null"))
    die("config", k8sha_config_last_error(cfg));
  ctx = bench_context(&loop, cfg);
  if (null) {
    k8sha_storage_backend b;
    memset(&b, 0, sizeof(b));
    b.version = K8SHA_STORAGE_BACKEND_VERSION;
    b.scheme = "null";
    b.write_new = null_write;
    b.read = null_read;
    b.remove = null_remove;
    b.list = null_list;
    if (k8sha_storage_register(ctx, &b, NULL))
      die("backend", NULL);
  }
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  eo.lock = K8SHA_LOCK_LEASE;
  granted = 0;
  if (k8sha_election_new(&e, ctx, &eo, &cbs) || k8sha_election_start(e))
    die("election", NULL);
  while (!granted)
    uv_run(&loop, UV_RUN_DEFAULT);
  opened = 0;
  next_id = 1;
  if (k8sha_checkpoint_store_open(&store, e, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", on_opened, NULL))
    die("open", NULL);
  while (!opened)
    uv_run(&loop, UV_RUN_DEFAULT);
  commits(retained + 50); /* the ConfigMap full, and warm */

  req0 = kubelite_count(kl, NULL, "configmaps", 0);
  getrusage(RUSAGE_SELF, &r0);
  t0 = now_ms();
  commits(n);
  wall = now_ms() - t0;
  getrusage(RUSAGE_SELF, &r1);
  req1 = kubelite_count(kl, NULL, "configmaps", 0);
  printf("| %-7s | %9u | %8.1f | %8.1f | %8.1f | %7.2f | %9.0f |\n", backend, retained,
         (usec(&r1.ru_utime) - usec(&r0.ru_utime)) / n,
         (usec(&r1.ru_stime) - usec(&r0.ru_stime)) / n,
         (usec(&r1.ru_utime) - usec(&r0.ru_utime) + usec(&r1.ru_stime) - usec(&r0.ru_stime)) / n,
         (double)(req1 - req0) / n, n / (wall / 1e3));
  fflush(stdout);
  k8sha_checkpoint_store_free(store);
  k8sha_election_free(e);
  k8sha_ctx_free(ctx);
  while (uv_run(&loop, UV_RUN_NOWAIT))
    ;
}

int main(int argc, char **argv) {
  unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
  if (n == 0)
    die("usage", "commit_cost [commits per row, > 0]");
  kl = bench_start(&loop, state, sizeof(state));
  printf("CPU of this process per checkpoint commit (k8sha_checkpoint_add, %d-byte states, "
         "%lu commits a row; kube-lite's own CPU not counted)\n\n",
         STATE_BYTES, n);
  printf("| backend | retained  | user us  | sys us   | total us | req/commit | commits/s |\n");
  printf("|---------|-----------|----------|----------|----------|---------|-----------|\n");
  if (argc > 2) {
    int a;
    for (a = 2; a < argc; a++) {
      char backend[8];
      unsigned int retained;
      if (sscanf(argv[a], "%7[a-z]:%u", backend, &retained) != 2 || retained == 0 ||
          (strcmp(backend, "null") != 0 && strcmp(backend, "file") != 0))
        die("usage", "a row is null:RETAINED or file:RETAINED");
      row(backend, retained, n, a);
    }
  } else {
    row("null", 1, n, 1);
    row("null", 1000, n, 2);
    row("file", 1, n, 3);
    row("file", 1000, n, 4);
  }
  uv_loop_close(&loop);
  kubelite_free(kl);
  return 0;
}
