/*
 * libk8sha — k8sha/config.h: Flink configuration and Kubernetes access.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * A k8sha_config holds Flink configuration keys (from flink-conf.yaml / config.yaml files and
 * programmatic overrides), checks the high-availability keys, and resolves how to reach the
 * Kubernetes API (kubeconfig or in-cluster service account).
 *
 * Typical use:
 *
 *     k8sha_config *cfg;
 *     int rc = k8sha_config_new(&cfg, NULL);
 *     if (rc == 0) rc = k8sha_config_load_file(cfg, "/opt/flink/conf/config.yaml");
 *     if (rc == 0) rc = k8sha_config_set(cfg, "kubernetes.namespace", "flink");
 *     if (rc == 0) rc = k8sha_config_validate(cfg);
 *     if (rc == 0) rc = k8sha_config_resolve_kube(cfg);
 *     if (rc != 0) fprintf(stderr, "%s\n", k8sha_config_last_error(cfg));
 *
 * Threading: a k8sha_config is not internally locked. Use it from one thread at a time; once
 * validated and resolved it is only read, and may then be read from several threads at once.
 *
 * Ownership: every `const char *` returned is owned by the k8sha_config and stays valid until the
 * next call that changes it (load, set, validate, resolve) or until k8sha_config_free().
 */
#ifndef K8SHA_CONFIG_H
#define K8SHA_CONFIG_H

#include <stdint.h>
#include "k8sha/common.h"

K8SHA_BEGIN_DECLS

/** Configuration object; opaque. Since 0.1. */
typedef struct k8sha_config k8sha_config;

/** Severity of a diagnostic recorded by load, validate or resolve. Since 0.1. */
typedef enum k8sha_diag_severity {
  K8SHA_DIAG_ERROR = 0,   /* the configuration cannot be used */
  K8SHA_DIAG_WARNING = 1, /* accepted, but probably not what was meant */
  K8SHA_DIAG_NOTE = 2     /* an explanation of an effective value */
} k8sha_diag_severity;

/**
 * One finding about the configuration. Owned by the library: never allocate one yourself;
 * fields are only ever appended in later versions. Since 0.1.
 */
typedef struct k8sha_diag {
  k8sha_diag_severity severity;
  const char *file;    /* the file the key came from; NULL for overrides and built-in defaults */
  unsigned int line;   /* 1-based line in `file`; 0 when unknown */
  const char *key;     /* the configuration key concerned; NULL when the finding is not about one */
  const char *message; /* what is wrong or notable, without location */
  const char *text;    /* "FILE:LINE: key: message", ready to print */
} k8sha_diag;

/** Kubernetes authentication in use after k8sha_config_resolve_kube(), as bit flags. Since 0.1. */
#define K8SHA_AUTH_NONE 0u
#define K8SHA_AUTH_TOKEN 1u              /* a bearer token given inline in the kubeconfig */
#define K8SHA_AUTH_TOKEN_FILE 2u         /* a bearer token read from a file (and re-read) */
#define K8SHA_AUTH_CLIENT_CERT 4u        /* a TLS client certificate and key */
#define K8SHA_AUTH_SERVICE_ACCOUNT 8u    /* the in-cluster service-account token (a token file) */

/**
 * Creates an empty configuration. `allocator` may be NULL for malloc/realloc/free; when given it
 * must outlive the configuration and have version K8SHA_ALLOCATOR_VERSION.
 * Returns 0, K8SHA_EINVAL (out NULL, bad allocator) or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_config_new(k8sha_config **out, const k8sha_allocator *allocator);

/** Frees the configuration and everything it returned. NULL is a no-op. Since 0.1. */
K8SHA_EXPORT void k8sha_config_free(k8sha_config *cfg);

/**
 * Reads a Flink configuration file: the flat `flink-conf.yaml` form (`a.b.c: value`), the
 * nested standard-YAML `config.yaml` form, or a mix; nested keys are joined with '.'.
 * Keys read later (from this file or a later one) replace earlier values; a key repeated in one
 * file is taken from its last occurrence with a warning.
 * Returns 0, K8SHA_EINVAL, K8SHA_EIO (file unreadable; see last_error), K8SHA_ECONFIG (not valid
 * YAML, or not a mapping; the diagnostic names the line), or K8SHA_ENOMEM. On error the
 * configuration is left as it was before the call. Since 0.1.
 */
K8SHA_EXPORT int k8sha_config_load_file(k8sha_config *cfg, const char *path);

/**
 * Like k8sha_config_load_file() for `len` bytes of YAML held in memory; `name` is used in
 * diagnostics in place of a file name. Since 0.1.
 */
K8SHA_EXPORT int k8sha_config_load_string(k8sha_config *cfg, const char *name, const char *yaml,
                                          size_t len);

/**
 * Sets one key, replacing any value loaded from a file (an override, like Flink's -D).
 * `value` NULL removes the key. Returns 0, K8SHA_EINVAL or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_config_set(k8sha_config *cfg, const char *key, const char *value);

/**
 * The raw value of `key` as loaded or set, in `*value`. Returns 0, K8SHA_EINVAL or
 * K8SHA_ENOTFOUND when the key is not set (defaults do not count). Since 0.1.
 */
K8SHA_EXPORT int k8sha_config_get(const k8sha_config *cfg, const char *key, const char **value);

