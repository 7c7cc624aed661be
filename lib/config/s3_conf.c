/* The s3 backend's settings: Flink's keys in every spelling Flink accepts, then the AWS
 * environment variables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_priv.h"
#include "config/s3_conf.h"
#include "k8sha/errors.h"

/* Flink hands keys under these prefixes to its S3 file systems as "fs.s3a." + the rest. */
static const char *const prefixes[] = {"s3.", "s3a.", "fs.s3a."};

/* The first of `names` (suffixes, each under every prefix) that is set: its value and the key
 * that set it. Another spelling with a different value is remembered as a conflict. */
static const char *lookup(const k8sha_config *cfg, const char *const *names, size_t n_names,
                          k8sha__s3_conf *out, char first_key[64]) {
  const char *found = NULL;
  size_t p, i;
  char key[64];
  first_key[0] = '\0';
  for (i = 0; i < n_names; i++) {
    for (p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
      const k8sha__entry *e;
      snprintf(key, sizeof(key), "%s%s", prefixes[p], names[i]);
      e = k8sha__config_find(cfg, key);
      if (!e)
        continue;
      if (!found) {
        found = e->value;
        snprintf(first_key, 64, "%s", key);
      } else if (strcmp(found, e->value) != 0 && !out->conflict[0]) {
        snprintf(out->conflict, sizeof(out->conflict), "%s and %s differ; %s is used", first_key,
                 key, first_key);
      }
    }
  }
  return found;
}

static int copy(char *dst, size_t cap, const char *value, const char *what, char *why,
                size_t why_len) {
  if (strlen(value) >= cap) {
    snprintf(why, why_len, "%s is longer than %zu bytes", what, cap - 1);
    return K8SHA_ECONFIG;
  }
  memcpy(dst, value, strlen(value) + 1);
  return 0;
}

/* "https://host[:port]", "http://host[:port]" or "host[:port]" (https, as Hadoop's S3A takes
 * it); a path, query, user info or whitespace is refused. */
static int read_endpoint(const char *v, const char *key, k8sha__s3_conf *out, char *why,
                         size_t why_len) {
  const char *host = v;
  size_t i, n;
  if (strncasecmp(v, "https://", 8) == 0)
    host = v + 8;
  else if (strncasecmp(v, "http://", 7) == 0)
    host = v + 7;
  n = strlen(host);
  while (n > 0 && host[n - 1] == '/')
    n--; /* "http://127.0.0.1:9000/" */
  if (n == 0) {
    snprintf(why, why_len, "%s: '%s' names no host", key, v);
    return K8SHA_ECONFIG;
  }
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)host[i];
    if (c <= ' ' || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '@') {
      snprintf(why, why_len,
               "%s: '%s' is not an endpoint of the form [http[s]://]host[:port] (no path)", key,
               v);
      return K8SHA_ECONFIG;
    }
  }
  if (n + 8 >= sizeof(out->endpoint)) {
    snprintf(why, why_len, "%s: '%s' is too long", key, v);
    return K8SHA_ECONFIG;
  }
  snprintf(out->endpoint, sizeof(out->endpoint), "%s%.*s", host == v + 7 ? "http://" : "https://",
           (int)n, host);
  return 0;
}

static int read_region(const char *v, const char *from, k8sha__s3_conf *out, char *why,
                       size_t why_len) {
  size_t i, n = strlen(v);
  for (i = 0; i < n; i++)
    if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
      break;
  if (n == 0 || i < n || n >= sizeof(out->region)) {
    snprintf(why, why_len, "%s: '%s' is not a region name (lowercase letters, digits, '-')",
             from, v);
    return K8SHA_ECONFIG;
  }
  memcpy(out->region, v, n + 1);
  return 0;
}

