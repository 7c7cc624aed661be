/* Internal: the s3 backend's credentials: fixed keys, or fetched (web identity through STS, the
 * container credentials endpoint, IMDSv2) and fetched again before they expire. Thread-safe: the
 * backend's operations ask for them on libuv's thread pool. */
#ifndef K8SHA_STORAGE_S3_CREDS_H
#define K8SHA_STORAGE_S3_CREDS_H

#include <stddef.h>
#include <time.h>

#include "config/s3_conf.h"

/* Fetched credentials are fetched again once they expire within this many seconds. */
#define K8SHA__S3_CREDS_REFRESH_S 300

typedef struct k8sha__s3_keys {
  char access_key[128];
  char secret_key[256];
  char session_token[4096];
  time_t expires; /* 0: never (fixed keys) */
} k8sha__s3_keys;

typedef struct k8sha__s3_creds k8sha__s3_creds;

/* A provider for the settings' source (the settings are copied). NULL when out of memory. */
k8sha__s3_creds *k8sha__s3_creds_new(const k8sha__s3_conf *conf);
void k8sha__s3_creds_free(k8sha__s3_creds *c);

/* The credentials to sign with now, fetched first when there are none yet or they expire within
 * K8SHA__S3_CREDS_REFRESH_S. 0; or K8SHA_EFORBIDDEN (no source, or the source refused: `why`
 * names it and what it said), K8SHA_ESTORAGE (the source could not be reached or answered
 * nonsense), K8SHA_ENOMEM. Blocking (network); never on the loop thread. */
int k8sha__s3_creds_get(k8sha__s3_creds *c, k8sha__s3_keys *out, char *why, size_t why_len);

/* Seconds since the epoch of an ISO 8601 UTC time as STS and the metadata services write it
 * ("2026-12-07T12:00:00Z", fractions of a second allowed). -1 when it is not one. */
time_t k8sha__s3_parse_time(const char *iso);

#endif
