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

/* X-macro so the list, k8sha_strerror() and k8sha_err_name() cannot drift apart.
 * Columns: name, value, description. */
#define K8SHA_ERRNO_MAP(XX)                                                                       \
  XX(EINVAL, -1, "invalid argument")                                                              \
  XX(ENOMEM, -2, "out of memory")                                                                 \
  XX(ECONFIG, -3, "invalid configuration")                                                        \
  XX(EIO, -4, "input/output error")                                                               \
  XX(EAPI, -5, "Kubernetes API error")                                                            \
  XX(ENOTFOUND, -6, "object not found")                                                           \
  XX(EEXISTS, -7, "object already exists")                                                        \
  XX(ECONFLICT, -8, "conflicting concurrent update")                                              \
  XX(ENOTLEADER, -9, "not the leader (write fenced)")                                             \
  XX(ETOOLARGE, -10, "object would exceed the Kubernetes size limit")                             \
  XX(EUNAUTHORIZED, -11, "not authenticated to the Kubernetes API")                               \
  XX(EFORBIDDEN, -12, "forbidden by Kubernetes RBAC")                                             \
  XX(ETIMEDOUT, -13, "timed out")                                                                 \
  XX(ECANCELED, -14, "operation cancelled")                                                       \
  XX(ESTORAGE, -15, "storage backend error")                                                      \
  XX(ECORRUPT, -16, "corrupt data")                                                               \
  XX(EUNKNOWN_OUTCOME, -17, "outcome of the write is unknown")                                    \
  XX(EINVALID_OBJECT, -18, "object rejected as invalid by the Kubernetes API")                    \
  XX(EEXPIRED, -19, "resource version too old (expired)")                                         \
  XX(ETOOMANYREQUESTS, -20, "too many requests (throttled by the Kubernetes API)")                \
  XX(EUNAVAILABLE, -21, "Kubernetes API unavailable")                                             \
  XX(ETLS, -22, "TLS error")                                                                      \
  XX(ENOTSUP, -23, "operation not supported")                                                     \
  XX(EBUSY, -24, "resource busy")                                                                 \
  XX(ECLOSED, -25, "object closed or stopped")

/** The error codes. 0 is success; every error is negative. Since 0.1. */
typedef enum k8sha_errno {
  K8SHA_OK = 0,
  K8SHA_EINVAL = -1,            /* a public argument was invalid (NULL, out of range...) */
  K8SHA_ENOMEM = -2,            /* an allocation failed; nothing was changed */
  K8SHA_ECONFIG = -3,           /* configuration or kubeconfig rejected; see the message */
  K8SHA_EIO = -4,               /* reading or writing a local file failed */
  K8SHA_EAPI = -5,              /* the API server answered with an error not listed below */
  K8SHA_ENOTFOUND = -6,         /* 404 NotFound, or no such entry in a store */
  K8SHA_EEXISTS = -7,           /* 409 AlreadyExists, or a different entry under that key */
  K8SHA_ECONFLICT = -8,         /* 409 Conflict: the object changed under us */
  K8SHA_ENOTLEADER = -9,        /* this process does not hold leadership for the write */
  K8SHA_ETOOLARGE = -10,        /* the ConfigMap would pass 1,048,576 bytes */
  K8SHA_EUNAUTHORIZED = -11,    /* 401 */
  K8SHA_EFORBIDDEN = -12,       /* 403: RBAC lacks a verb on a resource */
  K8SHA_ETIMEDOUT = -13,        /* a request or wait passed its deadline */
  K8SHA_ECANCELED = -14,        /* the operation was cancelled by the host or by a stop */
  K8SHA_ESTORAGE = -15,         /* a storage backend failed (blob write, read or delete) */
  K8SHA_ECORRUPT = -16,         /* a pointer, record or blob failed to decode or verify */
  K8SHA_EUNKNOWN_OUTCOME = -17, /* the write may or may not have been committed */
  K8SHA_EINVALID_OBJECT = -18,  /* 422 Invalid */
  K8SHA_EEXPIRED = -19,         /* 410 Expired/Gone */
  K8SHA_ETOOMANYREQUESTS = -20, /* 429 after retries */
  K8SHA_EUNAVAILABLE = -21,     /* 5xx or connection refused, after retries */
  K8SHA_ETLS = -22,             /* certificate verification or TLS handshake failed */
  K8SHA_ENOTSUP = -23,          /* the feature or scheme is not supported */
  K8SHA_EBUSY = -24,            /* the object is in use (for example already started) */
  K8SHA_ECLOSED = -25           /* the object was stopped or freed while the call was pending */
} k8sha_errno;

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

K8SHA_END_DECLS

#endif /* K8SHA_ERRORS_H */
