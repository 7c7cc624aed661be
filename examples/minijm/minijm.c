/*
 * minijm: a miniature "JobManager", written the way a user of libk8sha writes one (public API,
 * `pkg-config libk8sha`). Start several; one leads:
 *
 *   - the leader publishes its address, stores the job graph if none is stored, recovers the
 *     job's latest checkpoint and continues from it, and takes a checkpoint every --interval ms
 *     (its state: a running sum over the checkpoint ids);
 *   - the others follow the leader's address;
 *   - SIGTERM or SIGINT hands leadership over at once (the lock is released).
 *
 *   minijm -c flink-conf.yaml [-D key=value]... --identity jm-1 --address http://jm-1:8081
 *          [--job JOBID] [--interval MS]
 *
 * Every line printed starts with the wall-clock time in ms, so a script can measure failover.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <uv.h>

#include <k8sha.h>

#include "example_config.h"

typedef struct minijm {
  uv_loop_t loop;
  uv_timer_t tick;
  uv_signal_t sigterm, sigint;
  k8sha_ctx *ctx;
  k8sha_election *election;
  k8sha_retriever *retriever;
  k8sha_jobgraph_store *graphs;
  k8sha_checkpoint_store *checkpoints;
  const char *identity, *address, *job;
  uint64_t interval_ms;
  uint64_t sum;          /* the job's state */
  uint64_t in_flight_id; /* the checkpoint being added, 0 when none */
  int leading, stopping;
} minijm;

/* ---- output ---- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  struct timeval tv;
  va_list ap;
  gettimeofday(&tv, NULL);
  printf("%lld ", (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

/* ---- the job: a checkpoint every interval ---- */

static void take_checkpoint(uv_timer_t *t);

static void on_checkpoint_added(k8sha_checkpoint_store *s, int status, void *ud) {
  minijm *jm = ud;
  uint64_t id = jm->in_flight_id;
  jm->in_flight_id = 0;
  if (status == 0) {
    say("checkpoint %" PRIu64 " committed (sum %" PRIu64 ")", id, jm->sum);
  } else {
    /* K8SHA_EUNKNOWN_OUTCOME: it may have landed; the next leader's recovery will tell.
     * Anything else: it did not, and the state goes back. */
    say("checkpoint %" PRIu64 " failed: %s (%s)", id, k8sha_checkpoint_store_last_error(s),
        k8sha_err_name(status));
    if (status != K8SHA_EUNKNOWN_OUTCOME)
      jm->sum -= id;
  }
}

static void on_next_id(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  minijm *jm = ud;
  char state[64];
  int n;
  if (status) {
    say("checkpoint id not available: %s", k8sha_checkpoint_store_last_error(s));
    return;
  }
  jm->sum += id;
  n = snprintf(state, sizeof(state), "sum=%" PRIu64, jm->sum);
  jm->in_flight_id = id;
  if (k8sha_checkpoint_add(s, id, state, (size_t)n, on_checkpoint_added, jm) != 0) {
    jm->sum -= id;
    jm->in_flight_id = 0;
  }
}

static void take_checkpoint(uv_timer_t *t) {
  minijm *jm = t->data;
  if (!jm->leading || !jm->checkpoints || jm->in_flight_id)
    return; /* not ready, or the previous one is still being written */
  jm->in_flight_id = ~(uint64_t)0;
  if (k8sha_checkpoint_counter_get_and_increment(jm->checkpoints, on_next_id, jm) != 0)
    jm->in_flight_id = 0;
}

/* ---- becoming leader: job graph, recovery, then checkpoints ---- */

static void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *latest,
                         size_t skipped, void *ud) {
  minijm *jm = ud;
  if (status) {
    say("recovery failed: %s", k8sha_checkpoint_store_last_error(s));
    return;
  }
  jm->sum = 0;
  /* the newest checkpoint that reads back intact; damaged newer ones are counted (and logged) */
  if (skipped)
    say("%zu newer checkpoint(s) unusable", skipped);
  if (latest) {
    sscanf((const char *)latest->data, "sum=%" SCNu64, &jm->sum);
    say("recovered job %s from checkpoint %" PRIu64 " (sum %" PRIu64 ")", jm->job, latest->id,
        jm->sum);
  } else {
    say("job %s starts from scratch (no checkpoint yet)", jm->job);
  }
  uv_timer_start(&jm->tick, take_checkpoint, jm->interval_ms, jm->interval_ms);
}

static void on_checkpoints_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  minijm *jm = ud;
  if (status) {
    say("checkpoint store: %s", k8sha_checkpoint_store_last_error(s));
    return;
  }
  k8sha_checkpoint_recover_latest(s, on_recovered, jm);
}

static void open_checkpoints(minijm *jm) {
  if (k8sha_checkpoint_store_open(&jm->checkpoints, jm->election, jm->job, on_checkpoints_opened,
                                  jm) != 0)
    say("cannot open the checkpoint store");
}

static void on_graph_put(k8sha_jobgraph_store *s, int status, void *ud) {
  minijm *jm = ud;
  if (status) {
    say("job graph not stored: %s", k8sha_jobgraph_store_last_error(s));
    return;
  }
  say("submitted job %s", jm->job);
  open_checkpoints(jm);
}

static void on_graph(k8sha_jobgraph_store *s, int status, const void *graph, size_t len,
                     void *ud) {
  minijm *jm = ud;
  static const char plan[] = "source -> running sum -> sink";
  if (status == K8SHA_ENOTFOUND) { /* a new job: store its graph first */
    k8sha_jobgraph_put(s, jm->job, plan, sizeof(plan) - 1, on_graph_put, jm);
    return;
  }
  if (status) {
    say("job graph unreadable: %s", k8sha_jobgraph_store_last_error(s));
    return;
  }
  say("found job %s (%.*s)", jm->job, (int)len, (const char *)graph);
  open_checkpoints(jm);
}

