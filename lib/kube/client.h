/* Internal: the asynchronous Kubernetes HTTP client (libcurl multi driven by the context's libuv
 * loop). Knows Kubernetes, not Flink. */
#ifndef K8SHA_KUBE_CLIENT_H
#define K8SHA_KUBE_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/kube_access.h"
#include "core/rt.h"
#include "k8sha/context.h"

typedef struct k8sha__kube k8sha__kube;

/* The media type of an object's metadata alone (what metadata_only asks for first). */
#define K8SHA__ACCEPT_METADATA "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
#define K8SHA__KIND_METADATA "PartialObjectMetadata"
#define K8SHA__MERGE_PATCH "application/merge-patch+json"
typedef struct k8sha__req k8sha__req;

/* What a request is, for counters and for the retry policy. */
typedef enum k8sha__verb {
  K8SHA__GET,
  K8SHA__LIST,
  K8SHA__CREATE,
  K8SHA__UPDATE,
  K8SHA__PATCH,
  K8SHA__DELETE,
  K8SHA__WATCH
} k8sha__verb;

/* The result of a request, valid during the callback only. */
typedef struct k8sha__resp {
  int err;               /* 0 on 2xx; else the K8SHA_E* the status or transport failure maps to */
  long http_status;      /* 0 when no response arrived */
  const char *body;      /* NUL-terminated response body (may be empty) */
  size_t body_len;
  json_t *json;          /* the body parsed, or NULL when it is not JSON */
  const char *message;   /* the server's Status message, or what went wrong on the way */
  const char *reason;    /* Status reason ("Conflict", "NotFound", ...) or NULL */
  uint64_t retry_after_ms; /* from a 429's Retry-After, else 0 */
} k8sha__resp;

typedef void (*k8sha__req_cb)(const k8sha__resp *resp, void *user_data);

typedef struct k8sha__req_opts {
  k8sha__verb verb;
  const char *path;         /* "/api/v1/namespaces/ns/configmaps/name", query included */
  const char *body;         /* request body or NULL */
  size_t body_len;
  const json_t *json;       /* or a JSON body, which the client writes out (compact) */
  const char *content_type; /* default application/json when body is set */
  int urgent;               /* never waits for a slot among the requests in flight: the
                               election's own requests, which must not queue behind a burst
                               of others */
  int metadata_only;        /* ask for the object's metadata alone in the answer (a
                               meta.k8s.io PartialObjectMetadata); a server may still send the
                               whole object */
  uint64_t timeout_ms;      /* per attempt; 0: the client's default */
  uint64_t deadline_ms;     /* total time for all attempts, backoff included (each attempt's
                               timeout is cut to what is left); 0: timeout_ms * attempts */
  unsigned int max_attempts; /* 0: the default (5 for reads; writes are never resent once sent) */
  /* Called on the loop when an attempt timed out and the request goes on with another one
   * (resp->err K8SHA_ETIMEDOUT, resp->message naming the attempt), so that its owner can say so
   * at once rather than when every attempt has failed. The request's outcome still comes to its
   * callback. May cancel the request. NULL: the log alone says it. */
  void (*on_attempt_timeout)(const k8sha__resp *resp, void *user_data);
} k8sha__req_opts;

/* Creates a client on `rt`'s loop, reaching the API server as `access` says (kept by pointer:
 * it must outlive the client). 0, K8SHA_ENOMEM, K8SHA_EIO. */
int k8sha__kube_new(k8sha__rt *rt, const k8sha__kube_access *access, k8sha__kube **out);
/* Cancels every request (callbacks run with K8SHA_ECANCELED), closes handles. */
void k8sha__kube_free(k8sha__kube *k);

/* Requests (not streams) in flight at once, per client: more wait, oldest first, until one
 * ends; a burst (a new leader opening a thousand jobs) then uses that many connections rather
 * than one each. */
#define K8SHA__MAX_IN_FLIGHT 32

