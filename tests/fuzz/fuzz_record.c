/* Fuzz target: the leader record in the lock's annotation, as Flink (fabric8 6 and 7), client-go
 * and the Python client write it. Parsed, or refused with a reason; what parses is written back
 * and must parse to the same record. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "election/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  k8sha__record r, back;
  const char *why = NULL;
  char *again;
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  if (k8sha__record_parse(text, &r, &why) != 0) {
    if (!why)
      abort(); /* refused without a reason */
    free(text);
    return 0;
  }
  if (r.lease_ms > UINT64_C(1000000000000))
    abort(); /* a lease is capped (1e9 s); NaN or a wrapped value never gets through */
  again = k8sha__record_format(k8sha__default_allocator(), &r);
  if (!again || k8sha__record_parse(again, &back, &why) != 0 || strcmp(back.holder, r.holder) != 0 ||
      back.transitions != r.transitions || strcmp(back.renew_time, r.renew_time) != 0)
    abort();
  free(again);
  free(text);
  return 0;
}
