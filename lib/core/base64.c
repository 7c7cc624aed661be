#include "core/base64.h"

#include "core/alloc.h"
#include "k8sha/errors.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int sextet(unsigned char c) {
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

static int is_space(unsigned char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int k8sha__base64_decode(const k8sha_allocator *a, const char *in, size_t len, unsigned char **out,
                         size_t *out_len) {
  unsigned char *buf;
  size_t i, n = 0, pad = 0, digits = 0;
  unsigned long acc = 0;

  buf = k8sha__malloc(a, len / 4 * 3 + 4);
  if (!buf)
    return K8SHA_ENOMEM;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    int v;
    if (is_space(c))
      continue;
    if (c == '=') {
      pad++;
      continue;
    }
    v = sextet(c);
    if (v < 0 || pad > 0)
      goto corrupt; /* a foreign character, or data after padding */
    acc = (acc << 6) | (unsigned long)v;
    digits++;
    if (digits % 4 == 0) {
      buf[n++] = (unsigned char)(acc >> 16);
      buf[n++] = (unsigned char)(acc >> 8);
      buf[n++] = (unsigned char)acc;
      acc = 0;
    }
  }
  switch (digits % 4) {
  case 0:
    if (pad != 0)
      goto corrupt;
    break;
  case 2:
    if (pad != 0 && pad != 2)
      goto corrupt;
    buf[n++] = (unsigned char)(acc >> 4);
    break;
  case 3:
    if (pad != 0 && pad != 1)
      goto corrupt;
    buf[n++] = (unsigned char)(acc >> 10);
    buf[n++] = (unsigned char)(acc >> 2);
    break;
  default:
    goto corrupt;
  }
  buf[n] = '\0';
  *out = buf;
  *out_len = n;
  return 0;

corrupt:
  k8sha__free(a, buf);
  return K8SHA_ECORRUPT;
}

int k8sha__base64_encode(const k8sha_allocator *a, const unsigned char *in, size_t len,
                         char **out) {
  char *buf = k8sha__malloc(a, (len + 2) / 3 * 4 + 1);
  size_t i, n = 0;

  if (!buf)
    return K8SHA_ENOMEM;
  for (i = 0; i + 2 < len; i += 3) {
    unsigned long v = ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8) | in[i + 2];
    buf[n++] = alphabet[(v >> 18) & 63];
    buf[n++] = alphabet[(v >> 12) & 63];
    buf[n++] = alphabet[(v >> 6) & 63];
    buf[n++] = alphabet[v & 63];
  }
  if (i < len) {
    unsigned long v = (unsigned long)in[i] << 16;
    if (i + 1 < len)
      v |= (unsigned long)in[i + 1] << 8;
    buf[n++] = alphabet[(v >> 18) & 63];
    buf[n++] = alphabet[(v >> 12) & 63];
    buf[n++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
    buf[n++] = '=';
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}
