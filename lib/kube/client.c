/* The Kubernetes HTTP client: requests, their queue and the retry policy (the client object,
 * its credentials and TLS name: setup.c; an attempt's curl handle: transfer.c; answers:
 * status.c; watch streams: stream.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/backoff.h"
#include "core/json_text.h"
#include "k8sha/errors.h"
#include "kube/client_priv.h"

#define READ_ATTEMPTS 5u
#define BACKOFF_FIRST_MS 100u
#define BACKOFF_MAX_MS 5000u

static const char *const verb_method[] = {"GET", "GET", "POST", "PUT", "PATCH", "DELETE", "GET"};

const char *k8sha__verb_method(k8sha__verb v) {
  return verb_method[v];
}


static void unlink_req(k8sha__req *r) {
  k8sha__kube *k = r->k;
  if (r->prev)
    r->prev->next = r->next;
  else if (k->reqs == r)
    k->reqs = r->next;
  if (r->next)
    r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

/* Takes a queued request out of the queue. */
static void dequeue(k8sha__req *r) {
  k8sha__kube *k = r->k;
  k8sha__req **p, *prev = NULL;
  for (p = &k->queue; *p; prev = *p, p = &(*p)->qnext)
    if (*p == r) {
      *p = r->qnext;
      if (k->queue_tail == r)
        k->queue_tail = prev;
      r->qnext = NULL;
      return;
    }
}

/* A slot may have come free: queued requests start on the next loop turn (never from inside a
 * caller's cancel or a completion). */
static void pump_soon(k8sha__kube *k) {
  if (k->queue && !k->closing)
    k8sha__timer_start(k->pump_timer, 0);
}

void k8sha__req_destroy(k8sha__req *r) {
  const k8sha_allocator *a = &r->k->rt->alloc;
  if (r->state == REQ_QUEUED)
    dequeue(r);
  unlink_req(r);
  if (!r->is_stream)
    pump_soon(r->k);
  if (r->state == REQ_ACTIVE)
    curl_multi_remove_handle(r->k->multi, r->easy);
  k8sha__timer_free(r->retry_timer);
  if (r->easy)
    curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->headers);
  k8sha__free(a, r->url);
  k8sha__free(a, r->body);
  k8sha__free(a, r->content_type);
  k8sha__free(a, r->rbuf);
  k8sha__free(a, r);
}

static void complete(k8sha__req *r, int err, const char *message);

void k8sha__kube_free(k8sha__kube *k) {
  const k8sha_allocator *a;
  k8sha__req *r;

  if (!k)
    return;
  /* Freeing from inside one of the client's callbacks would pull the loop from under it. */
  if (k->busy)
    abort();
  a = &k->rt->alloc;
  k->closing = 1;
  /* Pending requests are told; streams are closed silently (their owners are going too). */
  while (k->reqs) {
    r = k->reqs;
    if (r->is_stream) {
      /* (its owner, closed or not, and the queues holding it let go at once: no callback of
       * it runs, k->busy is 0, and the queues are dropped below) */
      k8sha__req_destroy(r);
    } else if (r->cancelled) {
      k8sha__req_destroy(r);
    } else {
      complete(r, K8SHA_ECANCELED, "the context is being freed");
    }
  }
  k->pending = NULL;
  k->queue = k->queue_tail = NULL;
  k8sha__timer_free(k->curl_timer);
  k8sha__timer_free(k->token_timer);
  k8sha__timer_free(k->pump_timer);
  if (k->multi)
    curl_multi_cleanup(k->multi);
  if (k->token) {
    memset(k->token, 0, strlen(k->token));
    k8sha__free(a, k->token);
  }
  k8sha__free(a, k->server);
  curl_slist_free_all(k->connect_to);
  k8sha__free(a, k);
}

/* Runs the callback, then frees the request. */
static void complete_resp(k8sha__req *r, const k8sha__resp *resp) {
  k8sha__req_cb cb = r->cb;
  void *ud = r->user_data;
  r->state = REQ_FINISHING;
  unlink_req(r);
  /* Unlinked first so a callback that frees the client does not see it; freed after. */
  cb(resp, ud);
  r->state = REQ_FINISHING;
  k8sha__req_destroy(r);
}

static void complete(k8sha__req *r, int err, const char *message) {
  k8sha__resp resp;
  memset(&resp, 0, sizeof(resp));
  resp.err = err;
  resp.body = "";
  resp.message = message;
  if (r->state == REQ_ACTIVE) {
    curl_multi_remove_handle(r->k->multi, r->easy);
    r->state = REQ_FINISHING;
  } else if (r->state == REQ_QUEUED) {
    dequeue(r);
    r->state = REQ_FINISHING;
  }
  k8sha__timer_stop(r->retry_timer);
  complete_resp(r, &resp);
}

/* ---- starting and retrying ---- */

