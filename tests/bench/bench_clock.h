/* Clocks the benchmarks share: this process's CPU time and the monotonic wall clock, in ms. */
#ifndef K8SHA_BENCH_CLOCK_H
#define K8SHA_BENCH_CLOCK_H

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

#endif
