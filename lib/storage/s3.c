/* The s3:// backend (also s3a:// and s3p://, one namespace): blobs are S3 objects, written with
 * PutObject under `If-None-Match: *` (S3 refuses to replace an existing object; a server that
 * ignores the header replaces it, see docs/storage.md), read with GetObject (the length checked
 * against Content-Length), deleted with DeleteObject (an absent object is success), listed with
 * ListObjectsV2 page by page. Requests are signed here (storage/sigv4.c), answers' XML read by
 * storage/s3xml.c. Each operation runs on libuv's thread pool as blocking libcurl transfers that
 * share one connection cache; transient failures (no connection, 5xx, 429, SlowDown,
 * RequestTimeout) are retried with a jittered backoff. Memory on the pool threads comes from
 * malloc: the context's allocator is not required to be thread-safe. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "config/s3_conf.h"
#include "core/alloc.h"
#include "k8sha/errors.h"
#include "storage/http.h"
#include "storage/s3.h"
#include "storage/s3_creds.h"
#include "storage/s3xml.h"
#include "storage/sigv4.h"
#include "storage/pool.h"
#include "storage/storage.h"

#define S3_BLOB_MAX (1024u * 1024u * 1024u) /* a state blob larger than this is refused */
#define S3_ANSWER_MAX (1024u * 1024u)       /* an error or list answer larger than this is */
#define S3_ATTEMPTS 5                       /* tries of one request, transient failures */
#define S3_BUCKET_MAX 63

typedef struct s3_backend {
  k8sha__pool pool; /* (first) */
  k8sha__s3_conf conf;
  k8sha__s3_creds *creds;
  k8sha__http_share *share; /* connections, DNS and TLS sessions, across the pool's threads */
} s3_backend;

typedef k8sha__http_answer answer;

#define failf(w, ...) k8sha__pool_failf(&(w)->base, __VA_ARGS__)

typedef struct s3_work {
  k8sha__pool_work base; /* (first) */
  s3_backend *b;
  char scheme[4];
  char bucket[S3_BUCKET_MAX + 1];
  char key[K8SHA__S3_KEY_MAX + 1];
  k8sha__s3_keys keys; /* the credentials of the request under way */
} s3_work;

/* Splits "s3://bucket/key" into the work's scheme, bucket and key. 0 or K8SHA_EINVAL. */
static int split_uri(s3_work *w, const char *uri, int key_may_be_empty) {
  const char *sep = strstr(uri, "://"), *bucket, *slash;
  size_t slen, blen, i;
  if (!sep || !k8sha__s3_scheme(uri, (size_t)(sep - uri)))
    return K8SHA_EINVAL;
  slen = (size_t)(sep - uri);
  bucket = sep + 3;
  slash = strchr(bucket, '/');
  blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
  if (blen == 0 || blen > S3_BUCKET_MAX || (!slash && !key_may_be_empty))
    return K8SHA_EINVAL;
  for (i = 0; i < slen; i++)
    w->scheme[i] = (char)(uri[i] | 0x20);
  w->scheme[slen] = '\0';
  memcpy(w->bucket, bucket, blen);
  w->bucket[blen] = '\0';
  for (i = 0; i < blen; i++) /* S3's bucket names: lowercase letters, digits, '.', '-' */
    if (!((bucket[i] >= 'a' && bucket[i] <= 'z') || (bucket[i] >= '0' && bucket[i] <= '9') ||
          bucket[i] == '.' || bucket[i] == '-'))
      return K8SHA_EINVAL;
  if (!slash)
    return 0;
  if (strlen(slash + 1) > K8SHA__S3_KEY_MAX || (!key_may_be_empty && slash[1] == '\0'))
    return K8SHA_EINVAL;
  for (i = 1; slash[i]; i++)
    if ((unsigned char)slash[i] < 0x20 || slash[i] == 0x7f)
      return K8SHA_EINVAL;
  memcpy(w->key, slash + 1, strlen(slash + 1) + 1);
  return 0;
}

/* Where a request goes: the Host header, the URL up to the path, and the bucket's place in the
 * path. Path-style when configured, and for a bucket with '.' on AWS (its TLS certificate
 * covers one label only). */
