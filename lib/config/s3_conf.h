/* Internal: the settings of the built-in s3 backend, from Flink's keys and then the process
 * environment. Flink forwards `s3.`, `s3a.` and `fs.s3a.` keys to its S3 file systems, with
 * `access-key`/`access.key` (and the like) as one key; every such spelling is read here, so a
 * Flink configuration works unchanged. */
#ifndef K8SHA_CONFIG_S3_CONF_H
#define K8SHA_CONFIG_S3_CONF_H

#include <stddef.h>

#include "k8sha/config.h"

#define K8SHA__S3_DEFAULT_REGION "us-east-1"

/* Where the credentials come from (k8sha__s3_conf.cred_kind), in the order they are looked for. */
typedef enum k8sha__s3_cred_kind {
  K8SHA__S3_CRED_NONE = 0,
  K8SHA__S3_CRED_STATIC,       /* keys in the configuration or the environment */
  K8SHA__S3_CRED_WEB_IDENTITY, /* AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE -> STS */
  K8SHA__S3_CRED_CONTAINER,    /* AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI */
  K8SHA__S3_CRED_IMDS          /* the instance metadata service, version 2 */
} k8sha__s3_cred_kind;

typedef struct k8sha__s3_conf {
  char endpoint[512]; /* "http(s)://host[:port]" without a path; "" for AWS's regional one */
  char region[64];
  int path_style;     /* 1: scheme://endpoint/bucket/key; 0: scheme://bucket.endpoint/key */
  char access_key[128];
  char secret_key[256];
  char session_token[4096];
  char source[240];       /* where the credentials came from (never the secrets); "" if none */
  char endpoint_from[64]; /* the key that set the endpoint, or "" */
  char conflict[300];     /* two spellings of one key with different values, or "" */
  unsigned int list_page; /* keys per ListObjectsV2 page (libk8sha.s3.list-page-size; S3: 1000) */
  k8sha__s3_cred_kind cred_kind;
  /* web identity */
  char role_arn[2048];
  char token_file[1024];   /* read at every fetch: the kubelet rotates it */
  char session_name[65];
  char sts_endpoint[512];  /* AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, or STS's regional one */
  /* container credentials */
  char container_uri[1024];
  char container_token[4096];      /* AWS_CONTAINER_AUTHORIZATION_TOKEN, or "" */
  char container_token_file[1024]; /* AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read per fetch) */
  /* IMDSv2 */
  char imds_endpoint[256]; /* AWS_EC2_METADATA_SERVICE_ENDPOINT, or http://169.254.169.254 */
} k8sha__s3_conf;

#define K8SHA__KEY_S3_LIST_PAGE "libk8sha.s3.list-page-size"

/* Reads the settings; `getenv_fn` is getenv (tests pass their own). 0, or K8SHA_ECONFIG with
 * `why` naming the key and what is wrong with its value. No credentials is not an error here
 * (out->source is then ""): a host may register its own s3 backend. */
int k8sha__s3_conf_read(const k8sha_config *cfg, char *(*getenv_fn)(const char *),
                        k8sha__s3_conf *out, char *why, size_t why_len);

/* "s3", "s3a" and "s3p" name one namespace: 1 when `scheme` (any case, `len` bytes) is one. */
int k8sha__s3_scheme(const char *scheme, size_t len);

#endif