/*
 * Starts a request. The callback runs exactly once, on the loop, never from inside this call;
 * unless the request is cancelled with k8sha__req_cancel(), which suppresses it.
 * Retry policy: reads (GET, LIST) are repeated with jittered exponential backoff on 5xx, 429
 * (honouring Retry-After) and transport errors, within the deadline. Writes are repeated only
 * when they provably were not processed: the connection was refused, or the server answered 429.
 * A write that may have reached the server (timeout, reset, 5xx) completes with
 * K8SHA_EUNKNOWN_OUTCOME. A 401 re-reads the token file and repeats the request once.
 * Returns 0 (and *out when out is not NULL) or K8SHA_ENOMEM / K8SHA_EINVAL / K8SHA_ECLOSED.
 */
int k8sha__req_start(k8sha__kube *k, const k8sha__req_opts *o, k8sha__req_cb cb, void *user_data,
                     k8sha__req **out);

/* Abandons a request: its callback will not run. */
void k8sha__req_cancel(k8sha__req *r);
/* The user_data a request was started with (for an owner that must free it on cancel). */
void *k8sha__req_user_data(const k8sha__req *r);

/* ---- streaming (watches) ---- */

typedef struct k8sha__stream k8sha__stream;

typedef struct k8sha__stream_cbs {
  /* One complete line of the response body (without the newline). Runs on the loop, outside
   * libcurl's callbacks. Return non-zero to stop the stream (on_end then runs with that code). */
  int (*on_line)(const char *line, size_t len, void *user_data);
  /* The stream ended: err 0 when the server closed it cleanly after a complete line; otherwise
   * the error (HTTP status mapped, transport failure, K8SHA_ECORRUPT for a truncated last line),
   * with the response when there was one. Runs once, unless cancelled. */
  void (*on_end)(int err, const k8sha__resp *resp, void *user_data);
} k8sha__stream_cbs;

/* Opens a streaming GET of `path`. Its response must begin within the client's default timeout
 * (connection, TLS and the response headers), or the stream ends with K8SHA_ETIMEDOUT. After
 * that no client-side total timeout: the server's timeoutSeconds bounds it, and a stream silent
 * for longer than `idle_limit_s` is cut (low-speed limit). */
int k8sha__stream_open(k8sha__kube *k, const char *path, unsigned int idle_limit_s,
                       const k8sha__stream_cbs *cbs, void *user_data, k8sha__stream **out);
/* Closes a stream; its callbacks will not run any more. */
void k8sha__stream_close(k8sha__stream *s);

/* ---- helpers ---- */

/* Maps an HTTP status and Status reason to a K8SHA_E* code. */
int k8sha__status_to_err(long http_status, const char *reason);
/* Percent-encodes a query value (selectors). Returns a string from the client's allocator (its
 * runtime's: free it with k8sha__free) or NULL. */
char *k8sha__query_escape(k8sha__kube *k, const char *value);
/* The runtime a client was made with. */
k8sha__rt *k8sha__kube_rt(k8sha__kube *k);
/* A random number in [0, n) for jitter. */
uint64_t k8sha__kube_random(k8sha__kube *k, uint64_t n);
/* Re-reads the token file now (also done every minute and after a 401). */
void k8sha__kube_reload_token(k8sha__kube *k);
/* The per-attempt timeout of requests that name none, which also bounds the start of a watch's
 * response (default 10 s). For tests that cannot wait that long. */
void k8sha__kube_set_default_timeout(k8sha__kube *k, uint64_t ms);
/* The requests in flight at once (default K8SHA__MAX_IN_FLIGHT; at least 1). For tests. */
void k8sha__kube_set_max_in_flight(k8sha__kube *k, unsigned int n);
/* The first step of the informers' backoff after a failure (0: their default, 800 ms). For tests
 * that make many failures in a row. */
void k8sha__kube_set_informer_backoff(k8sha__kube *k, uint64_t ms);
uint64_t k8sha__kube_informer_backoff(const k8sha__kube *k);

#endif
