/* Fuzz target: configuration files. Loads the input as YAML, then validates whatever keys it
 * produced; every failure must be a clean error with a diagnostic. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <k8sha.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  k8sha_config *cfg = NULL;
  int rc;
  if (k8sha_config_new(&cfg, NULL) != 0)
    return 0;
  rc = k8sha_config_load_string(cfg, "fuzz.yaml", (const char *)data, size);
  if (rc == K8SHA_ECONFIG && !k8sha_config_last_error(cfg))
    abort(); /* an error without a message */
  if (rc == 0 && k8sha_config_validate(cfg) == K8SHA_ECONFIG && !k8sha_config_last_error(cfg))
    abort();
  k8sha_config_free(cfg);
  return 0;
}
