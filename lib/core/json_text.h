/* Internal: a JSON value written out as text through an allocator. */
#ifndef K8SHA_CORE_JSON_TEXT_H
#define K8SHA_CORE_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "k8sha/common.h"

/* `v` written out with jansson's `flags` (JSON_COMPACT, JSON_SORT_KEYS, ...), NUL-terminated,
 * allocated with `a`; its length in *len when len is not NULL. NULL when out of memory (or for
 * a value jansson cannot write). */
char *k8sha__json_text(const k8sha_allocator *a, const json_t *v, size_t flags, size_t *len);

#endif
