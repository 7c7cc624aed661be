/* Internal: how to reach the Kubernetes API, as resolved from a kubeconfig or the pod's
 * service account. The kube client (lib/kube) reads this. */
#ifndef K8SHA_CONFIG_KUBE_ACCESS_H
#define K8SHA_CONFIG_KUBE_ACCESS_H

#include <stddef.h>
#include "k8sha/common.h"

/* The in-cluster service-account directory and files (Kubernetes facts). */
#define K8SHA__SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define K8SHA__SA_TOKEN "token"
#define K8SHA__SA_CA "ca.crt"
#define K8SHA__SA_NAMESPACE "namespace"

typedef struct k8sha__kube_access {
  char *server;          /* "https://host:port", no trailing slash */
  char *source;          /* human description: which file and context, or in-cluster */
  char *ca_file;         /* CA bundle path, or NULL */
  char *ca_pem;          /* CA bundle given inline (decoded), or NULL */
  size_t ca_pem_len;
  int insecure;          /* insecure-skip-tls-verify */
  char *tls_server_name; /* SNI / verification name override, or NULL */
  char *cert_file, *key_file; /* client certificate and key paths, or NULL */
  char *cert_pem, *key_pem;   /* the same given inline (decoded), or NULL */
  size_t cert_pem_len, key_pem_len;
  char *token;           /* inline bearer token (secret: never log), or NULL */
  char *token_file;      /* bearer token file, re-read periodically, or NULL */
  char *context_namespace; /* the namespace of the kubeconfig context, or NULL */
  unsigned int auth;     /* K8SHA_AUTH_* flags */
} k8sha__kube_access;

void k8sha__kube_access_clear(const k8sha_allocator *a, k8sha__kube_access *k);

struct k8sha_config;

/* Resolves access from the kubeconfig files listed in `paths` (merged, first wins). `key_origin`
 * is the configuration key the paths came from (for messages), or NULL. Problems are recorded as
 * RESOLVE diagnostics. 0, K8SHA_ECONFIG or K8SHA_ENOMEM. */
int k8sha__kubeconfig_resolve(struct k8sha_config *cfg, const char *const *paths, size_t n_paths,
                              const char *context, k8sha__kube_access *out);

/* The same for one kubeconfig whose contents are `text` (`len` bytes, a NUL not needed) rather
 * than read from `path`; `path` names it in messages, and relative paths in it are relative to
 * its directory. Exposed for the fuzzer. */
int k8sha__kubeconfig_resolve_text(struct k8sha_config *cfg, const char *path, const char *text,
                                   size_t len, const char *context, k8sha__kube_access *out);

/* Resolves in-cluster access from KUBERNETES_SERVICE_HOST/PORT values and the service-account
 * directory `sa_dir`. 0, K8SHA_ECONFIG or K8SHA_ENOMEM. */
int k8sha__incluster_resolve(struct k8sha_config *cfg, const char *host, const char *port,
                             const char *sa_dir, k8sha__kube_access *out);

#endif
