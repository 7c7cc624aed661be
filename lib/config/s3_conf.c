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

/* An environment variable, copied when set; "" when not. */
static int env_copy(char *(*getenv_fn)(const char *), const char *name, char *dst, size_t cap,
                    char *why, size_t why_len) {
  const char *v = getenv_fn(name);
  dst[0] = '\0';
  return v && *v ? copy(dst, cap, v, name, why, why_len) : 0;
}

/* An endpoint URL from the environment: http(s)://host[:port] with nothing after but a '/'. */
static int env_endpoint(char *(*getenv_fn)(const char *), const char *name, char *dst, size_t cap,
                        char *why, size_t why_len) {
  int rc = env_copy(getenv_fn, name, dst, cap, why, why_len);
  size_t n = strlen(dst);
  if (rc || !n)
    return rc;
  while (n > 0 && dst[n - 1] == '/')
    dst[--n] = '\0';
  if ((strncmp(dst, "http://", 7) != 0 && strncmp(dst, "https://", 8) != 0) ||
      strchr(strstr(dst, "://") + 3, '/') || strpbrk(dst, " \t\r\n?#@")) {
    snprintf(why, why_len, "%s: '%s' is not an endpoint of the form http[s]://host[:port]", name,
             dst);
    return K8SHA_ECONFIG;
  }
  return 0;
}

/* The container credentials endpoint may be reached over plain http only on the host itself or
 * at the addresses ECS and EKS Pod Identity serve it from (as AWS's SDKs allow). */
static int container_host_allowed(const char *uri) {
  static const char *const allowed[] = {"http://127.", "http://localhost:", "http://localhost/",
                                        "http://[::1]", "http://169.254.170.2/",
                                        "http://169.254.170.2:", "http://169.254.170.23/",
                                        "http://169.254.170.23:", "http://[fd00:ec2::23]"};
  size_t i;
  if (strncmp(uri, "https://", 8) == 0)
    return 1;
  for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
    if (strncmp(uri, allowed[i], strlen(allowed[i])) == 0)
      return 1;
  return 0;
}

/* The sources a pod is given, looked for after keys: web identity, the container credentials
 * endpoint, then IMDSv2 (unless AWS_EC2_METADATA_DISABLED is true). Nothing is contacted here. */
static int pod_sources(char *(*getenv_fn)(const char *), k8sha__s3_conf *out, char *why,
                       size_t why_len) {
  const char *v;
  int rc;
  if ((rc = env_copy(getenv_fn, "AWS_ROLE_ARN", out->role_arn, sizeof(out->role_arn), why,
                     why_len)) != 0 ||
      (rc = env_copy(getenv_fn, "AWS_WEB_IDENTITY_TOKEN_FILE", out->token_file,
                     sizeof(out->token_file), why, why_len)) != 0)
    return rc;
  if (out->role_arn[0] && out->token_file[0]) {
    if ((rc = env_copy(getenv_fn, "AWS_ROLE_SESSION_NAME", out->session_name,
                       sizeof(out->session_name), why, why_len)) != 0 ||
        (rc = env_endpoint(getenv_fn, "AWS_ENDPOINT_URL_STS", out->sts_endpoint,
                           sizeof(out->sts_endpoint), why, why_len)) != 0 ||
        (!out->sts_endpoint[0] &&
         (rc = env_endpoint(getenv_fn, "AWS_ENDPOINT_URL", out->sts_endpoint,
                            sizeof(out->sts_endpoint), why, why_len)) != 0))
      return rc;
    if (!out->sts_endpoint[0])
      snprintf(out->sts_endpoint, sizeof(out->sts_endpoint), "https://sts.%s.amazonaws.com",
               out->region);
    if (!out->session_name[0])
      snprintf(out->session_name, sizeof(out->session_name), "libk8sha");
    out->cred_kind = K8SHA__S3_CRED_WEB_IDENTITY;
    snprintf(out->source, sizeof(out->source),
             "web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE %.80s) through STS at %.80s",
             out->token_file, out->sts_endpoint);
    return 0;
  }
  if (out->role_arn[0] || out->token_file[0]) {
    snprintf(why, why_len, "%s is set in the environment but %s is not",
             out->role_arn[0] ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
             out->role_arn[0] ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN");
    return K8SHA_ECONFIG;
  }
  if ((v = getenv_fn("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) != NULL && *v) {
    if (*v != '/') {
      snprintf(why, why_len, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '%s' does not start with /",
               v);
      return K8SHA_ECONFIG;
    }
    if (strlen(v) + 22 >= sizeof(out->container_uri)) {
      snprintf(why, why_len, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is too long");
      return K8SHA_ECONFIG;
    }
    snprintf(out->container_uri, sizeof(out->container_uri), "http://169.254.170.2%s", v);
  } else if ((rc = env_copy(getenv_fn, "AWS_CONTAINER_CREDENTIALS_FULL_URI", out->container_uri,
                            sizeof(out->container_uri), why, why_len)) != 0) {
    return rc;
  }
  if (out->container_uri[0]) {
    if (!container_host_allowed(out->container_uri)) {
      snprintf(why, why_len,
               "AWS_CONTAINER_CREDENTIALS_FULL_URI: '%.200s' is neither https nor a loopback or "
               "container-credentials address",
               out->container_uri);
      return K8SHA_ECONFIG;
    }
    if ((rc = env_copy(getenv_fn, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                       out->container_token_file, sizeof(out->container_token_file), why,
                       why_len)) != 0 ||
        (!out->container_token_file[0] &&
         (rc = env_copy(getenv_fn, "AWS_CONTAINER_AUTHORIZATION_TOKEN", out->container_token,
                        sizeof(out->container_token), why, why_len)) != 0))
      return rc;
    out->cred_kind = K8SHA__S3_CRED_CONTAINER;
    snprintf(out->source, sizeof(out->source), "the container credentials endpoint %.200s",
             out->container_uri);
    return 0;
  }
  v = getenv_fn("AWS_EC2_METADATA_DISABLED");
  if (v && strcasecmp(v, "true") == 0)
    return 0;
  if ((rc = env_endpoint(getenv_fn, "AWS_EC2_METADATA_SERVICE_ENDPOINT", out->imds_endpoint,
                         sizeof(out->imds_endpoint), why, why_len)) != 0)
    return rc;
  if (!out->imds_endpoint[0])
    snprintf(out->imds_endpoint, sizeof(out->imds_endpoint), "http://169.254.169.254");
  out->cred_kind = K8SHA__S3_CRED_IMDS;
  snprintf(out->source, sizeof(out->source), "IMDSv2 at %.180s (no other source is set)",
           out->imds_endpoint);
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
    out->cred_kind = K8SHA__S3_CRED_STATIC;
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
    out->cred_kind = K8SHA__S3_CRED_STATIC;
    return 0;
  }
  if ((ak && *ak) != (sk && *sk)) {
    snprintf(why, why_len, "%s is set in the environment but %s is not",
             ak && *ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
             ak && *ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    return K8SHA_ECONFIG;
  }
  return pod_sources(getenv_fn, out, why, why_len);
}

int k8sha__s3_scheme(const char *scheme, size_t len) {
  return (len == 2 && strncasecmp(scheme, "s3", 2) == 0) ||
         (len == 3 && (strncasecmp(scheme, "s3a", 3) == 0 || strncasecmp(scheme, "s3p", 3) == 0));
}
