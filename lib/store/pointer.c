/* The compact pointer codec. CRC-32C is computed here because none of the project's
 * dependencies exposes it (zlib's crc32 is another polynomial and not a declared dependency). */
#include "store/pointer.h"

#include "k8sha/storage.h"

#include <string.h>

#include "core/alloc.h"
#include "core/base64.h"
#include "k8sha/errors.h"

static const char magic[3] = {'K', '8', 'P'};
#define HEADER_LEN (3 + 1 + 8 + 4 + 2)
#define TRAILER_LEN 4

uint32_t k8sha__crc32c(uint32_t crc, const void *data, size_t len) {
  static uint32_t table[256];
  static int ready;
  const unsigned char *p = data;
  size_t i;

  if (!ready) {
    /* Filling the table twice from two threads writes the same values: harmless. */
    for (i = 0; i < 256; i++) {
      uint32_t c = (uint32_t)i;
      int k;
      for (k = 0; k < 8; k++)
        c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      table[i] = c;
    }
    ready = 1;
  }
  crc = ~crc;
  for (i = 0; i < len; i++)
    crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static void put_be(unsigned char *p, uint64_t v, int n) {
  int i;
  for (i = n - 1; i >= 0; i--) {
    p[i] = (unsigned char)v;
    v >>= 8;
  }
}

static uint64_t get_be(const unsigned char *p, int n) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

int k8sha__pointer_encode(const k8sha_allocator *a, const k8sha__pointer *p, char **out) {
  unsigned char buf[HEADER_LEN + K8SHA__POINTER_URI_MAX + TRAILER_LEN];
  size_t ulen = strlen(p->uri), n;

  if (ulen == 0 || ulen > K8SHA__POINTER_URI_MAX)
    return K8SHA_EINVAL;
  memcpy(buf, magic, 3);
  buf[3] = K8SHA__POINTER_VERSION;
  put_be(buf + 4, p->size, 8);
  put_be(buf + 12, p->crc, 4);
  put_be(buf + 16, ulen, 2);
  memcpy(buf + HEADER_LEN, p->uri, ulen);
  n = HEADER_LEN + ulen;
  put_be(buf + n, k8sha__crc32c(0, buf, n), 4);
  return k8sha__base64_encode(a, buf, n + TRAILER_LEN, out);
}

int k8sha__pointer_decode(const k8sha_allocator *a, const char *text, k8sha__pointer *out,
                          const char **why) {
  unsigned char *buf = NULL;
  size_t len = 0, ulen;
  int rc = k8sha__base64_decode(a, text, strlen(text), &buf, &len);

  if (rc == K8SHA_ENOMEM)
    return rc;
  if (rc) {
    *why = "not base64";
    return K8SHA_ECORRUPT;
  }
  rc = K8SHA_ECORRUPT;
  if (len < HEADER_LEN + TRAILER_LEN || memcmp(buf, magic, 3) != 0) {
    *why = "not a libk8sha pointer";
  } else if (buf[3] != K8SHA__POINTER_VERSION) {
    *why = "unknown pointer format version";
  } else if ((ulen = (size_t)get_be(buf + 16, 2)) == 0 || ulen > K8SHA__POINTER_URI_MAX ||
             len != HEADER_LEN + ulen + TRAILER_LEN) {
    *why = "pointer length does not match its contents";
  } else if (get_be(buf + HEADER_LEN + ulen, 4) != k8sha__crc32c(0, buf, HEADER_LEN + ulen)) {
    *why = "pointer checksum mismatch (damaged)";
  } else if (memchr(buf + HEADER_LEN, '\0', ulen)) {
    *why = "pointer URI contains a NUL byte";
  } else {
    out->size = get_be(buf + 4, 8);
    out->crc = (uint32_t)get_be(buf + 12, 4);
    memcpy(out->uri, buf + HEADER_LEN, ulen);
    out->uri[ulen] = '\0';
    rc = 0;
  }
  k8sha__free(a, buf);
  return rc;
}

/* ---- k8sha_pointer_describe ---- */

static int uri_char(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' && c != '\\';
}

/* The first "scheme:/..." run inside host-encoded bytes (Java serialization keeps a handle's
 * path as a plain string). */
static void find_uri(const unsigned char *b, size_t n, char *out, size_t size) {
  size_t i, start, end;
  out[0] = '\0';
  for (i = 1; i + 1 < n; i++) {
    if (b[i] != ':' || b[i + 1] != '/')
      continue;
    start = i;
    while (start > 0 && ((b[start - 1] >= 'a' && b[start - 1] <= 'z') ||
                         (b[start - 1] >= 'A' && b[start - 1] <= 'Z') ||
                         (b[start - 1] >= '0' && b[start - 1] <= '9') || b[start - 1] == '+' ||
                         b[start - 1] == '.' || b[start - 1] == '-'))
      start--;
    if (start == i || !((b[start] >= 'a' && b[start] <= 'z') || (b[start] >= 'A' && b[start] <= 'Z')))
      continue;
    for (end = i; end < n && uri_char(b[end]); end++)
      ;
    if (end - start >= size)
      end = start + size - 1;
    memcpy(out, b + start, end - start);
    out[end - start] = '\0';
    return;
  }
}

int k8sha_pointer_describe(const char *value, k8sha_pointer_info *out) {
  const k8sha_allocator *a = k8sha__default_allocator();
  unsigned char *raw = NULL;
  size_t n = 0;
  k8sha__pointer p;
  const char *why;
  int rc, marked;

  if (!value || !out)
    return K8SHA_EINVAL;
  memset(out, 0, sizeof(*out));
  marked = strncmp(value, "deleting:", 9) == 0;
  if (marked)
    value += 9;
  rc = k8sha__base64_decode(a, value, strlen(value), &raw, &n);
  if (rc)
    return rc;
  out->marked = marked;
  out->pointer_len = n;
  if (n >= 3 && memcmp(raw, magic, 3) == 0) {
    rc = k8sha__pointer_decode(a, value, &p, &why);
    if (rc == 0) {
      out->compact = 1;
      memcpy(out->uri, p.uri, sizeof(out->uri));
      out->size = p.size;
      out->crc32c = p.crc;
    }
  } else {
    find_uri(raw, n, out->uri, sizeof(out->uri));
  }
  k8sha__free(a, raw);
  return rc;
}