/**
 * Allows a storage URI scheme beyond the built-in ones (file, s3, s3a, s3p, hdfs) in
 * `high-availability.storageDir`, for a host that registers its own storage backend.
 * `scheme` is letters, digits, '+', '-', '.' starting with a letter. Since 0.1.
 */
K8SHA_EXPORT int k8sha_config_add_storage_scheme(k8sha_config *cfg, const char *scheme);

/**
 * Checks the high-availability keys and computes their effective values (the getters below).
 * Every problem found is recorded as a K8SHA_DIAG_ERROR diagnostic (all of them, not only the
 * first); explanations of derived values are recorded as notes.
 * Returns 0, K8SHA_EINVAL, K8SHA_ECONFIG (see the diagnostics) or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_config_validate(k8sha_config *cfg);

/**
 * Resolves how to reach the Kubernetes API: `kubernetes.config.file`, else the files in
 * $KUBECONFIG (colon-separated, merged, first wins), else ~/.kube/config; the context named by
 * `kubernetes.context`, else the current-context. When none of these files exists and
 * KUBERNETES_SERVICE_HOST is set, the in-cluster service account is used.
 * Reads the CA and client certificate files and the token once to check them; the token is
 * never included in any message. Returns 0, K8SHA_EINVAL, K8SHA_ECONFIG (see diagnostics),
 * K8SHA_EIO or K8SHA_ENOMEM. Since 0.1.
 */
K8SHA_EXPORT int k8sha_config_resolve_kube(k8sha_config *cfg);

/** Number of diagnostics recorded so far. Since 0.1. */
K8SHA_EXPORT size_t k8sha_config_diag_count(const k8sha_config *cfg);

/** Diagnostic number `index` (0-based), or NULL when out of range. Since 0.1. */
K8SHA_EXPORT const k8sha_diag *k8sha_config_diag_at(const k8sha_config *cfg, size_t index);

/**
 * The text of the first error diagnostic recorded by the most recent failing call, or NULL when
 * that call recorded none (or no call failed). Since 0.1.
 */
K8SHA_EXPORT const char *k8sha_config_last_error(const k8sha_config *cfg);

/*
 * Effective values, valid after k8sha_config_validate() returned 0 (NULL or 0 before).
 * Durations are in milliseconds.
 */
/** kubernetes.cluster-id. Since 0.1. */
K8SHA_EXPORT const char *k8sha_config_cluster_id(const k8sha_config *cfg);
/** high-availability.cluster-id (the storage folder's name); the cluster id when unset.
 *  Since 0.1. */
K8SHA_EXPORT const char *k8sha_config_ha_cluster_id(const k8sha_config *cfg);
/** kubernetes.namespace. Since 0.1. */
K8SHA_EXPORT const char *k8sha_config_namespace(const k8sha_config *cfg);
/** The storage directory as a normalised URI (a scheme-less absolute path becomes file://).
 *  Since 0.1. */
K8SHA_EXPORT const char *k8sha_config_storage_dir(const k8sha_config *cfg);
/** lease-duration. Since 0.1. */
K8SHA_EXPORT uint64_t k8sha_config_lease_duration_ms(const k8sha_config *cfg);
/** renew-deadline as configured. Since 0.1. */
K8SHA_EXPORT uint64_t k8sha_config_renew_deadline_ms(const k8sha_config *cfg);
/**
 * The renew deadline the elector uses: min(renew-deadline, lease-duration - request timeout), so
 * that a leader which cannot renew steps down, and its last request has timed out, before the
 * lease can expire for anyone else. Since 0.1.
 */
K8SHA_EXPORT uint64_t k8sha_config_effective_renew_deadline_ms(const k8sha_config *cfg);
/** retry-period. Since 0.1. */
K8SHA_EXPORT uint64_t k8sha_config_retry_period_ms(const k8sha_config *cfg);
/** Timeout of each request made for the lock: renew-deadline / 3 (see docs/configuration.md).
 *  Since 0.1. */
K8SHA_EXPORT uint64_t k8sha_config_request_timeout_ms(const k8sha_config *cfg);
/** kubernetes.transactional-operation.max-retries. Since 0.1. */
K8SHA_EXPORT unsigned int k8sha_config_max_retries(const k8sha_config *cfg);
/** execution.checkpointing.num-retained (or its older name). Since 0.1. */
K8SHA_EXPORT unsigned int k8sha_config_num_retained(const k8sha_config *cfg);

/*
 * Kubernetes access, valid after k8sha_config_resolve_kube() returned 0 (NULL or 0 before).
 */
/** The API server URL, e.g. "https://10.0.0.1:443" or "https://[fd00::1]:6443". Since 0.1. */
K8SHA_EXPORT const char *k8sha_config_kube_server(const k8sha_config *cfg);
/** Where the access came from, e.g. "kubeconfig /home/u/.kube/config, context prod".
 *  Since 0.1. */
K8SHA_EXPORT const char *k8sha_config_kube_source(const k8sha_config *cfg);
/** K8SHA_AUTH_* flags of the credentials in use. Since 0.1. */
K8SHA_EXPORT unsigned int k8sha_config_kube_auth(const k8sha_config *cfg);
/** Whether server certificate verification is switched off (insecure-skip-tls-verify).
 *  Since 0.1. */
K8SHA_EXPORT int k8sha_config_kube_insecure(const k8sha_config *cfg);

K8SHA_END_DECLS

#endif /* K8SHA_CONFIG_H */