static void on_graphs_opened(k8sha_jobgraph_store *s, int status, void *ud) {
  minijm *jm = ud;
  if (status) {
    say("job graph store: %s", k8sha_jobgraph_store_last_error(s));
    return;
  }
  k8sha_jobgraph_get(s, jm->job, on_graph, jm);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  minijm *jm = ud;
  jm->leading = 1;
  say("leading (term %" PRIu64 ", session %s)", term, session);
  k8sha_election_publish(e, "restserver", jm->address, NULL, NULL);
  if (k8sha_jobgraph_store_open(&jm->graphs, e, on_graphs_opened, jm) != 0)
    say("cannot open the job graph store");
}

static void drop_stores(minijm *jm) {
  uv_timer_stop(&jm->tick);
  k8sha_checkpoint_store_free(jm->checkpoints);
  k8sha_jobgraph_store_free(jm->graphs);
  jm->checkpoints = NULL;
  jm->graphs = NULL;
  jm->in_flight_id = 0;
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  minijm *jm = ud;
  (void)e;
  jm->leading = 0;
  drop_stores(jm); /* a new leadership opens new stores, fenced by its new term */
  say("no longer leading (%s)", k8sha_err_name(reason));
}

static void on_error(k8sha_election *e, int err, const char *message, void *ud) {
  (void)e;
  (void)ud;
  say("election: %s (%s), retrying", message, k8sha_err_name(err));
}

/* ---- followers: where is the leader? ---- */

static void on_leader_address(k8sha_retriever *r, const char *address, const char *session,
                              void *ud) {
  minijm *jm = ud;
  (void)r;
  (void)session;
  if (!jm->leading)
    say("leader is %s", address ? address : "(none)");
}

/* ---- stopping ---- */

static void on_stopped(k8sha_election *e, int status, void *ud) {
  minijm *jm = ud;
  (void)e;
  say("stopped, lock %s", status == 0 ? "released" : k8sha_err_name(status));
  uv_stop(&jm->loop);
}

static void on_signal(uv_signal_t *s, int signum) {
  minijm *jm = s->data;
  (void)signum;
  if (jm->stopping)
    return;
  jm->stopping = 1;
  drop_stores(jm);
  if (k8sha_election_stop(jm->election, on_stopped, jm) != 0)
    uv_stop(&jm->loop);
}

/* ---- setup ---- */

static int usage(void) {
  fprintf(stderr, "usage: minijm -c CONF [-D key=value]... --identity ID --address ADDR "
                  "[--job JOBID] [--interval MS]\n");
  return 2;
}

int main(int argc, char **argv) {
  minijm jm;
  k8sha_config *cfg = NULL;
  k8sha_ctx_options co;
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  int i, rc;

  memset(&jm, 0, sizeof(jm));
  jm.job = "00000000000000000000000000000001";
  jm.interval_ms = 500;
  cfg = example_config(argc, argv, NULL, &argc, &argv);
  if (!cfg)
    return 2;
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--identity") == 0 && i + 1 < argc)
      jm.identity = argv[++i];
    else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc)
      jm.address = argv[++i];
    else if (strcmp(argv[i], "--job") == 0 && i + 1 < argc)
      jm.job = argv[++i];
    else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc)
      jm.interval_ms = strtoull(argv[++i], NULL, 10);
    else
      return usage();
  }
  if (!jm.identity || !jm.address || jm.interval_ms == 0)
    return usage();

  uv_loop_init(&jm.loop);
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = &jm.loop; /* the library runs on our loop: everything happens on this thread */
  rc = k8sha_ctx_new(&jm.ctx, cfg, &co);
  k8sha_config_free(cfg); /* the context copied what it needs */
  if (rc) {
    fprintf(stderr, "minijm: %s\n", k8sha_strerror(rc));
    return 1;
  }
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.error = on_error;
  cbs.user_data = &jm;
  eo.identity = jm.identity;
  if (k8sha_election_new(&jm.election, jm.ctx, &eo, &cbs) != 0 ||
      k8sha_retriever_new(&jm.retriever, jm.ctx, NULL, "restserver",
                          on_leader_address, &jm) != 0 ||
      k8sha_election_start(jm.election) != 0) {
    fprintf(stderr, "minijm: cannot join the election\n");
    return 1;
  }
  uv_timer_init(&jm.loop, &jm.tick);
  jm.tick.data = &jm;
  uv_signal_init(&jm.loop, &jm.sigterm);
  uv_signal_init(&jm.loop, &jm.sigint);
  jm.sigterm.data = jm.sigint.data = &jm;
  uv_signal_start(&jm.sigterm, on_signal, SIGTERM);
  uv_signal_start(&jm.sigint, on_signal, SIGINT);
  say("%s started, job %s, a checkpoint every %" PRIu64 " ms", jm.identity, jm.job,
      jm.interval_ms);

  uv_run(&jm.loop, UV_RUN_DEFAULT);

  drop_stores(&jm);
  k8sha_retriever_free(jm.retriever);
  k8sha_election_free(jm.election);
  k8sha_ctx_free(jm.ctx);
  uv_close((uv_handle_t *)&jm.tick, NULL);
  uv_close((uv_handle_t *)&jm.sigterm, NULL);
  uv_close((uv_handle_t *)&jm.sigint, NULL);
  while (uv_run(&jm.loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&jm.loop);
  return 0;
}
