/*
 * libk8sha — k8sha/storage.h: storage backends for state blobs (checkpoints, job graphs).
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * Blobs live in the storage directory (`high-availability.storageDir`); only pointers to them go
 * into Kubernetes. A backend serves one URI scheme. `file`, `s3` (also `s3a`, `s3p`) and `hdfs`
 * (WebHDFS) are built in (docs/storage.md); a host plugs in its own, or its own client of a built-in scheme, with
 * k8sha_storage_register().
 *
 * Every operation is asynchronous: the backend starts it and returns 0, then completes it exactly
 * once with k8sha_storage_op_complete(), from any thread. An operation whose start function
 * returns an error is never completed. Blobs are never overwritten: write_new of an existing blob
 * fails with K8SHA_EEXISTS, and a blob is complete (durable) when write_new completes with 0.
 */
#ifndef K8SHA_STORAGE_H
#define K8SHA_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "k8sha/common.h"
#include "k8sha/context.h"

K8SHA_BEGIN_DECLS

/** One pending backend operation; opaque. Since 0.1. */
typedef struct k8sha_storage_op k8sha_storage_op;

/** A storage backend. Fill every member; fields are only appended. Since 0.1. */
typedef struct k8sha_storage_backend {
  unsigned int version; /* K8SHA_STORAGE_BACKEND_VERSION */
  const char *scheme;   /* "file", "s3", "hdfs", or the host's own (letters, digits, + - .) */
  /** Writes a new blob at `uri` (the data is valid until completion). Completes with 0 once the
   *  blob is durable, K8SHA_EEXISTS if it exists, K8SHA_ESTORAGE otherwise. */
  int (*write_new)(void *self, const char *uri, const void *data, size_t len,
                   k8sha_storage_op *op);
  /** Reads the blob at `uri`: completes with its bytes, or K8SHA_ENOTFOUND / K8SHA_ESTORAGE. */
  int (*read)(void *self, const char *uri, k8sha_storage_op *op);
  /** Deletes the blob at `uri`; an absent blob is success. */
  int (*remove)(void *self, const char *uri, k8sha_storage_op *op);
  /** Lists the blobs whose URI starts with `prefix`, through k8sha_storage_op_add_entry(). */
  int (*list)(void *self, const char *prefix, k8sha_storage_op *op);
  /** Called once when the context no longer needs the backend. May be NULL. */
  void (*destroy)(void *self);
} k8sha_storage_backend;

#define K8SHA_STORAGE_BACKEND_VERSION 1

/**
 * Registers a backend for its scheme in the context (replacing the built-in one of that scheme).
 * The struct is copied; `self` is passed back to every call. Loop thread (K8SHA_ETHREAD on
 * another). Returns 0, K8SHA_EINVAL, K8SHA_ENOMEM or K8SHA_ETHREAD. Since 0.1.
 */
K8SHA_EXPORT int k8sha_storage_register(k8sha_ctx *ctx, const k8sha_storage_backend *backend,
                                        void *self);

/**
 * Completes an operation: `status` 0 or a K8SHA_E* code; `message` (may be NULL) says what
 * failed, naming the blob; `data`/`len` are the bytes read (read only; copied). After this call
 * `op` is gone. Thread-safe. Since 0.1.
 */
K8SHA_EXPORT void k8sha_storage_op_complete(k8sha_storage_op *op, int status, const char *message,
                                            const void *data, size_t len);

/** Adds one URI to a list operation's result, before completing it. Thread-safe for one op.
 *  Returns 0 or K8SHA_ENOMEM. Since 0.1. */
K8SHA_EXPORT int k8sha_storage_op_add_entry(k8sha_storage_op *op, const char *uri);

/** How a pointer value was written (k8sha_pointer_info.format). Since 0.1. */
#define K8SHA_POINTER_OPAQUE 0  /* bytes a host encoded in a form libk8sha does not read */
#define K8SHA_POINTER_COMPACT 1 /* libk8sha's compact pointer */
#define K8SHA_POINTER_FLINK 2   /* Flink's Java-serialized state handle (Flink 1.15 to 2.x) */

/** What a pointer value in a ConfigMap says. Made by k8sha_pointer_describe(), freed with
 *  k8sha_pointer_info_free(); fields may be added at the end. Since 0.1. */
typedef struct k8sha_pointer_info {
  int marked;           /* the entry is marked for deletion: libk8sha's "deleting:" prefix, or the
                           markedForDeletion flag of Flink's handle (a removal under way or
                           interrupted) */
  int compact;          /* 1 when format is K8SHA_POINTER_COMPACT, else 0 */
  const char *uri;      /* the blob's URI as the pointer names it (Flink writes "file:/x"); ""
                           for opaque bytes and unreadable values */
  uint64_t size;        /* the blob's size (compact and Flink) */
  uint32_t crc32c;      /* the blob's CRC-32C (compact only) */
  size_t pointer_len;   /* bytes of the pointer itself, decoded */
  int format;           /* K8SHA_POINTER_* */
  const char *error;    /* with K8SHA_ECORRUPT: what was not understood; else "" */
} k8sha_pointer_info;

/**
 * Describes a ConfigMap value written by a state-handle store (a checkpoint, a job graph), by
 * libk8sha or by Flink's own KubernetesStateHandleStore. Flink's handle is read through the Java
 * serialization grammar; a value that starts as a Java serialization stream but is not one of
 * the handles Flink writes there is K8SHA_ECORRUPT, never a guess.
 * Returns 0 or K8SHA_ECORRUPT (not base64, a compact pointer that fails its checksum, or a
 * Java-serialized value that is not a Flink state handle; `(*out)->error` says which), with *out
 * set either way; or K8SHA_EINVAL / K8SHA_ENOMEM with *out NULL. Thread-safe. Since 0.1.
 */
K8SHA_EXPORT int k8sha_pointer_describe(const char *value, k8sha_pointer_info **out);

/** Frees what k8sha_pointer_describe() made. NULL is a no-op. Thread-safe. Since 0.1. */
K8SHA_EXPORT void k8sha_pointer_info_free(k8sha_pointer_info *info);

K8SHA_END_DECLS

#endif /* K8SHA_STORAGE_H */