static void count_request(k8sha__kube *k, k8sha__verb verb) {
  k8sha_stats *st = &k->rt->stats;
  st->requests++;
  switch (verb) {
  case K8SHA__GET: st->requests_get++; break;
  case K8SHA__LIST: st->requests_list++; break;
  case K8SHA__CREATE: st->requests_create++; break;
  case K8SHA__UPDATE: st->requests_update++; break;
  case K8SHA__PATCH: st->requests_patch++; break;
  case K8SHA__DELETE: st->requests_delete++; break;
  case K8SHA__WATCH: st->requests_watch++; break;
  }
}

/* Requests (not streams) in curl now. */
static unsigned int in_flight(const k8sha__kube *k) {
  const k8sha__req *r;
  unsigned int n = 0;
  for (r = k->reqs; r; r = r->next)
    n += r->state == REQ_ACTIVE && !r->is_stream;
  return n;
}

static int start_attempt(k8sha__req *r);

/* Hands the request to curl for its next attempt, or queues it while K8SHA__MAX_IN_FLIGHT
 * others are in flight (urgent ones never wait). 0 or an error (nothing started);
 * K8SHA_ETIMEDOUT when the request's deadline has passed. */
int k8sha__req_launch(k8sha__req *r) {
  k8sha__kube *k = r->k;
  if (!r->is_stream && !r->urgent && (k->queue || in_flight(k) >= k->max_in_flight)) {
    if (k8sha__now_ms(k->rt) >= r->deadline_at)
      return K8SHA_ETIMEDOUT;
    r->state = REQ_QUEUED;
    r->qnext = NULL;
    if (k->queue_tail)
      k->queue_tail->qnext = r;
    else
      k->queue = r;
    k->queue_tail = r;
    return 0;
  }
  return start_attempt(r);
}

/* Starts queued requests while slots are free, oldest first. One whose deadline passed while
 * it waited ends with K8SHA_ETIMEDOUT: nothing of it was sent. */
void k8sha__kube_on_pump(void *user_data) {
  k8sha__kube *k = user_data;
  unsigned int n = in_flight(k);
  while (k->queue && n < k->max_in_flight) {
    k8sha__req *r = k->queue;
    int rc;
    k->queue = r->qnext;
    if (!k->queue)
      k->queue_tail = NULL;
    r->qnext = NULL;
    r->state = REQ_FINISHING;
    rc = start_attempt(r);
    if (rc == 0) {
      n++;
    } else {
      /* (the rest on the next turn: the callback below may free the client) */
      char message[512];
      k8sha__timer_start(k->pump_timer, 0);
      snprintf(message, sizeof(message),
               rc == K8SHA_ETIMEDOUT ? "%s %s: the request's deadline passed while it waited for "
                                       "one of the %u requests in flight to end; not sent"
                                     : "%s %s: cannot start the request (%u in flight)",
               verb_method[r->verb], r->url, k->max_in_flight);
      complete(r, rc, message);
      return;
    }
  }
}

/* Hands the request to curl for its next attempt (see launch). */
static int start_attempt(k8sha__req *r) {
  int rc;
  if (!r->is_stream) {
    /* No attempt outlives the request's deadline: the deadline bounds the request's total time,
     * not only when its last attempt may start. */
    uint64_t now = k8sha__now_ms(r->k->rt);
    if (now >= r->deadline_at)
      return K8SHA_ETIMEDOUT;
    r->attempt_timeout_ms = r->deadline_at - now < r->timeout_ms ? r->deadline_at - now
                                                                  : r->timeout_ms;
  }
  rc = k8sha__req_prepare(r);
  if (rc)
    return rc;
  r->oom = r->unwatched = 0;
  if (curl_multi_add_handle(r->k->multi, r->easy) != CURLM_OK)
    return K8SHA_ENOMEM;
  r->attempts++;
  r->state = REQ_ACTIVE;
  count_request(r->k, r->verb);
  return 0;
}

static void on_retry_timer(void *user_data) {
  k8sha__req *r = user_data;
  int rc = k8sha__req_launch(r);
  if (rc == K8SHA_ETIMEDOUT) {
    char message[512];
    snprintf(message, sizeof(message), "%s %s: the request's deadline passed before attempt %u",
             verb_method[r->verb], r->url, r->attempts + 1);
    complete(r, rc, message);
  } else if (rc) {
    complete(r, rc, "cannot restart the request");
  }
}

/* Schedules another attempt after `delay_ms`, if the deadline allows. 1 if scheduled. */
static int retry_later(k8sha__req *r, uint64_t delay_ms) {
  k8sha__kube *k = r->k;
  uint64_t now = k8sha__now_ms(k->rt);

  if (r->attempts >= r->max_attempts || now >= r->deadline_at || delay_ms >= r->deadline_at - now)
    return 0; /* (compared without a sum that could wrap) */
  if (!r->retry_timer && !(r->retry_timer = k8sha__timer_new(k->rt, on_retry_timer, r)))
    return 0;
  r->state = REQ_WAITING;
  k->rt->stats.retries++;
  k8sha__timer_start(r->retry_timer, delay_ms);
  return 1;
}

