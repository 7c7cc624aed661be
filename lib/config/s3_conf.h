/* Internal: the settings of the built-in s3 backend, from Flink's keys and then the process
 * environment. Flink forwards `s3.`, `s3a.` and `fs.s3a.` keys to its S3 file systems, with
 * `access-key`/`access.key` (and the like) as one key; every such spelling is read here, so a
 * Flink configuration works unchanged. */
#ifndef K8SHA_CONFIG_S3_CONF_H
#define K8SHA_CONFIG_S3_CONF_H

#include <stddef.h>

#include "k8sha/config.h"

#define K8SHA__S3_DEFAULT_REGION "us-east-1"

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
