/* Fuzz target: any bytes as an answer of S3 or STS, through the three readers of
 * storage/s3xml.h. Each must succeed with what its header promises or fail leaving nothing; and
 * as the three documents have different roots, at most one of them reads any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8sha/errors.h"
#include "storage/s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A string that ends within `size` bytes and holds at least `min` before its NUL. */
static int sized(const char *s, size_t size, size_t min) {
  const char *nul = memchr(s, '\0', size);
  return nul && (size_t)(nul - s) >= min;
}

static int all_zero(const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;
  for (i = 0; i < n; i++)
    if (b[i])
      return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* An exact copy: a read past `size` is a heap overflow for ASan. */
  char *xml = malloc(size ? size : 1), why[256];
  k8sha__s3_list_page page;
  k8sha__s3_error err;
  k8sha__sts_credentials *cred = malloc(sizeof(*cred));
  int rc, ok = 0;
  size_t i;

  if (!xml || !cred)
    abort();
  memcpy(xml, data, size);

  why[0] = '\0';
  memset(&page, 0x5a, sizeof(page));
  rc = k8sha__s3_parse_list(xml, size, &page, why, sizeof(why));
  if (rc == 0) {
    ok++;
    if (page.n_keys > 10000 || (page.n_keys && !page.keys) ||
        (page.truncated != 0 && page.truncated != 1) ||
        page.truncated != (page.next_token != NULL) ||
        (page.next_token && !sized(page.next_token, 4097, 1)))
      abort();
    for (i = 0; i < page.n_keys; i++)
      if (!page.keys[i] || !sized(page.keys[i], K8SHA__S3_KEY_MAX + 1, 1))
        abort();
    k8sha__s3_list_page_clear(&page);
    if (!all_zero(&page, sizeof(page)))
      abort();
  } else if ((rc != K8SHA_ECORRUPT && rc != K8SHA_ENOMEM) || !all_zero(&page, sizeof(page)) ||
             !sized(why, sizeof(why), 1)) {
    abort();
  }

  memset(&err, 0x5a, sizeof(err));
  rc = k8sha__s3_parse_error(xml, size, &err);
  if (rc == 0) {
    ok++;
    if (!sized(err.code, sizeof(err.code), 1) || !sized(err.message, sizeof(err.message), 0))
      abort();
  } else if ((rc != K8SHA_ECORRUPT && rc != K8SHA_ENOMEM) || !all_zero(&err, sizeof(err))) {
    abort();
  }

  why[0] = '\0';
  memset(cred, 0x5a, sizeof(*cred));
  rc = k8sha__sts_parse_credentials(xml, size, cred, why, sizeof(why));
  if (rc == 0) {
    ok++;
    if (!sized(cred->access_key, sizeof(cred->access_key), 1) ||
        !sized(cred->secret_key, sizeof(cred->secret_key), 1) ||
        !sized(cred->session_token, sizeof(cred->session_token), 1) ||
        !sized(cred->expiration, sizeof(cred->expiration), 1))
      abort();
  } else if ((rc != K8SHA_ECORRUPT && rc != K8SHA_ENOMEM) || !all_zero(cred, sizeof(*cred)) ||
             !sized(why, sizeof(why), 1)) {
    abort();
  }

  if (ok > 1)
    abort();
  free(cred);
  free(xml);
  return 0;
}
