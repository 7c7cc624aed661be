/* Benchmark (not a test): a session cluster's jobs after a failover, in one process. For 1, 100
 * and 1,000 jobs (each with its ConfigMap and a retained checkpoint, written beforehand by
 * another leadership), a new leader is granted the Lease lock and then, for every job at once,
 * opens the job's checkpoint store (claiming its ConfigMap for the new term, as it must before
 * reading it) and recovers the latest checkpoint (its blob read back and checked). Prints the
 * time from the grant to the last job recovered, the API requests that took, the process's RSS
 * with every store open and one leader retriever per job ("job-<id>", as each JobMaster's
 * address is followed, in a second context as in the processes that look jobs up), and then,
 * over a quiet window, the leader's API requests per second and the retrievers' requests, watch
 * events and callbacks (the window is the only wait on time here). The watch events are the
 * retrievers' context's: with the Lease lock its one watch is of the addresses ConfigMap, and
 * they include the BOOKMARK a server sends each watch about once a minute (kube-lite: every 60
 * s), so a window may hold one; a callback is a retriever told of a change.
 *
 *   build/tests/bench/jobs_bench [JOBS ...] [--window S]       (default 1 100 1000, 10 s)
 *
 * On a k8sha-kube-lite on loopback (its own process), blobs in files under its folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <k8sha.h>

#include "bench_clock.h"
#include "bench_kube.h"

#define STATE_BYTES 512

static uv_loop_t loop;
static kubelite *kl;
static char state[STATE_BYTES];
static size_t pending;
static int granted;
static char verbs[8][160];
static size_t n_verbs;

typedef struct job {
  k8sha_checkpoint_store *s;
  k8sha_retriever *r;
  char id[33];
  int recovered;
} job;

static void die(const char *what, const char *message) {
  fprintf(stderr, "jobs_bench: %s: %s\n", what, message ? message : k8sha_last_error());
  exit(1);
}

static void one_done(void) {
  if (--pending == 0)
    uv_stop(&loop);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  double *at = ud;
  (void)e, (void)session, (void)term;
  if (at)
    *at = now_ms();
  granted = 1;
  uv_stop(&loop);
}

static k8sha_ctx *context(const char *cid) {
  char dir[600];
  snprintf(dir, sizeof(dir), "file://%s/ha", kubelite_dir(kl));
  return bench_context(&loop, bench_config(kl, cid, dir));
}

static void lead(const char *cid, const char *identity, k8sha_ctx **ctx, k8sha_election **e,
                 double *granted_at) {
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  *ctx = context(cid);
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.user_data = granted_at;
  eo.lock = K8SHA_LOCK_LEASE;
  eo.identity = identity;
  granted = 0;
  if (k8sha_election_new(e, *ctx, &eo, &cbs) || k8sha_election_start(*e))
    die("election", NULL);
  while (!granted)
    uv_run(&loop, UV_RUN_DEFAULT);
}

/* ---- the jobs as the previous leader left them ---- */

static void on_prep_added(k8sha_checkpoint_store *s, int status, void *ud) {
  (void)ud;
  if (status)
    die("add", k8sha_checkpoint_store_last_error(s));
  one_done();
}

static void on_prep_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  (void)ud;
  if (status)
    die("open", k8sha_checkpoint_store_last_error(s));
  if (k8sha_checkpoint_add(s, 7, state, sizeof(state), on_prep_added, NULL))
    die("add", k8sha_checkpoint_store_last_error(s));
}

static void prepare(const char *cid, job *jobs, size_t n) {
  k8sha_ctx *ctx;
  k8sha_election *e;
  size_t i;
  lead(cid, "previous", &ctx, &e, NULL);
  pending = n;
  for (i = 0; i < n; i++)
    if (k8sha_checkpoint_store_open(&jobs[i].s, e, jobs[i].id, on_prep_opened, NULL))
      die("open", NULL);
  while (pending)
    uv_run(&loop, UV_RUN_DEFAULT);
  for (i = 0; i < n; i++) {
    k8sha_checkpoint_store_free(jobs[i].s);
    jobs[i].s = NULL;
  }
  /* a clean shutdown: the lease is released, the next leader is granted at once */
  k8sha_election_free(e);
  k8sha_ctx_free(ctx);
  while (uv_run(&loop, UV_RUN_NOWAIT))
    ;
}

/* ---- the new leader ---- */

static void on_latest(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *cp,
                      size_t skipped, void *ud) {
  job *j = ud;
  (void)skipped;
  if (status)
    die("recover", k8sha_checkpoint_store_last_error(s));
  if (!cp || cp->id != 7 || cp->len != STATE_BYTES || memcmp(cp->data, state, STATE_BYTES) != 0)
    die("recover", "the latest checkpoint is not the one written");
  j->recovered = 1;
  one_done();
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  if (status)
    die("open", k8sha_checkpoint_store_last_error(s));
  if (k8sha_checkpoint_recover_latest(s, on_latest, ud))
    die("recover", k8sha_checkpoint_store_last_error(s));
}

static unsigned long reports; /* retriever callbacks */

static void on_leader(k8sha_retriever *r, const char *address, const char *session, void *ud) {
  (void)r, (void)address, (void)session, (void)ud;
  reports++;
}

