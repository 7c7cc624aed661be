/* The k8sha_config object: keys, overrides, diagnostics and the getters of effective values. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include <string.h>

#include "config/config_priv.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "k8sha/errors.h"

/* Flink configuration files are small; anything this large is a mistake (or /dev/zero). */
#define K8SHA__CONFIG_FILE_MAX (16u * 1024u * 1024u)

int k8sha_config_new(k8sha_config **out, const k8sha_allocator *allocator) {
  const k8sha_allocator *a;
  k8sha_config *cfg;

  if (!out || k8sha__allocator_check(allocator) != 0)
    return K8SHA_EINVAL;
  a = allocator ? allocator : k8sha__default_allocator();
  cfg = k8sha__calloc(a, 1, sizeof(*cfg));
  if (!cfg)
    return K8SHA_ENOMEM;
  cfg->alloc = *a;
  *out = cfg;
  return 0;
}

void k8sha__entry_clear(const k8sha_allocator *a, k8sha__entry *e) {
  k8sha__free(a, e->key);
  k8sha__free(a, e->value);
  k8sha__free(a, e->file);
  memset(e, 0, sizeof(*e));
}

static void diag_clear(const k8sha_allocator *a, k8sha__diag_rec *d) {
  k8sha__free(a, d->file);
  k8sha__free(a, d->key);
  k8sha__free(a, d->message);
  k8sha__free(a, d->text);
}

void k8sha__ha_clear(const k8sha_allocator *a, k8sha__ha *ha) {
  k8sha__free(a, ha->cluster_id);
  k8sha__free(a, ha->ha_cluster_id);
  k8sha__free(a, ha->namespace_);
  k8sha__free(a, ha->storage_dir);
  memset(ha, 0, sizeof(*ha));
}

void k8sha_config_free(k8sha_config *cfg) {
  const k8sha_allocator *a;
  size_t i;

  if (!cfg)
    return;
  a = &cfg->alloc;
  for (i = 0; i < cfg->n_entries; i++)
    k8sha__entry_clear(a, &cfg->entries[i]);
  k8sha__free(a, cfg->entries);
  for (i = 0; i < cfg->n_diags; i++)
    diag_clear(a, &cfg->diags[i]);
  k8sha__free(a, cfg->diags);
  for (i = 0; i < cfg->n_schemes; i++)
    k8sha__free(a, cfg->schemes[i]);
  k8sha__free(a, cfg->schemes);
  k8sha__free(a, cfg->last_file);
  k8sha__free(a, cfg->last_error);
  k8sha__ha_clear(a, &cfg->ha);
  k8sha__kube_access_clear(a, &cfg->kube);
  k8sha__free(a, cfg);
}

static size_t find_index(const k8sha_config *cfg, const char *key) {
  size_t i;
  for (i = 0; i < cfg->n_entries; i++)
    if (strcmp(cfg->entries[i].key, key) == 0)
      return i;
  return SIZE_MAX;
}

const k8sha__entry *k8sha__config_find(const k8sha_config *cfg, const char *key) {
  size_t i = find_index(cfg, key);
  return i == SIZE_MAX ? NULL : &cfg->entries[i];
}

/* Puts `e` into the configuration, taking ownership of its strings, replacing any earlier value
 * of the same key. Cannot fail when the key exists; otherwise needs room (see reserve). */
static void put_entry(k8sha_config *cfg, k8sha__entry *e) {
  size_t i = find_index(cfg, e->key);
  if (i != SIZE_MAX) {
    k8sha__entry_clear(&cfg->alloc, &cfg->entries[i]);
    cfg->entries[i] = *e;
  } else {
    cfg->entries[cfg->n_entries++] = *e;
  }
  memset(e, 0, sizeof(*e));
}

/* Any change of keys makes earlier validation and resolution stale. */
static void invalidate(k8sha_config *cfg) {
  cfg->validated = 0;
  cfg->resolved = 0;
}

int k8sha_config_set(k8sha_config *cfg, const char *key, const char *value) {
  k8sha__entry e;
  size_t i;
  int rc;

  if (!cfg || !key || !*key)
    return K8SHA_EINVAL;
  invalidate(cfg);
  i = find_index(cfg, key);
  if (!value) {
    if (i != SIZE_MAX) {
      k8sha__entry_clear(&cfg->alloc, &cfg->entries[i]);
      cfg->entries[i] = cfg->entries[--cfg->n_entries];
    }
    return 0;
  }
  rc = k8sha__grow(&cfg->alloc, (void **)&cfg->entries, &cfg->cap_entries, cfg->n_entries + 1,
                   sizeof(*cfg->entries));
  if (rc)
    return rc;
  memset(&e, 0, sizeof(e));
  e.key = k8sha__strdup(&cfg->alloc, key);
  e.value = k8sha__strdup(&cfg->alloc, value);
  if (!e.key || !e.value) {
    k8sha__entry_clear(&cfg->alloc, &e);
    return K8SHA_ENOMEM;
  }
  put_entry(cfg, &e);
  return 0;
}

