/*
 * leader: leader election and retrieval on the host's own libuv loop.
 *
 * Joins the election as --identity, prints every change of leader it sees, and when it leads
 * publishes --address for the component "restserver". With --once it stops (releasing the lock,
 * so another contender takes over at once) as soon as its retriever has seen its own address;
 * otherwise it runs until SIGINT/SIGTERM.
 *
 *   leader -c flink-conf.yaml [-D key=value]... --identity ID --address ADDR [--once]
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include <k8sha.h>

#include "example_config.h"

typedef struct app {
  uv_loop_t loop; /* ours: the library only adds its handles to it */
  uv_signal_t sigint;
  k8sha_election *election;
  k8sha_retriever *retriever;
  const char *address;
  int once, stopping;
} app;

static void on_stopped(k8sha_election *e, int status, void *ud) {
  app *a = ud;
  (void)e;
  printf("released the lock: %s\n", k8sha_strerror(status));
  uv_stop(&a->loop);
}

static void stop(app *a) {
  if (a->stopping)
    return;
  a->stopping = 1;
  /* A leader releases the lock (empty holder): followers take over within one round trip. */
  if (k8sha_election_stop(a->election, on_stopped, a) != 0)
    uv_stop(&a->loop);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  app *a = ud;
  printf("granted: term %llu, session %s\n", (unsigned long long)term, session);
  /* One fenced write: it lands only while the lock names us. */
  k8sha_election_publish(e, "restserver", a->address, NULL, NULL);
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  (void)e;
  (void)ud;
  /* Arrives before anyone else can be granted: stop acting as leader right here. */
  printf("revoked: %s\n", k8sha_err_name(reason));
}

static void on_leader(k8sha_retriever *r, const char *address, const char *session, void *ud) {
  app *a = ud;
  (void)r;
  printf("leader of restserver: %s\n", address ? address : "(none)");
  if (a->once && address && strcmp(address, a->address) == 0 && session)
    stop(a);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  stop(s->data);
}

int main(int argc, char **argv) {
  app a;
  k8sha_ctx *ctx = NULL;
  k8sha_ctx_options co;
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  k8sha_config *cfg;
  int i;

  memset(&a, 0, sizeof(a));
  cfg = example_config(argc, argv, NULL, &argc, &argv);
  if (!cfg)
    return 2;
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--identity") == 0 && i + 1 < argc)
      eo.identity = argv[++i];
    else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc)
      a.address = argv[++i];
    else if (strcmp(argv[i], "--once") == 0)
      a.once = 1;
  }
  if (!a.address) {
    fprintf(stderr, "usage: leader -c CONF [-D k=v]... --identity ID --address ADDR [--once]\n");
    return 2;
  }

  uv_loop_init(&a.loop);
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = &a.loop;
  if (k8sha_ctx_new(&ctx, cfg, &co) != 0)
    return 1;
  k8sha_config_free(cfg);

  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.user_data = &a;
  /* Contenders and retrievers of one lock in one context share one watch. */
  if (k8sha_election_new(&a.election, ctx, &eo, &cbs) != 0 ||
      k8sha_retriever_new(&a.retriever, ctx, NULL, "restserver", on_leader,
                          &a) != 0 ||
      k8sha_election_start(a.election) != 0)
    return 1;
  uv_signal_init(&a.loop, &a.sigint);
  a.sigint.data = &a;
  uv_signal_start(&a.sigint, on_signal, SIGINT);

  uv_run(&a.loop, UV_RUN_DEFAULT);

  /* Free on the loop thread, outside any libk8sha callback; then let libuv close the handles. */
  k8sha_retriever_free(a.retriever);
  k8sha_election_free(a.election);
  k8sha_ctx_free(ctx);
  uv_close((uv_handle_t *)&a.sigint, NULL);
  while (uv_run(&a.loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&a.loop);
  return 0;
}