static void target(const s3_work *w, char *host, size_t host_len, char *base, size_t base_len,
                   int *bucket_in_path) {
  const k8sha__s3_conf *c = &w->b->conf;
  char aws[128];
  const char *endpoint = c->endpoint, *h;
  if (!endpoint[0]) {
    snprintf(aws, sizeof(aws), "https://s3.%s.amazonaws.com", c->region);
    endpoint = aws;
  }
  h = strstr(endpoint, "://") + 3;
  *bucket_in_path = c->path_style || (!c->endpoint[0] && strchr(w->bucket, '.'));
  if (*bucket_in_path) {
    snprintf(host, host_len, "%s", h);
    snprintf(base, base_len, "%s", endpoint);
  } else {
    snprintf(host, host_len, "%s.%s", w->bucket, h);
    snprintf(base, base_len, "%.*s%s.%s", (int)(h - endpoint), endpoint, w->bucket, h);
  }
}

/* One signed request. 0 with the answer; -1 no answer (`err` says why), -2 an answer past the
 * limit, -3 out of memory, -4 no credentials (`err` says why; w->base.status set). */
static int request(s3_work *w, const char *method, const char *key, const k8sha__sigv4_pair *query,
                   size_t n_query, const void *body, size_t body_len, int if_none_match,
                   answer *a, char *err, size_t err_len) {
  const k8sha__s3_conf *c = &w->b->conf;
  char host[600], base[700], path[3 * K8SHA__S3_KEY_MAX + 80], epath[3 * K8SHA__S3_KEY_MAX + 200];
  char q[4096], url[sizeof(base) + sizeof(epath) + sizeof(q) + 2], date[20], hash[65];
  char auth[1024], lines[6][sizeof(((k8sha__s3_keys *)0)->session_token) + 64];
  const char *headers[7];
  k8sha__sigv4_pair h[5];
  k8sha__s3_keys *keys = &w->keys;
  size_t n_h = 0, i;
  int bucket_in_path, rc;
  struct tm tm;
  time_t now = time(NULL);
  k8sha__sigv4_request r;
  k8sha__http_req req;

  rc = k8sha__s3_creds_get(w->b->creds, keys, err, err_len);
  if (rc) {
    w->base.status = rc;
    return -4;
  }
  target(w, host, sizeof(host), base, sizeof(base), &bucket_in_path);
  if (bucket_in_path)
    snprintf(path, sizeof(path), "/%s%s%s", w->bucket, key[0] ? "/" : "", key);
  else
    snprintf(path, sizeof(path), "/%s", key);
  gmtime_r(&now, &tm);
  strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
  k8sha__sha256_hex(body ? body : "", body ? body_len : 0, hash);
  h[n_h++] = (k8sha__sigv4_pair){"x-amz-date", date};
  h[n_h++] = (k8sha__sigv4_pair){"x-amz-content-sha256", hash};
  if (keys->session_token[0])
    h[n_h++] = (k8sha__sigv4_pair){"x-amz-security-token", keys->session_token};
  if (if_none_match)
    h[n_h++] = (k8sha__sigv4_pair){"if-none-match", "*"};
  if (body)
    h[n_h++] = (k8sha__sigv4_pair){"content-type", "application/octet-stream"};
  r = (k8sha__sigv4_request){method, host, path, query, n_query, h, n_h, hash, c->region, "s3",
                             keys->access_key, keys->secret_key, date};
  if (k8sha__sigv4_encode(path, 1, epath, sizeof(epath)) != 0 ||
      k8sha__sigv4_query(query, n_query, q, sizeof(q)) != 0 ||
      k8sha__sigv4_authorization(&r, auth, sizeof(auth)) != 0) {
    snprintf(err, err_len, "the request could not be signed (a name or value is too long)");
    return -1;
  }
  snprintf(url, sizeof(url), "%s%s%s%s", base, epath, q[0] ? "?" : "", q);
  for (i = 0; i < n_h; i++) {
    snprintf(lines[i], sizeof(lines[i]), "%s: %s", h[i].name, h[i].value);
    headers[i] = lines[i];
  }
  snprintf(lines[n_h], sizeof(lines[n_h]), "Authorization: %s", auth);
  headers[n_h] = lines[n_h];
  headers[n_h + 1] = NULL;
  memset(&req, 0, sizeof(req));
  req.method = method;
  req.url = url;
  req.headers = headers;
  req.body = body;
  req.body_len = body_len;
  req.answer_limit = w->base.kind == K8SHA__POOL_READ ? S3_BLOB_MAX : S3_ANSWER_MAX;
  req.connect_timeout_ms = 10000;
  req.share = w->b->share;
  return k8sha__http_do(&req, a, err, err_len);
}

