/* Canonical blob URIs (see uri.h). */
#include "storage/uri.h"

#include <string.h>
#include <strings.h>

#include "k8sha/errors.h"

static int is_scheme_char(char c, int first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return 1;
  return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

static int hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

typedef struct sink {
  char *out;
  size_t size, n;
} sink;

static void put(sink *s, const char *p, size_t n) {
  if (s->n + n < s->size)
    memcpy(s->out + s->n, p, n);
  s->n += n;
}

/* The rest of the URI after its scheme, with percent-escapes decoded when `decode`. */
static void put_rest(sink *s, const char *p, int decode) {
  for (; *p; p++) {
    int h, l;
    if (decode && p[0] == '%' && (h = hex(p[1])) >= 0 && (l = hex(p[2])) >= 0) {
      char c = (char)(h * 16 + l);
      if (c != '/' && c != '\0') {
        put(s, &c, 1);
        p += 2;
        continue;
      }
    }
    put(s, p, 1);
  }
}

static int convert(const char *uri, char *out, size_t size, int full) {
  sink s = {out, size, 0};
  size_t slen = 0, i;
  const char *rest;

  if (!uri || !out || size == 0)
    return K8SHA_EINVAL;
  while (uri[slen] && is_scheme_char(uri[slen], slen == 0))
    slen++;
  if (uri[0] == '/') {
    put(&s, "file://", 7);
    put_rest(&s, uri, full);
  } else if (slen == 0 || uri[slen] != ':') {
    return K8SHA_EINVAL;
  } else if (slen == 4 && strncasecmp(uri, "file", 4) == 0) {
    rest = uri + 5;
    if (strncasecmp(rest, "//localhost/", 12) == 0)
      rest += 11;
    else if (strncmp(rest, "///", 3) == 0)
      rest += 2;
    put(&s, "file:", 5);
    if (rest[0] == '/' && rest[1] != '/')
      put(&s, "//", 2); /* a local path: file:///x */
    put_rest(&s, rest, full);
  } else {
    if (full && slen == 3 && (strncasecmp(uri, "s3a", 3) == 0 || strncasecmp(uri, "s3p", 3) == 0))
      slen = 2;
    for (i = 0; i < slen; i++) {
      char c = uri[i];
      if (full && c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
      put(&s, &c, 1);
    }
    put_rest(&s, strchr(uri, ':'), full);
  }
  if (s.n >= size)
    return K8SHA_EINVAL;
  out[s.n] = '\0';
  return 0;
}

int k8sha__uri_canonical(const char *uri, char *out, size_t size) {
  return convert(uri, out, size, 1);
}

int k8sha__uri_routable(const char *uri, char *out, size_t size) {
  return convert(uri, out, size, 0);
}
