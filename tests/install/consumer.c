/* A program built only from the installed headers and `pkg-config --cflags --libs libk8sha`:
 * like a host that runs the library on its own libuv loop, it calls libuv itself. */
#define _POSIX_C_SOURCE 200809L /* uv.h needs POSIX types under -std=c99 */
#include <k8sha.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

static const char conf[] =
    "kubernetes.cluster-id: cluster1337\n"
    "high-availability.type: kubernetes\n"
    "high-availability.storageDir: s3://flink/recovery\n"
    "kubernetes.namespace: flink\n";

int main(void) {
  k8sha_config *cfg = NULL;
  k8sha_ctx_options co;
  uv_loop_t loop;
  int rc;

  if (k8sha_version() != K8SHA_VERSION_NUMBER) {
    fprintf(stderr, "built against %s, running %s\n", K8SHA_VERSION_STRING,
            k8sha_version_string());
    return 1;
  }
  rc = k8sha_config_new(&cfg, NULL);
  if (rc == 0)
    rc = k8sha_config_load_string(cfg, "inline", conf, strlen(conf));
  if (rc == 0)
    rc = k8sha_config_validate(cfg);
  if (rc != 0) {
    fprintf(stderr, "%s: %s\n", k8sha_err_name(rc), k8sha_config_last_error(cfg));
    k8sha_config_free(cfg);
    return 1;
  }
  printf("libk8sha %s: cluster %s in namespace %s\n", k8sha_version_string(),
         k8sha_config_cluster_id(cfg), k8sha_config_namespace(cfg));
  /* The host's own loop, as it would hand it to k8sha_ctx_new() (no Kubernetes access is
   * resolved here, so no context is made). */
  if (uv_loop_init(&loop) != 0)
    return 1;
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = &loop;
  k8sha_config_free(cfg);
  return uv_loop_close(&loop) == 0 ? 0 : 1;
}