static uint64_t backoff_ms(k8sha__req *r) {
  return k8sha__backoff_ms(r->attempts, BACKOFF_FIRST_MS, BACKOFF_MAX_MS,
                           k8sha__kube_random(r->k, UINT64_MAX));
}

static int is_read(k8sha__verb v) {
  return v == K8SHA__GET || v == K8SHA__LIST || v == K8SHA__WATCH;
}

/* Whether a transport failure happened before anything could reach the server. */
static int not_sent(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
         rc == CURLE_COULDNT_RESOLVE_PROXY;
}

void k8sha__req_finished(k8sha__req *r) {
  k8sha__kube *k = r->k;
  k8sha__resp resp;
  json_error_t jerr;
  char message[CURL_ERROR_SIZE + 256];
  long status = 0;

  if (!r->is_stream)
    pump_soon(k); /* (its slot is free: it left curl) */

  if (r->cancelled) {
    /* (a stream is destroyed when its last reference goes: the finished list holds one) */
    if (!r->is_stream)
      k8sha__req_destroy(r);
    return;
  }
  if (r->oom)
    r->curl_result = CURLE_OUT_OF_MEMORY; /* (curl says a write error: ours, on_body's) */
  if (r->is_stream) {
    r->stream_ended = 1;
    k8sha__stream_mark_pending(r);
    return;
  }
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  k8sha__kube_count_response(k, status, r->curl_result);
  memset(&resp, 0, sizeof(resp));
  resp.body = r->rbuf ? r->rbuf : "";
  resp.body_len = r->rlen;
  {
    /* Retry-After as curl read it (seconds, or an HTTP date made relative); none, a past date
     * or a value curl could not read is 0, and the client's own backoff applies. */
    curl_off_t secs = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &secs) == CURLE_OK && secs > 0)
      resp.retry_after_ms = k8sha__retry_after_ms((uint64_t)secs);
  }

  if (r->too_large) {
    /* Never a success with a cut body: a read is refused; a write's answer is lost, so its
     * outcome is unknown. */
    snprintf(message, sizeof(message), "%s %s: the response is larger than %u MiB; refused",
             verb_method[r->verb], r->url, RESPONSE_MAX / (1024u * 1024u));
    resp.err = is_read(r->verb) ? K8SHA_EBADRESPONSE : K8SHA_EUNKNOWN_OUTCOME;
    resp.http_status = status;
    resp.message = message;
    complete_resp(r, &resp);
    return;
  }
  if (r->curl_result != CURLE_OK && (status == 0 || r->curl_result != CURLE_WRITE_ERROR)) {
    int err = k8sha__transport_err(r->curl_result);
    int sent = !not_sent(r->curl_result) || r->body_sent > 0; /* (see on_send) */
    snprintf(message, sizeof(message), "%s %s: %s", verb_method[r->verb], r->url,
             r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->curl_result));
    /* The first failed attempt of a request is said at WARN (a server that accepts and never
     * answers must not stay invisible through every retry); later ones at DEBUG. */
    k8sha__log(k->rt, r->attempts <= 1 ? K8SHA_LOG_WARN : K8SHA_LOG_DEBUG, "kube",
               "%s (attempt %u of %u)", message, r->attempts, r->max_attempts);
    if (err != K8SHA_ETLS && err != K8SHA_ENOMEM && err != K8SHA_EBADRESPONSE &&
        (is_read(r->verb) || !sent) && retry_later(r, backoff_ms(r))) {
      /* A timed-out attempt is news for the owner now, not after the last attempt (up to the
       * deadline later): tell it while the request goes on. It may cancel the request; nothing
       * below touches it. */
      if (err == K8SHA_ETIMEDOUT && r->on_attempt_timeout) {
        size_t len = strlen(message);
        snprintf(message + len, sizeof(message) - len, " (attempt %u of %u; trying again)",
                 r->attempts, r->max_attempts);
        resp.err = err;
        resp.message = message;
        r->on_attempt_timeout(&resp, r->user_data);
      }
      return;
    }
    /* A write that may have reached the server has an unknown outcome. */
    if (!is_read(r->verb) && sent && err != K8SHA_ETLS)
      err = K8SHA_EUNKNOWN_OUTCOME;
    resp.err = err;
    resp.message = message;
    complete_resp(r, &resp);
    return;
  }

  resp.http_status = status;
  resp.json = r->rlen ? json_loadb(r->rbuf, r->rlen, 0, &jerr) : NULL;
  k8sha__read_status(&resp, resp.json);
  resp.err = k8sha__status_to_err(status, resp.reason);

  if (status == 401 && !r->auth_retried && k->access->token_file) {
    /* The token may have rotated under us: re-read it and try once more. */
    r->auth_retried = 1;
    k8sha__kube_reload_token(k);
    json_decref(resp.json);
    if (retry_later(r, 0))
      return;
    resp.json = r->rlen ? json_loadb(r->rbuf, r->rlen, 0, &jerr) : NULL;
    k8sha__read_status(&resp, resp.json);
  }
  if (status == 429 || (status >= 500 && is_read(r->verb))) {
    uint64_t delay = status == 429 && resp.retry_after_ms ? resp.retry_after_ms : backoff_ms(r);
    if (retry_later(r, delay)) {
      json_decref(resp.json);
      return;
    }
  }
  if (status >= 500 && !is_read(r->verb))
    resp.err = K8SHA_EUNKNOWN_OUTCOME; /* e.g. etcd timed out after the write was proposed */
  if (resp.err && !resp.message) {
    snprintf(message, sizeof(message), "%s %s: HTTP %ld", verb_method[r->verb], r->url, status);
    resp.message = message;
  }
  if (resp.err)
    k8sha__log(k->rt, K8SHA_LOG_DEBUG, "kube", "%s %s -> %ld %s", verb_method[r->verb], r->url,
               status, resp.message);
  complete_resp(r, &resp);
  json_decref(resp.json);
}

