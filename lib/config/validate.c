/* Checks the high-availability keys and computes their effective values. Every rule records its
 * own finding and validation goes on, so one run reports every problem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_priv.h"
#include "config/duration.h"
#include "config/keys.h"
#include "config/hdfs_conf.h"
#include "config/s3_conf.h"
#include "core/alloc.h"
#include "k8sha/errors.h"
#include "core/k8s_names.h"

typedef struct vctx {
  k8sha_config *cfg;
  k8sha__ha ha;
  int errors; /* findings of error severity */
  int rc;     /* first hard failure (out of memory) */
} vctx;

static void note_rc(vctx *v, int rc) {
  if (rc && !v->rc)
    v->rc = rc;
}

static void errorf(vctx *v, const k8sha__entry *e, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void errorf(vctx *v, const k8sha__entry *e, const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  note_rc(v, k8sha__config_vdiag(v->cfg, K8SHA__PHASE_VALIDATE, K8SHA_DIAG_ERROR,
                                 e ? e->file : v->cfg->last_file, e ? e->line : 0, e && !e->file,
                                 key, fmt, ap));
  va_end(ap);
  v->errors++;
}

static void otherf(vctx *v, k8sha_diag_severity sev, const k8sha__entry *e, const char *key,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void otherf(vctx *v, k8sha_diag_severity sev, const k8sha__entry *e, const char *key,
                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  /* Notes about defaults have no location; notes about set keys point at them. */
  note_rc(v, k8sha__config_vdiag(v->cfg, K8SHA__PHASE_VALIDATE, sev, e ? e->file : NULL,
                                 e ? e->line : 0, e && !e->file, key, fmt, ap));
  va_end(ap);
}

static char *dup_or_fail(vctx *v, const char *s) {
  char *p = k8sha__strdup(&v->cfg->alloc, s);
  if (!p)
    note_rc(v, K8SHA_ENOMEM);
  return p;
}

static int is_blank_value(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t')
      return 0;
  return 1;
}

/* An entry that is set to a non-blank value, or NULL (a blank value is reported as missing). */
static const k8sha__entry *required(vctx *v, const char *key) {
  const k8sha__entry *e = k8sha__config_find(v->cfg, key);
  if (!e) {
    errorf(v, NULL, key, "missing (required)");
    return NULL;
  }
  if (is_blank_value(e->value)) {
    errorf(v, e, key, "empty (required)");
    return NULL;
  }
  return e;
}

static void check_ha_type(vctx *v) {
  const k8sha__entry *type = k8sha__config_find(v->cfg, K8SHA__KEY_HA_TYPE);
  const k8sha__entry *legacy = k8sha__config_find(v->cfg, K8SHA__KEY_HA_LEGACY);
  const k8sha__entry *e = type ? type : legacy;
  const char *key = type ? K8SHA__KEY_HA_TYPE : K8SHA__KEY_HA_LEGACY;

  if (!e) {
    errorf(v, NULL, K8SHA__KEY_HA_TYPE,
           "missing; set it to '" K8SHA__HA_TYPE_NAME "' for Kubernetes high availability");
    return;
  }
  if (strcasecmp(e->value, K8SHA__HA_TYPE_NAME) != 0 &&
      strcmp(e->value, K8SHA__HA_FACTORY_CLASS) != 0) {
    errorf(v, e, key,
           "'%s' is not Kubernetes high availability; libk8sha needs '" K8SHA__HA_TYPE_NAME
           "' (or the factory class " K8SHA__HA_FACTORY_CLASS ")",
           e->value);
  }
  if (type && legacy && strcmp(type->value, legacy->value) != 0)
    otherf(v, K8SHA_DIAG_WARNING, legacy, K8SHA__KEY_HA_LEGACY,
           "ignored: " K8SHA__KEY_HA_TYPE " is set and takes precedence");
}

static int is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void check_cluster_id(vctx *v) {
  const k8sha__entry *e = required(v, K8SHA__KEY_CLUSTER_ID);
  const char *id, *bad = NULL;
  char name[K8SHA__DNS_SUBDOMAIN_MAX + 64];
  char zero_job[K8SHA__JOB_ID_LEN + 1];
  size_t len, i;

  if (!e)
    return;
  id = e->value;
  len = strlen(id);
  if (len > K8SHA__CLUSTER_ID_MAX) {
    errorf(v, e, K8SHA__KEY_CLUSTER_ID, "'%s' is %zu characters long; at most %d are allowed", id,
           len, K8SHA__CLUSTER_ID_MAX);
    return;
  }
  for (i = 0; i < len && !bad; i++)
    if (!is_alnum(id[i]) && id[i] != '-' && id[i] != '_' && id[i] != '.')
      bad = &id[i];
  if (bad) {
    errorf(v, e, K8SHA__KEY_CLUSTER_ID,
           "'%s' contains '%c'; only letters, digits, '-', '_' and '.' are allowed", id, *bad);
    return;
  }
  if (!is_alnum(id[0])) {
    errorf(v, e, K8SHA__KEY_CLUSTER_ID, "'%s' must start with a letter or a digit", id);
    return;
  }
  /* Flink's own rule lets through ids (upper case, '_', "a..b") whose ConfigMap names the API
   * server would refuse; catch them here rather than at the first write. */
  memset(zero_job, '0', K8SHA__JOB_ID_LEN);
  zero_job[K8SHA__JOB_ID_LEN] = '\0';
  snprintf(name, sizeof(name), K8SHA__CLUSTER_CONFIGMAP_FMT, id);
  if (k8sha__is_dns_subdomain(name))
    snprintf(name, sizeof(name), K8SHA__JOB_CONFIGMAP_FMT, id, zero_job);
  if (!k8sha__is_dns_subdomain(name)) {
    errorf(v, e, K8SHA__KEY_CLUSTER_ID,
           "'%s' gives the ConfigMap name '%s', which is not a valid Kubernetes name (lowercase "
           "letters, digits, '-' and '.', each part starting and ending with a letter or digit)",
           id, name);
    return;
  }
  v->ha.cluster_id = dup_or_fail(v, id);
}

static void check_ha_cluster_id(vctx *v) {
  const k8sha__entry *e = k8sha__config_find(v->cfg, K8SHA__KEY_HA_CLUSTER_ID);
  const char *id, *p;

  if (!e) {
    if (v->ha.cluster_id)
      v->ha.ha_cluster_id = dup_or_fail(v, v->ha.cluster_id);
    return;
  }
  /* It names a folder under the storage directory: keep it to one safe path component. */
  id = e->value;
  while (*id == '/')
    id++;
  if (!*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) {
    errorf(v, e, K8SHA__KEY_HA_CLUSTER_ID, "'%s' is not usable as a folder name", e->value);
    return;
  }
  for (p = id; *p; p++) {
    if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f) {
      errorf(v, e, K8SHA__KEY_HA_CLUSTER_ID,
             "'%s' must be one folder name (no '/' or control characters inside)", e->value);
      return;
    }
  }
  v->ha.ha_cluster_id = dup_or_fail(v, id);
  v->ha.ha_cluster_id_explicit = 1;
}

/* Blob URIs are <storageDir>/<ha-cluster-id>/<kind><12 hex>, at most 4096 bytes in a pointer:
 * a configuration that makes them longer is refused here, not at the first checkpoint. */
#define K8SHA__BLOB_URI_MAX 4096
static void check_blob_uri_length(vctx *v) {
  size_t n;
  if (!v->ha.storage_dir || !v->ha.ha_cluster_id)
    return;
  n = strlen(v->ha.storage_dir) + 1 + strlen(v->ha.ha_cluster_id) + 1 + K8SHA__BLOB_NAME_MAX;
  if (n > K8SHA__BLOB_URI_MAX)
    errorf(v, k8sha__config_find(v->cfg, K8SHA__KEY_STORAGE_DIR), K8SHA__KEY_STORAGE_DIR,
           "with high-availability.cluster-id it makes blob URIs of %zu bytes, more than the %d "
           "a pointer holds",
           n, K8SHA__BLOB_URI_MAX);
}

static void check_flink_layout(vctx *v) {
  const k8sha__entry *e = k8sha__config_find(v->cfg, K8SHA__KEY_FLINK_LAYOUT);
  v->ha.flink_layout = K8SHA__LAYOUT_FLINK1;
  if (!e || strcmp(e->value, "1.x") == 0)
    return;
  if (strcmp(e->value, "2.x") == 0)
    v->ha.flink_layout = K8SHA__LAYOUT_FLINK2;
  else
    errorf(v, e, K8SHA__KEY_FLINK_LAYOUT,
           "'%s' is not a Flink layout (1.x: Flink 1.15 to 1.20, job graphs as jobGraph-<id>; "
           "2.x: Flink 2.0 and later, execution plans as executionPlan-<id>)",
           e->value);
}

static void check_namespace(vctx *v) {
  const k8sha__entry *e = k8sha__config_find(v->cfg, K8SHA__KEY_NAMESPACE);
  const char *ns = e ? e->value : K8SHA__DEFAULT_NAMESPACE;

  if (!k8sha__is_dns_label(ns)) {
    errorf(v, e, K8SHA__KEY_NAMESPACE,
           "'%s' is not a valid namespace (at most 63 lowercase letters, digits and '-', "
           "starting and ending with a letter or digit)",
           ns);
    return;
  }
  v->ha.namespace_ = dup_or_fail(v, ns);
}

static const char *const builtin_schemes[] = {"file", "s3", "s3a", "s3p", "hdfs"};

static int scheme_known(const k8sha_config *cfg, const char *scheme, size_t len) {
  size_t i;
  for (i = 0; i < sizeof(builtin_schemes) / sizeof(builtin_schemes[0]); i++)
    if (strlen(builtin_schemes[i]) == len && strncasecmp(builtin_schemes[i], scheme, len) == 0)
      return 1;
  for (i = 0; i < cfg->n_schemes; i++)
    if (strlen(cfg->schemes[i]) == len && strncasecmp(cfg->schemes[i], scheme, len) == 0)
      return 1;
  return 0;
}

/* Length of the URI scheme at the start of `s` (RFC 3986), 0 when there is none. */
static size_t scheme_length(const char *s) {
  size_t i;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return 0;
  for (i = 1; s[i]; i++) {
    if (s[i] == ':')
      return i;
    if (!is_alnum(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
      return 0;
  }
  return 0;
}

/* 1 when the path of a normalised storage URI ("scheme://authority/path") has no empty, "." or
 * ".." segment and no control character. */
static int path_usable(const char *uri) {
  const char *p = strstr(uri, "://"), *seg;
  if (!p)
    return 0;
  p = strchr(p + 3, '/'); /* the path, after the authority (empty for file:) */
  if (!p || strcmp(p, "/") == 0)
    return 1;
  for (seg = p + 1;; ) {
    const char *end = strchr(seg, '/');
    size_t len = end ? (size_t)(end - seg) : strlen(seg), i;
    if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
      return 0;
    for (i = 0; i < len; i++)
      if ((unsigned char)seg[i] < 0x20 || seg[i] == 0x7f)
        return 0;
    if (!end)
      return 1;
    seg = end + 1;
  }
}

static void check_storage_dir(vctx *v) {
  const k8sha__entry *e = required(v, K8SHA__KEY_STORAGE_DIR);
  const k8sha_allocator *a = &v->cfg->alloc;
  const char *dir, *rest;
  char *uri, *lower;
  size_t slen, n, i;

  if (!e)
    return;
  dir = e->value;
  slen = scheme_length(dir);
  if (slen == 0) {
    if (dir[0] != '/') {
      errorf(v, e, K8SHA__KEY_STORAGE_DIR,
             "'%s' has no scheme and is not an absolute path (e.g. s3://bucket/ha, "
             "file:///var/ha)",
             dir);
      return;
    }
    uri = k8sha__asprintf(a, "file://%s", dir);
  } else {
    if (!scheme_known(v->cfg, dir, slen)) {
      errorf(v, e, K8SHA__KEY_STORAGE_DIR,
             "'%s' has the unknown scheme '%.*s' (known: file, s3, s3a, s3p, hdfs, and those a "
             "host registers)",
             dir, (int)slen, dir);
      return;
    }
    rest = dir + slen + 1;
    lower = k8sha__strndup(a, dir, slen);
    if (!lower) {
      note_rc(v, K8SHA_ENOMEM);
      return;
    }
    for (i = 0; i < slen; i++)
      if (lower[i] >= 'A' && lower[i] <= 'Z')
        lower[i] = (char)(lower[i] - 'A' + 'a');
    if (strcmp(lower, "file") == 0) {
      /* file:/p, file:///p and file://localhost/p all name the local path /p. */
      if (strncmp(rest, "//localhost/", 12) == 0)
        rest += 11;
      else if (strncmp(rest, "///", 3) == 0)
        rest += 2;
      else if (strncmp(rest, "//", 2) == 0) {
        errorf(v, e, K8SHA__KEY_STORAGE_DIR,
               "'%s' names a remote host; a file:// storage directory must be a local absolute "
               "path such as file:///var/ha",
               dir);
        k8sha__free(a, lower);
        return;
      }
      if (rest[0] != '/') {
        errorf(v, e, K8SHA__KEY_STORAGE_DIR, "'%s' is not an absolute path", dir);
        k8sha__free(a, lower);
        return;
      }
      uri = k8sha__asprintf(a, "file://%s", rest);
    } else {
      /* Object stores and HDFS: scheme://authority/path. s3 needs a bucket as the authority;
       * hdfs:///path (default namenode) is allowed. */
      int is_hdfs = strcmp(lower, "hdfs") == 0;
      if (strncmp(rest, "//", 2) != 0 || (!is_hdfs && (rest[2] == '\0' || rest[2] == '/'))) {
        errorf(v, e, K8SHA__KEY_STORAGE_DIR, "'%s' must have the form %s://%s/path", dir, lower,
               is_hdfs ? "namenode[:port]" : (strncmp(lower, "s3", 2) == 0 ? "bucket" : "host"));
        k8sha__free(a, lower);
        return;
      }
      uri = k8sha__asprintf(a, "%s:%s", lower, rest);
    }
    k8sha__free(a, lower);
  }
  if (!uri) {
    note_rc(v, K8SHA_ENOMEM);
    return;
  }
  /* Blob names are appended with '/', so keep no trailing one (but keep "file:///"). */
  n = strlen(uri);
  while (n > 0 && uri[n - 1] == '/' && uri[n - 2] != '/')
    uri[--n] = '\0';
  if (!path_usable(uri)) {
    errorf(v, e, K8SHA__KEY_STORAGE_DIR,
           "'%s' has an empty, '.' or '..' path segment or a control character: blobs under it "
           "could not be named",
           dir);
    k8sha__free(a, uri);
    return;
  }
  v->ha.storage_dir = uri;
}

/* A duration key: its value in ms, or the default; 0 when invalid (an error is recorded). */
static uint64_t duration_ms(vctx *v, const char *key, uint64_t default_ms,
                            const k8sha__entry **where) {
  const k8sha__entry *e = k8sha__config_find(v->cfg, key);
  const char *why;
  uint64_t ns;

  *where = e;
  if (!e)
    return default_ms;
  if (k8sha__parse_duration(e->value, &ns, &why) != 0) {
    errorf(v, e, key, "'%s' is not a duration: %s (write e.g. \"15 s\", \"15000 ms\", \"1 min\")",
           e->value, why);
    return 0;
  }
  if (ns / 1000000 == 0) {
    errorf(v, e, key, "'%s' must be at least 1 ms", e->value);
    return 0;
  }
  return ns / 1000000;
}

static void check_timing(vctx *v) {
  const k8sha__entry *le, *re, *pe;
  uint64_t lease = duration_ms(v, K8SHA__KEY_LEASE, K8SHA__DEFAULT_LEASE_MS, &le);
  uint64_t renew = duration_ms(v, K8SHA__KEY_RENEW, K8SHA__DEFAULT_RENEW_MS, &re);
  uint64_t retry = duration_ms(v, K8SHA__KEY_RETRY, K8SHA__DEFAULT_RETRY_MS, &pe);
  uint64_t timeout, effective;
  char l[32], r[32], p[32], t[32], f[32];

  if (!lease || !renew || !retry)
    return;
  k8sha__format_ms(lease, l, sizeof(l));
  k8sha__format_ms(renew, r, sizeof(r));
  k8sha__format_ms(retry, p, sizeof(p));
  if (renew > lease) {
    errorf(v, re, K8SHA__KEY_RENEW, "%s is longer than lease-duration (%s)", r, l);
    return;
  }
  if (retry >= renew) {
    errorf(v, pe, K8SHA__KEY_RETRY, "%s must be shorter than renew-deadline (%s)", p, r);
    return;
  }
  /* The leader must give up before anyone else can take over, and the last request it made must
   * have timed out by then too: so each lock request gets at most a third of the renew deadline,
   * and the deadline itself ends one request timeout before the lease does. */
  timeout = renew / 3;
  if (timeout == 0) {
    errorf(v, re, K8SHA__KEY_RENEW, "%s is too short to fit a request timeout (at least 3 ms)", r);
    return;
  }
  effective = renew < lease - timeout ? renew : lease - timeout;
  k8sha__format_ms(timeout, t, sizeof(t));
  k8sha__format_ms(effective, f, sizeof(f));
  if (retry >= effective) {
    errorf(v, pe, K8SHA__KEY_RETRY,
           "%s must be shorter than the effective renew deadline (%s = lease-duration %s minus "
           "the request timeout %s)",
           p, f, l, t);
    return;
  }
  if (effective < renew)
    otherf(v, K8SHA_DIAG_NOTE, re, K8SHA__KEY_RENEW,
           "effective renew deadline is %s, not %s: a leader that cannot renew must step down, "
           "and its last request (timeout %s = renew-deadline / 3) must have ended, before its "
           "%s lease can expire for another contender",
           f, r, t, l);
  v->ha.lease_ms = lease;
  v->ha.renew_ms = renew;
  v->ha.renew_effective_ms = effective;
  v->ha.retry_ms = retry;
  v->ha.request_timeout_ms = timeout;
}

static unsigned int uint_key(vctx *v, const char *key, const char *legacy, uint64_t min,
                             uint64_t max, unsigned int def) {
  const k8sha__entry *e = k8sha__config_find(v->cfg, key);
  const char *why, *name = key;
  uint64_t value;

  if (!e && legacy && (e = k8sha__config_find(v->cfg, legacy)) != NULL)
    name = legacy;
  if (!e)
    return def;
  if (k8sha__parse_uint(e->value, min, max, &value, &why) != 0) {
    errorf(v, e, name, "'%s': %s (expected a whole number from %llu to %llu)", e->value, why,
           (unsigned long long)min, (unsigned long long)max);
    return def;
  }
  return (unsigned int)value;
}

/* Typos in the leader-election keys would silently fall back to defaults. */
static void check_unknown_keys(vctx *v) {
  static const char *const known[] = {K8SHA__KEY_LEASE, K8SHA__KEY_RENEW, K8SHA__KEY_RETRY};
  size_t i, j;

  for (i = 0; i < v->cfg->n_entries; i++) {
    const k8sha__entry *e = &v->cfg->entries[i];
    int found = 0;
    if (strncmp(e->key, K8SHA__KEY_LE_PREFIX, strlen(K8SHA__KEY_LE_PREFIX)) != 0)
      continue;
    for (j = 0; j < sizeof(known) / sizeof(known[0]); j++)
      found |= strcmp(e->key, known[j]) == 0;
    if (!found)
      otherf(v, K8SHA_DIAG_WARNING, e, e->key,
             "unknown key (known: lease-duration, renew-deadline, retry-period)");
  }
}

/* An s3 storage directory: the backend's settings are read as the context will read them, so
 * that a wrong value is an error now, and where the credentials come from shows in the notes
 * (never the secrets). */
static void check_s3(vctx *v) {
  k8sha__s3_conf *c;
  char why[400];
  const char *dir = v->ha.storage_dir;
  if (!dir || !k8sha__s3_scheme(dir, strcspn(dir, ":")))
    return;
  {
    /* S3's bucket names: 3 to 63 lowercase letters, digits, '.' and '-' */
    const char *bucket = strstr(dir, "://") + 3;
    size_t i, n = strcspn(bucket, "/");
    for (i = 0; i < n; i++)
      if (!((bucket[i] >= 'a' && bucket[i] <= 'z') || (bucket[i] >= '0' && bucket[i] <= '9') ||
            bucket[i] == '.' || bucket[i] == '-'))
        break;
    if (n < 3 || n > 63 || i < n) {
      errorf(v, k8sha__config_find(v->cfg, K8SHA__KEY_STORAGE_DIR), K8SHA__KEY_STORAGE_DIR,
             "'%.*s' is not an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-')",
             (int)(n > 80 ? 80 : n), bucket);
      return;
    }
  }
  c = k8sha__malloc(&v->cfg->alloc, sizeof(*c));
  if (!c) {
    note_rc(v, K8SHA_ENOMEM);
    return;
  }
  if (k8sha__s3_conf_read(v->cfg, getenv, c, why, sizeof(why)) != 0) {
    errorf(v, NULL, K8SHA__KEY_STORAGE_DIR, "s3 storage: %s", why);
  } else {
    if (c->conflict[0])
      otherf(v, K8SHA_DIAG_WARNING, NULL, K8SHA__KEY_STORAGE_DIR, "s3 storage: %s", c->conflict);
    if (!c->source[0])
      otherf(v, K8SHA_DIAG_WARNING, NULL, K8SHA__KEY_STORAGE_DIR,
             "s3 storage: no credentials (s3.access-key and s3.secret-key, or AWS_ACCESS_KEY_ID "
             "and AWS_SECRET_ACCESS_KEY): every blob operation will fail with K8SHA_EFORBIDDEN "
             "unless the host registers its own s3 backend");
    else
      otherf(v, K8SHA_DIAG_NOTE, NULL, K8SHA__KEY_STORAGE_DIR, "s3 storage: credentials from %s",
             c->source);
    otherf(v, K8SHA_DIAG_NOTE, NULL, K8SHA__KEY_STORAGE_DIR,
           "s3 storage: endpoint %s%s%s, region %s, %s addressing",
           c->endpoint[0] ? c->endpoint : "AWS's", c->endpoint_from[0] ? " from " : "",
           c->endpoint_from, c->region, c->path_style ? "path-style" : "virtual-hosted");
  }
  k8sha__free(&v->cfg->alloc, c);
}

/* An hdfs storage directory: Hadoop's configuration is read as the context will read it, so a
 * missing or wrong property is an error now, and the namenodes and the user show in the notes. */
static void check_hdfs(vctx *v) {
  k8sha__hdfs_conf *c;
  char why[600];
  size_t i;
  const char *dir = v->ha.storage_dir;
  if (!dir || strncmp(dir, "hdfs://", 7) != 0)
    return;
  c = k8sha__malloc(&v->cfg->alloc, sizeof(*c));
  if (!c) {
    note_rc(v, K8SHA_ENOMEM);
    return;
  }
  if (k8sha__hdfs_conf_read(v->cfg, dir, getenv, c, why, sizeof(why)) != 0) {
    errorf(v, NULL, K8SHA__KEY_STORAGE_DIR, "hdfs storage: %s", why);
  } else {
    otherf(v, K8SHA_DIAG_NOTE, NULL, K8SHA__KEY_STORAGE_DIR,
           "hdfs storage: Hadoop configuration from %s", c->files[0] ? c->files
                                                                    : "no file (none found)");
    for (i = 0; i < c->n_namenodes; i++)
      otherf(v, K8SHA_DIAG_NOTE, NULL, K8SHA__KEY_STORAGE_DIR,
             "hdfs storage: %s%s%s%s WebHDFS at %s (from %s)",
             c->nameservice[0] ? "nameservice " : "", c->nameservice,
             c->nameservice[0] ? ", namenode " : "namenode ",
             c->namenodes[i].id[0] ? c->namenodes[i].id : c->authority, c->namenodes[i].url,
             c->namenodes[i].from);
    otherf(v, K8SHA_DIAG_NOTE, NULL, K8SHA__KEY_STORAGE_DIR, "hdfs storage: %s%s%s",
           c->kerberos ? "Kerberos (SPNEGO; the process needs a ticket)"
                       : "simple authentication as ",
           c->user,
           c->kerberos ? ""
                       : (strcmp(c->user_from, "HADOOP_USER_NAME") == 0 ? " (HADOOP_USER_NAME)"
                                                                        : " (the process's user)"));
  }
  k8sha__free(&v->cfg->alloc, c);
}

int k8sha_config_validate(k8sha_config *cfg) {
  vctx v;
  size_t from;

  if (!cfg)
    return K8SHA_EINVAL;
  k8sha__config_clear_phase(cfg, K8SHA__PHASE_VALIDATE);
  from = cfg->n_diags;
  memset(&v, 0, sizeof(v));
  v.cfg = cfg;
  check_ha_type(&v);
  check_cluster_id(&v);
  check_ha_cluster_id(&v);
  check_namespace(&v);
  check_storage_dir(&v);
  check_s3(&v);
  check_hdfs(&v);
  check_timing(&v);
  check_flink_layout(&v);
  check_blob_uri_length(&v);
  v.ha.max_retries =
      uint_key(&v, K8SHA__KEY_MAX_RETRIES, NULL, 0, 1000, K8SHA__DEFAULT_MAX_RETRIES);
  v.ha.num_retained = uint_key(&v, K8SHA__KEY_RETAINED, K8SHA__KEY_RETAINED_LEGACY, 1, 1000000,
                               K8SHA__DEFAULT_RETAINED);
  check_unknown_keys(&v);

  if (!v.rc && v.errors)
    v.rc = K8SHA_ECONFIG;
  if (v.rc) {
    k8sha__ha_clear(&cfg->alloc, &v.ha);
    cfg->validated = 0;
    k8sha__config_set_last_error(cfg, from, v.rc);
    return v.rc;
  }
  k8sha__ha_clear(&cfg->alloc, &cfg->ha);
  cfg->ha = v.ha;
  cfg->validated = 1;
  return 0;
}
