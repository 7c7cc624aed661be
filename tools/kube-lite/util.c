/* Small helpers shared by every part of kube-lite. */
#include "kl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Allocation failure in a development server is not worth recovering from:
 * dying loudly beats limping on with half-built objects. */
void *kl_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fputs("kube-lite: out of memory\n", stderr);
    abort();
  }
  return p;
}

void *kl_xcalloc(size_t n, size_t m) {
  void *p = calloc(n ? n : 1, m ? m : 1);
  if (!p) {
    fputs("kube-lite: out of memory\n", stderr);
    abort();
  }
  return p;
}

void *kl_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fputs("kube-lite: out of memory\n", stderr);
    abort();
  }
  return q;
}

char *kl_strdup(const char *s) {
  if (!s)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = kl_xmalloc(n);
  memcpy(d, s, n);
  return d;
}

void kl_log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("kube-lite: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* ---- growable buffer ---------------------------------------------------- */

void kl_buf_reserve(kl_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  b->data = kl_xrealloc(b->data, cap);
  b->cap = cap;
}

void kl_buf_append(kl_buf *b, const void *p, size_t n) {
  kl_buf_reserve(b, n);
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void kl_buf_puts(kl_buf *b, const char *s) {
  kl_buf_append(b, s, strlen(s));
}

void kl_buf_printf(kl_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  kl_buf_reserve(b, (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
}

char *kl_buf_steal(kl_buf *b) {
  if (!b->data) {
    kl_buf_reserve(b, 0);
    b->data[0] = '\0';
  }
  char *d = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

void kl_buf_free(kl_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- shared immutable bytes --------------------------------------------- */

kl_shared *kl_shared_chunk(const char *payload, size_t len) {
  char head[24];
  int hn = snprintf(head, sizeof head, "%zx\r\n", len);
  size_t total = (size_t)hn + len + 2;
  kl_shared *s = kl_xmalloc(sizeof *s + total + 1);
  s->refs = 1;
  s->len = total;
  memcpy(s->data, head, (size_t)hn);
  memcpy(s->data + hn, payload, len);
  memcpy(s->data + hn + len, "\r\n", 3);
  return s;
}

kl_shared *kl_shared_ref(kl_shared *s) {
  s->refs++;
  return s;
}

void kl_shared_unref(kl_shared *s) {
  if (s && --s->refs == 0)
    free(s);
}

/* ---- randomness -------------------------------------------------------- */

/* splitmix64 spreads a small user seed over the xoshiro state. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void kl_rng_seed(kl_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: fast, and its sequence is fixed for a seed, which is what
 * the fault injector's determinism promise rests on. */
uint64_t kl_rng_next(kl_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double kl_rng_unit(kl_rng *r) {
  return (double)(kl_rng_next(r) >> 11) * 0x1.0p-53;
}

void kl_random_bytes(void *p, size_t n) {
  unsigned char *out = p;
  while (n > 0) {
    ssize_t got = getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      /* Only uids depend on this; a weak fallback is acceptable. */
      for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)rand();
      return;
    }
    out += got;
    n -= (size_t)got;
  }
}

void kl_uuid4(char out[37]) {
  unsigned char b[16];
  kl_random_bytes(b, sizeof b);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

/* ---- time -------------------------------------------------------------- */

void kl_time_rfc3339(char out[32], time_t t) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool digits(const char *s, int n, int *v) {
  int x = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return true;
}

/* Parses RFC 3339 (what Go's time.Time accepts on the wire) into seconds
 * and microseconds since the epoch. */
static bool parse_rfc3339(const char *s, time_t *secs, long *micros) {
  int Y, M, D, h, m, sec;
  if (strlen(s) < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
      !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
      s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' || !digits(s + 17, 2, &sec))
    return false;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return false;
  const char *p = s + 19;
  long us = 0;
  if (*p == '.') {
    p++;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
      if (n < 6)
        us = us * 10 + (*p - '0');
      n++;
      p++;
    }
    if (n == 0)
      return false;
    for (; n < 6; n++)
      us *= 10;
  }
  long off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
      return false;
    off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return false;
  }
  if (*p)
    return false;
  struct tm tm = {0};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  *secs = timegm(&tm) - off;
  *micros = us;
  return true;
}

bool kl_time_parse(const char *in, time_t *out) {
  long us;
  return parse_rfc3339(in, out, &us);
}

bool kl_time_micro_normalize(const char *in, char out[40]) {
  time_t t;
  long us;
  if (!parse_rfc3339(in, &t, &us))
    return false;
  struct tm tm;
  gmtime_r(&t, &tm);
  char base[24];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 40, "%s.%06ldZ", base, us);
  return true;
}

/* Mirrors apimachinery's duration.HumanDuration so kubectl tables read the
 * same as against a real cluster. */
void kl_human_age(char out[32], time_t from, time_t now) {
  long long s = (long long)(now - from);
  if (s < 0) {
    snprintf(out, 32, "0s");
    return;
  }
  long long m = s / 60, h = s / 3600, d = s / 86400;
  if (s < 120)
    snprintf(out, 32, "%llds", s);
  else if (m < 10)
    snprintf(out, 32, s % 60 ? "%lldm%llds" : "%lldm", m, s % 60);
  else if (m < 180)
    snprintf(out, 32, "%lldm", m);
  else if (h < 8)
    snprintf(out, 32, m % 60 ? "%lldh%lldm" : "%lldh", h, m % 60);
  else if (h < 48)
    snprintf(out, 32, "%lldh", h);
  else if (h < 192)
    snprintf(out, 32, h % 24 ? "%lldd%lldh" : "%lldd", d, h % 24);
  else if (d < 730)
    snprintf(out, 32, "%lldd", d);
  else
    snprintf(out, 32, "%lldy", d / 365);
}

/* ---- strings ----------------------------------------------------------- */

/* Approximates Go's %q, which the apiserver uses to quote invalid values
 * inside validation messages. */
void kl_goquote(kl_buf *b, const char *s) {
  kl_buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"':
      kl_buf_puts(b, "\\\"");
      break;
    case '\\':
      kl_buf_puts(b, "\\\\");
      break;
    case '\n':
      kl_buf_puts(b, "\\n");
      break;
    case '\t':
      kl_buf_puts(b, "\\t");
      break;
    case '\r':
      kl_buf_puts(b, "\\r");
      break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        kl_buf_printf(b, "\\x%02x", *p);
      else
        kl_buf_append(b, p, 1);
    }
  }
  kl_buf_append(b, "\"", 1);
}

bool kl_parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s)
    return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    uint64_t nv = v * 10 + (uint64_t)(*p - '0');
    if (nv / 10 != v)
      return false;
    v = nv;
  }
  *out = v;
  return true;
}

