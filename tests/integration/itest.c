#include "itest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void log_to_stderr(k8sha_log_level level, const char *module, const char *message,
                          void *user_data) {
  (void)user_data;
  fprintf(stderr, "[%d %s] %s\n", (int)level, module, message);
}

k8sha_ctx *it_ctx(itest *t, const char *kubeconfig) {
  return it_ctx_with(t, kubeconfig, NULL);
}

k8sha_ctx *it_ctx_with(itest *t, const char *kubeconfig, const char *const *kv) {
  k8sha_config *cfg = NULL;
  k8sha_ctx_options o;
  k8sha_ctx *ctx = NULL;
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  k8sha_config_set(cfg, "kubernetes.config.file", kubeconfig);
  k8sha_config_set(cfg, "kubernetes.cluster-id", "it");
  k8sha_config_set(cfg, "kubernetes.namespace", "flink");
  k8sha_config_set(cfg, "high-availability.type", "kubernetes");
  k8sha_config_set(cfg, "high-availability.storageDir", "/tmp/ha");
  for (; kv && kv[0]; kv += 2) {
    if (strcmp(kv[0], IT_STORAGE_SCHEME) == 0)
      ck_assert_int_eq(k8sha_config_add_storage_scheme(cfg, kv[1]), 0);
    else
      k8sha_config_set(cfg, kv[0], kv[1]);
  }
  if (k8sha_config_validate(cfg) != 0)
    ck_abort_msg("configuration: %s", k8sha_config_last_error(cfg));
  if (k8sha_config_resolve_kube(cfg) != 0)
    ck_abort_msg("kubeconfig %s: %s", kubeconfig, k8sha_config_last_error(cfg));
  k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION);
  o.loop = &t->loop;
  if (getenv("K8SHA_TEST_LOG")) { /* K8SHA_TEST_LOG=1 shows the library's log */
    o.log = log_to_stderr;
    o.log_level = K8SHA_LOG_DEBUG;
  }
  ck_assert_int_eq(k8sha_ctx_new(&ctx, cfg, &o), 0);
  k8sha_config_free(cfg);
  return ctx;
}

void it_start(itest *t, const kubelite_options *opts, const char *kubeconfig) {
  memset(t, 0, sizeof(*t));
  ck_assert_int_eq(uv_loop_init(&t->loop), 0);
  t->kl = kubelite_start(opts);
  ck_assert_ptr_nonnull(t->kl);
  t->ctx = it_ctx(t, kubeconfig ? kubeconfig : kubelite_kubeconfig(t->kl));
}

void it_stop(itest *t) {
  k8sha_ctx_free(t->ctx);
  t->ctx = NULL;
  while (uv_run(&t->loop, UV_RUN_DEFAULT))
    ;
  ck_assert_int_eq(uv_loop_close(&t->loop), 0);
  kubelite_free(t->kl);
}

void it_run_until(itest *t, const int *flag) {
  long turns = 0;
  /* UV_RUN_DEFAULT returns when a callback calls uv_stop(); a callback that sets the flag must
   * do so, or the loop may block in its poll phase after the flag is already set. */
  while (!*flag && turns++ < 100000)
    uv_run(&t->loop, UV_RUN_DEFAULT);
  ck_assert_msg(*flag, "the awaited event never came");
}

void it_on_resp(const k8sha__resp *resp, void *ud) {
  it_result *r = ud;
  r->done = 1;
  uv_stop(r->loop);
  r->err = resp->err;
  r->status = resp->http_status;
  snprintf(r->message, sizeof(r->message), "%s", resp->message ? resp->message : "");
  snprintf(r->body, sizeof(r->body), "%s", resp->body ? resp->body : "");
}

void it_request(itest *t, k8sha_ctx *ctx, k8sha__verb verb, const char *path, const char *body,
                const char *content_type, uint64_t timeout_ms, unsigned attempts, it_result *out) {
  k8sha__req_opts o;
  memset(out, 0, sizeof(*out));
  out->loop = &t->loop;
  memset(&o, 0, sizeof(o));
  o.verb = verb;
  o.path = path;
  o.body = body;
  o.body_len = body ? strlen(body) : 0;
  o.content_type = content_type;
  o.timeout_ms = timeout_ms;
  o.max_attempts = attempts;
  ck_assert_int_eq(k8sha__req_start(ctx->kube, &o, it_on_resp, out, NULL), 0);
  it_run_until(t, &out->done);
}

const char *it_token_kubeconfig(itest *t, const char *token) {
  char kc[1024], name[64];
  snprintf(kc, sizeof(kc),
           "apiVersion: v1\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k, user: u, "
           "namespace: flink}}]\nclusters: [{name: k, cluster: {server: '%s'}}]\n"
           "users: [{name: u, user: {token: '%s'}}]\n",
           kubelite_url(t->kl), token);
  snprintf(name, sizeof(name), "kc-%.40s", token);
  return it_file(t, name, kc);
}

const char *it_file(itest *t, const char *name, const char *text) {
  static char paths[8][1024];
  static int slot;
  char *p = paths[slot++ % 8];
  FILE *f;
  snprintf(p, 1024, "%s/%s", kubelite_dir(t->kl), name);
  f = fopen(p, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return p;
}

void it_add(TCase *tc, const TTest *test, int needs) {
  const char *only = getenv("K8SHA_TEST_ONLY"); /* one test by name, while working on it */
  if (only && *only && strcmp(only, test->name) != 0)
    return;
  if (kubelite_external_mode()) {
    const char *why = NULL;
    if (needs == IT_KUBELITE)
      why = "not run against a real API server (needs kube-lite itself)";
    else if (needs == IT_FAULTS && !kubelite_control_url())
      why = "run through the fault proxy only";
    else if (needs != IT_FAULTS && kubelite_control_url())
      why = "run directly only, not through the fault proxy";
    if (why) {
      printf("%s: %s\n", why, test->name);
      return;
    }
  }
  tcase_add_test(tc, test);
}

int it_run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  int failed;
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
