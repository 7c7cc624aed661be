#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];
static pid_t owner;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void cleanup(void) {
  /* Check forks children that inherit the atexit handler; only the creator removes. */
  if (tmpdir[0] && getpid() == owner)
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_tmpdir(void) {
  if (!tmpdir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/k8sha-unit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir))
      abort();
    owner = getpid();
    atexit(cleanup);
  }
  return tmpdir;
}

char *tu_write(const char *name, const char *text) {
  static char paths[16][512];
  static int slot;
  char *path = paths[slot++ % 16];
  FILE *f;

  snprintf(path, 512, "%s/%s", tu_tmpdir(), name);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
  return path;
}

int tu_has_diag(const k8sha_config *cfg, k8sha_diag_severity sev, const char *key,
                const char *needle) {
  size_t i;
  for (i = 0; i < k8sha_config_diag_count(cfg); i++) {
    const k8sha_diag *d = k8sha_config_diag_at(cfg, i);
    if (d->severity != sev)
      continue;
    if (key && (!d->key || strcmp(d->key, key) != 0))
      continue;
    if (strstr(d->text, needle))
      return 1;
  }
  return 0;
}

size_t tu_count(const k8sha_config *cfg, k8sha_diag_severity sev) {
  size_t i, n = 0;
  for (i = 0; i < k8sha_config_diag_count(cfg); i++)
    n += k8sha_config_diag_at(cfg, i)->severity == sev;
  return n;
}

void tu_dump(const k8sha_config *cfg) {
  size_t i;
  for (i = 0; i < k8sha_config_diag_count(cfg); i++)
    fprintf(stderr, "  diag[%zu]: %s\n", i, k8sha_config_diag_at(cfg, i)->text);
}

int tu_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  int failed;
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

k8sha_ctx *tu_ctx(uv_loop_t *loop, const char *server, const char *storage_dir) {
  k8sha_config *cfg = NULL;
  k8sha_ctx_options o;
  k8sha_ctx *ctx = NULL;
  char kc[512];
  snprintf(kc, sizeof(kc),
           "apiVersion: v1\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
           "clusters: [{name: k, cluster: {server: '%s'}}]\n",
           server);
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  k8sha_config_set(cfg, "kubernetes.config.file", tu_write("tu-ctx-kc.yaml", kc));
  k8sha_config_set(cfg, "kubernetes.cluster-id", "c1");
  k8sha_config_set(cfg, "high-availability.type", "kubernetes");
  k8sha_config_set(cfg, "high-availability.storageDir", storage_dir);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), 0);
  k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION);
  o.loop = loop;
  ck_assert_int_eq(k8sha_ctx_new(&ctx, cfg, &o), 0);
  k8sha_config_free(cfg);
  return ctx;
}

k8sha_config *tu_storage_config(const char *storage_dir, const char *const *extra) {
  k8sha_config *cfg = NULL;
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  k8sha_config_set(cfg, "kubernetes.config.file",
                   tu_write("tu-s3-kc.yaml", "apiVersion: v1\ncurrent-context: c\n"
                                             "contexts: [{name: c, context: {cluster: k}}]\n"
                                             "clusters: [{name: k, cluster: {server: "
                                             "'http://127.0.0.1:9'}}]\n"));
  k8sha_config_set(cfg, "kubernetes.cluster-id", "c1");
  k8sha_config_set(cfg, "high-availability.type", "kubernetes");
  k8sha_config_set(cfg, "high-availability.storageDir", storage_dir);
  for (; extra && extra[0]; extra += 2)
    k8sha_config_set(cfg, extra[0], extra[1]);
  return cfg;
}

k8sha_config *tu_s3_config(const char *storage_dir, const char *endpoint, const char *access,
                           const char *secret, const char *const *extra) {
  k8sha_config *cfg = tu_storage_config(storage_dir, NULL);
  k8sha_config_set(cfg, "s3.endpoint", endpoint);
  k8sha_config_set(cfg, "s3.path.style.access", "true");
  if (access)
    k8sha_config_set(cfg, "s3.access-key", access);
  if (secret)
    k8sha_config_set(cfg, "s3.secret-key", secret);
  for (; extra && extra[0]; extra += 2) /* (last: they may replace the keys above) */
    k8sha_config_set(cfg, extra[0], extra[1]);
  return cfg;
}

k8sha_ctx *tu_ctx_from(uv_loop_t *loop, k8sha_config *cfg) {
  k8sha_ctx_options o;
  k8sha_ctx *ctx = NULL;
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), 0);
  k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION);
  o.loop = loop;
  ck_assert_msg(k8sha_ctx_new(&ctx, cfg, &o) == 0, "%s", k8sha_last_error());
  k8sha_config_free(cfg);
  return ctx;
}

void tu_ctx_finish(uv_loop_t *loop, k8sha_ctx *ctx) {
  k8sha_ctx_free(ctx);
  while (uv_run(loop, UV_RUN_DEFAULT))
    ;
  ck_assert_int_eq(uv_loop_close(loop), 0);
}
