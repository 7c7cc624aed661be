/* Internal: allocation through the host's k8sha_allocator, and small string helpers on top. */
#ifndef K8SHA_CORE_ALLOC_H
#define K8SHA_CORE_ALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include "k8sha/common.h"

/* malloc/realloc/free from libc, wrapped to the k8sha_allocator shape. */
const k8sha_allocator *k8sha__default_allocator(void);

/* 0 when `a` is usable (NULL counts as the default), K8SHA_EINVAL otherwise. */
int k8sha__allocator_check(const k8sha_allocator *a);

void *k8sha__malloc(const k8sha_allocator *a, size_t size);
void *k8sha__calloc(const k8sha_allocator *a, size_t count, size_t size);
void *k8sha__realloc(const k8sha_allocator *a, void *ptr, size_t size);
void k8sha__free(const k8sha_allocator *a, void *ptr);

char *k8sha__strdup(const k8sha_allocator *a, const char *s);
char *k8sha__strndup(const k8sha_allocator *a, const char *s, size_t n);
char *k8sha__asprintf(const k8sha_allocator *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *k8sha__vasprintf(const k8sha_allocator *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* An optional message into buf (n > 0 bytes, truncated): the formatted text, or "" when fmt is
 * NULL. */
void k8sha__vformat(char *buf, size_t n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Grows *items (each `item_size` bytes) so that it holds at least `need`; doubles the capacity.
 * Returns 0 or K8SHA_ENOMEM (the array is unchanged then). */
int k8sha__grow(const k8sha_allocator *a, void **items, size_t *cap, size_t need, size_t item_size);

#endif
