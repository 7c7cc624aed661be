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

#endif
