/* What the Kubernetes client makes of an answer: HTTP statuses and Kubernetes Status objects as
 * K8SHA_E* codes, transport failures, Retry-After, the response counters. */
#include <string.h>

#include "k8sha/errors.h"
#include "kube/client_priv.h"

/* A server's requested wait, capped: no answer may park a request (and what waits on it) for
 * longer than K8SHA__RETRY_AFTER_MAX_S; the request's own deadline still decides whether to
 * wait. */
#define K8SHA__RETRY_AFTER_MAX_S 60u
uint64_t k8sha__retry_after_ms(uint64_t secs) {
  return (secs > K8SHA__RETRY_AFTER_MAX_S ? K8SHA__RETRY_AFTER_MAX_S : secs) * 1000;
}

int k8sha__status_to_err(long http_status, const char *reason) {
  if (http_status >= 200 && http_status < 300)
    return 0;
  switch (http_status) {
  case 401:
    return K8SHA_EUNAUTHORIZED;
  case 403:
    return K8SHA_EFORBIDDEN;
  case 404:
    return K8SHA_ENOTFOUND;
  case 409:
    return reason && strcmp(reason, "AlreadyExists") == 0 ? K8SHA_EEXISTS : K8SHA_ECONFLICT;
  case 410:
    return K8SHA_EEXPIRED;
  case 413:
    return K8SHA_ETOOLARGE;
  case 422:
    return K8SHA_EINVALID_OBJECT;
  case 429:
    return K8SHA_ETOOMANYREQUESTS;
  case 504:
    return K8SHA_ETIMEDOUT;
  default:
    return http_status >= 500 ? K8SHA_EUNAVAILABLE : K8SHA_EAPI;
  }
}

void k8sha__kube_count_response(k8sha__kube *k, long http_status, CURLcode rc) {
  k8sha_stats *st = &k->rt->stats;
  if (rc != CURLE_OK && http_status == 0) {
    st->transport_errors++;
    return;
  }
  if (http_status >= 200 && http_status < 300)
    st->responses_2xx++;
  else if (http_status >= 400 && http_status < 500)
    st->responses_4xx++;
  else if (http_status >= 500)
    st->responses_5xx++;
  if (http_status == 409)
    st->responses_409++;
}

int k8sha__transport_err(CURLcode rc) {
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    return K8SHA_ETIMEDOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_USE_SSL_FAILED:
    return K8SHA_ETLS;
  case CURLE_OUT_OF_MEMORY:
    return K8SHA_ENOMEM;
  case CURLE_WRITE_ERROR:
    return K8SHA_EBADRESPONSE; /* (the body callback refused what passed the limit) */
  default:
    return K8SHA_EUNAVAILABLE;
  }
}

/* Fills resp from a Status body when there is one. */
void k8sha__read_status(k8sha__resp *resp, json_t *json) {
  json_t *kind, *retry;
  if (!json || !json_is_object(json))
    return;
  kind = json_object_get(json, "kind");
  if (!json_is_string(kind) || strcmp(json_string_value(kind), "Status") != 0)
    return;
  resp->message = json_string_value(json_object_get(json, "message"));
  resp->reason = json_string_value(json_object_get(json, "reason"));
  /* The API server states the delay in the body too; use it when the header was lost. */
  retry = json_object_get(json_object_get(json, "details"), "retryAfterSeconds");
  if (!resp->retry_after_ms && json_is_integer(retry) && json_integer_value(retry) > 0)
    resp->retry_after_ms = k8sha__retry_after_ms((uint64_t)json_integer_value(retry));
}
