/* Internal to lib/kube: the client, its requests and streams. */
#ifndef K8SHA_KUBE_CLIENT_PRIV_H
#define K8SHA_KUBE_CLIENT_PRIV_H

#include <curl/curl.h>

#include "config/kube_access.h"
#include "core/rt.h"
#include "core/timer.h"
#include "core/life.h"
#include "kube/client.h"

#define RESPONSE_MAX (64u * 1024u * 1024u) /* far above any ConfigMap list we expect */

typedef enum req_state {
  REQ_ACTIVE,    /* in the curl multi */
  REQ_WAITING,   /* waiting for a retry timer */
  REQ_QUEUED,    /* waiting for a slot among the requests in flight (k8sha__kube.queue) */
  REQ_FINISHING  /* taken out of curl; its callback is about to run */
} req_state;

struct k8sha__req {
  k8sha__kube *k;
  struct k8sha__req *prev, *next; /* every live request and stream, for cancel-all */
  struct k8sha__req *qnext;        /* in k8sha__kube.queue */
  int urgent;                      /* never queued (k8sha__req_opts.urgent) */
  CURL *easy;
  struct curl_slist *headers;
  k8sha__verb verb;
  char *url;
  char *body;
  size_t body_len;
  size_t body_sent; /* this attempt: bytes of the body curl has taken to send (see on_send) */
  char *content_type;
  int metadata_only;
  uint64_t timeout_ms, deadline_at;
  uint64_t attempt_timeout_ms; /* this attempt's: timeout_ms, or less when the deadline is near
                                  (streams: the bound on the start of the response) */
  unsigned int attempts, max_attempts;
  k8sha__req_cb cb;
  void (*on_attempt_timeout)(const k8sha__resp *resp, void *user_data);
  void *user_data;
  req_state state;
  int cancelled;       /* while FINISHING: do not call back, just free */
  int auth_retried;
  int too_large; /* the body passed RESPONSE_MAX: the transfer was stopped */
  int oom;       /* an allocation for this attempt failed: it ends with K8SHA_ENOMEM */
  int unwatched; /* ... the one to watch its socket: ended from the next socket action */
  k8sha__timer *retry_timer; /* streams: the bound on the start of the response instead */
  /* response */
  char *rbuf;
  size_t rlen, rcap;
  CURLcode curl_result;
  char errbuf[CURL_ERROR_SIZE];
  /* streams only */
  int is_stream;
  k8sha__stream_cbs scbs;
  size_t scan;         /* bytes of rbuf already split into lines */
  int stream_pending;  /* data or end waiting for dispatch */
  int stream_ended;
  int lines_ok;        /* a 2xx response: the body is a stream of lines */
  int responded;       /* the response has begun (its first header line arrived) */
  k8sha__life life;    /* streams: the owner's reference, one while its callbacks run, and one
                          per client queue holding it (k8sha__stream_close is the owner's free;
                          after on_end the stream is over and the owner's reference goes) */
  struct k8sha__req *pending_next; /* in the client's pending-stream list */
  struct k8sha__req *finish_next;  /* in process()'s list of finished transfers */
};

struct k8sha__stream {
  struct k8sha__req req;
};

struct k8sha__kube {
  k8sha__rt *rt;
  const k8sha__kube_access *access; /* the context's, which outlives the client */
  CURLM *multi;
  k8sha__timer *curl_timer;
  k8sha__timer *token_timer;
  char *token;             /* the bearer token in use (secret) */
  char *server;            /* base URL (with tls-server-name as its host, when set) */
  struct curl_slist *connect_to; /* tls-server-name: connect to the real host instead */
  struct k8sha__req *reqs; /* live requests and streams */
  struct k8sha__req *pending; /* streams with data or an end to dispatch */
  struct k8sha__req *queue, *queue_tail; /* requests waiting for a slot, oldest first */
  k8sha__timer *pump_timer;  /* starts queued requests once slots are free */
  unsigned int max_in_flight; /* requests (not streams) in curl at once, urgent ones aside */
  int busy;                /* inside process(): the client must not be freed now */
  int closing;             /* being freed: no new requests */
  int unwatched;           /* some request's socket could not be watched (see glue.c) */
  uint64_t default_timeout_ms;
  uint64_t informer_backoff_ms; /* 0: the informers' default */
  uint64_t rng;
};

/* Runs curl's work for a socket or timeout, then delivers completions and stream data. */
void k8sha__kube_socket_action(k8sha__kube *k, curl_socket_t fd, int flags);
/* Installs the curl <-> libuv glue on the multi handle. */
int k8sha__kube_glue_init(k8sha__kube *k);

/* client.c: the HTTP method of a verb ("GET", "PATCH", ...). */
const char *k8sha__verb_method(k8sha__verb v);
/* transfer.c: prepares the easy handle of a request (URL, TLS, auth, timeouts) for its next
 * attempt. */
int k8sha__req_prepare(k8sha__req *r);
/* A finished transfer, called from process() after curl is done with it. */
void k8sha__req_finished(k8sha__req *r);
/* Frees a request that is no longer in curl or waiting. */
void k8sha__req_destroy(k8sha__req *r);
/* Delivers buffered lines (and the end) of streams marked pending. */
void k8sha__streams_dispatch(k8sha__kube *k);
/* Marks a stream as having data or an end to deliver. */
void k8sha__stream_mark_pending(k8sha__req *r);
/* A client queue takes (hold) and drops (release: destroys it when that was the last) its
 * reference to a stream. */
void k8sha__stream_hold(k8sha__req *r);
void k8sha__stream_release(k8sha__req *r);
/* Records what a finished transfer means, for counters. */
void k8sha__kube_count_response(k8sha__kube *k, long http_status, CURLcode rc);

/* client.c: a request object, not yet started (NULL out of memory); hands a request to curl or
 * to the queue (0, or an error with nothing started). */
k8sha__req *k8sha__req_new(k8sha__kube *k, k8sha__verb verb, const char *path);
/* client.c: the queue's timer (starts queued requests while slots are free). */
void k8sha__kube_on_pump(void *user_data);
int k8sha__req_launch(k8sha__req *r);
/* status.c: a transport failure's K8SHA_E*; a Status body's message, reason and retry delay
 * into resp; a server's requested wait in ms, capped at 60 s. */
int k8sha__transport_err(CURLcode rc);
void k8sha__read_status(k8sha__resp *resp, json_t *json);
uint64_t k8sha__retry_after_ms(uint64_t secs);
/* stream.c: frees a stream that has ended (its owner let go of it). */
void k8sha__stream_discard(k8sha__req *r);

#endif
