/* Internal: one canonical form of a blob URI, so that the names Flink and libk8sha write for the
 * same blob compare equal:
 *   - a scheme-less absolute path "/x", "file:/x", "file:///x" and "file://localhost/x" are all
 *     "file:///x" (Flink's Path writes "file:/x"; the file backend lists "file:///x");
 *   - "s3a://b/k" and "s3p://b/k" are "s3://b/k" (Flink's S3 file systems share one namespace);
 *   - the scheme is lowercased; percent-escapes of characters other than '/' and NUL are
 *     decoded (Java's URI escapes a space in a path as "%20").
 * Nothing else is rewritten: "." and ".." segments or doubled slashes stay, and such a URI
 * simply names another blob. */
#ifndef K8SHA_STORAGE_URI_H
#define K8SHA_STORAGE_URI_H

#include <stddef.h>

#include "k8sha/common.h"

/* Room for any blob URI libk8sha handles (4096 bytes of URI, a scheme and some escapes). */
#define K8SHA__URI_MAX 4400

/* Writes the canonical form of `uri` into `out` (`size` bytes). 0, or K8SHA_EINVAL when `uri`
 * has no scheme and is not an absolute path, or when the result does not fit. */
int k8sha__uri_canonical(const char *uri, char *out, size_t size);

/* Like k8sha__uri_canonical, but only the file forms change (for routing a blob operation to the
 * backend of the scheme as the host registered it). */
int k8sha__uri_routable(const char *uri, char *out, size_t size);

#endif
