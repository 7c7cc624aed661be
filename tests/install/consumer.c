/* A program built only from the installed headers and `pkg-config --cflags --libs libk8sha`. */
#include <k8sha.h>
#include <stdio.h>
#include <string.h>

static const char conf[] =
    "kubernetes.cluster-id: cluster1337\n"
    "high-availability.type: kubernetes\n"
    "high-availability.storageDir: s3://flink/recovery\n"
    "kubernetes.namespace: flink\n";

int main(void) {
  k8sha_config *cfg = NULL;
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
  k8sha_config_free(cfg);
  return 0;
}
