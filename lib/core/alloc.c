#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8sha/errors.h"

static void *libc_malloc(size_t size, void *user_data) {
  (void)user_data;
  return malloc(size);
}

static void *libc_realloc(void *ptr, size_t size, void *user_data) {
  (void)user_data;
  return realloc(ptr, size);
}

static void libc_free(void *ptr, void *user_data) {
  (void)user_data;
  free(ptr);
}

static const k8sha_allocator libc_allocator = {
  K8SHA_ALLOCATOR_VERSION, libc_malloc, libc_realloc, libc_free, NULL,
};

const k8sha_allocator *k8sha__default_allocator(void) {
  return &libc_allocator;
}

int k8sha__allocator_check(const k8sha_allocator *a) {
  if (a == NULL)
    return 0;
  /* (version 1 is the only one so far; a later one adds fields after `user_data`) */
  if (a->version < 1 || a->version > K8SHA_ALLOCATOR_VERSION || !a->malloc || !a->realloc ||
      !a->free)
    return K8SHA_EINVAL;
  return 0;
}

void *k8sha__malloc(const k8sha_allocator *a, size_t size) {
  /* malloc(0) may return NULL, which callers would take for a failure. */
  return a->malloc(size ? size : 1, a->user_data);
}

void *k8sha__calloc(const k8sha_allocator *a, size_t count, size_t size) {
  void *p;
  if (size && count > SIZE_MAX / size)
    return NULL;
  p = k8sha__malloc(a, count * size);
  if (p)
    memset(p, 0, count * size);
  return p;
}

void *k8sha__realloc(const k8sha_allocator *a, void *ptr, size_t size) {
  return a->realloc(ptr, size ? size : 1, a->user_data);
}

void k8sha__free(const k8sha_allocator *a, void *ptr) {
  if (ptr)
    a->free(ptr, a->user_data);
}

char *k8sha__strndup(const k8sha_allocator *a, const char *s, size_t n) {
  char *p = k8sha__malloc(a, n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

char *k8sha__strdup(const k8sha_allocator *a, const char *s) {
  return k8sha__strndup(a, s, strlen(s));
}

char *k8sha__vasprintf(const k8sha_allocator *a, const char *fmt, va_list ap) {
  va_list copy;
  int n;
  char *p;

  va_copy(copy, ap);
  n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0)
    return NULL;
  p = k8sha__malloc(a, (size_t)n + 1);
  if (p)
    vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *k8sha__asprintf(const k8sha_allocator *a, const char *fmt, ...) {
  va_list ap;
  char *p;
  va_start(ap, fmt);
  p = k8sha__vasprintf(a, fmt, ap);
  va_end(ap);
  return p;
}

void k8sha__vformat(char *buf, size_t n, const char *fmt, va_list ap) {
  if (fmt)
    vsnprintf(buf, n, fmt, ap);
  else
    buf[0] = '\0';
}

int k8sha__grow(const k8sha_allocator *a, void **items, size_t *cap, size_t need,
                size_t item_size) {
  size_t ncap;
  void *p;

  if (need <= *cap)
    return 0;
  ncap = *cap ? *cap : 8;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2 / item_size)
      return K8SHA_ENOMEM;
    ncap *= 2;
  }
  p = k8sha__realloc(a, *items, ncap * item_size);
  if (!p)
    return K8SHA_ENOMEM;
  *items = p;
  *cap = ncap;
  return 0;
}
