#include "config/duration.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS_PER_US UINT64_C(1000)
#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)

typedef struct unit {
  const char *label;
  uint64_t ns;
} unit;

/* The labels Flink's TimeUtils accepts. */
static const unit units[] = {
  {"ns", 1}, {"nano", 1}, {"nanos", 1}, {"nanosecond", 1}, {"nanoseconds", 1},
  {"us", NS_PER_US}, {"\xc2\xb5s", NS_PER_US}, {"micro", NS_PER_US}, {"micros", NS_PER_US},
  {"microsecond", NS_PER_US}, {"microseconds", NS_PER_US},
  {"ms", NS_PER_MS}, {"milli", NS_PER_MS}, {"millis", NS_PER_MS}, {"millisecond", NS_PER_MS},
  {"milliseconds", NS_PER_MS},
  {"s", NS_PER_S}, {"sec", NS_PER_S}, {"secs", NS_PER_S}, {"second", NS_PER_S},
  {"seconds", NS_PER_S},
  {"m", 60 * NS_PER_S}, {"min", 60 * NS_PER_S}, {"minute", 60 * NS_PER_S},
  {"minutes", 60 * NS_PER_S},
  {"h", 3600 * NS_PER_S}, {"hour", 3600 * NS_PER_S}, {"hours", 3600 * NS_PER_S},
  {"d", 86400 * NS_PER_S}, {"day", 86400 * NS_PER_S}, {"days", 86400 * NS_PER_S},
};

static int is_blank(char c) {
  return c == ' ' || c == '\t';
}

int k8sha__parse_duration(const char *text, uint64_t *ns, const char **why) {
  const char *p = text, *label, *end;
  uint64_t number = 0;
  size_t i, len;

  while (is_blank(*p))
    p++;
  if (*p == '\0') {
    *why = "empty";
    return -1;
  }
  if (*p == '-') {
    *why = "negative";
    return -1;
  }
  if (*p == 'P' || *p == 'p') {
    *why = "ISO-8601 durations are not supported; write e.g. \"15 s\"";
    return -1;
  }
  if (*p < '0' || *p > '9') {
    *why = "does not start with a number";
    return -1;
  }
  for (; *p >= '0' && *p <= '9'; p++) {
    uint64_t digit = (uint64_t)(*p - '0');
    if (number > (UINT64_MAX - digit) / 10) {
      *why = "number too large";
      return -1;
    }
    number = number * 10 + digit;
  }
  if (*p == '.' || *p == ',') {
    *why = "fractions are not supported; use a smaller unit (\"1500 ms\" rather than \"1.5 s\")";
    return -1;
  }
  while (is_blank(*p))
    p++;
  label = p;
  end = label + strlen(label);
  while (end > label && is_blank(end[-1]))
    end--;
  len = (size_t)(end - label);
  if (len == 0) {
    /* Flink reads a bare number as milliseconds. */
    if (number > UINT64_MAX / NS_PER_MS) {
      *why = "number too large";
      return -1;
    }
    *ns = number * NS_PER_MS;
    return 0;
  }
  for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strlen(units[i].label) == len && strncasecmp(units[i].label, label, len) == 0) {
      if (number > UINT64_MAX / units[i].ns) {
        *why = "number too large";
        return -1;
      }
      *ns = number * units[i].ns;
      return 0;
    }
  }
  *why = "unknown unit (use ms, s, min, h or d)";
  return -1;
}

void k8sha__format_ms(uint64_t ms, char *buf, unsigned long size) {
  if (ms != 0 && ms % 3600000 == 0)
    snprintf(buf, size, "%llu h", (unsigned long long)(ms / 3600000));
  else if (ms != 0 && ms % 60000 == 0)
    snprintf(buf, size, "%llu min", (unsigned long long)(ms / 60000));
  else if (ms != 0 && ms % 1000 == 0)
    snprintf(buf, size, "%llu s", (unsigned long long)(ms / 1000));
  else
    snprintf(buf, size, "%llu ms", (unsigned long long)ms);
}

int k8sha__parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out,
                      const char **why) {
  const char *p = text;
  uint64_t v = 0;

  while (is_blank(*p))
    p++;
  if (*p == '+')
    p++;
  if (*p < '0' || *p > '9') {
    *why = *p == '-' ? "negative" : "not a whole number";
    return -1;
  }
  for (; *p >= '0' && *p <= '9'; p++) {
    uint64_t digit = (uint64_t)(*p - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      *why = "number too large";
      return -1;
    }
    v = v * 10 + digit;
  }
  while (is_blank(*p))
    p++;
  if (*p != '\0') {
    *why = "not a whole number";
    return -1;
  }
  if (v < min) {
    *why = min == 1 ? "must be at least 1" : "too small";
    return -1;
  }
  if (v > max) {
    *why = "too large";
    return -1;
  }
  *out = v;
  return 0;
}
