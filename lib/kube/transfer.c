/* One attempt's transfer: the curl handle's options (URL, TLS, credentials, timeouts), the body
 * handed to curl, and the bytes and headers curl hands back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "k8sha/errors.h"
#include "kube/client_priv.h"

static size_t on_body(char *data, size_t size, size_t nmemb, void *user_data) {
  k8sha__req *r = user_data;
  size_t n = size * nmemb;

  if (r->rlen + n + 1 > RESPONSE_MAX) {
    r->too_large = 1;
    return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
  }
  if (k8sha__grow(&r->k->rt->alloc, (void **)&r->rbuf, &r->rcap, r->rlen + n + 1, 1) != 0) {
    /* Not a cut body delivered as the answer: the attempt fails as out of memory. */
    r->oom = 1;
    return 0;
  }
  memcpy(r->rbuf + r->rlen, data, n);
  r->rlen += n;
  r->rbuf[r->rlen] = '\0';
  r->k->rt->stats.bytes_received += n;
  if (r->is_stream && memchr(data, '\n', n)) {
    /* Only a 2xx body is a stream of events: an error Status (which a real API server ends with
     * a newline) is delivered whole when the stream ends. */
    long code = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300) {
      r->lines_ok = 1;
      k8sha__stream_mark_pending(r);
    }
  }
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user_data) {
  k8sha__req *r = user_data;
  size_t n = size * nmemb;
  if (!r->responded) {
    r->responded = 1;
    if (r->is_stream)
      k8sha__timer_stop(r->retry_timer); /* the watch has begun: its start is no longer bounded */
  }
  (void)data;
  return n;
}

static int add_header(k8sha__req *r, const char *h) {
  struct curl_slist *l = curl_slist_append(r->headers, h);
  if (!l)
    return K8SHA_ENOMEM;
  r->headers = l;
  return 0;
}

/* Hands a request's body to curl. libcurl sends a request again by itself, on a fresh
 * connection and within the same attempt, when a reused connection dies before any byte of the
 * answer: a write the server may have applied before the connection died would be sent twice,
 * and if that second connection is refused the attempt would look like one that never reached
 * the server. So a body curl has taken is never given again (without a seek callback curl
 * cannot rewind it and ends the attempt with CURLE_SEND_FAIL_REWIND), and an attempt counts as
 * sent, whatever error ends it, once curl took any byte of its body (k8sha__req_finished).
 * Every write the library makes carries a body. */
static size_t on_send(char *buf, size_t size, size_t nitems, void *ud) {
  k8sha__req *r = ud;
  size_t n = size * nitems, left = r->body_len - r->body_sent;
  if (n > left)
    n = left;
  memcpy(buf, r->body + r->body_sent, n);
  r->body_sent += n;
  return n;
}

int k8sha__req_prepare(k8sha__req *r) {
  k8sha__kube *k = r->k;
  const k8sha__kube_access *acc = k->access;
  CURL *e = r->easy;
  char *auth = NULL;
  int rc = 0;

  curl_slist_free_all(r->headers);
  r->headers = NULL;
  r->rlen = 0;
  r->too_large = 0;
  r->scan = 0;
  r->lines_ok = 0;
  r->responded = 0;
  r->errbuf[0] = '\0';
  curl_easy_reset(e);
  curl_easy_setopt(e, CURLOPT_URL, r->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, k8sha__verb_method(r->verb));
  r->body_sent = 0;
  if (r->body) {
    /* Through a read callback and without a seek callback: see on_send. */
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_send);
    curl_easy_setopt(e, CURLOPT_READDATA, r);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    k->rt->stats.bytes_sent += r->body_len;
  }
  if (r->is_stream) {
    /* No total timeout on a watch: the server's timeoutSeconds ends it; a dead peer is caught by
     * the low-speed limit (bookmarks and events keep a healthy stream above it). */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)k->default_timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)r->timeout_ms / 1000);
  } else {
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->attempt_timeout_ms);
  }
  /* TLS */
  if (acc->insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (k->connect_to)
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, k->connect_to);
  /* A configured CA replaces the system's trust, as in client-go: neither libcurl's default
   * bundle nor its default CA directory may vouch for the API server. */
  if (acc->ca_file || acc->ca_pem) {
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(e, CURLOPT_CAINFO, acc->ca_file);
  }
  if (acc->ca_pem) {
    struct curl_blob blob = {acc->ca_pem, acc->ca_pem_len, CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (acc->cert_file)
    curl_easy_setopt(e, CURLOPT_SSLCERT, acc->cert_file);
  if (acc->cert_pem) {
    struct curl_blob blob = {acc->cert_pem, acc->cert_pem_len, CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
  }
  if (acc->key_file)
    curl_easy_setopt(e, CURLOPT_SSLKEY, acc->key_file);
  if (acc->key_pem) {
    struct curl_blob blob = {acc->key_pem, acc->key_pem_len, CURL_BLOB_COPY};
    curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
  }
  /* Headers */
  rc |= add_header(r, r->metadata_only ? "Accept: " K8SHA__ACCEPT_METADATA ", application/json"
                                        : "Accept: application/json");
  if (r->body) {
    char ct[160];
    snprintf(ct, sizeof(ct), "Content-Type: %s",
             r->content_type ? r->content_type : "application/json");
    rc |= add_header(r, ct);
  }
  /* curl adds "Expect: 100-continue" to large bodies, costing a round trip. */
  rc |= add_header(r, "Expect:");
  if (k->token && *k->token) {
    auth = k8sha__asprintf(&k->rt->alloc, "Authorization: Bearer %s", k->token);
    if (!auth)
      rc = K8SHA_ENOMEM;
    else
      rc |= add_header(r, auth);
    if (auth) {
      memset(auth, 0, strlen(auth));
      k8sha__free(&k->rt->alloc, auth);
    }
  }
  if (rc)
    return K8SHA_ENOMEM;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  return 0;
}

