/* What the store benchmarks share: a configuration for a cluster on kube-lite, and a context on
 * the benchmark's loop. Both exit with a message on failure (a benchmark that cannot measure). */
#ifndef K8SHA_BENCH_KUBE_H
#define K8SHA_BENCH_KUBE_H

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include <k8sha.h>

#include "kubelite_harness.h"

/* Fills `state` (the checkpoints' bytes), starts a kube-lite and initialises `loop`. */
static inline kubelite *bench_start(uv_loop_t *loop, char *state, size_t n) {
  kubelite *kl;
  size_t i;
  for (i = 0; i < n; i++)
    state[i] = (char)('a' + i % 26);
  kl = kubelite_start(NULL);
  if (!kl)
    exit(1); /* (kubelite_start said why) */
  uv_loop_init(loop);
  return kl;
}

/* Cluster `cid` on `kl` (namespace flink, Kubernetes HA), blobs under `dir`; the caller may set
 * more keys before bench_context(). */
static inline k8sha_config *bench_config(kubelite *kl, const char *cid, const char *dir) {
  k8sha_config *cfg = NULL;
  if (k8sha_config_new(&cfg, NULL) != 0) {
    fprintf(stderr, "bench: out of memory\n");
    exit(1);
  }
  k8sha_config_set(cfg, "kubernetes.config.file", kubelite_kubeconfig(kl));
  k8sha_config_set(cfg, "kubernetes.cluster-id", cid);
  k8sha_config_set(cfg, "kubernetes.namespace", "flink");
  k8sha_config_set(cfg, "high-availability.type", "kubernetes");
  k8sha_config_set(cfg, "high-availability.storageDir", dir);
  return cfg;
}

/* A context on `loop` from `cfg`, which is validated, resolved and freed. */
static inline k8sha_ctx *bench_context(uv_loop_t *loop, k8sha_config *cfg) {
  k8sha_ctx_options co;
  k8sha_ctx *ctx = NULL;
  if (k8sha_config_validate(cfg) || k8sha_config_resolve_kube(cfg)) {
    fprintf(stderr, "bench: configuration: %s\n", k8sha_config_last_error(cfg));
    exit(1);
  }
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = loop;
  if (k8sha_ctx_new(&ctx, cfg, &co) != 0) {
    fprintf(stderr, "bench: context: %s\n", k8sha_last_error());
    exit(1);
  }
  k8sha_config_free(cfg);
  return ctx;
}

#endif
