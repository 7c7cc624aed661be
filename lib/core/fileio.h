/* Internal: small file helpers. */
#ifndef K8SHA_CORE_FILEIO_H
#define K8SHA_CORE_FILEIO_H

#include <stddef.h>
#include "k8sha/common.h"

/* Reads a whole file into a NUL-terminated buffer owned by the caller, refusing files over
 * `limit` bytes. Returns 0, K8SHA_EIO (errno says why; EFBIG when over the limit) or
 * K8SHA_ENOMEM. */
int k8sha__read_file(const k8sha_allocator *a, const char *path, size_t limit, char **out,
                     size_t *out_len);

#endif