/* Whether an answer is worth another try: the server's fault or its load. */
static int transient(const answer *a, const k8sha__s3_error *e) {
  return a->code >= 500 || a->code == 429 || strcmp(e->code, "SlowDown") == 0 ||
         strcmp(e->code, "RequestTimeout") == 0 ||
         strcmp(e->code, "ConditionalRequestConflict") == 0 ||
         strcmp(e->code, "OperationAborted") == 0;
}

/* A definite answer that is not a success: the status it means, with the message. */
static void fail_answer(s3_work *w, const char *what, const answer *a, const k8sha__s3_error *e) {
  const k8sha__s3_conf *c = &w->b->conf;
  const char *code = e->code[0] ? e->code : "(no error code)";
  if (a->code == 403 || a->code == 401 || strcmp(e->code, "ExpiredToken") == 0 ||
      strcmp(e->code, "InvalidToken") == 0 || strcmp(e->code, "TokenRefreshRequired") == 0)
    failf(w, K8SHA_EFORBIDDEN,
          "s3: %s %s: %ld %s: %s (bucket '%s', key '%s'; credentials from %s)", what, w->base.uri,
          a->code, code, e->message, w->bucket, w->key,
          c->source[0] ? c->source : "nowhere: none are configured");
  else if (strcmp(e->code, "NoSuchBucket") == 0)
    failf(w, K8SHA_ESTORAGE, "s3: %s %s: the bucket '%s' does not exist (endpoint %s)", what,
          w->base.uri, w->bucket, c->endpoint[0] ? c->endpoint : "AWS's");
  else if (a->code == 404 && w->base.kind == K8SHA__POOL_READ)
    failf(w, K8SHA_ENOTFOUND, "s3: %s %s: no such object (%s)", what, w->base.uri, code);
  else
    failf(w, K8SHA_ESTORAGE, "s3: %s %s: %ld %s: %s", what, w->base.uri, a->code, code, e->message);
}

/* Runs one request, trying transient failures again. 1 when `a` holds a definite answer (which
 * may be a failure to read with fail_answer()); 0 when the work failed (w->base.status set).
 * `*sent` says whether an earlier attempt may have reached the server. */
static int exchange(s3_work *w, const char *what, const char *method, const char *key,
                    const k8sha__sigv4_pair *query, size_t n_query, int if_none_match,
                    answer *a, k8sha__s3_error *e, int *sent) {
  char err[400] = "";
  unsigned attempt;
  int rc;
  for (attempt = 0;; attempt++) {
    memset(e, 0, sizeof(*e));
    int write = w->base.kind == K8SHA__POOL_WRITE;
    rc = request(w, method, key, query, n_query, write ? w->base.data : NULL,
                 write ? w->base.len : 0, if_none_match, a, err, sizeof(err));
    if (rc == -3) {
      failf(w, K8SHA_ENOMEM, "s3: %s %s: out of memory", what, w->base.uri);
      return 0;
    }
    if (rc == -4) { /* (the source has tried again itself) */
      failf(w, w->base.status, "s3: %s %s: %s", what, w->base.uri, err);
      return 0;
    }
    if (rc == -2) {
      failf(w, K8SHA_ESTORAGE, "s3: %s %s: the answer is larger than %u bytes", what, w->base.uri,
            w->base.kind == K8SHA__POOL_READ ? S3_BLOB_MAX : S3_ANSWER_MAX);
      k8sha__http_answer_clear(a);
      return 0;
    }
    if (rc == 0 && a->code >= 300 && a->body)
      k8sha__s3_parse_error(a->body, a->len, e);
    if (rc == 0 && !(a->code >= 300 && transient(a, e)))
      return 1;
    if (rc == 0)
      snprintf(err, sizeof(err), "%ld %s", a->code, e->code[0] ? e->code : "");
    *sent = 1;
    if (attempt + 1 >= S3_ATTEMPTS) {
      failf(w, K8SHA_ESTORAGE, "s3: %s %s: %s (after %d tries)", what, w->base.uri, err,
            S3_ATTEMPTS);
      k8sha__http_answer_clear(a);
      return 0;
    }
    k8sha__http_answer_clear(a);
    k8sha__pool_backoff(attempt);
  }
}

