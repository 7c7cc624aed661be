/* Benchmark of the Kubernetes client (not a test): prints requests/s and client CPU per request
 * for conditional PUTs (one chain, and 16 concurrent chains), watch event delivery latency
 * (write -> callback) with 1 and 100 watched objects, and CPU used while idle with a watch open.
 *
 *   build/tests/bench/client_bench [requests]
 *
 * The server is a k8sha-kube-lite started for the run; its CPU is not counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "k8sha/errors.h"
#include "k8sha/watch.h"
#include "kube/client.h"
#include "bench_clock.h"
#include "kubelite_harness.h"

#define NS "/api/v1/namespaces/flink/configmaps"
#define LABELS "\"labels\":{\"app\":\"bench\",\"configmap-type\":\"high-availability\"}"

static uv_loop_t loop;
static k8sha_ctx *ctx;

static void die(const char *what, const char *message) {
  fprintf(stderr, "client_bench: %s: %s\n", what, message ? message : "");
  exit(1);
}

/* ---- conditional PUT chains ---- */

typedef struct chain {
  char name[32];
  char rv[32];
  long left;
  long *running;
} chain;

static void put_next(chain *c);

static void on_put(const k8sha__resp *resp, void *ud) {
  chain *c = ud;
  const char *rv;
  if (resp->err)
    die("PUT", resp->message);
  rv = json_string_value(json_object_get(json_object_get(resp->json, "metadata"), "resourceVersion"));
  snprintf(c->rv, sizeof(c->rv), "%s", rv ? rv : "");
  if (--c->left > 0)
    put_next(c);
  else if (--*c->running == 0)
    uv_stop(&loop);
}

static void put_next(chain *c) {
  char body[512], path[128];
  k8sha__req_opts o;
  memset(&o, 0, sizeof(o));
  snprintf(body, sizeof(body),
           "{\"metadata\":{\"name\":\"%s\",\"resourceVersion\":\"%s\"," LABELS "},"
           "\"data\":{\"counter\":\"%ld\"}}",
           c->name, c->rv, c->left);
  snprintf(path, sizeof(path), NS "/%s", c->name);
  o.verb = K8SHA__UPDATE;
  o.path = path;
  o.body = body;
  o.body_len = strlen(body);
  if (k8sha__req_start(ctx->kube, &o, on_put, c, NULL) != 0)
    die("PUT", "cannot start");
}

typedef struct once {
  int done, err;
  char rv[32];
} once;

static void on_once(const k8sha__resp *resp, void *ud) {
  once *o = ud;
  const char *rv = json_string_value(json_object_get(json_object_get(resp->json, "metadata"), "resourceVersion"));
  o->done = 1;
  o->err = resp->err;
  snprintf(o->rv, sizeof(o->rv), "%s", rv ? rv : "");
  if (resp->err)
    die("create", resp->message);
  uv_stop(&loop);
}

static void create(const char *name, char *rv) {
  char body[512];
  k8sha__req_opts o;
  once r;
  memset(&o, 0, sizeof(o));
  memset(&r, 0, sizeof(r));
  snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"," LABELS "},\"data\":{}}", name);
  o.verb = K8SHA__CREATE;
  o.path = NS;
  o.body = body;
  o.body_len = strlen(body);
  k8sha__req_start(ctx->kube, &o, on_once, &r, NULL);
  while (!r.done)
    uv_run(&loop, UV_RUN_DEFAULT);
  strcpy(rv, r.rv);
}

static void bench_puts(const char *label, int chains, long per_chain, int first) {
  chain *c = calloc((size_t)chains, sizeof(*c));
  long running = chains;
  double t0, c0, wall, cpu;
  int i;
  for (i = 0; i < chains; i++) {
    snprintf(c[i].name, sizeof(c[i].name), "put-%d-%d", first, i);
    create(c[i].name, c[i].rv);
    c[i].left = per_chain;
    c[i].running = &running;
  }
  t0 = now_ms();
  c0 = cpu_ms();
  for (i = 0; i < chains; i++)
    put_next(&c[i]);
  while (running > 0)
    uv_run(&loop, UV_RUN_DEFAULT);
  wall = now_ms() - t0;
  cpu = cpu_ms() - c0;
  printf("| %-36s | %9.0f | %12.1f |\n", label, chains * per_chain / (wall / 1e3),
         cpu * 1e3 / (chains * per_chain));
  free(c);
}

/* ---- watch latency ---- */

typedef struct lat {
  double sent;
  char expect[64];
  double *samples;
  int n, synced;
} lat;