char *kl_json_dumps(const json_t *j, size_t *len) {
  char *s = json_dumps(j, JSON_COMPACT);
  if (!s) {
    fputs("kube-lite: json serialisation failed\n", stderr);
    abort();
  }
  if (len)
    *len = strlen(s);
  return s;
}

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Go's encoding/json decodes []byte with StdEncoding: padded, no spaces. */
bool kl_base64_valid(const char *s, size_t *decoded_len) {
  size_t n = strlen(s);
  if (n % 4 != 0)
    return false;
  size_t pad = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=') {
      if (i < n - 2)
        return false;
      pad++;
    } else if (pad || b64val((unsigned char)s[i]) < 0) {
      return false;
    }
  }
  *decoded_len = n / 4 * 3 - pad;
  return true;
}

char *kl_base64_encode(const void *data, size_t len) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *in = data;
  char *out = kl_xmalloc((len + 2) / 3 * 4 + 1);
  char *o = out;
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    *o++ = tbl[v >> 18];
    *o++ = tbl[(v >> 12) & 63];
    *o++ = tbl[(v >> 6) & 63];
    *o++ = tbl[v & 63];
  }
  if (i < len) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
    *o++ = tbl[v >> 18];
    *o++ = tbl[(v >> 12) & 63];
    *o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  *o = '\0';
  return out;
}

/* ---- resource and verb tables ------------------------------------------ */

const kl_resdef kl_resources[KL_RES_COUNT] = {
    [KL_RES_CONFIGMAPS] = {"configmaps", "ConfigMap", "ConfigMapList", "", "v1", "configmaps", "cm",
                           false, true},
    /* The lease strategy allows create-on-update and forbids unconditional
     * updates; kube-lite keeps that so clients see what a cluster does. */
    [KL_RES_LEASES] = {"leases", "Lease", "LeaseList", "coordination.k8s.io",
                       "coordination.k8s.io/v1", "leases.coordination.k8s.io", NULL, true, false},
};

const char *kl_res_plural(int res) {
  if (res >= 0 && res < KL_RES_COUNT)
    return kl_resources[res].plural;
  if (res == KL_RES_NAMESPACES)
    return "namespaces";
  return "";
}

const char *const kl_verb_names[KL_VERB_COUNT] = {
    "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
};

int kl_verb_from_name(const char *s) {
  for (int i = 0; i < KL_VERB_COUNT; i++)
    if (strcmp(s, kl_verb_names[i]) == 0)
      return i;
  return -1;
}
