/* Internal: Flink's duration and integer syntax. */
#ifndef K8SHA_CONFIG_DURATION_H
#define K8SHA_CONFIG_DURATION_H

#include <stdint.h>

/* Parses Flink's duration syntax: a whole number, optional blanks, an optional unit
 * (ns, us/µs, ms, s, min/m, h, d and their long forms, case-insensitive; none means ms).
 * On success stores nanoseconds and returns 0; otherwise returns -1 and sets *why to a static
 * explanation. */
int k8sha__parse_duration(const char *text, uint64_t *ns, const char **why);

/* Formats a millisecond duration the way a person writes it: "15 s", "1500 ms", "2 min". */
void k8sha__format_ms(uint64_t ms, char *buf, unsigned long size);

/* Parses a decimal integer in [min, max], allowing surrounding blanks. 0 or -1 with *why set. */
int k8sha__parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out,
                      const char **why);

#endif