int k8sha_config_get(const k8sha_config *cfg, const char *key, const char **value) {
  const k8sha__entry *e;
  if (!cfg || !key || !value)
    return K8SHA_EINVAL;
  e = k8sha__config_find(cfg, key);
  if (!e)
    return K8SHA_ENOTFOUND;
  *value = e->value;
  return 0;
}

static int load_buffer(k8sha_config *cfg, const char *name, const char *yaml, size_t len) {
  k8sha__entry *entries = NULL;
  size_t n = 0, i, from = cfg->n_diags, fresh = 0;
  char *name_copy;
  json_t *index = NULL, *at;
  int rc;

  rc = k8sha__yaml_flatten(cfg, name, yaml, len, &entries, &n);
  if (rc == 0) {
    /* The keys already set, hashed once: merging a large file stays linear. */
    index = json_object();
    for (i = 0; index && i < cfg->n_entries; i++)
      if (json_object_set_new_nocheck(index, cfg->entries[i].key, json_integer((json_int_t)i)))
        rc = K8SHA_ENOMEM;
    if (!index)
      rc = K8SHA_ENOMEM;
  }
  if (rc == 0) {
    /* Reserve room for every key up front so that merging cannot fail halfway. */
    for (i = 0; i < n; i++)
      fresh += json_object_get(index, entries[i].key) == NULL;
    rc = k8sha__grow(&cfg->alloc, (void **)&cfg->entries, &cfg->cap_entries,
                     cfg->n_entries + fresh, sizeof(*cfg->entries));
  }
  name_copy = rc == 0 ? k8sha__strdup(&cfg->alloc, name) : NULL;
  if (rc == 0 && !name_copy)
    rc = K8SHA_ENOMEM;
  if (rc == 0) {
    invalidate(cfg);
    for (i = 0; i < n; i++) { /* the file's keys are unique (the flattening merged repeats) */
      at = json_object_get(index, entries[i].key);
      if (at) {
        k8sha__entry_clear(&cfg->alloc, &cfg->entries[json_integer_value(at)]);
        cfg->entries[json_integer_value(at)] = entries[i];
      } else {
        cfg->entries[cfg->n_entries++] = entries[i];
      }
      memset(&entries[i], 0, sizeof(entries[i]));
    }
    k8sha__free(&cfg->alloc, cfg->last_file);
    cfg->last_file = name_copy;
  }
  json_decref(index);
  for (i = 0; i < n; i++)
    k8sha__entry_clear(&cfg->alloc, &entries[i]);
  k8sha__free(&cfg->alloc, entries);
  if (rc)
    k8sha__config_set_last_error(cfg, from, rc);
  return rc;
}

int k8sha_config_load_string(k8sha_config *cfg, const char *name, const char *yaml, size_t len) {
  if (!cfg || !name || (!yaml && len))
    return K8SHA_EINVAL;
  return load_buffer(cfg, name, yaml ? yaml : "", len);
}

int k8sha_config_load_file(k8sha_config *cfg, const char *path) {
  char *text = NULL;
  size_t len = 0, from;
  int rc;

  if (!cfg || !path || !*path)
    return K8SHA_EINVAL;
  from = cfg->n_diags;
  rc = k8sha__read_file(&cfg->alloc, path, K8SHA__CONFIG_FILE_MAX, &text, &len);
  if (rc == K8SHA_EIO) {
    int saved = errno;
    rc = k8sha__config_diag(cfg, K8SHA__PHASE_LOAD, K8SHA_DIAG_ERROR, path, 0, NULL,
                            "cannot read the configuration file: %s",
                            saved == EFBIG ? "larger than 16 MiB" : strerror(saved));
    k8sha__config_set_last_error(cfg, from, rc ? rc : K8SHA_EIO);
    return rc ? rc : K8SHA_EIO;
  }
  if (rc) {
    k8sha__config_set_last_error(cfg, from, rc);
    return rc;
  }
  rc = load_buffer(cfg, path, text, len);
  k8sha__free(&cfg->alloc, text);
  return rc;
}

