/*
 * libk8sha — Kubernetes high-availability services for Flink-style clusters.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * k8sha/common.h: the macros and small types every other header needs.
 * Include <k8sha.h> rather than this file.
 */
#ifndef K8SHA_COMMON_H
#define K8SHA_COMMON_H

#include <stddef.h>

/* Symbols are hidden by default; only functions marked K8SHA_EXPORT are part of the ABI. */
#if defined(K8SHA_BUILDING_LIBRARY) && defined(__GNUC__)
#  define K8SHA_EXPORT __attribute__((visibility("default")))
#else
#  define K8SHA_EXPORT
#endif

/* Marks an API that will go away at the next soname bump; define K8SHA_NO_DEPRECATION_WARNINGS
 * to silence the warnings while migrating. */
#if defined(__GNUC__) && !defined(K8SHA_NO_DEPRECATION_WARNINGS)
#  define K8SHA_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#  define K8SHA_DEPRECATED(msg)
#endif

#ifdef __cplusplus
#  define K8SHA_BEGIN_DECLS extern "C" {
#  define K8SHA_END_DECLS }
#else
#  define K8SHA_BEGIN_DECLS
#  define K8SHA_END_DECLS
#endif

K8SHA_BEGIN_DECLS

/**
 * Memory functions the library uses for everything it allocates itself (not for what libcurl,
 * libuv, jansson or libyaml allocate internally).
 *
 * Pass one to k8sha_config_new() (and later to a context) to account for or to fail allocations
 * on purpose in tests. `malloc` and `free` are required; `realloc` is required too. Each is called
 * with the `user_data` given here as its last argument. A context's allocator is called on its
 * loop thread only (and by k8sha_ctx_new() on the calling thread), so it need not be thread-safe.
 * It must stay usable after k8sha_ctx_free() until the context's last handle has closed: with a
 * host loop, until the host's loop has run with nothing of the context left (blob operations
 * still running on other threads release their memory when they end). Since 0.1.
 */
typedef struct k8sha_allocator {
  unsigned int version; /* K8SHA_ALLOCATOR_VERSION */
  void *(*malloc)(size_t size, void *user_data);
  void *(*realloc)(void *ptr, size_t size, void *user_data);
  void (*free)(void *ptr, void *user_data);
  void *user_data;
} k8sha_allocator;

#define K8SHA_ALLOCATOR_VERSION 1

K8SHA_END_DECLS

#endif /* K8SHA_COMMON_H */
