/*
 * libk8sha — k8sha/errors.h: error codes.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * Every function that can fail returns 0 on success or one of the negative codes below.
 * A function that returns an error never calls its completion callback, and leaves its
 * out-parameters untouched. Where the cause came from outside (a config file, a Kubernetes
 * Status, a storage backend), the object involved keeps a message that names it; see the
 * *_last_error() functions of each module.
 *
 * The numeric values are part of the ABI and never change; new codes are only appended.
 */
#ifndef K8SHA_ERRORS_H
#define K8SHA_ERRORS_H

#include "k8sha/common.h"

K8SHA_BEGIN_DECLS

/* The error codes, one row each: name, value, what k8sha_strerror() says; the comment above a
 * row says when the code is returned. The enum below, k8sha_strerror() and k8sha_err_name()
 * are all generated from this list, so they cannot drift apart. */
#define K8SHA_ERRNO_MAP(XX)                                                                        \
  /* a public argument was invalid (NULL, out of range...) */                                      \
  XX(EINVAL, -1, "invalid argument")                                                               \
  /* an allocation failed; nothing was changed */                                                  \
  XX(ENOMEM, -2, "out of memory")                                                                  \
  /* configuration or kubeconfig rejected; see the message */                                      \
  XX(ECONFIG, -3, "invalid configuration")                                                         \
  /* reading or writing a local file (a kubeconfig, a token, a file blob) failed */                                                     \
  XX(EIO, -4, "input/output error")                                                                \
  /* the API server answered with an error not listed below */                                     \
  XX(EAPI, -5, "Kubernetes API error")                                                             \
  /* 404 NotFound, or no such entry in a store */                                                  \
  XX(ENOTFOUND, -6, "object not found")                                                            \
  /* 409 AlreadyExists, or a different entry under that key */                                     \
  XX(EEXISTS, -7, "object already exists")                                                         \
  /* 409 Conflict: the object changed under us */                                                  \
  XX(ECONFLICT, -8, "conflicting concurrent update")                                               \
  /* this process does not hold leadership for the write */                                        \
  XX(ENOTLEADER, -9, "not the leader (write fenced)")                                              \
  /* the ConfigMap would pass 1,048,576 bytes */                                                   \
  XX(ETOOLARGE, -10, "object would exceed the Kubernetes size limit")                              \
  /* 401 */                                                                                        \
  XX(EUNAUTHORIZED, -11, "not authenticated to the Kubernetes API")                                \
  /* 403: RBAC lacks a verb on a resource, or the storage refused the credentials */               \
  XX(EFORBIDDEN, -12, "forbidden (Kubernetes RBAC, or the storage's credentials)")                 \
  /* a request or wait passed its deadline */                                                      \
  XX(ETIMEDOUT, -13, "timed out")                                                                  \
  /* the operation was cancelled by the host or by a stop */                                       \
  XX(ECANCELED, -14, "operation cancelled")                                                        \
  /* a storage backend failed (blob write, read or delete) */                                      \
  XX(ESTORAGE, -15, "storage backend error")                                                       \
  /* a pointer, record or blob failed to decode or verify */                                       \
  XX(ECORRUPT, -16, "corrupt data")                                                                \
  /* the write may or may not have been committed */                                               \
  XX(EUNKNOWN_OUTCOME, -17, "outcome of the write is unknown")                                     \
  /* 422 Invalid */                                                                                \
  XX(EINVALID_OBJECT, -18, "object rejected as invalid by the Kubernetes API")                     \
  /* 410 Expired/Gone */                                                                           \
  XX(EEXPIRED, -19, "resource version too old (expired)")                                          \
  /* 429 after retries */                                                                          \
  XX(ETOOMANYREQUESTS, -20, "too many requests (throttled by the Kubernetes API)")                 \
  /* 5xx or connection refused, after retries */                                                   \
  XX(EUNAVAILABLE, -21, "Kubernetes API unavailable")                                              \
  /* certificate verification or TLS handshake failed */                                           \
  XX(ETLS, -22, "TLS error")                                                                       \
  /* the feature or scheme is not supported */                                                     \
  XX(ENOTSUP, -23, "operation not supported")                                                      \
  /* the object is in use (for example already started) */                                         \
  XX(EBUSY, -24, "resource busy")                                                                  \
  /* the object was stopped or freed while the call was pending */                                 \
  XX(ECLOSED, -25, "object closed or stopped")                                                     \
  /* called from a thread other than the context's loop thread, or from inside a callback */     \
  XX(ETHREAD, -26, "called from the wrong thread or context")                                     \
  /* the API server's response could not be used: larger than the client takes (64 MiB) */       \
  XX(EBADRESPONSE, -27, "unusable response from the Kubernetes API")                              \
  /* the system refused a resource: a thread, the event loop, the random source */                \
  XX(ESYSTEM, -28, "system resource unavailable (thread, event loop, random source)")

#define K8SHA__ERRNO_ENUM(name, value, text) , K8SHA_##name = value
/** The error codes, generated from K8SHA_ERRNO_MAP. 0 is success; every error is negative.
 *  Since 0.1. */
typedef enum k8sha_errno {
  K8SHA_OK = 0 /* (each generated entry brings its comma: no trailing one, for C89) */
  K8SHA_ERRNO_MAP(K8SHA__ERRNO_ENUM)
} k8sha_errno;
#undef K8SHA__ERRNO_ENUM

/**
 * A static, human-readable description of an error code, e.g. "not the leader (write fenced)".
 * Unknown codes give "unknown error". Never NULL. Thread-safe. Since 0.1.
 */
K8SHA_EXPORT const char *k8sha_strerror(int err);

/**
 * The code's symbolic name, e.g. "K8SHA_ENOTLEADER"; "K8SHA_OK" for 0; "unknown" for other
 * values. Never NULL. Thread-safe. Since 0.1.
 */
K8SHA_EXPORT const char *k8sha_err_name(int err);

/**
 * What the last call on this thread that returned an error said about it, e.g. "job id
 * 'my-job-1' is not 32 lowercase hex digits" (asynchronous failures come with their callback
 * instead). Meaningful right after a call returned an error; "" when none has been said on this
 * thread. Valid until the next libk8sha call on this thread. Never NULL. Thread-safe. Since 0.1.
 */
K8SHA_EXPORT const char *k8sha_last_error(void);

K8SHA_END_DECLS

#endif /* K8SHA_ERRORS_H */