int k8sha_config_add_storage_scheme(k8sha_config *cfg, const char *scheme) {
  size_t i;
  char *copy;
  int rc;

  if (!cfg || !scheme || !((scheme[0] >= 'a' && scheme[0] <= 'z') ||
                           (scheme[0] >= 'A' && scheme[0] <= 'Z')))
    return K8SHA_EINVAL;
  for (i = 1; scheme[i]; i++) {
    char c = scheme[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '+' || c == '-' || c == '.'))
      return K8SHA_EINVAL;
  }
  rc = k8sha__grow(&cfg->alloc, (void **)&cfg->schemes, &cfg->cap_schemes, cfg->n_schemes + 1,
                   sizeof(*cfg->schemes));
  if (rc)
    return rc;
  copy = k8sha__strdup(&cfg->alloc, scheme);
  if (!copy)
    return K8SHA_ENOMEM;
  for (i = 0; copy[i]; i++)
    if (copy[i] >= 'A' && copy[i] <= 'Z')
      copy[i] = (char)(copy[i] - 'A' + 'a');
  invalidate(cfg);
  cfg->schemes[cfg->n_schemes++] = copy;
  return 0;
}

/* ---- diagnostics ---- */

static const char *severity_word(k8sha_diag_severity sev) {
  switch (sev) {
  case K8SHA_DIAG_WARNING:
    return "warning: ";
  case K8SHA_DIAG_NOTE:
    return "note: ";
  default:
    return "";
  }
}

int k8sha__config_vdiag(k8sha_config *cfg, k8sha__phase phase, k8sha_diag_severity sev,
                        const char *file, unsigned int line, int override, const char *key,
                        const char *fmt, va_list ap) {
  const k8sha_allocator *a = &cfg->alloc;
  k8sha__diag_rec d;
  char where[32];
  int rc;

  rc = k8sha__grow(a, (void **)&cfg->diags, &cfg->cap_diags, cfg->n_diags + 1,
                   sizeof(*cfg->diags));
  if (rc)
    return rc;
  memset(&d, 0, sizeof(d));
  d.phase = phase;
  d.message = k8sha__vasprintf(a, fmt, ap);
  d.file = file ? k8sha__strdup(a, file) : NULL;
  d.key = key ? k8sha__strdup(a, key) : NULL;
  where[0] = '\0';
  if (line)
    snprintf(where, sizeof(where), ":%u", line);
  /* "FILE:LINE: key: message"; overrides and defaults have no file. */
  d.text = k8sha__asprintf(a, "%s%s%s%s%s%s%s", file ? file : (override ? "override" : ""), where,
                           file || override ? ": " : "", key ? key : "", key ? ": " : "",
                           severity_word(sev), d.message ? d.message : "");
  if (!d.message || !d.text || (file && !d.file) || (key && !d.key)) {
    diag_clear(a, &d);
    return K8SHA_ENOMEM;
  }
  d.pub.severity = sev;
  d.pub.file = d.file;
  d.pub.line = line;
  d.pub.key = d.key;
  d.pub.message = d.message;
  d.pub.text = d.text;
  cfg->diags[cfg->n_diags++] = d;
  return 0;
}

int k8sha__config_diag(k8sha_config *cfg, k8sha__phase phase, k8sha_diag_severity sev,
                       const char *file, unsigned int line, const char *key, const char *fmt, ...) {
  va_list ap;
  int rc;
  va_start(ap, fmt);
  rc = k8sha__config_vdiag(cfg, phase, sev, file, line, 0, key, fmt, ap);
  va_end(ap);
  return rc;
}

int k8sha__config_diag_entry(k8sha_config *cfg, k8sha__phase phase, k8sha_diag_severity sev,
                             const k8sha__entry *e, const char *key, const char *fmt, ...) {
  va_list ap;
  int rc;
  const char *file = e ? e->file : cfg->last_file;
  unsigned int line = e ? e->line : 0;

  va_start(ap, fmt);
  rc = k8sha__config_vdiag(cfg, phase, sev, file, line, e && !e->file, key, fmt, ap);
  va_end(ap);
  return rc;
}

void k8sha__config_clear_phase(k8sha_config *cfg, k8sha__phase phase) {
  size_t i, kept = 0;
  for (i = 0; i < cfg->n_diags; i++) {
    if (cfg->diags[i].phase == phase)
      diag_clear(&cfg->alloc, &cfg->diags[i]);
    else
      cfg->diags[kept++] = cfg->diags[i];
  }
  cfg->n_diags = kept;
}

void k8sha__config_set_last_error(k8sha_config *cfg, size_t from, int err) {
  const char *text = k8sha_strerror(err);
  size_t i;

  for (i = from; i < cfg->n_diags; i++) {
    if (cfg->diags[i].pub.severity == K8SHA_DIAG_ERROR) {
      text = cfg->diags[i].text;
      break;
    }
  }
  k8sha__free(&cfg->alloc, cfg->last_error);
  /* If even this copy fails, last_error is NULL and the return code still tells the caller. */
  cfg->last_error = k8sha__strdup(&cfg->alloc, text);
}

size_t k8sha_config_diag_count(const k8sha_config *cfg) {
  return cfg ? cfg->n_diags : 0;
}

