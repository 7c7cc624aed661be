/* Internal: one blocking HTTP exchange with libcurl, for the storage backends' work on libuv's
 * thread pool (never on the loop thread). */
#ifndef K8SHA_STORAGE_HTTP_H
#define K8SHA_STORAGE_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

/* Connections, DNS answers and TLS sessions shared by the exchanges of many threads. */
typedef struct k8sha__http_share k8sha__http_share;

/* NULL when out of memory. */
k8sha__http_share *k8sha__http_share_new(void);
void k8sha__http_share_free(k8sha__http_share *s);

typedef struct k8sha__http_req {
  const char *method;           /* "GET", "PUT", "POST", "DELETE" */
  const char *url;
  const char *const *headers;   /* "Name: value" lines, NULL-terminated; may be NULL */
  const void *body;             /* PUT/POST: sent as is (NULL: none) */
  size_t body_len;
  size_t answer_limit;          /* a larger answer fails the exchange */
  long connect_timeout_ms;
  long timeout_ms;              /* the whole exchange; 0: none (then 30 s under 1 byte/s ends it) */
  k8sha__http_share *share;     /* or NULL */
  int negotiate;                /* authenticate with SPNEGO (Kerberos, through GSS-API) */
} k8sha__http_req;

typedef struct k8sha__http_answer {
  long code;
  char *body; /* malloc'd, NUL-terminated (the NUL not counted), NULL when empty */
  size_t len;
  curl_off_t content_length; /* -1 when the answer gave none */
  char *location;            /* a redirect's target as an absolute URL (malloc'd), or NULL */
} k8sha__http_answer;

/* 0 with the answer (any status); -1 when no answer came (`err` says why, naming the method and
 * the URL up to its path), -2 when the answer passed the limit, -3 out of memory. */
int k8sha__http_do(const k8sha__http_req *req, k8sha__http_answer *a, char *err, size_t err_len);

void k8sha__http_answer_clear(k8sha__http_answer *a);

#endif
