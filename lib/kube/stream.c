/* Streams: a watch's chunked answer split into lines, delivered from the loop, with a silence
 * limit; a stream ends once, with the reason. */
#include <stdio.h>
#include <string.h>

#include "k8sha/errors.h"
#include "kube/client_priv.h"

/* The queues a stream waits in (the pending streams here, the finished transfers in glue.c)
 * hold a reference to it (core/life.h), taken when it goes in and dropped when it comes out: a
 * stream its owner closed meanwhile is destroyed by the last of them. */
void k8sha__stream_hold(k8sha__req *r) {
  k8sha__life_enter(&r->life);
}

void k8sha__stream_release(k8sha__req *r) {
  int gone;
  k8sha__life_leave(&r->life, &gone);
  if (gone)
    k8sha__req_destroy(r);
}

void k8sha__stream_mark_pending(k8sha__req *r) {
  k8sha__kube *k = r->k;
  if (r->stream_pending)
    return;
  r->stream_pending = 1;
  k8sha__stream_hold(r);
  r->pending_next = k->pending;
  k->pending = r;
}

/* A watch whose response has not begun within the client's timeout (a server that accepts the
 * connection and never answers): ended as a timed-out transfer, so that its owner reports it and
 * tries again, instead of waiting for the low-speed limit (minutes). */
static void on_stream_silent(void *user_data) {
  k8sha__req *r = user_data;
  k8sha__kube *k = r->k;
  if (r->state != REQ_ACTIVE || r->responded || r->cancelled)
    return;
  curl_multi_remove_handle(k->multi, r->easy);
  r->state = REQ_FINISHING;
  r->curl_result = CURLE_OPERATION_TIMEDOUT;
  snprintf(r->errbuf, sizeof(r->errbuf), "no response within %llu ms",
           (unsigned long long)r->attempt_timeout_ms);
  r->stream_ended = 1;
  k8sha__stream_mark_pending(r);
  k->busy++;
  k8sha__streams_dispatch(k);
  k->busy--;
}

int k8sha__stream_open(k8sha__kube *k, const char *path, unsigned int idle_limit_s,
                       const k8sha__stream_cbs *cbs, void *user_data, k8sha__stream **out) {
  k8sha__req *r;
  int rc;

  if (!k || !path || !cbs || !cbs->on_line || !cbs->on_end || !out)
    return K8SHA_EINVAL;
  if (k->closing)
    return K8SHA_ECLOSED;
  r = k8sha__req_new(k, K8SHA__WATCH, path);
  if (!r)
    return K8SHA_ENOMEM;
  r->is_stream = 1;
  k8sha__life_init(&r->life);
  r->scbs = *cbs;
  r->user_data = user_data;
  r->timeout_ms = (uint64_t)(idle_limit_s ? idle_limit_s : 60) * 1000;
  r->max_attempts = 1;
  r->attempt_timeout_ms = k->default_timeout_ms; /* (for the start of the response) */
  r->retry_timer = k8sha__timer_new(k->rt, on_stream_silent, r);
  rc = r->retry_timer ? k8sha__req_launch(r) : K8SHA_ENOMEM;
  if (rc) {
    k8sha__req_destroy(r);
    return rc;
  }
  k8sha__timer_start(r->retry_timer, r->attempt_timeout_ms);
  *out = (k8sha__stream *)r;
  return 0;
}

/* The owner's close: takes the stream out of curl and drops the owner's reference. The stream
 * is destroyed when no callback of it runs and no queue holds it (core/life.h). */
void k8sha__stream_discard(k8sha__req *r) {
  if (r->state == REQ_ACTIVE) {
    curl_multi_remove_handle(r->k->multi, r->easy);
    r->state = REQ_FINISHING;
  }
  r->cancelled = 1;
  if (k8sha__life_close(&r->life))
    k8sha__req_destroy(r);
}

void k8sha__stream_close(k8sha__stream *s) {
  if (s)
    k8sha__stream_discard((k8sha__req *)s);
}

/* Delivers the complete lines of one stream, then its end. */
static void dispatch_one(k8sha__req *r) {
  k8sha__kube *k = r->k;
  int stop = 0;

  k8sha__life_enter(&r->life);
  while (!r->life.closed && !stop && r->lines_ok) {
    char *start = r->rbuf + r->scan;
    char *nl = r->rlen > r->scan ? memchr(start, '\n', r->rlen - r->scan) : NULL;
    size_t len;
    if (!nl)
      break;
    len = (size_t)(nl - start);
    *nl = '\0';
    r->scan += len + 1;
    if (len > 0 && start[len - 1] == '\r')
      start[--len] = '\0';
    if (len == 0)
      continue;
    stop = r->scbs.on_line(start, len, r->user_data);
  }
  if (!r->life.closed) {
    /* Drop delivered bytes so the buffer holds only the partial line. */
    if (r->scan > 0) {
      memmove(r->rbuf, r->rbuf + r->scan, r->rlen - r->scan);
      r->rlen -= r->scan;
      r->scan = 0;
      if (r->rbuf)
        r->rbuf[r->rlen] = '\0';
    }
    if (stop || r->stream_ended) {
      k8sha__resp resp;
      long status = 0;
      int err = stop;
      char message[CURL_ERROR_SIZE + 256];

      memset(&resp, 0, sizeof(resp));
      if (!stop) {
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        k8sha__kube_count_response(k, status, r->curl_result);
        resp.http_status = status;
        resp.body = r->rbuf ? r->rbuf : "";
        resp.body_len = r->rlen;
        if (r->curl_result != CURLE_OK) {
          err = k8sha__transport_err(r->curl_result);
          snprintf(message, sizeof(message), "watch %s: %s", r->url,
                   r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->curl_result));
          resp.message = message;
        } else if (status < 200 || status >= 300) {
          json_error_t jerr;
          if (status == 401)
            k8sha__kube_reload_token(k); /* the next watch goes out with the rotated token */
          resp.json = json_loadb(resp.body, resp.body_len, 0, &jerr);
          k8sha__read_status(&resp, resp.json);
          err = k8sha__status_to_err(status, resp.reason);
          if (!resp.message) {
            snprintf(message, sizeof(message), "watch %s: HTTP %ld", r->url, status);
            resp.message = message;
          }
        } else if (r->rlen > 0) {
          /* The server closed the stream in the middle of an event. */
          err = K8SHA_ECORRUPT;
          snprintf(message, sizeof(message),
                   "watch %s: the stream ended inside an event (%zu bytes without a newline)",
                   r->url, r->rlen);
          resp.message = message;
        }
      } else if (r->state == REQ_ACTIVE) {
        curl_multi_remove_handle(k->multi, r->easy);
        r->state = REQ_FINISHING;
      }
      resp.err = err;
      /* The stream is over: the owner's reference goes now (closing it in on_end is a no-op). */
      r->cancelled = 1;
      k8sha__life_close(&r->life);
      r->scbs.on_end(err, &resp, r->user_data);
      json_decref(resp.json);
    }
  }
  k8sha__stream_release(r);
}

void k8sha__streams_dispatch(k8sha__kube *k) {
  while (k->pending) {
    k8sha__req *r = k->pending;
    k->pending = r->pending_next;
    r->pending_next = NULL;
    r->stream_pending = 0;
    if (!r->life.closed)
      dispatch_one(r);
    k8sha__stream_release(r); /* (the queue's reference) */
  }
}
