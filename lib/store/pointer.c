/* The compact pointer codec. CRC-32C is computed here because none of the project's
 * dependencies exposes it (zlib's crc32 is another polynomial and not a declared dependency). */
#include "store/pointer.h"

#include "k8sha/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/base64.h"
#include "k8sha/errors.h"
#include "layout/flink_handle.h"

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

/* ---- stored values: any form, either marker ---- */

#define MARKER "deleting:"
#define MARKER_LEN (sizeof(MARKER) - 1)
/* base64 of a Java serialization stream's first bytes 0xACED 0x0005: "rO0AB" */
#define JAVA_B64_PREFIX "rO0AB"

int k8sha__value_describe(const k8sha_allocator *a, const char *value, k8sha__value_info *out,
                          char *why, size_t why_len) {
  unsigned char *raw = NULL;
  size_t n = 0;
  k8sha__pointer p;
  k8sha__flink_handle fh;
  const char *reason = NULL;
  int rc;

  memset(out, 0, sizeof(*out));
  out->marker_at = (size_t)-1;
  out->marked = strncmp(value, MARKER, MARKER_LEN) == 0;
  if (out->marked)
    value += MARKER_LEN;
  rc = k8sha__base64_decode(a, value, strlen(value), &raw, &n);
  if (rc) {
    snprintf(why, why_len, rc == K8SHA_ENOMEM ? "out of memory" : "the value is not base64");
    return rc;
  }
  out->pointer_len = n;
  if (n >= 3 && memcmp(raw, magic, 3) == 0) {
    rc = k8sha__pointer_decode(a, value, &p, &reason);
    if (rc == 0) {
      out->form = K8SHA__VALUE_COMPACT;
      memcpy(out->uri, p.uri, sizeof(out->uri));
      out->size = p.size;
      out->crc = p.crc;
    } else {
      snprintf(why, why_len, "%s", reason ? reason : "not a libk8sha pointer");
    }
  } else if (k8sha__flink_handle_looks_java(raw, n)) {
    rc = k8sha__flink_handle_parse(a, raw, n, &fh, why, why_len);
    if (rc == 0) {
      out->form = K8SHA__VALUE_FLINK;
      memcpy(out->uri, fh.uri, strlen(fh.uri) + 1);
      out->size = fh.size;
      out->marked |= fh.marked;
      out->marker_at = fh.marker_at;
    }
  } else {
    out->form = K8SHA__VALUE_OPAQUE;
  }
  k8sha__free(a, raw);
  return rc;
}

int k8sha__value_is_marked(const k8sha_allocator *a, const char *value) {
  k8sha__value_info info;
  char why[8];
  int rc;
  if (strncmp(value, MARKER, MARKER_LEN) == 0)
    return 1;
  if (strncmp(value, JAVA_B64_PREFIX, strlen(JAVA_B64_PREFIX)) != 0)
    return 0; /* libk8sha's own values carry the prefix marker only */
  rc = k8sha__value_describe(a, value, &info, why, sizeof(why));
  if (rc == K8SHA_ENOMEM)
    return rc; /* not known, which is neither answer */
  return rc == 0 && info.marked;
}

char *k8sha__value_mark(const k8sha_allocator *a, const char *value) {
  k8sha__value_info info;
  unsigned char *raw = NULL;
  size_t n = 0;
  char why[8], *out = NULL;

  if (strncmp(value, MARKER, MARKER_LEN) == 0)
    return k8sha__strdup(a, value);
  if (strncmp(value, JAVA_B64_PREFIX, strlen(JAVA_B64_PREFIX)) == 0 &&
      k8sha__value_describe(a, value, &info, why, sizeof(why)) == 0 &&
      info.form == K8SHA__VALUE_FLINK && info.marker_at != (size_t)-1) {
    /* Flink's own marker: the same handle with markedForDeletion set, byte for byte what Flink
     * writes, so that Flink reading the entry back sees a removal under way. */
    if (info.marked)
      return k8sha__strdup(a, value);
    if (k8sha__base64_decode(a, value, strlen(value), &raw, &n) != 0)
      return NULL;
    raw[info.marker_at] = 1;
    if (k8sha__base64_encode(a, raw, n, &out) != 0)
      out = NULL;
    k8sha__free(a, raw);
    return out;
  }
  return k8sha__asprintf(a, MARKER "%s", value);
}

/* ---- k8sha_pointer_describe ---- */

int k8sha_pointer_describe(const char *value, k8sha_pointer_info **out) {
  k8sha__value_info info;
  k8sha_pointer_info *pi;
  char why[256], *strings;
  size_t ulen, wlen;
  int rc;

  if (!out)
    return K8SHA_EINVAL;
  *out = NULL;
  if (!value)
    return K8SHA_EINVAL;
  why[0] = '\0';
  rc = k8sha__value_describe(k8sha__default_allocator(), value, &info, why, sizeof(why));
  if (rc && rc != K8SHA_ECORRUPT)
    return rc;
  if (rc)
    info.uri[0] = '\0';
  else
    why[0] = '\0';
  /* one block: the struct, then its two strings */
  ulen = strlen(info.uri) + 1;
  wlen = strlen(why) + 1;
  pi = calloc(1, sizeof(*pi) + ulen + wlen);
  if (!pi)
    return K8SHA_ENOMEM;
  strings = (char *)(pi + 1);
  memcpy(strings, info.uri, ulen);
  memcpy(strings + ulen, why, wlen);
  pi->uri = strings;
  pi->error = strings + ulen;
  if (rc == 0) {
    pi->marked = info.marked;
    pi->format = info.form;
    pi->compact = info.form == K8SHA__VALUE_COMPACT;
    pi->size = info.size;
    pi->crc32c = info.crc;
    pi->pointer_len = info.pointer_len;
  }
  *out = pi;
  return rc;
}

void k8sha_pointer_info_free(k8sha_pointer_info *info) {
  free(info);
}
