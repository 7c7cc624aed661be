/* Fuzz target: kubeconfig files. Resolves the input as the only kubeconfig, once with its
 * current-context and once with an explicit context; every outcome must be access that can be
 * used, a refusal with a diagnostic, or an allocation failure. Relative credential paths in the
 * input resolve against FUZZ_KUBECONFIG_DIR, which holds a CA, a client certificate and key, and a
 * token file. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <k8sha.h>

#include "config/kube_access.h"
#include "core/alloc.h"

#ifndef FUZZ_KUBECONFIG_DIR
#error FUZZ_KUBECONFIG_DIR must name the folder of credential files
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int has_error(const k8sha_config *cfg) {
  size_t i;
  for (i = 0; i < k8sha_config_diag_count(cfg); i++)
    if (k8sha_config_diag_at(cfg, i)->severity == K8SHA_DIAG_ERROR)
      return 1;
  return 0;
}

static void check(const uint8_t *data, size_t size, const char *context) {
  const k8sha_allocator *a = k8sha__default_allocator();
  k8sha_config *cfg = NULL;
  k8sha__kube_access k;
  int rc;

  if (k8sha_config_new(&cfg, NULL) != 0)
    return;
  memset(&k, 0, sizeof(k));
  rc = k8sha__kubeconfig_resolve_text(cfg, FUZZ_KUBECONFIG_DIR "/kubeconfig", (const char *)data,
                                      size, context, &k);
  if (rc == 0) {
    /* Usable access: a server URL, a description, and no error said on the way. */
    if (!k.server || !k.source || has_error(cfg) ||
        (strncmp(k.server, "https://", 8) != 0 && strncmp(k.server, "http://", 7) != 0))
      abort();
    if ((k.cert_file || k.cert_pem) != (k.key_file || k.key_pem))
      abort(); /* a certificate without its key, or the reverse */
    if (k.insecure && (k.ca_file || k.ca_pem))
      abort();
  } else if (rc == K8SHA_ECONFIG) {
    if (!has_error(cfg))
      abort(); /* refused without saying why */
  } else if (rc != K8SHA_ENOMEM) {
    abort();
  }
  k8sha__kube_access_clear(a, &k);
  k8sha_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int once;
  if (!once) {
    /* A generated path could name the standard input (/dev/stdin); never wait on it. */
    once = 1;
    if (!freopen("/dev/null", "r", stdin))
      abort();
  }
  check(data, size, NULL);
  check(data, size, "other");
  return 0;
}
