/*
 * threaded: a host without libuv. The context runs its own loop on a library thread; the host's
 * threads run functions there with k8sha_ctx_call() (which returns the function's result) or
 * k8sha_ctx_post(), and wait for completions with a k8sha_waiter.
 *
 * The main thread (1) joins the election and waits until it leads, (2) commits a checkpoint
 * (the next id from the counter) and waits for the outcome, (3) leaves the election, releasing
 * the lock, and waits for that; then frees the election and the context (which joins the loop
 * thread).
 *
 *   threaded -c flink-conf.yaml [-D key=value]...
 */
#include <stdio.h>
#include <string.h>

#include <k8sha.h>

#include "example_config.h"

#define WAIT_MS 60000 /* a bound for this example; a real host picks its own */

/* Everything below "on the loop" runs on the library's thread; `shared` is only touched there,
 * except through the waiters, which are thread-safe. */
typedef struct shared {
  k8sha_election *election;
  k8sha_checkpoint_store *store;
  k8sha_waiter *leading, *added, *stopped;
} shared;

/* ---- on the loop ---- */

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  shared *sh = ud;
  (void)s;
  k8sha_waiter_signal(sh->leading, status);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  shared *sh = ud;
  int rc;
  (void)session;
  (void)term;
  rc = k8sha_checkpoint_store_open(&sh->store, e, "000000000000000000000000000000aa", on_opened,
                                   sh);
  if (rc)
    k8sha_waiter_signal(sh->leading, rc);
}

/* Run with k8sha_ctx_call(): the result comes back to the calling thread. */
static int start_election(k8sha_ctx *ctx, void *ud) {
  shared *sh = ud;
  k8sha_election_callbacks cbs;
  int rc;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.user_data = sh;
  rc = k8sha_election_new(&sh->election, ctx, NULL, &cbs);
  if (rc == 0)
    rc = k8sha_election_start(sh->election);
  return rc;
}

static void on_committed(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  shared *sh = ud;
  (void)s;
  printf("checkpoint id from the counter: %llu\n", (unsigned long long)id);
  k8sha_waiter_signal(sh->added, status);
}

static void commit_checkpoint(k8sha_ctx *ctx, void *ud) {
  shared *sh = ud;
  int rc;
  (void)ctx;
  rc = k8sha_checkpoint_commit(sh->store, "from another thread", 19, on_committed, sh);
  if (rc)
    k8sha_waiter_signal(sh->added, rc);
}

static void on_stopped(k8sha_election *e, int status, void *ud) {
  shared *sh = ud;
  (void)e;
  k8sha_waiter_signal(sh->stopped, status);
}

static void stop_election(k8sha_ctx *ctx, void *ud) {
  shared *sh = ud;
  (void)ctx;
  k8sha_checkpoint_store_free(sh->store); /* stores go before their election */
  sh->store = NULL;
  if (k8sha_election_stop(sh->election, on_stopped, sh) != 0)
    k8sha_waiter_signal(sh->stopped, K8SHA_EBUSY);
}

static int free_election(k8sha_ctx *ctx, void *ud) {
  shared *sh = ud;
  (void)ctx;
  k8sha_election_free(sh->election);
  sh->election = NULL;
  return 0;
}

/* ---- the host's thread ---- */

/* Posts `fn` to the loop and waits for `w`. Returns the status delivered, or why not. */
static int run_and_wait(k8sha_ctx *ctx, void (*fn)(k8sha_ctx *, void *), shared *sh,
                        k8sha_waiter *w, const char *what) {
  int rc, status = 0;
  rc = k8sha_ctx_post(ctx, fn, sh);
  if (rc == 0)
    rc = k8sha_waiter_wait(w, WAIT_MS, &status);
  if (rc == 0)
    rc = status;
  printf("%-30s %s\n", what, rc ? k8sha_err_name(rc) : "done");
  return rc;
}

int main(int argc, char **argv) {
  shared sh;
  k8sha_ctx *ctx = NULL;
  k8sha_config *cfg = example_config(argc, argv, NULL, &argc, &argv);
  int rc;

  if (!cfg)
    return 2;
  memset(&sh, 0, sizeof(sh));
  /* No options: the library starts its own loop thread. */
  rc = k8sha_ctx_new(&ctx, cfg, NULL);
  k8sha_config_free(cfg);
  if (rc || k8sha_waiter_new(&sh.leading) || k8sha_waiter_new(&sh.added) ||
      k8sha_waiter_new(&sh.stopped))
    return 1;

  rc = k8sha_ctx_call(ctx, start_election, &sh);
  if (rc == 0) {
    int status = 0;
    rc = k8sha_waiter_wait(sh.leading, WAIT_MS, &status);
    rc = rc ? rc : status;
  } else {
    fprintf(stderr, "threaded: %s\n", k8sha_last_error());
  }
  printf("%-30s %s\n", "leading, store open:", rc ? k8sha_err_name(rc) : "done");
  if (rc == 0)
    rc = run_and_wait(ctx, commit_checkpoint, &sh, sh.added, "checkpoint 1 committed:");
  if (rc == 0)
    rc = run_and_wait(ctx, stop_election, &sh, sh.stopped, "lock released:");
  /* The election is freed on the loop thread too (a function run there). */
  if (sh.election)
    k8sha_ctx_call(ctx, free_election, &sh);
  printf("%-30s %s\n", "election freed:", "done");

  if (k8sha_ctx_free(ctx) != 0) /* from this thread: stops and joins the loop thread */
    fprintf(stderr, "threaded: %s\n", k8sha_last_error());
  k8sha_waiter_free(sh.leading);
  k8sha_waiter_free(sh.added);
  k8sha_waiter_free(sh.stopped);
  return rc ? 1 : 0;
}
