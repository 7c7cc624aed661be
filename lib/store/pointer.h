/* Internal: libk8sha's compact state-handle pointer, stored (base64) in ConfigMaps in place of
 * Flink's ~1 KB Java-serialized handle. Binary layout, all integers big-endian:
 *
 *   "K8P" | version (1 byte, = 1) | blob size (8 bytes) | CRC-32C of the blob (4 bytes)
 *         | URI length (2 bytes) | URI bytes | CRC-32C of everything before (4 bytes)
 *
 * The trailing checksum makes a damaged pointer an error, never a wrong blob. */
#ifndef K8SHA_STORE_POINTER_H
#define K8SHA_STORE_POINTER_H

#include <stddef.h>
#include <stdint.h>

#include "k8sha/common.h"

#define K8SHA__POINTER_VERSION 1
#define K8SHA__POINTER_URI_MAX 4096

typedef struct k8sha__pointer {
  char uri[K8SHA__POINTER_URI_MAX + 1];
  uint64_t size;
  uint32_t crc; /* CRC-32C of the blob */
} k8sha__pointer;

/* CRC-32C (Castagnoli), as used by iSCSI, ext4 and many storage formats. */
uint32_t k8sha__crc32c(uint32_t crc, const void *data, size_t len);

/* Encodes as base64 text (allocated with `a`). 0, K8SHA_EINVAL (URI too long) or K8SHA_ENOMEM. */
int k8sha__pointer_encode(const k8sha_allocator *a, const k8sha__pointer *p, char **out);

/* Decodes base64 text. 0, or K8SHA_ECORRUPT with *why set (never a partly decoded pointer), or
 * K8SHA_ENOMEM. */
int k8sha__pointer_decode(const k8sha_allocator *a, const char *text, k8sha__pointer *out,
                          const char **why);

/* A value as stored in a ConfigMap: an optional "deleting:" marker, then base64 of libk8sha's
 * compact pointer, of Flink's Java-serialized handle (layout/flink_handle.h), or of bytes a host
 * encoded itself (opaque: no blob libk8sha knows of). */
#define K8SHA__VALUE_OPAQUE 0
#define K8SHA__VALUE_COMPACT 1
#define K8SHA__VALUE_FLINK 2

typedef struct k8sha__value_info {
  int form;   /* K8SHA__VALUE_* */
  int marked; /* "deleting:" prefix, or Flink's markedForDeletion */
  char uri[K8SHA__POINTER_URI_MAX + 1]; /* compact and Flink: the blob, as written */
  uint64_t size;
  uint32_t crc;       /* compact only */
  size_t pointer_len; /* decoded bytes */
  size_t marker_at;   /* Flink: offset of the markedForDeletion byte; (size_t)-1 when none */
} k8sha__value_info;

/* 0 and *out; K8SHA_ECORRUPT with `why` (not base64, a damaged compact pointer, a Java stream
 * that is not a Flink handle); K8SHA_ENOMEM. */
int k8sha__value_describe(const k8sha_allocator *a, const char *value, k8sha__value_info *out,
                          char *why, size_t why_len);
/* 1 when the value is marked for deletion by either marker, 0 when not (a value that cannot be
 * read counts as not marked: it stays visible, and every operation on it reports the damage),
 * K8SHA_ENOMEM when a Flink handle could not be read for want of memory. */
int k8sha__value_is_marked(const k8sha_allocator *a, const char *value);
/* The value marked for deletion (allocated; NULL on ENOMEM): Flink's handles get Flink's own
 * flag set, everything else the "deleting:" prefix. A marked value is returned as it is. */
char *k8sha__value_mark(const k8sha_allocator *a, const char *value);

#endif
