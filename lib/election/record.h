/* Internal: the leader-election lock record, as Flink (fabric8), client-go and the Python client
 * write it. Read leniently, written in Flink's form. */
#ifndef K8SHA_ELECTION_RECORD_H
#define K8SHA_ELECTION_RECORD_H

#include <stdint.h>

#include "k8sha/common.h"
#include "layout/flink.h"

/* The lease a clean release leaves behind, so that anyone still waiting takes over quickly. */
#define K8SHA__RELEASE_LEASE_MS 1000u

typedef struct k8sha__record {
  char holder[256];       /* "" when nobody holds the lock */
  uint64_t lease_ms;      /* 0 when the record did not say */
  uint64_t transitions;
  char acquire_time[40];  /* as written (informational) */
  char renew_time[40];
} k8sha__record;

/* Parses the JSON text of the annotation. Accepts leaseDuration as a number (seconds, integer or
 * decimal) or a string ("15", "15.5", "15s"), leaseDurationSeconds as an integer, missing or null
 * times, missing transitions. 0, or -1 with *why set. */
int k8sha__record_parse(const char *json_text, k8sha__record *out, const char **why);

/* Formats the record as Flink writes it: decimal-seconds duration, UTC times with 6 fractional
 * digits (as stored in the record). Returns a string allocated with `a`, or NULL. */
char *k8sha__record_format(const k8sha_allocator *a, const k8sha__record *r);

/* Wall-clock time as "2020-10-20T04:06:31.431000Z". */
void k8sha__format_micro_time(uint64_t now_us, char *buf, unsigned long size);

#endif
