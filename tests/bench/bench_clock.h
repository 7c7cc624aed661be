/* What the benchmarks share: this process's CPU time and the monotonic wall clock, in ms, and
 * its resident set size. */
#ifndef K8SHA_BENCH_CLOCK_H
#define K8SHA_BENCH_CLOCK_H

#include <stdio.h>
#include <sys/resource.h>
#include <uv.h>

static inline double cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
         ru.ru_stime.tv_usec / 1e3;
}

static inline double now_ms(void) {
  return (double)uv_hrtime() / 1e6;
}

/* This process's resident set (VmRSS) in KiB, or -1. */
static inline long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  if (f)
    fclose(f);
  return kib;
}

#endif