static void do_write(s3_work *w) {
  answer a;
  k8sha__s3_error e;
  int sent = 0;
  if (!exchange(w, "PutObject", "PUT", w->key, NULL, 0, 1, &a, &e, &sent))
    return;
  if (a.code == 412 && sent) {
    /* An earlier try may have written it: the object is ours when it holds our bytes. */
    s3_work r = *w;
    int got;
    k8sha__http_answer_clear(&a);
    r.base.kind = K8SHA__POOL_READ;
    got = exchange(&r, "GetObject", "GET", w->key, NULL, 0, 0, &a, &e, &sent) && a.code == 200;
    if (got && k8sha__pool_same_bytes(&w->base, a.body, a.len)) {
      k8sha__http_answer_clear(&a);
      return;
    }
    k8sha__http_answer_clear(&a);
    if (got)
      failf(w, K8SHA_EEXISTS, "s3: PutObject %s: the object exists (and holds other bytes)",
            w->base.uri);
    else
      failf(w, K8SHA_EEXISTS, "s3: PutObject %s: the object exists and could not be read back "
            "to tell whether an earlier try wrote it: %.600s", w->base.uri,
            r.base.status ? r.base.message : "GetObject did not answer 200");
    return;
  }
  if (a.code == 412)
    failf(w, K8SHA_EEXISTS, "s3: PutObject %s: the object exists", w->base.uri);
  else if (a.code != 200)
    fail_answer(w, "PutObject", &a, &e);
  k8sha__http_answer_clear(&a);
}

static void do_read(s3_work *w) {
  answer a;
  k8sha__s3_error e;
  int sent = 0;
  if (!exchange(w, "GetObject", "GET", w->key, NULL, 0, 0, &a, &e, &sent))
    return;
  if (a.code != 200)
    fail_answer(w, "GetObject", &a, &e);
  else
    k8sha__pool_take_read(&w->base, &a.body, a.len, a.content_length, "s3: GetObject");
  k8sha__http_answer_clear(&a);
}

static void do_remove(s3_work *w) {
  answer a;
  k8sha__s3_error e;
  int sent = 0;
  if (!exchange(w, "DeleteObject", "DELETE", w->key, NULL, 0, 0, &a, &e, &sent))
    return;
  if (a.code != 200 && a.code != 204 && !(a.code == 404 && strcmp(e.code, "NoSuchKey") == 0))
    fail_answer(w, "DeleteObject", &a, &e);
  k8sha__http_answer_clear(&a);
}

/* The objects whose keys start with the prefix, in its folder only (deeper keys come back as
 * common prefixes, which are not blobs of that folder). */
