/* Internal: the k8sha_config object, shared by the files of lib/config. */
#ifndef K8SHA_CONFIG_PRIV_H
#define K8SHA_CONFIG_PRIV_H

#include <stdarg.h>
#include <stdint.h>

#include "config/kube_access.h"
#include "k8sha/config.h"

/* One key as loaded or set. `file` NULL means set() (an override). */
typedef struct k8sha__entry {
  char *key;
  char *value;
  char *file;
  unsigned int line;
} k8sha__entry;

/* Which call recorded a diagnostic: each validate/resolve replaces its own earlier findings. */
typedef enum k8sha__phase {
  K8SHA__PHASE_LOAD,
  K8SHA__PHASE_VALIDATE,
  K8SHA__PHASE_RESOLVE
} k8sha__phase;

typedef struct k8sha__diag_rec {
  k8sha_diag pub; /* its strings point into the owned copies below */
  k8sha__phase phase;
  char *file, *key, *message, *text;
} k8sha__diag_rec;

/* Effective high-availability settings computed by validate. */
typedef struct k8sha__ha {
  char *cluster_id, *ha_cluster_id, *namespace_, *storage_dir;
  uint64_t lease_ms, renew_ms, renew_effective_ms, retry_ms, request_timeout_ms;
  unsigned int max_retries, num_retained;
  unsigned int flink_layout;  /* K8SHA__LAYOUT_FLINK1 or K8SHA__LAYOUT_FLINK2: what writers write */
  int ha_cluster_id_explicit; /* high-availability.cluster-id was set (not derived) */
} k8sha__ha;

struct k8sha_config {
  k8sha_allocator alloc;
  k8sha__entry *entries;
  size_t n_entries, cap_entries;
  char *last_file; /* the most recently loaded file: where a missing key is reported */
  k8sha__diag_rec *diags;
  size_t n_diags, cap_diags;
  char *last_error;
  char **schemes;
  size_t n_schemes, cap_schemes;
  int validated;
  k8sha__ha ha;
  int resolved;
  k8sha__kube_access kube;
};

/* Looks up a key; NULL when unset. */
const k8sha__entry *k8sha__config_find(const k8sha_config *cfg, const char *key);

/* Records a diagnostic about `key` at file:line. With no file, `override` says whether the key
 * was set programmatically (else it is a default). The message is printf-formatted.
 * Returns 0 or K8SHA_ENOMEM. */
int k8sha__config_diag(k8sha_config *cfg, k8sha__phase phase, k8sha_diag_severity sev,
                       const char *file, unsigned int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
int k8sha__config_vdiag(k8sha_config *cfg, k8sha__phase phase, k8sha_diag_severity sev,
                        const char *file, unsigned int line, int override, const char *key,
                        const char *fmt, va_list ap) __attribute__((format(printf, 8, 0)));

/* Records a diagnostic located where `e` was set, or, for an unset key, in the last loaded file. */
int k8sha__config_diag_entry(k8sha_config *cfg, k8sha__phase phase, k8sha_diag_severity sev,
                             const k8sha__entry *e, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Drops the diagnostics of one phase (before that phase runs again). */
void k8sha__config_clear_phase(k8sha_config *cfg, k8sha__phase phase);

/* Remembers the first error diagnostic recorded since index `from` as the last error; a call that
 * fails without one (out of memory) records the code's description. */
void k8sha__config_set_last_error(k8sha_config *cfg, size_t from, int err);

/* Parses a YAML configuration into entries (flattened keys). On success *entries and *n (count) are
 * owned by the caller. Problems are recorded as LOAD diagnostics. 0, K8SHA_ECONFIG or
 * K8SHA_ENOMEM. */
int k8sha__yaml_flatten(k8sha_config *cfg, const char *name, const char *yaml, size_t len,
                        k8sha__entry **entries, size_t *n);

/* Frees what an entry owns. */
void k8sha__entry_clear(const k8sha_allocator *a, k8sha__entry *e);

void k8sha__ha_clear(const k8sha_allocator *a, k8sha__ha *ha);

/* Copies the runtime parts of a validated, resolved configuration (for a context).
 * 0 or K8SHA_ENOMEM. */
int k8sha__config_copy_runtime(const k8sha_config *cfg, const k8sha_allocator *a, k8sha__ha *ha,
                               k8sha__kube_access *access);

#endif
