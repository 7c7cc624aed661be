/* Benchmark (not a test): sequential checkpoint commits through the C API, for comparison with
 * the same loop through the Java binding (bindings/java/bench/CommitBench.java, run side by side
 * by bindings/java/bench.sh against one server). Contends for leadership, opens a job's store,
 * then commits N checkpoints of 512 bytes one after the other (k8sha_checkpoint_commit: counter,
 * blob, pointer), after up to 50 unmeasured ones (as the Java side warms up its JIT). Prints
 * p50/p99 commit latency and the process's CPU time per commit.
 *
 *   commit_bench CONFIG_FILE COMMITS [--lease-lock]
 *
 * --lease-lock elects on a Lease, so that the ConfigMap requests a server counts are the
 * store's alone (tests/bench/peers/run counts them so). The last line repeats the figures as
 * JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <k8sha.h>

#include "bench_clock.h"

#define JOB "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define STATE_BYTES 512

static uv_loop_t loop;
static k8sha_checkpoint_store *store;
static char state[STATE_BYTES];
static double *lat, started;
static unsigned long done, total, warm, warmup;
static double cpu0;

static void die(const char *what, int err) {
  fprintf(stderr, "commit_bench: %s: %s (%s)\n", what, k8sha_last_error(), k8sha_err_name(err));
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void next(void);

static void on_committed(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  (void)ud;
  (void)id;
  if (status) {
    fprintf(stderr, "commit_bench: commit: %s (%s)\n", k8sha_checkpoint_store_last_error(s),
            k8sha_err_name(status));
    exit(1);
  }
  if (warm) {
    if (--warm == 0)
      cpu0 = cpu_ms();
  } else {
    lat[done++] = now_ms() - started;
  }
  next();
}

static void next(void) {
  int rc;
  if (done == total) {
    double cpu = cpu_ms() - cpu0;
    qsort(lat, total, sizeof(lat[0]), cmp_double);
    printf("C:    %lu commits, p50 %.2f ms, p99 %.2f ms, CPU %.0f us per commit\n", total,
           lat[total / 2], lat[(total * 99) / 100], cpu / total * 1e3);
    printf("JSON {\"commits\": %lu, \"warmup\": %lu, \"commit_ms_p50\": %.3f, "
           "\"commit_ms_p99\": %.3f, \"cpu_ms_per_commit\": %.4f}\n",
           total, warmup, lat[total / 2], lat[(total * 99) / 100], cpu / total);
    uv_stop(&loop);
    return;
  }
  started = now_ms();
  rc = k8sha_checkpoint_commit(store, state, sizeof(state), on_committed, NULL);
  if (rc)
    die("commit", rc);
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  (void)s;
  (void)ud;
  if (status)
    die("opening the store", status);
  warm = warmup = total < 50 ? total : 50;
  next();
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  int rc;
  (void)session;
  (void)term;
  (void)ud;
  rc = k8sha_checkpoint_store_open(&store, e, JOB, on_opened, NULL);
  if (rc)
    die("opening the store", rc);
}

int main(int argc, char **argv) {
  k8sha_config *cfg = NULL;
  k8sha_ctx *ctx = NULL;
  k8sha_ctx_options co;
  k8sha_election *e = NULL;
  k8sha_election_callbacks cbs;
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  int rc;

  if (argc < 3 || argc > 4 || (total = strtoul(argv[2], NULL, 10)) == 0 ||
      (argc == 4 && strcmp(argv[3], "--lease-lock") != 0)) {
    fprintf(stderr, "usage: commit_bench CONFIG_FILE COMMITS [--lease-lock]\n");
    return 2;
  }
  if (argc == 4)
    eo.lock = K8SHA_LOCK_LEASE;
  memset(state, 'x', sizeof(state));
  lat = calloc(total, sizeof(lat[0]));
  if (!lat)
    return 1;
  if ((rc = k8sha_config_new(&cfg, NULL)) || (rc = k8sha_config_load_file(cfg, argv[1])) ||
      (rc = k8sha_config_validate(cfg)) || (rc = k8sha_config_resolve_kube(cfg)))
    die("configuration", rc);
  uv_loop_init(&loop);
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = &loop;
  if ((rc = k8sha_ctx_new(&ctx, cfg, &co)))
    die("context", rc);
  k8sha_config_free(cfg);
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  if ((rc = k8sha_election_new(&e, ctx, &eo, &cbs)) || (rc = k8sha_election_start(e)))
    die("election", rc);
  uv_run(&loop, UV_RUN_DEFAULT);
  k8sha_checkpoint_store_free(store);
  k8sha_election_stop(e, NULL, NULL);
  k8sha_election_free(e);
  k8sha_ctx_free(ctx);
  while (uv_run(&loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&loop);
  free(lat);
  return 0;
}