int k8sha__s3_conf_read(const k8sha_config *cfg, char *(*getenv_fn)(const char *),
                        k8sha__s3_conf *out, char *why, size_t why_len) {
  static const char *const access[] = {"access-key", "access.key"};
  static const char *const secret[] = {"secret-key", "secret.key"};
  static const char *const token[] = {"session-token", "session.token"};
  static const char *const endpoint[] = {"endpoint"};
  static const char *const region[] = {"region", "endpoint.region"};
  static const char *const style[] = {"path.style.access", "path-style-access",
                                      "path-style.access"};
  const char *v, *ak, *sk;
  char key[64], ak_key[64], sk_key[64];
  int rc;

  memset(out, 0, sizeof(*out));
  if ((v = lookup(cfg, endpoint, 1, out, key)) != NULL) {
    if ((rc = read_endpoint(v, key, out, why, why_len)) != 0)
      return rc;
    snprintf(out->endpoint_from, sizeof(out->endpoint_from), "%s", key);
  }
  if ((v = lookup(cfg, region, 2, out, key)) != NULL)
    rc = read_region(v, key, out, why, why_len);
  else if ((v = getenv_fn("AWS_REGION")) != NULL && *v)
    rc = read_region(v, "AWS_REGION", out, why, why_len);
  else if ((v = getenv_fn("AWS_DEFAULT_REGION")) != NULL && *v)
    rc = read_region(v, "AWS_DEFAULT_REGION", out, why, why_len);
  else
    rc = read_region(K8SHA__S3_DEFAULT_REGION, "the default region", out, why, why_len);
  if (rc)
    return rc;
  if ((v = lookup(cfg, style, 3, out, key)) != NULL) {
    if (strcasecmp(v, "true") == 0)
      out->path_style = 1;
    else if (strcasecmp(v, "false") != 0) {
      snprintf(why, why_len, "%s: '%s' is not true or false", key, v);
      return K8SHA_ECONFIG;
    }
  }

  out->list_page = 1000;
  {
    const k8sha__entry *e = k8sha__config_find(cfg, K8SHA__KEY_S3_LIST_PAGE);
    char *end = NULL;
    unsigned long n = e ? strtoul(e->value, &end, 10) : 1000;
    if (e && (end == e->value || *end || n < 1 || n > 1000)) {
      snprintf(why, why_len, K8SHA__KEY_S3_LIST_PAGE ": '%s' is not a number from 1 to 1000",
               e->value);
      return K8SHA_ECONFIG;
    }
    out->list_page = (unsigned int)n;
  }

  /* Credentials: both keys from the configuration, else both variables from the environment. */
  ak = lookup(cfg, access, 2, out, ak_key);
  sk = lookup(cfg, secret, 2, out, sk_key);
  if (!ak != !sk) {
    snprintf(why, why_len, "%s is set but no %s key is: set both, or neither",
             ak ? ak_key : sk_key, ak ? "s3.secret-key" : "s3.access-key");
    return K8SHA_ECONFIG;
  }
  if (ak) {
    if ((rc = copy(out->access_key, sizeof(out->access_key), ak, ak_key, why, why_len)) != 0 ||
        (rc = copy(out->secret_key, sizeof(out->secret_key), sk, sk_key, why, why_len)) != 0)
      return rc;
    v = lookup(cfg, token, 2, out, key);
    if (v && (rc = copy(out->session_token, sizeof(out->session_token), v, key, why, why_len)))
      return rc;
    snprintf(out->source, sizeof(out->source), "the configuration (%s, %s%s%s)", ak_key, sk_key,
             v ? ", " : "", v ? key : "");
    return 0;
  }
  ak = getenv_fn("AWS_ACCESS_KEY_ID");
  sk = getenv_fn("AWS_SECRET_ACCESS_KEY");
  if (ak && *ak && sk && *sk) {
    if ((rc = copy(out->access_key, sizeof(out->access_key), ak, "AWS_ACCESS_KEY_ID", why,
                   why_len)) != 0 ||
        (rc = copy(out->secret_key, sizeof(out->secret_key), sk, "AWS_SECRET_ACCESS_KEY", why,
                   why_len)) != 0)
      return rc;
    v = getenv_fn("AWS_SESSION_TOKEN");
    if (v && *v &&
        (rc = copy(out->session_token, sizeof(out->session_token), v, "AWS_SESSION_TOKEN", why,
                   why_len)) != 0)
      return rc;
    snprintf(out->source, sizeof(out->source),
             "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY%s)",
             v && *v ? ", AWS_SESSION_TOKEN" : "");
  } else if ((ak && *ak) != (sk && *sk)) {
    snprintf(why, why_len, "%s is set in the environment but %s is not",
             ak && *ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
             ak && *ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    return K8SHA_ECONFIG;
  }
  return 0;
}

int k8sha__s3_scheme(const char *scheme, size_t len) {
  return (len == 2 && strncasecmp(scheme, "s3", 2) == 0) ||
         (len == 3 && (strncasecmp(scheme, "s3a", 3) == 0 || strncasecmp(scheme, "s3p", 3) == 0));
}
