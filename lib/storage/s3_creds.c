/* The s3 backend's credentials (see s3_creds.h). Fetched credentials are kept under a mutex and
 * fetched again, by whichever operation finds them close to expiry, before they expire: an
 * operation never signs with credentials that are about to lapse. Secrets are never put in a
 * message. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "k8sha/errors.h"
#include "storage/http.h"
#include "storage/s3_creds.h"
#include "storage/s3xml.h"
#include "storage/sigv4.h"

#define FETCH_ATTEMPTS 3
#define FETCH_ANSWER_MAX (64u * 1024u)
#define TOKEN_FILE_MAX (64u * 1024u)

struct k8sha__s3_creds {
  k8sha__s3_conf conf;
  uv_mutex_t mu;
  k8sha__s3_keys keys; /* fetched: valid while keys.access_key[0] */
};

k8sha__s3_creds *k8sha__s3_creds_new(const k8sha__s3_conf *conf) {
  k8sha__s3_creds *c = calloc(1, sizeof(*c));
  if (!c)
    return NULL;
  if (uv_mutex_init(&c->mu) != 0) {
    free(c);
    return NULL;
  }
  c->conf = *conf;
  return c;
}

void k8sha__s3_creds_free(k8sha__s3_creds *c) {
  if (!c)
    return;
  uv_mutex_destroy(&c->mu);
  memset(c, 0, sizeof(*c)); /* (secrets) */
  free(c);
}

time_t k8sha__s3_parse_time(const char *iso) {
  struct tm tm;
  int y, mo, d, h, mi, sec, n = 0;
  const char *rest;
  if (!iso || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
      n != 19)
    return -1;
  rest = iso + n;
  if (*rest == '.') /* fractions of a second */
    for (rest++; *rest >= '0' && *rest <= '9'; rest++)
      ;
  if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
    return -1;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return timegm(&tm);
}

/* A whole small file (a token the kubelet or the agent rotates), whitespace at its end dropped.
 * malloc'd, or NULL with `why`. */
static char *read_small_file(const char *path, const char *what, char *why, size_t why_len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;
  if (!f) {
    snprintf(why, why_len, "%s %s cannot be read", what, path);
    return NULL;
  }
  buf = malloc(TOKEN_FILE_MAX + 1);
  n = buf ? fread(buf, 1, TOKEN_FILE_MAX + 1, f) : 0;
  fclose(f);
  if (!buf || n == 0 || n > TOKEN_FILE_MAX) {
    snprintf(why, why_len, "%s %s is %s", what, path,
             !buf ? "not read (out of memory)" : n ? "larger than 64 KiB" : "empty");
    free(buf);
    return NULL;
  }
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
    n--;
  buf[n] = '\0';
  return buf;
}

/* One exchange with a credential source, tried again when nobody answered or the source failed
 * (5xx). 0 with the answer of any other status; K8SHA_ESTORAGE or K8SHA_ENOMEM with `why`. */
static int fetch(const k8sha__http_req *req, k8sha__http_answer *a, const char *source,
                 char *why, size_t why_len) {
  char err[300];
  int attempt, rc = -1;
  for (attempt = 0; attempt < FETCH_ATTEMPTS; attempt++) {
    if (attempt)
      uv_sleep(200u << attempt);
    rc = k8sha__http_do(req, a, err, sizeof(err));
    if (rc == -3) {
      snprintf(why, why_len, "%s: out of memory", source);
      return K8SHA_ENOMEM;
    }
    if (rc == 0 && a->code < 500)
      return 0;
    if (rc == 0)
      snprintf(err, sizeof(err), "%s answered %ld", req->method, a->code);
    k8sha__http_answer_clear(a);
  }
  snprintf(why, why_len, "no credentials from %s: %s (after %d tries)", source, err,
           FETCH_ATTEMPTS);
  return K8SHA_ESTORAGE;
}

static int copy_field(char *dst, size_t cap, const char *v) {
  if (!v || !*v || strlen(v) >= cap)
    return -1;
  memcpy(dst, v, strlen(v) + 1);
  return 0;
}

