/*
 * checkpoints: store checkpoints and recover them, with the built-in file backend.
 *
 * Becomes leader, opens the checkpoint store of one job, takes three checkpoints (each id from
 * the job's counter, as a JobManager does), recovers what the store retains
 * (execution.checkpointing.num-retained, default 1), and shuts the store down as for a finished
 * job, which removes the checkpoints and their blobs.
 *
 *   checkpoints -c flink-conf.yaml [-D key=value]...
 *   (high-availability.storageDir must be a file:// or absolute path for the built-in backend)
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include <k8sha.h>

#include "example_config.h"

#define JOB "0000000000000000000000000000c0de"

typedef struct app {
  uv_loop_t loop;
  k8sha_election *election;
  k8sha_checkpoint_store *store;
  int taken, failed;
} app;

static void take(app *a);

static void on_shutdown(k8sha_checkpoint_store *s, int status, void *ud) {
  app *a = ud;
  printf("shut down (globally terminal): %s\n",
         status ? k8sha_checkpoint_store_last_error(s) : "checkpoints and counter removed");
  a->failed |= status != 0;
  uv_stop(&a->loop);
}

static void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
                         size_t n, void *ud) {
  app *a = ud;
  size_t i;
  if (status) {
    printf("recovery failed: %s\n", k8sha_checkpoint_store_last_error(s));
    a->failed = 1;
    uv_stop(&a->loop);
    return;
  }
  /* Every retained checkpoint, oldest first, each checked against its pointer. */
  for (i = 0; i < n; i++) {
    if (list[i]->status)
      printf("checkpoint %" PRIu64 ": unusable: %s\n", list[i]->id, list[i]->message);
    else
      printf("checkpoint %" PRIu64 ": '%.*s'\n", list[i]->id, (int)list[i]->len,
             (const char *)list[i]->data);
  }
  k8sha_checkpoint_store_shutdown(s, K8SHA_JOB_GLOBALLY_TERMINAL, on_shutdown, a);
}

static void on_added(k8sha_checkpoint_store *s, int status, void *ud) {
  app *a = ud;
  if (status) {
    /* K8SHA_EUNKNOWN_OUTCOME would mean: maybe committed, blob kept; recover to know. */
    printf("add failed: %s (%s)\n", k8sha_checkpoint_store_last_error(s), k8sha_err_name(status));
    a->failed = 1;
    uv_stop(&a->loop);
    return;
  }
  if (++a->taken < 3)
    take(a);
  else
    k8sha_checkpoint_recover(s, on_recovered, a);
}

static void on_id(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  app *a = ud;
  char state[64];
  if (status) {
    printf("counter: %s\n", k8sha_checkpoint_store_last_error(s));
    a->failed = 1;
    uv_stop(&a->loop);
    return;
  }
  snprintf(state, sizeof(state), "state of checkpoint %" PRIu64, id);
  /* The state goes to a new blob first; only a ~120-byte pointer goes into the ConfigMap. */
  k8sha_checkpoint_add(s, id, state, strlen(state), on_added, a);
  printf("adding checkpoint %" PRIu64 "\n", id);
}

static void take(app *a) {
  k8sha_checkpoint_counter_get_and_increment(a->store, on_id, a);
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  app *a = ud;
  if (status) {
    printf("open failed: %s\n", k8sha_checkpoint_store_last_error(s));
    a->failed = 1;
    uv_stop(&a->loop);
    return;
  }
  printf("store of job %s open (ConfigMap %s)\n", JOB, k8sha_checkpoint_store_configmap(s));
  take(a);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  app *a = ud;
  (void)session;
  printf("leading in term %" PRIu64 "\n", term);
  /* The store claims the job's ConfigMap for this term: an older leader's writes are fenced. */
  if (k8sha_checkpoint_store_open(&a->store, e, JOB, on_opened, a) != 0)
    uv_stop(&a->loop);
}

int main(int argc, char **argv) {
  app a;
  k8sha_ctx *ctx = NULL;
  k8sha_ctx_options co;
  k8sha_election_callbacks cbs;
  k8sha_config *cfg = example_config(argc, argv, NULL, &argc, &argv);

  if (!cfg)
    return 2;
  memset(&a, 0, sizeof(a));
  uv_loop_init(&a.loop);
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = &a.loop;
  if (k8sha_ctx_new(&ctx, cfg, &co) != 0)
    return 1;
  k8sha_config_free(cfg);
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.user_data = &a;
  if (k8sha_election_new(&a.election, ctx, NULL, &cbs) != 0 ||
      k8sha_election_start(a.election) != 0)
    return 1;

  uv_run(&a.loop, UV_RUN_DEFAULT);

  k8sha_checkpoint_store_free(a.store); /* stores first: they belong to the election */
  k8sha_election_free(a.election);
  k8sha_ctx_free(ctx);
  while (uv_run(&a.loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&a.loop);
  return a.failed;
}