static void on_watch(k8sha_watch *w, const k8sha_watch_event *ev, void *ud) {
  lat *l = ud;
  (void)w;
  if (ev->type == K8SHA_WATCH_SYNCED) {
    l->synced = 1;
    uv_stop(&loop);
  } else if (ev->type == K8SHA_WATCH_MODIFIED && ev->object_json && l->expect[0] &&
             strstr(ev->object_json, l->expect)) {
    l->samples[l->n++] = now_ms() - l->sent;
    l->expect[0] = '\0';
    uv_stop(&loop);
  } else if (ev->type == K8SHA_WATCH_ERROR) {
    die("watch", ev->message);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void on_ignore(const k8sha__resp *resp, void *ud) {
  (void)ud;
  if (resp->err)
    die("update", resp->message);
}

static void bench_latency(int objects, int samples) {
  k8sha_watch *w = NULL;
  lat l;
  char rv[32], name[64], body[512], path[128];
  int i;
  memset(&l, 0, sizeof(l));
  l.samples = calloc((size_t)samples, sizeof(double));
  for (i = 0; i < objects; i++) {
    snprintf(name, sizeof(name), "lat-%d-%d", objects, i);
    create(name, rv);
  }
  if (k8sha_watch_new(&w, ctx, "app=bench", on_watch, &l) != 0)
    die("watch", "cannot start");
  while (!l.synced)
    uv_run(&loop, UV_RUN_DEFAULT);
  for (i = 0; i < samples; i++) {
    k8sha__req_opts o;
    memset(&o, 0, sizeof(o));
    snprintf(name, sizeof(name), "lat-%d-%d", objects, (i * 7919) % objects);
    snprintf(l.expect, sizeof(l.expect), "\"mark\":\"m%d\"", i);
    snprintf(body, sizeof(body), "{\"data\":{\"mark\":\"m%d\"}}", i);
    snprintf(path, sizeof(path), NS "/%s", name);
    o.verb = K8SHA__PATCH;
    o.path = path;
    o.body = body;
    o.body_len = strlen(body);
    o.content_type = "application/merge-patch+json";
    l.sent = now_ms();
    k8sha__req_start(ctx->kube, &o, on_ignore, NULL, NULL);
    while (l.expect[0])
      uv_run(&loop, UV_RUN_DEFAULT);
  }
  qsort(l.samples, (size_t)l.n, sizeof(double), cmp_double);
  printf("| %-36s | %9.2f | %12.2f |\n",
         objects == 1 ? "event latency, 1 object (ms)" : "event latency, 100 objects (ms)",
         l.samples[l.n / 2], l.samples[(l.n * 99) / 100]);
  k8sha_watch_free(w);
  free(l.samples);
}

static void on_idle_timer(uv_timer_t *t) {
  (void)t;
  uv_stop(&loop);
}

static void bench_idle(double seconds) {
  k8sha_watch *w = NULL;
  lat l;
  uv_timer_t timer;
  double c0;
  memset(&l, 0, sizeof(l));
  l.samples = calloc(1, sizeof(double));
  k8sha_watch_new(&w, ctx, "app=bench", on_watch, &l);
  while (!l.synced)
    uv_run(&loop, UV_RUN_DEFAULT);
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, on_idle_timer, (uint64_t)(seconds * 1000), 0);
  c0 = cpu_ms();
  uv_run(&loop, UV_RUN_DEFAULT);
  printf("| %-36s | %9.1f | %12s |\n", "idle CPU with a watch open (ms/s)", (cpu_ms() - c0) / seconds, "");
  uv_close((uv_handle_t *)&timer, NULL);
  k8sha_watch_free(w);
  free(l.samples);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 4000;
  kubelite *kl = kubelite_start(NULL);
  k8sha_config *cfg = NULL;
  k8sha_ctx_options o;

  if (!kl)
    return 1;
  uv_loop_init(&loop);
  k8sha_config_new(&cfg, NULL);
  k8sha_config_set(cfg, "kubernetes.config.file", kubelite_kubeconfig(kl));
  k8sha_config_set(cfg, "kubernetes.cluster-id", "bench");
  k8sha_config_set(cfg, "kubernetes.namespace", "flink");
  k8sha_config_set(cfg, "high-availability.type", "kubernetes");
  k8sha_config_set(cfg, "high-availability.storageDir", "/tmp/ha");
  if (k8sha_config_validate(cfg) || k8sha_config_resolve_kube(cfg))
    die("config", k8sha_config_last_error(cfg));
  k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION);
  o.loop = &loop;
  if (k8sha_ctx_new(&ctx, cfg, &o) != 0)
    die("context", "cannot create");
  k8sha_config_free(cfg);

  printf("libk8sha client benchmark against k8sha-kube-lite (%ld requests per row)\n\n", n);
  printf("| %-36s | %9s | %12s |\n", "what", "req/s", "client CPU us/req");
  printf("|%s|%s|%s|\n", "--------------------------------------", "-----------", "--------------");
  bench_puts("PUT with resourceVersion, 1 chain", 1, n, 0);
  bench_puts("PUT with resourceVersion, 16 chains", 16, n / 16, 1);
  printf("\n| %-36s | %9s | %12s |\n", "what", "p50", "p99");
  printf("|%s|%s|%s|\n", "--------------------------------------", "-----------", "--------------");
  bench_latency(1, 500);
  bench_latency(100, 500);
  printf("\n| %-36s | %9s | %12s |\n", "what", "value", "");
  printf("|%s|%s|%s|\n", "--------------------------------------", "-----------", "--------------");
  bench_idle(3.0);

  k8sha_ctx_free(ctx);
  while (uv_run(&loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&loop);
  kubelite_free(kl);
  return 0;
}