static void do_list(s3_work *w) {
  k8sha__sigv4_pair q[5];
  char token[1024] = "", uri[K8SHA__S3_KEY_MAX + 96], why[300], max_keys[16];
  const char *folder_end = strrchr(w->key, '/');
  size_t i, n_q;
  int more = 1, sent = 0, pages = 0;
  while (more) {
    answer a;
    k8sha__s3_error e;
    k8sha__s3_list_page page;
    n_q = 0;
    q[n_q++] = (k8sha__sigv4_pair){"list-type", "2"};
    q[n_q++] = (k8sha__sigv4_pair){"prefix", w->key};
    q[n_q++] = (k8sha__sigv4_pair){"delimiter", "/"};
    snprintf(max_keys, sizeof(max_keys), "%u", w->b->conf.list_page);
    q[n_q++] = (k8sha__sigv4_pair){"max-keys", max_keys};
    if (token[0])
      q[n_q++] = (k8sha__sigv4_pair){"continuation-token", token};
    if (!exchange(w, "ListObjectsV2", "GET", "", q, n_q, 0, &a, &e, &sent))
      return;
    if (a.code != 200) {
      fail_answer(w, "ListObjectsV2", &a, &e);
      k8sha__http_answer_clear(&a);
      return;
    }
    if (k8sha__s3_parse_list(a.body ? a.body : "", a.len, &page, why, sizeof(why)) != 0) {
      failf(w, K8SHA_ESTORAGE, "s3: ListObjectsV2 %s (page %d): %s", w->base.uri, pages + 1, why);
      k8sha__http_answer_clear(&a);
      return;
    }
    k8sha__http_answer_clear(&a);
    for (i = 0; i < page.n_keys && w->base.status == 0; i++) {
      const char *k = page.keys[i];
      if (strncmp(k, w->key, strlen(w->key)) != 0 ||
          (folder_end && strchr(k + (folder_end - w->key) + 1, '/')) ||
          (!folder_end && strchr(k, '/')))
        continue; /* (not below the prefix, or in a deeper folder) */
      snprintf(uri, sizeof(uri), "%s://%s/%s", w->scheme, w->bucket, k);
      if (k8sha_storage_op_add_entry(w->base.op, uri) != 0)
        failf(w, K8SHA_ENOMEM, "s3: ListObjectsV2 %s: out of memory", w->base.uri);
    }
    more = page.truncated && w->base.status == 0;
    if (more && strlen(page.next_token) >= sizeof(token))
      failf(w, K8SHA_ESTORAGE, "s3: ListObjectsV2 %s: a continuation token longer than %zu bytes",
            w->base.uri, sizeof(token) - 1), more = 0;
    else if (more)
      memcpy(token, page.next_token, strlen(page.next_token) + 1);
    k8sha__s3_list_page_clear(&page);
    pages++;
  }
}

static void run(k8sha__pool_work *base) {
  s3_work *w = (s3_work *)base;
  switch (base->kind) {
  case K8SHA__POOL_WRITE: do_write(w); break;
  case K8SHA__POOL_READ: do_read(w); break;
  case K8SHA__POOL_REMOVE: do_remove(w); break;
  case K8SHA__POOL_LIST: do_list(w); break;
  }
}

/* Loop thread: the bucket and key of the operation's URI. */
static int prepare(k8sha__pool_work *base) {
  s3_work *w = (s3_work *)base;
  w->b = (s3_backend *)base->pool;
  if (base->kind == K8SHA__POOL_WRITE && base->len > S3_BLOB_MAX)
    return K8SHA_ESTORAGE;
  return split_uri(w, base->uri, base->kind == K8SHA__POOL_LIST);
}

static void destroy(k8sha__pool *p) {
  s3_backend *b = (s3_backend *)p;
  k8sha__s3_creds_free(b->creds);
  k8sha_allocator a = p->alloc;
  k8sha__http_share_free(b->share);
  k8sha__free(&a, b);
}

int k8sha__s3_backend_register(k8sha__storage *st, k8sha__rt *rt, const k8sha__s3_conf *conf) {
  static const char *const schemes[] = {"s3", "s3a", "s3p"}; /* one backend, three schemes */
  s3_backend *b = k8sha__calloc(&rt->alloc, 1, sizeof(*b));
  if (!b)
    return K8SHA_ENOMEM;
  k8sha__pool_init(&b->pool, rt->loop, &rt->alloc, sizeof(s3_work), prepare, run, destroy);
  b->conf = *conf;
  b->share = k8sha__http_share_new();
  b->creds = k8sha__s3_creds_new(conf);
  if (!b->share || !b->creds) {
    destroy(&b->pool);
    return K8SHA_ENOMEM;
  }
  return k8sha__pool_register(&b->pool, st, schemes, 3);
}