const k8sha_diag *k8sha_config_diag_at(const k8sha_config *cfg, size_t index) {
  if (!cfg || index >= cfg->n_diags)
    return NULL;
  return &cfg->diags[index].pub;
}

const char *k8sha_config_last_error(const k8sha_config *cfg) {
  return cfg ? cfg->last_error : NULL;
}

/* ---- effective values ---- */

#define HA_GETTER(type, name, field, none)                   \
  type k8sha_config_##name(const k8sha_config *cfg) {        \
    return cfg && cfg->validated ? cfg->ha.field : (none);  \
  }

HA_GETTER(const char *, cluster_id, cluster_id, NULL)
HA_GETTER(const char *, ha_cluster_id, ha_cluster_id, NULL)
HA_GETTER(const char *, namespace, namespace_, NULL)
HA_GETTER(const char *, storage_dir, storage_dir, NULL)
HA_GETTER(uint64_t, lease_duration_ms, lease_ms, 0)
HA_GETTER(uint64_t, renew_deadline_ms, renew_ms, 0)
HA_GETTER(uint64_t, effective_renew_deadline_ms, renew_effective_ms, 0)
HA_GETTER(uint64_t, retry_period_ms, retry_ms, 0)
HA_GETTER(uint64_t, request_timeout_ms, request_timeout_ms, 0)
HA_GETTER(unsigned int, max_retries, max_retries, 0)
HA_GETTER(unsigned int, num_retained, num_retained, 0)

#define KUBE_GETTER(type, name, expr, none)                 \
  type k8sha_config_##name(const k8sha_config *cfg) {       \
    return cfg && cfg->resolved ? (expr) : (none);          \
  }

KUBE_GETTER(const char *, kube_server, cfg->kube.server, NULL)
KUBE_GETTER(const char *, kube_source, cfg->kube.source, NULL)
KUBE_GETTER(unsigned int, kube_auth, cfg->kube.auth, 0)
KUBE_GETTER(int, kube_insecure, cfg->kube.insecure, 0)

/* ---- copies for a context ---- */

static int dup_opt(const k8sha_allocator *a, const char *s, char **out) {
  if (!s) {
    *out = NULL;
    return 0;
  }
  *out = k8sha__strdup(a, s);
  return *out ? 0 : K8SHA_ENOMEM;
}

static int dup_mem(const k8sha_allocator *a, const char *s, size_t len, char **out) {
  if (!s) {
    *out = NULL;
    return 0;
  }
  *out = k8sha__strndup(a, s, len);
  return *out ? 0 : K8SHA_ENOMEM;
}

int k8sha__config_copy_runtime(const k8sha_config *cfg, const k8sha_allocator *a, k8sha__ha *ha,
                               k8sha__kube_access *k) {
  const k8sha__ha *h = &cfg->ha;
  const k8sha__kube_access *s = &cfg->kube;
  int rc = 0;

  memset(ha, 0, sizeof(*ha));
  memset(k, 0, sizeof(*k));
  *ha = *h;
  ha->cluster_id = ha->ha_cluster_id = ha->namespace_ = ha->storage_dir = NULL;
  rc |= dup_opt(a, h->cluster_id, &ha->cluster_id);
  rc |= dup_opt(a, h->ha_cluster_id, &ha->ha_cluster_id);
  rc |= dup_opt(a, h->namespace_, &ha->namespace_);
  rc |= dup_opt(a, h->storage_dir, &ha->storage_dir);
  k->insecure = s->insecure;
  k->auth = s->auth;
  k->ca_pem_len = s->ca_pem_len;
  k->cert_pem_len = s->cert_pem_len;
  k->key_pem_len = s->key_pem_len;
  rc |= dup_opt(a, s->server, &k->server);
  rc |= dup_opt(a, s->source, &k->source);
  rc |= dup_opt(a, s->ca_file, &k->ca_file);
  rc |= dup_mem(a, s->ca_pem, s->ca_pem_len, &k->ca_pem);
  rc |= dup_opt(a, s->tls_server_name, &k->tls_server_name);
  rc |= dup_opt(a, s->cert_file, &k->cert_file);
  rc |= dup_opt(a, s->key_file, &k->key_file);
  rc |= dup_mem(a, s->cert_pem, s->cert_pem_len, &k->cert_pem);
  rc |= dup_mem(a, s->key_pem, s->key_pem_len, &k->key_pem);
  rc |= dup_opt(a, s->token, &k->token);
  rc |= dup_opt(a, s->token_file, &k->token_file);
  rc |= dup_opt(a, s->context_namespace, &k->context_namespace);
  if (rc) {
    k8sha__ha_clear(a, ha);
    k8sha__kube_access_clear(a, k);
    return K8SHA_ENOMEM;
  }
  return 0;
}
