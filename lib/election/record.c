#include "election/record.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"

void k8sha__format_micro_time(uint64_t now_us, char *buf, unsigned long size) {
  time_t secs = (time_t)(now_us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(now_us % 1000000));
}

/* Java's Duration.toString() form, which Flink 2.x (fabric8 7) writes: "PT15S", "PT0.5S",
 * "PT1M30S", "PT2H". Seconds, or -1 when the text is not of that grammar. */
static double iso_seconds(const char *s) {
  static const struct { char unit; double factor; } units[] = {{'H', 3600}, {'M', 60}, {'S', 1}};
  double total = 0;
  size_t u = 0;
  if (strncmp(s, "PT", 2) != 0 || !s[2])
    return -1;
  s += 2;
  while (*s) {
    char *end;
    double n;
    if (!(*s >= '0' && *s <= '9'))
      return -1;
    n = strtod(s, &end);
    while (u < 3 && units[u].unit != *end)
      u++;
    if (u == 3 || end == s)
      return -1; /* an unknown unit, or units out of order */
    total += n * units[u++].factor;
    s = end + 1;
  }
  return total;
}

/* Seconds as a number or a string ("15", "15.5", "15s", "PT15S") -> ms; 0 when unusable (not a
 * finite positive number of at most 1e9 s). */
static uint64_t seconds_ms(json_t *v) {
  double d = -1;
  if (json_is_integer(v))
    d = (double)json_integer_value(v);
  else if (json_is_real(v))
    d = json_real_value(v);
  else if (json_is_string(v)) {
    char *end;
    const char *text = json_string_value(v);
    if (text[0] == 'P') {
      d = iso_seconds(text);
    } else if (text[0] >= '0' && text[0] <= '9') {
      d = strtod(text, &end);
      if (*end && strcmp(end, "s") != 0)
        d = -1;
    }
  }
  if (!(d > 0 && d <= 1e9)) /* also NaN */
    return 0;
  return (uint64_t)(d * 1000.0 + 0.5);
}

static void copy_str(json_t *v, char *dst, size_t size) {
  const char *s = json_string_value(v);
  snprintf(dst, size, "%s", s ? s : "");
}

int k8sha__record_parse(const char *json_text, k8sha__record *out, const char **why) {
  json_error_t e;
  json_t *root = json_loads(json_text, 0, &e), *v;
  k8sha__record r;

  if (!json_is_object(root)) {
    json_decref(root);
    *why = "the leader record is not a JSON object";
    return -1;
  }
  memset(&r, 0, sizeof(r));
  v = json_object_get(root, "holderIdentity");
  if (v && !json_is_string(v) && !json_is_null(v)) {
    json_decref(root);
    *why = "holderIdentity is not a string";
    return -1;
  }
  if (json_is_string(v) && strlen(json_string_value(v)) >= sizeof(r.holder)) {
    json_decref(root);
    *why = "holderIdentity is too long";
    return -1;
  }
  copy_str(v, r.holder, sizeof(r.holder));
  r.lease_ms = seconds_ms(json_object_get(root, "leaseDuration"));
  if (!r.lease_ms)
    r.lease_ms = seconds_ms(json_object_get(root, "leaseDurationSeconds"));
  v = json_object_get(root, "leaderTransitions");
  if (!v)
    v = json_object_get(root, "leaseTransitions");
  if (json_is_integer(v) && json_integer_value(v) >= 0)
    r.transitions = (uint64_t)json_integer_value(v);
  copy_str(json_object_get(root, "acquireTime"), r.acquire_time, sizeof(r.acquire_time));
  copy_str(json_object_get(root, "renewTime"), r.renew_time, sizeof(r.renew_time));
  json_decref(root);
  *out = r;
  return 0;
}

char *k8sha__record_format(const k8sha_allocator *a, const k8sha__record *r) {
  /* By hand rather than through jansson: Flink writes leaseDuration with nine decimals
   * ("15.000000000"), which jansson's real formatting does not reproduce. */
  static const char fmt[] =
      "{\"holderIdentity\":%s,\"leaseDuration\":%llu.%03u000000,\"acquireTime\":\"%s\","
      "\"renewTime\":\"%s\",\"leaderTransitions\":%llu}";
  json_t *holder = json_string(r->holder);
  char *h = json_dumps(holder, JSON_ENCODE_ANY), *out = NULL;
  int n;
  json_decref(holder);
  if (!h)
    return NULL;
  /* Sized to fit: an identity of control characters escapes to six bytes each. */
  n = snprintf(NULL, 0, fmt, h, (unsigned long long)(r->lease_ms / 1000),
               (unsigned)(r->lease_ms % 1000), r->acquire_time, r->renew_time,
               (unsigned long long)r->transitions);
  if (n > 0 && (out = k8sha__malloc(a, (size_t)n + 1)) != NULL)
    snprintf(out, (size_t)n + 1, fmt, h, (unsigned long long)(r->lease_ms / 1000),
             (unsigned)(r->lease_ms % 1000), r->acquire_time, r->renew_time,
             (unsigned long long)r->transitions);
  free(h); /* (json_dumps allocates through jansson: released with free()) */
  return out;
}
