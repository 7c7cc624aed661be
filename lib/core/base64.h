/* Internal: standard base64 (RFC 4648, with padding). Written here because none of the project's
 * dependencies exposes a decoder, and kubeconfig's *-data fields and compact pointers need one. */
#ifndef K8SHA_CORE_BASE64_H
#define K8SHA_CORE_BASE64_H

#include <stddef.h>
#include "k8sha/common.h"

/* Decodes `len` characters (whitespace is skipped). On success *out is a NUL-terminated buffer
 * owned by the caller and *out_len its length without the NUL. Returns 0, K8SHA_ECORRUPT (not
 * base64) or K8SHA_ENOMEM. */
int k8sha__base64_decode(const k8sha_allocator *a, const char *in, size_t len, unsigned char **out,
                         size_t *out_len);

/* Encodes `len` bytes; *out is NUL-terminated, owned by the caller. 0 or K8SHA_ENOMEM. */
int k8sha__base64_encode(const k8sha_allocator *a, const unsigned char *in, size_t len, char **out);

#endif
