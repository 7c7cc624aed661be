/* Fuzz target: pointer text as found in a ConfigMap (base64 or anything else), through the
 * compact pointer decoder and k8sha_pointer_describe(); and the raw bytes through the Java
 * serialization reader of Flink's handle. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "k8sha/errors.h"
#include "k8sha/storage.h"
#include "layout/flink_handle.h"
#include "store/pointer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const k8sha_allocator *a = k8sha__default_allocator();
  char *text = malloc(size + 1);
  k8sha__pointer p;
  const char *why = NULL;
  if (!text)
    return 0;
  {
    /* The same bytes as a decoded Java serialization stream (Flink's handle). */
    k8sha__flink_handle h;
    char reason[256];
    if (k8sha__flink_handle_parse(a, data, size, &h, reason, sizeof(reason)) == 0 &&
        (strlen(h.uri) == 0 || strlen(h.uri) > K8SHA__FLINK_URI_MAX))
      abort();
  }
  memcpy(text, data, size);
  text[size] = '\0';
  {
    /* Any ConfigMap value (marked, host bytes, garbage): described or refused, never more. */
    k8sha_pointer_info *info = NULL;
    int rc = k8sha_pointer_describe(text, &info);
    if ((rc == 0 || rc == K8SHA_ECORRUPT) != (info != NULL) ||
        (rc == K8SHA_ECORRUPT && !info->error[0]) || (rc == 0 && info->error[0]))
      abort();
    k8sha_pointer_info_free(info);
  }
  if (k8sha__pointer_decode(a, text, &p, &why) == 0) {
    /* What decodes must encode back to the same pointer. */
    char *again = NULL;
    k8sha__pointer q;
    if (k8sha__pointer_encode(a, &p, &again) != 0 || k8sha__pointer_decode(a, again, &q, &why) != 0 ||
        strcmp(p.uri, q.uri) != 0 || p.size != q.size || p.crc != q.crc)
      abort();
    k8sha__free(a, again);
  }
  free(text);
  return 0;
}
