/* Internal: the one jittered exponential backoff of the library (kube requests, watches, fenced
 * ConfigMap conflicts, blob I/O retries). */
#ifndef K8SHA_CORE_BACKOFF_H
#define K8SHA_CORE_BACKOFF_H

#include <stdint.h>

/* The pause before retry number `attempt` (1 for the first retry): the step doubles from
 * `first_ms` up to `max_ms`, and the pause is drawn between half the step and the whole of it
 * from `random` (any value; only its spread matters). */
static inline uint64_t k8sha__backoff_ms(unsigned int attempt, uint64_t first_ms,
                                         uint64_t max_ms, uint64_t random) {
  uint64_t step = first_ms;
  while (attempt-- > 1 && step < max_ms)
    step *= 2;
  if (step > max_ms)
    step = max_ms;
  return step / 2 + random % (step / 2 + 1);
}

#endif
