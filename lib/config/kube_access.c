/* Where the Kubernetes API is and how to authenticate: the search order of kubeconfig files, and
 * the in-cluster service account when there is no kubeconfig. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config_priv.h"
#include "config/keys.h"
#include "config/kube_access.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "k8sha/errors.h"

#define K8SHA__TOKEN_FILE_MAX (64u * 1024u)

void k8sha__kube_access_clear(const k8sha_allocator *a, k8sha__kube_access *k) {
  k8sha__free(a, k->server);
  k8sha__free(a, k->source);
  k8sha__free(a, k->ca_file);
  k8sha__free(a, k->ca_pem);
  k8sha__free(a, k->tls_server_name);
  k8sha__free(a, k->cert_file);
  k8sha__free(a, k->key_file);
  k8sha__free(a, k->cert_pem);
  if (k->key_pem) /* the client's private key: a secret too */
    memset(k->key_pem, 0, k->key_pem_len);
  k8sha__free(a, k->key_pem);
  if (k->token) /* a secret: do not leave it in freed memory */
    memset(k->token, 0, strlen(k->token));
  k8sha__free(a, k->token);
  k8sha__free(a, k->token_file);
  k8sha__free(a, k->context_namespace);
  memset(k, 0, sizeof(*k));
}

static int resolve_diag(k8sha_config *cfg, const char *file, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int resolve_diag(k8sha_config *cfg, const char *file, const char *key, const char *fmt,
                        ...) {
  va_list ap;
  int rc;
  va_start(ap, fmt);
  rc = k8sha__config_vdiag(cfg, K8SHA__PHASE_RESOLVE, K8SHA_DIAG_ERROR, file, 0, 0, key, fmt, ap);
  va_end(ap);
  return rc ? rc : K8SHA_ECONFIG;
}

int k8sha__incluster_resolve(k8sha_config *cfg, const char *host, const char *port,
                             const char *sa_dir, k8sha__kube_access *k) {
  const k8sha_allocator *a = &cfg->alloc;
  char *token_path = NULL, *ca_path = NULL, *ns_path = NULL, *text = NULL;
  size_t len;
  int rc;

  if (!host || !*host || !port || !*port)
    return resolve_diag(cfg, NULL, NULL,
                        "in-cluster access needs both KUBERNETES_SERVICE_HOST and "
                        "KUBERNETES_SERVICE_PORT");
  token_path = k8sha__asprintf(a, "%s/%s", sa_dir, K8SHA__SA_TOKEN);
  ca_path = k8sha__asprintf(a, "%s/%s", sa_dir, K8SHA__SA_CA);
  ns_path = k8sha__asprintf(a, "%s/%s", sa_dir, K8SHA__SA_NAMESPACE);
  /* An IPv6 service address needs brackets in a URL. */
  k->server = k8sha__asprintf(a, strchr(host, ':') && host[0] != '[' ? "https://[%s]:%s"
                                                                     : "https://%s:%s",
                              host, port);
  k->source = k8sha__asprintf(a, "in-cluster service account (%s)", sa_dir);
  if (!token_path || !ca_path || !ns_path || !k->server || !k->source) {
    rc = K8SHA_ENOMEM;
    goto out;
  }
  /* The token is read once here only to fail early; the client re-reads it as it rotates. */
  rc = k8sha__read_file(a, token_path, K8SHA__TOKEN_FILE_MAX, &text, &len);
  if (rc == K8SHA_EIO) {
    rc = resolve_diag(cfg, token_path, NULL, "cannot read the service-account token: %s",
                      strerror(errno));
    goto out;
  }
  if (rc)
    goto out;
  if (len == 0) {
    rc = resolve_diag(cfg, token_path, NULL, "the service-account token file is empty");
    goto out;
  }
  memset(text, 0, len);
  k8sha__free(a, text);
  text = NULL;
  rc = k8sha__read_file(a, ca_path, K8SHA__TOKEN_FILE_MAX * 16, &text, &len);
  if (rc == K8SHA_EIO) {
    rc = resolve_diag(cfg, ca_path, NULL, "cannot read the cluster CA: %s", strerror(errno));
    goto out;
  }
  if (rc)
    goto out;
  k8sha__free(a, text);
  text = NULL;
  if (k8sha__read_file(a, ns_path, K8SHA__TOKEN_FILE_MAX, &text, &len) == 0) {
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
      text[--len] = '\0';
    k->context_namespace = text;
    text = NULL;
  }
  k->token_file = token_path;
  k->ca_file = ca_path;
  token_path = ca_path = NULL;
  k->auth = K8SHA_AUTH_SERVICE_ACCOUNT | K8SHA_AUTH_TOKEN_FILE;
  rc = 0;
out:
  k8sha__free(a, token_path);
  k8sha__free(a, ca_path);
  k8sha__free(a, ns_path);
  k8sha__free(a, text);
  return rc;
}

static int file_exists(const char *path) {
  return access(path, F_OK) == 0;
}

/* Splits $KUBECONFIG (colon-separated) into the files that exist; missing ones are skipped, as
 * client-go does. `buf` receives a writable copy the returned pointers point into. */
static int kubeconfig_env_paths(const k8sha_allocator *a, const char *env, char **buf,
                                const char ***paths, size_t *n) {
  char *p, *save = NULL, *tok;
  size_t cap = 1;

  for (p = (char *)env; *p; p++)
    cap += *p == ':';
  *buf = k8sha__strdup(a, env);
  *paths = k8sha__calloc(a, cap, sizeof(**paths));
  if (!*buf || !*paths)
    return K8SHA_ENOMEM;
  *n = 0;
  for (tok = strtok_r(*buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
    if (file_exists(tok))
      (*paths)[(*n)++] = tok;
  return 0;
}

/* Access that works but exposes the credentials: said as warnings (`k8sha config check` shows
 * them; a context logs them). 0 or K8SHA_ENOMEM. */
static int warn_transport(k8sha_config *cfg, const k8sha__kube_access *k) {
  const unsigned int bearer = K8SHA_AUTH_TOKEN | K8SHA_AUTH_TOKEN_FILE | K8SHA_AUTH_SERVICE_ACCOUNT;
  int rc = 0;
  if ((k->auth & bearer) && k->server && strncasecmp(k->server, "http://", 7) == 0)
    rc = k8sha__config_diag(cfg, K8SHA__PHASE_RESOLVE, K8SHA_DIAG_WARNING, NULL, 0,
                            K8SHA__KEY_KUBECONFIG,
                            "the bearer token is sent in clear text: the server %s is plain http",
                            k->server);
  if (rc == 0 && k->insecure)
    rc = k8sha__config_diag(cfg, K8SHA__PHASE_RESOLVE, K8SHA_DIAG_WARNING, NULL, 0,
                            K8SHA__KEY_KUBECONFIG,
                            "insecure-skip-tls-verify: the server's certificate is not checked, so "
                            "anyone in the path can read the credentials and forge answers");
  return rc;
}

int k8sha_config_resolve_kube(k8sha_config *cfg) {
  const k8sha_allocator *a;
  const k8sha__entry *file_e, *ctx_e;
  k8sha__kube_access k;
  const char **paths = NULL;
  char *buf = NULL, *home_path = NULL;
  size_t n = 0, from;
  const char *env, *home;
  int rc;

  if (!cfg)
    return K8SHA_EINVAL;
  a = &cfg->alloc;
  k8sha__config_clear_phase(cfg, K8SHA__PHASE_RESOLVE);
  from = cfg->n_diags;
  memset(&k, 0, sizeof(k));
  file_e = k8sha__config_find(cfg, K8SHA__KEY_KUBECONFIG);
  ctx_e = k8sha__config_find(cfg, K8SHA__KEY_CONTEXT);
  env = getenv("KUBECONFIG");
  home = getenv("HOME");

  if (file_e) {
    if (!file_exists(file_e->value)) {
      rc = k8sha__config_diag_entry(cfg, K8SHA__PHASE_RESOLVE, K8SHA_DIAG_ERROR, file_e,
                                    K8SHA__KEY_KUBECONFIG, "cannot read '%s': %s", file_e->value,
                                    strerror(errno));
      rc = rc ? rc : K8SHA_ECONFIG;
      goto out;
    }
    paths = k8sha__calloc(a, 1, sizeof(*paths));
    if (!paths) {
      rc = K8SHA_ENOMEM;
      goto out;
    }
    paths[n++] = file_e->value;
  } else if (env && *env) {
    rc = kubeconfig_env_paths(a, env, &buf, &paths, &n);
    if (rc)
      goto out;
  } else if (home && *home) {
    home_path = k8sha__asprintf(a, "%s/.kube/config", home);
    paths = k8sha__calloc(a, 1, sizeof(*paths));
    if (!home_path || !paths) {
      rc = K8SHA_ENOMEM;
      goto out;
    }
    if (file_exists(home_path))
      paths[n++] = home_path;
  }

  if (n > 0) {
    rc = k8sha__kubeconfig_resolve(cfg, paths, n, ctx_e ? ctx_e->value : NULL, &k);
  } else if (getenv("KUBERNETES_SERVICE_HOST")) {
    rc = k8sha__incluster_resolve(cfg, getenv("KUBERNETES_SERVICE_HOST"),
                                  getenv("KUBERNETES_SERVICE_PORT"), K8SHA__SA_DIR, &k);
  } else {
    rc = resolve_diag(cfg, NULL, K8SHA__KEY_KUBECONFIG,
                      "no Kubernetes access found: not set, no file in $KUBECONFIG%s%s, and "
                      "KUBERNETES_SERVICE_HOST is unset (not running in a pod)",
                      home_path ? " or at " : "", home_path ? home_path : "");
  }

out:
  k8sha__free(a, paths);
  k8sha__free(a, buf);
  k8sha__free(a, home_path);
  if (rc) {
    k8sha__kube_access_clear(a, &k);
    cfg->resolved = 0;
    k8sha__config_set_last_error(cfg, from, rc);
    return rc;
  }
  rc = warn_transport(cfg, &k);
  if (rc) {
    k8sha__kube_access_clear(a, &k);
    return rc;
  }
  k8sha__kube_access_clear(a, &cfg->kube);
  cfg->kube = k;
  cfg->resolved = 1;
  return 0;
}