/* The JSON the container endpoint and IMDS answer with: AccessKeyId, SecretAccessKey, Token,
 * Expiration (IMDS adds Code "Success"). */
static int from_json(const k8sha__http_answer *a, const char *source, k8sha__s3_keys *k,
                     char *why, size_t why_len) {
  json_error_t jerr;
  json_t *j = json_loadb(a->body ? a->body : "", a->len, 0, &jerr);
  const char *code = json_string_value(json_object_get(j, "Code"));
  int rc = 0;
  if (!json_is_object(j)) {
    snprintf(why, why_len, "%s answered what is not a JSON object: %s", source, jerr.text);
    rc = K8SHA_ESTORAGE;
  } else if (code && strcmp(code, "Success") != 0) {
    snprintf(why, why_len, "%s answered Code %.60s: %.200s", source, code,
             json_string_value(json_object_get(j, "Message"))
                 ? json_string_value(json_object_get(j, "Message"))
                 : "");
    rc = K8SHA_EFORBIDDEN;
  } else if (copy_field(k->access_key, sizeof(k->access_key),
                        json_string_value(json_object_get(j, "AccessKeyId"))) ||
             copy_field(k->secret_key, sizeof(k->secret_key),
                        json_string_value(json_object_get(j, "SecretAccessKey"))) ||
             copy_field(k->session_token, sizeof(k->session_token),
                        json_string_value(json_object_get(j, "Token"))) ||
             (k->expires = k8sha__s3_parse_time(
                  json_string_value(json_object_get(j, "Expiration")))) == (time_t)-1) {
    snprintf(why, why_len,
             "%s answered without AccessKeyId, SecretAccessKey, Token and an Expiration in "
             "ISO 8601 (or one of them too long)",
             source);
    rc = K8SHA_ESTORAGE;
  }
  json_decref(j);
  return rc;
}

/* A refusal by a source: 4xx. */
static int refused(const k8sha__http_answer *a, const char *source, char *why, size_t why_len) {
  k8sha__s3_error e;
  memset(&e, 0, sizeof(e));
  if (a->body)
    k8sha__s3_parse_error(a->body, a->len, &e);
  snprintf(why, why_len, "%s refused: %ld %s%s%s", source, a->code, e.code,
           e.message[0] ? ": " : "", e.message);
  return K8SHA_EFORBIDDEN;
}

