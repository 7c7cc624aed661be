/* Internal: the structs a host fills in or receives carry a version, as libgit2's do. A library
 * built with version N of a struct accepts every version 1..N: it reads (or, for results, writes)
 * only the bytes that version had and takes the defaults for the fields after them. Each struct
 * has a table of its versions' sizes, sizes[v] for v = 1..N; a new version appends fields, raises
 * the public K8SHA_..._VERSION and appends offsetof(struct, its first new field) here, in order.
 * So a binary built against an older header keeps working, and a newer one is refused
 * (K8SHA_EINVAL) instead of having fields it sets silently ignored. */
#ifndef K8SHA_CORE_VERSIONED_H
#define K8SHA_CORE_VERSIONED_H

#include <stddef.h>
#include <string.h>

#define K8SHA__VERSIONS(sizes) (sizeof(sizes) / sizeof((sizes)[0]) - 1)

/* 1 when `version` is one of those `sizes` lists. */
#define K8SHA__VERSION_OK(version, sizes) ((version) >= 1 && (version) <= K8SHA__VERSIONS(sizes))

/* Copies the caller's struct `src` of `version` over `dst` (already holding the defaults):
 * only the bytes that version had. The version must have been checked. */
static inline void k8sha__versioned_copy(void *dst, const void *src, unsigned int version,
                                         const size_t *sizes) {
  memcpy(dst, src, sizes[version]);
}

#endif
