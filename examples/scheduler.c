/*
 * scheduler: the loop of a scheduler that keeps its progress in checkpoints, written from the API
 * guide alone, for a host without libuv (the library runs its own loop thread).
 *
 * When it leads, it opens the job's checkpoint store, takes the newest checkpoint that reads
 * back intact (k8sha_checkpoint_recover_latest), and from there commits a checkpoint every
 * 100 ms (k8sha_checkpoint_commit: the next id from the counter and the add, in one call) until
 * it has made N of them; then it leaves the election. The main thread only starts, waits and
 * stops. Run it twice against the same cluster: the second run goes on from the first one's
 * last checkpoint.
 *
 *   scheduler -c flink-conf.yaml [-D key=value]... [N]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <k8sha.h>

#include "example_config.h"

#define JOB "00000000000000000000000000005ced"
#define TICK_MS 100
#define WAIT_MS 60000 /* a bound for this example */

/* Everything here is touched on the loop thread only (the waiter excepted). */
typedef struct scheduler {
  k8sha_ctx *ctx;
  k8sha_election *election;
  k8sha_checkpoint_store *store;
  k8sha_waiter *finished;
  int to_make, made;
  uint64_t step; /* the scheduler's progress: what its checkpoints hold */
} scheduler;

static void tick(k8sha_ctx *ctx, void *ud);

static void finish(scheduler *sc, int status) {
  k8sha_waiter_signal(sc->finished, status);
}

static void on_committed(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  scheduler *sc = ud;
  if (status) {
    printf("checkpoint %" PRIu64 " not committed: %s\n", id, k8sha_checkpoint_store_last_error(s));
    finish(sc, status);
    return;
  }
  printf("committed checkpoint %" PRIu64 " (step %" PRIu64 ")\n", id, sc->step);
  if (++sc->made < sc->to_make &&
      k8sha_ctx_post_after(sc->ctx, TICK_MS, tick, sc) == 0)
    return;
  finish(sc, 0);
}

static void tick(k8sha_ctx *ctx, void *ud) {
  scheduler *sc = ud;
  char state[64];
  int n, rc;
  (void)ctx;
  sc->step++;
  n = snprintf(state, sizeof(state), "step=%" PRIu64, sc->step);
  rc = k8sha_checkpoint_commit(sc->store, state, (size_t)n, on_committed, sc);
  if (rc)
    finish(sc, rc);
}

static void on_latest(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *latest,
                      size_t skipped, void *ud) {
  scheduler *sc = ud;
  if (status) {
    printf("recovery failed: %s\n", k8sha_checkpoint_store_last_error(s));
    finish(sc, status);
    return;
  }
  if (skipped)
    printf("%zu newer checkpoint(s) unusable\n", skipped);
  if (latest) { /* (the state is bytes: copied into a string before parsing) */
    char text[64];
    snprintf(text, sizeof(text), "%.*s", (int)latest->len, (const char *)latest->data);
    if (sscanf(text, "step=%" SCNu64, &sc->step) != 1)
      sc->step = 0;
  }
  if (latest)
    printf("recovered from checkpoint %" PRIu64 " (step %" PRIu64 ")\n", latest->id, sc->step);
  else
    printf("no checkpoint yet: starting from step 0\n");
  tick(sc->ctx, sc);
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  scheduler *sc = ud;
  int rc = status ? status : k8sha_checkpoint_recover_latest(s, on_latest, sc);
  if (rc) {
    printf("the job's store: %s\n", k8sha_checkpoint_store_last_error(s));
    finish(sc, rc);
  }
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  scheduler *sc = ud;
  (void)session;
  printf("leading (term %" PRIu64 ")\n", term);
  if (k8sha_checkpoint_store_open(&sc->store, e, JOB, on_opened, sc) != 0) {
    printf("cannot open the store: %s\n", k8sha_last_error());
    finish(sc, K8SHA_ENOTLEADER);
  }
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  scheduler *sc = ud;
  (void)e;
  printf("leadership lost: %s\n", k8sha_err_name(reason));
  finish(sc, reason);
}

/* ---- run on the loop thread with k8sha_ctx_call() ---- */

static int start(k8sha_ctx *ctx, void *ud) {
  scheduler *sc = ud;
  k8sha_election_callbacks cbs;
  int rc;
  sc->ctx = ctx;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.user_data = sc;
  rc = k8sha_election_new(&sc->election, ctx, NULL, &cbs);
  return rc ? rc : k8sha_election_start(sc->election);
}

static int leave(k8sha_ctx *ctx, void *ud) {
  scheduler *sc = ud;
  (void)ctx;
  k8sha_checkpoint_store_free(sc->store); /* stores before their election */
  sc->store = NULL;
  /* The release keeps going after the free: the next scheduler takes over at once. */
  k8sha_election_stop(sc->election, NULL, NULL);
  k8sha_election_free(sc->election);
  sc->election = NULL;
  return 0;
}

int main(int argc, char **argv) {
  scheduler sc;
  k8sha_ctx *ctx = NULL;
  k8sha_config *cfg = example_config(argc, argv, NULL, &argc, &argv);
  int rc, status = 0;

  if (!cfg)
    return 2;
  memset(&sc, 0, sizeof(sc));
  sc.to_make = argc > 0 ? atoi(argv[0]) : 3;
  if (sc.to_make <= 0)
    sc.to_make = 3;
  rc = k8sha_ctx_new(&ctx, cfg, NULL); /* no options: the library's own loop thread */
  k8sha_config_free(cfg);
  if (rc) {
    fprintf(stderr, "scheduler: %s\n", k8sha_last_error());
    return 1;
  }
  rc = k8sha_waiter_new(&sc.finished);
  if (rc == 0)
    rc = k8sha_ctx_call(ctx, start, &sc);
  if (rc == 0)
    rc = k8sha_waiter_wait(sc.finished, WAIT_MS, &status);
  if (rc == 0)
    rc = status;
  k8sha_ctx_call(ctx, leave, &sc);
  printf("left the election: %s\n", rc ? k8sha_err_name(rc) : "done");
  if (k8sha_ctx_free(ctx) != 0)
    fprintf(stderr, "scheduler: %s\n", k8sha_last_error());
  k8sha_waiter_free(sc.finished);
  return rc ? 1 : 0;
}