static int from_web_identity(k8sha__s3_creds *c, k8sha__s3_keys *k, char *why, size_t why_len) {
  const k8sha__s3_conf *conf = &c->conf;
  static const char *const headers[] = {
      "Content-Type: application/x-www-form-urlencoded; charset=utf-8", "Accept: */*", NULL};
  k8sha__sigv4_pair form[5];
  k8sha__sts_credentials sts;
  k8sha__http_req req;
  k8sha__http_answer a;
  char url[600], source[700], *token, *body;
  size_t body_cap;
  int rc;

  snprintf(source, sizeof(source), "STS at %s (AssumeRoleWithWebIdentity)", conf->sts_endpoint);
  token = read_small_file(conf->token_file, "the web identity token file", why, why_len);
  if (!token)
    return K8SHA_EFORBIDDEN;
  form[0] = (k8sha__sigv4_pair){"Action", "AssumeRoleWithWebIdentity"};
  form[1] = (k8sha__sigv4_pair){"Version", "2011-06-15"};
  form[2] = (k8sha__sigv4_pair){"RoleArn", conf->role_arn};
  form[3] = (k8sha__sigv4_pair){"RoleSessionName", conf->session_name};
  form[4] = (k8sha__sigv4_pair){"WebIdentityToken", token};
  body_cap = 3 * (strlen(token) + sizeof(conf->role_arn)) + 256;
  body = malloc(body_cap);
  if (!body || k8sha__sigv4_query(form, 5, body, body_cap) != 0) {
    snprintf(why, why_len, "%s: the request could not be made (out of memory)", source);
    free(body);
    free(token);
    return K8SHA_ENOMEM;
  }
  free(token);
  snprintf(url, sizeof(url), "%s/", conf->sts_endpoint);
  memset(&req, 0, sizeof(req));
  req.method = "POST";
  req.url = url;
  req.headers = headers;
  req.body = body;
  req.body_len = strlen(body);
  req.answer_limit = FETCH_ANSWER_MAX;
  req.connect_timeout_ms = 5000;
  req.timeout_ms = 30000;
  rc = fetch(&req, &a, source, why, why_len);
  memset(body, 0, body_cap); /* (the token) */
  free(body);
  if (rc)
    return rc;
  if (a.code != 200) {
    rc = refused(&a, source, why, why_len);
  } else if (k8sha__sts_parse_credentials(a.body ? a.body : "", a.len, &sts, why, why_len) != 0) {
    char inner[300];
    snprintf(inner, sizeof(inner), "%s", why);
    snprintf(why, why_len, "%s answered what is not its credentials: %s", source, inner);
    rc = K8SHA_ESTORAGE;
  } else {
    memcpy(k->access_key, sts.access_key, sizeof(k->access_key));
    memcpy(k->secret_key, sts.secret_key, sizeof(k->secret_key));
    memcpy(k->session_token, sts.session_token, sizeof(k->session_token));
    if ((k->expires = k8sha__s3_parse_time(sts.expiration)) == (time_t)-1) {
      snprintf(why, why_len, "%s answered an Expiration that is not ISO 8601: '%.40s'", source,
               sts.expiration);
      rc = K8SHA_ESTORAGE;
    }
    memset(&sts, 0, sizeof(sts));
  }
  k8sha__http_answer_clear(&a);
  return rc;
}

static int from_container(k8sha__s3_creds *c, k8sha__s3_keys *k, char *why, size_t why_len) {
  const k8sha__s3_conf *conf = &c->conf;
  char source[1100], *token = NULL, *line = NULL;
  const char *headers[2] = {NULL, NULL};
  k8sha__http_req req;
  k8sha__http_answer a;
  int rc;

  snprintf(source, sizeof(source), "the container credentials endpoint %s", conf->container_uri);
  if (conf->container_token_file[0]) {
    token = read_small_file(conf->container_token_file, "the container authorization token file",
                            why, why_len);
    if (!token)
      return K8SHA_EFORBIDDEN;
  }
  if (token || conf->container_token[0]) {
    const char *t = token ? token : conf->container_token;
    line = malloc(strlen(t) + 32);
    if (!line) {
      free(token);
      return K8SHA_ENOMEM;
    }
    sprintf(line, "Authorization: %s", t);
    headers[0] = line;
  }
  memset(&req, 0, sizeof(req));
  req.method = "GET";
  req.url = conf->container_uri;
  req.headers = headers;
  req.answer_limit = FETCH_ANSWER_MAX;
  req.connect_timeout_ms = 2000;
  req.timeout_ms = 10000;
  rc = fetch(&req, &a, source, why, why_len);
  free(token);
  free(line);
  if (rc)
    return rc;
  rc = a.code == 200 ? from_json(&a, source, k, why, why_len) : refused(&a, source, why, why_len);
  k8sha__http_answer_clear(&a);
  return rc;
}

