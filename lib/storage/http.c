/* One blocking HTTP exchange (see http.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "storage/http.h"

struct k8sha__http_share {
  CURLSH *handle;
  uv_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *user) {
  k8sha__http_share *s = user;
  (void)h;
  (void)access;
  uv_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *user) {
  k8sha__http_share *s = user;
  (void)h;
  uv_mutex_unlock(&s->locks[data]);
}

k8sha__http_share *k8sha__http_share_new(void) {
  k8sha__http_share *s = calloc(1, sizeof(*s));
  int locks = 0;
  if (!s)
    return NULL;
  for (; locks < CURL_LOCK_DATA_LAST; locks++)
    if (uv_mutex_init(&s->locks[locks]) != 0)
      break;
  s->handle = curl_share_init();
  if (locks < CURL_LOCK_DATA_LAST || !s->handle ||
      curl_share_setopt(s->handle, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
      curl_share_setopt(s->handle, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
      curl_share_setopt(s->handle, CURLSHOPT_USERDATA, s) != CURLSHE_OK ||
      curl_share_setopt(s->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
      curl_share_setopt(s->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
      curl_share_setopt(s->handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    curl_share_cleanup(s->handle);
    while (locks-- > 0)
      uv_mutex_destroy(&s->locks[locks]);
    free(s);
    return NULL;
  }
  return s;
}

void k8sha__http_share_free(k8sha__http_share *s) {
  int i;
  if (!s)
    return;
  curl_share_cleanup(s->handle);
  for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
    uv_mutex_destroy(&s->locks[i]);
  free(s);
}

typedef struct sink {
  k8sha__http_answer *a;
  size_t cap, limit;
  int too_big, oom;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *user) {
  sink *s = user;
  k8sha__http_answer *a = s->a;
  size_t add = size * n;
  if (add > s->limit - a->len) {
    s->too_big = 1;
    return 0;
  }
  if (a->len + add + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    char *nb;
    while (cap < a->len + add + 1)
      cap *= 2;
    if (!(nb = realloc(a->body, cap))) {
      s->oom = 1;
      return 0;
    }
    a->body = nb;
    s->cap = cap;
  }
  memcpy(a->body + a->len, p, add);
  a->len += add;
  a->body[a->len] = '\0';
  return add;
}

void k8sha__http_answer_clear(k8sha__http_answer *a) {
  free(a->body);
  free(a->location);
  memset(a, 0, sizeof(*a));
}

int k8sha__http_do(const k8sha__http_req *req, k8sha__http_answer *a, char *err, size_t err_len) {
  struct curl_slist *list = NULL, *l;
  const char *const *h;
  const char *path = strstr(req->url, "://");
  sink s = {a, 0, req->answer_limit, 0, 0};
  CURL *curl;
  CURLcode cc;
  int host_len;

  memset(a, 0, sizeof(*a));
  a->content_length = -1;
  path = path ? strchr(path + 3, '/') : NULL;
  host_len = path ? (int)(path - req->url) : (int)strlen(req->url);
  for (h = req->headers; h && *h; h++) {
    if (!(l = curl_slist_append(list, *h)))
      goto oom;
    list = l;
  }
  if (!(l = curl_slist_append(list, "Expect:"))) /* (no 100-continue round trip) */
    goto oom;
  list = l;
  if (!(curl = curl_easy_init()))
    goto oom;
  curl_easy_setopt(curl, CURLOPT_URL, req->url);
  if (req->share)
    curl_easy_setopt(curl, CURLOPT_SHARE, req->share->handle);
  if (req->negotiate) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_NEGOTIATE);
    curl_easy_setopt(curl, CURLOPT_USERPWD, ":"); /* (the ticket's principal) */
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  if (req->timeout_ms > 0)
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled transfer ends after 30 s */
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
  if (strcmp(req->method, "GET") != 0)
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
  if (req->body || strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
  }
  cc = curl_easy_perform(curl);
  if (cc == CURLE_OK) {
    const char *location = NULL;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->code);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &a->content_length);
    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location &&
        !(a->location = strdup(location))) {
      s.oom = 1;
      cc = CURLE_OUT_OF_MEMORY;
      snprintf(err, err_len, "out of memory");
    }
  } else {
    snprintf(err, err_len, "%s %.*s: %s", req->method, host_len > 200 ? 200 : host_len, req->url,
             s.too_big ? "the answer is too large" : s.oom ? "out of memory"
                                                           : curl_easy_strerror(cc));
  }
  curl_easy_cleanup(curl);
  curl_slist_free_all(list);
  if (cc != CURLE_OK) {
    k8sha__http_answer_clear(a);
    return s.oom ? -3 : s.too_big ? -2 : -1;
  }
  return 0;
oom:
  curl_slist_free_all(list);
  snprintf(err, err_len, "out of memory");
  return -3;
}