static void stats(k8sha_ctx *ctx, k8sha_stats *st) {
  memset(st, 0, sizeof(*st));
  st->version = K8SHA_STATS_VERSION;
  k8sha_ctx_stats(ctx, st);
}

static void on_window(uv_timer_t *t) {
  (void)t;
  uv_stop(&loop);
}

static void bench(size_t n, double window_s) {
  job *jobs = calloc(n, sizeof(*jobs));
  k8sha_ctx *ctx, *rctx;
  k8sha_election *e;
  k8sha_stats s0, s1, s2, r1, r2;
  k8sha_retriever_options ro = K8SHA_RETRIEVER_OPTIONS_INIT;
  char cid[32];
  double at = 0, t1;
  long kl0, kl1;
  uv_timer_t timer;
  size_t i;

  snprintf(cid, sizeof(cid), "jobs%zu", n);
  for (i = 0; i < n; i++)
    snprintf(jobs[i].id, sizeof(jobs[i].id), "%016zx%016zx", (size_t)0x10b5, i);
  prepare(cid, jobs, n);

  lead(cid, "next", &ctx, &e, &at);
  stats(ctx, &s0);
  kl0 = kubelite_count(kl, NULL, NULL, 0);
  pending = n;
  for (i = 0; i < n; i++)
    if (k8sha_checkpoint_store_open(&jobs[i].s, e, jobs[i].id, on_opened, &jobs[i]))
      die("open", NULL);
  while (pending)
    uv_run(&loop, UV_RUN_DEFAULT);
  t1 = now_ms();
  stats(ctx, &s1);
  kl1 = kubelite_count(kl, NULL, NULL, 0);
  /* (said after the table: what the recovery's requests were) */
  snprintf(verbs[n_verbs++ % 8], sizeof(verbs[0]),
           "%zu jobs: %.2f GET, %.2f PATCH, %.2f PUT, %.2f POST, %.2f LIST per job", n,
           (double)(s1.requests_get - s0.requests_get) / n,
           (double)(s1.requests_patch - s0.requests_patch) / n,
           (double)(s1.requests_update - s0.requests_update) / n,
           (double)(s1.requests_create - s0.requests_create) / n,
           (double)(s1.requests_list - s0.requests_list) / n);

  /* the retrievers in a context of their own, as in the processes that look jobs up */
  rctx = context(cid);
  ro.lock = K8SHA_LOCK_LEASE;
  for (i = 0; i < n; i++) {
    char component[48];
    snprintf(component, sizeof(component), "job-%s", jobs[i].id);
    if (k8sha_retriever_new(&jobs[i].r, rctx, &ro, component, on_leader, NULL))
      die("retriever", NULL);
  }
  /* (the retrievers' first reads settle; then the quiet window) */
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, on_window, 1000, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  stats(ctx, &s1);
  stats(rctx, &r1);
  reports = 0;
  uv_timer_start(&timer, on_window, (uint64_t)(window_s * 1000), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  stats(ctx, &s2);
  stats(rctx, &r2);
  printf("| %5zu | %9.0f | %8ld | %5.2f | %7.1f | %8.2f | %10.2f | %8llu | %8lu |\n", n,
         t1 - at, kl1 - kl0, (double)(kl1 - kl0) / n, rss_kib() / 1024.0,
         (double)(s2.requests - s1.requests) / window_s,
         (double)(r2.requests - r1.requests) / window_s,
         (unsigned long long)(r2.watch_events - r1.watch_events), reports);
  fflush(stdout);
  uv_close((uv_handle_t *)&timer, NULL);
  for (i = 0; i < n; i++) {
    k8sha_retriever_free(jobs[i].r);
    k8sha_checkpoint_store_free(jobs[i].s);
  }
  k8sha_ctx_free(rctx);
  k8sha_election_free(e);
  k8sha_ctx_free(ctx);
  while (uv_run(&loop, UV_RUN_NOWAIT))
    ;
  free(jobs);
}

int main(int argc, char **argv) {
  size_t counts[16], n_counts = 0, i;
  double window = 10;
  int a;
  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--window") == 0 && a + 1 < argc)
      window = atof(argv[++a]);
    else if (n_counts < 16 && atol(argv[a]) > 0)
      counts[n_counts++] = (size_t)atol(argv[a]);
    else
      die("usage", "jobs_bench [JOBS ...] [--window SECONDS]");
  }
  if (!n_counts) {
    counts[0] = 1, counts[1] = 100, counts[2] = 1000;
    n_counts = 3;
  }
  kl = bench_start(&loop, state, sizeof(state));
  printf("jobs recovered after a failover, in one process (Lease lock, kube-lite, %d-byte "
         "states; quiet window %.0f s)\n\n",
         STATE_BYTES, window);
  printf("| jobs  | grant to all recovered, ms | requests | per job | RSS MiB | quiet: leader req/s "
         "| retrievers' req/s | retrievers' watch events | retriever callbacks |\n");
  printf("|---|---|---|---|---|---|---|---|---|\n");
  for (i = 0; i < n_counts; i++)
    bench(counts[i], window);
  printf("\nthe recovery's requests, from the leader's own counters:\n");
  for (i = 0; i < n_verbs && i < 8; i++)
    printf("  %s\n", verbs[i]);
  uv_loop_close(&loop);
  kubelite_free(kl);
  return 0;
}