static int from_imds(k8sha__s3_creds *c, k8sha__s3_keys *k, char *why, size_t why_len) {
  const k8sha__s3_conf *conf = &c->conf;
  static const char *const ttl[] = {"X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL};
  char url[600], source[400], line[700], role[200];
  const char *headers[2] = {line, NULL};
  k8sha__http_req req;
  k8sha__http_answer a;
  size_t n;
  int rc;

  snprintf(source, sizeof(source), "IMDSv2 at %s", conf->imds_endpoint);
  memset(&req, 0, sizeof(req));
  req.answer_limit = FETCH_ANSWER_MAX;
  req.connect_timeout_ms = 1000;
  req.timeout_ms = 5000;
  /* the session token */
  snprintf(url, sizeof(url), "%s/latest/api/token", conf->imds_endpoint);
  req.method = "PUT";
  req.url = url;
  req.headers = ttl;
  if ((rc = fetch(&req, &a, source, why, why_len)) != 0)
    return rc;
  if (a.code != 200 || !a.body || a.len >= 600 || strpbrk(a.body, "\r\n")) {
    rc = a.code != 200 ? refused(&a, source, why, why_len) : K8SHA_ESTORAGE;
    if (a.code == 200)
      snprintf(why, why_len, "%s answered a session token that cannot be one", source);
    k8sha__http_answer_clear(&a);
    return rc;
  }
  snprintf(line, sizeof(line), "X-aws-ec2-metadata-token: %s", a.body);
  k8sha__http_answer_clear(&a);
  /* the role of the instance profile */
  snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", conf->imds_endpoint);
  req.method = "GET";
  req.headers = headers;
  if ((rc = fetch(&req, &a, source, why, why_len)) != 0)
    return rc;
  n = a.body ? strcspn(a.body, "\r\n") : 0;
  if (a.code != 200 || n == 0 || n >= sizeof(role) || strcspn(a.body, "/?#% ") < n) {
    rc = a.code == 404 || a.code == 200 ? K8SHA_EFORBIDDEN : refused(&a, source, why, why_len);
    if (a.code == 404 || a.code == 200)
      snprintf(why, why_len, "%s: the instance has no IAM role (no instance profile)", source);
    k8sha__http_answer_clear(&a);
    return rc;
  }
  memcpy(role, a.body, n);
  role[n] = '\0';
  k8sha__http_answer_clear(&a);
  /* its credentials */
  snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s",
           conf->imds_endpoint, role);
  if ((rc = fetch(&req, &a, source, why, why_len)) != 0)
    return rc;
  rc = a.code == 200 ? from_json(&a, source, k, why, why_len) : refused(&a, source, why, why_len);
  k8sha__http_answer_clear(&a);
  return rc;
}

int k8sha__s3_creds_get(k8sha__s3_creds *c, k8sha__s3_keys *out, char *why, size_t why_len) {
  const k8sha__s3_conf *conf = &c->conf;
  k8sha__s3_keys fresh;
  int rc = 0;

  switch (conf->cred_kind) {
  case K8SHA__S3_CRED_NONE:
    snprintf(why, why_len,
             "no credentials: set s3.access-key and s3.secret-key, or AWS_ACCESS_KEY_ID and "
             "AWS_SECRET_ACCESS_KEY, or give the pod a web identity or container credentials "
             "(AWS_EC2_METADATA_DISABLED turns IMDSv2 off)");
    return K8SHA_EFORBIDDEN;
  case K8SHA__S3_CRED_STATIC:
    memcpy(out->access_key, conf->access_key, sizeof(out->access_key));
    memcpy(out->secret_key, conf->secret_key, sizeof(out->secret_key));
    memcpy(out->session_token, conf->session_token, sizeof(out->session_token));
    out->expires = 0;
    return 0;
  default:
    break;
  }
  uv_mutex_lock(&c->mu);
  if (!c->keys.access_key[0] || time(NULL) + K8SHA__S3_CREDS_REFRESH_S >= c->keys.expires) {
    memset(&fresh, 0, sizeof(fresh));
    rc = conf->cred_kind == K8SHA__S3_CRED_WEB_IDENTITY ? from_web_identity(c, &fresh, why, why_len)
         : conf->cred_kind == K8SHA__S3_CRED_CONTAINER  ? from_container(c, &fresh, why, why_len)
                                                        : from_imds(c, &fresh, why, why_len);
    if (rc == 0) {
      c->keys = fresh;
    } else if (c->keys.access_key[0] && time(NULL) < c->keys.expires) {
      rc = 0; /* the source failed; the credentials held are still valid: used till they lapse */
    }
    memset(&fresh, 0, sizeof(fresh));
  }
  if (rc == 0)
    *out = c->keys;
  uv_mutex_unlock(&c->mu);
  return rc;
}