k8sha__req *k8sha__req_new(k8sha__kube *k, k8sha__verb verb, const char *path) {
  const k8sha_allocator *a = &k->rt->alloc;
  k8sha__req *r = k8sha__calloc(a, 1, sizeof(*r));
  if (!r)
    return NULL;
  r->k = k;
  r->verb = verb;
  r->url = k8sha__asprintf(a, "%s%s", k->server, path);
  r->easy = curl_easy_init();
  if (!r->url || !r->easy) {
    k8sha__free(a, r->url);
    if (r->easy)
      curl_easy_cleanup(r->easy);
    k8sha__free(a, r);
    return NULL;
  }
  r->state = REQ_FINISHING; /* not in curl yet */
  r->next = k->reqs;
  if (k->reqs)
    k->reqs->prev = r;
  k->reqs = r;
  return r;
}

int k8sha__req_start(k8sha__kube *k, const k8sha__req_opts *o, k8sha__req_cb cb, void *user_data,
                     k8sha__req **out) {
  const k8sha_allocator *a;
  k8sha__req *r;
  int rc;

  if (!k || !o || !o->path || !cb || o->verb == K8SHA__WATCH)
    return K8SHA_EINVAL;
  if (k->closing)
    return K8SHA_ECLOSED;
  a = &k->rt->alloc;
  r = k8sha__req_new(k, o->verb, o->path);
  if (!r)
    return K8SHA_ENOMEM;
  r->cb = cb;
  r->user_data = user_data;
  r->on_attempt_timeout = o->on_attempt_timeout;
  r->timeout_ms = o->timeout_ms ? o->timeout_ms : k->default_timeout_ms;
  r->max_attempts = o->max_attempts ? o->max_attempts : READ_ATTEMPTS;
  r->deadline_at = k8sha__now_ms(k->rt) +
                   (o->deadline_ms ? o->deadline_ms : r->timeout_ms * r->max_attempts);
  if (o->json || o->body) {
    r->body = o->json ? k8sha__json_text(a, o->json, JSON_COMPACT, &r->body_len)
                      : k8sha__strndup(a, o->body, o->body_len);
    if (!o->json)
      r->body_len = o->body_len;
    if (!r->body) {
      k8sha__req_destroy(r);
      return K8SHA_ENOMEM;
    }
  }
  r->metadata_only = o->metadata_only;
  r->urgent = o->urgent;
  if (o->content_type && !(r->content_type = k8sha__strdup(a, o->content_type))) {
    k8sha__req_destroy(r);
    return K8SHA_ENOMEM;
  }
  rc = k8sha__req_launch(r);
  if (rc) {
    k8sha__req_destroy(r);
    return rc;
  }
  if (out)
    *out = r;
  return 0;
}

void k8sha__req_cancel(k8sha__req *r) {
  if (!r)
    return;
  if (r->state == REQ_FINISHING) {
    r->cancelled = 1; /* process() frees it */
    return;
  }
  k8sha__req_destroy(r);
}

void *k8sha__req_user_data(const k8sha__req *r) {
  return r->user_data;
}

char *k8sha__query_escape(k8sha__kube *k, const char *value) {
  char *esc = curl_easy_escape(NULL, value, 0);
  char *copy;
  if (!esc)
    return NULL;
  copy = k8sha__strdup(&k->rt->alloc, esc);
  curl_free(esc);
  return copy;
}
