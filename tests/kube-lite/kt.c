/* Helpers shared by the kube-lite integration tests. */
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <time.h>

kubelite *kt_server;

static CURL *shared_curl;

static size_t header_cb(char *p, size_t size, size_t n, void *ud) {
  kt_resp *r = ud;
  size_t len = size * n;
  if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
    size_t i = 12;
    while (i < len && p[i] == ' ')
      i++;
    size_t j = 0;
    while (i < len && p[i] != '\r' && p[i] != '\n' && j + 1 < sizeof r->retry_after)
      r->retry_after[j++] = p[i++];
    r->retry_after[j] = '\0';
  }
  return len;
}

static void common_opts(CURL *c, kubelite *k, struct curl_slist **h, const char *token) {
  if (!token)
    token = kubelite_admin_token(k);
  if (token && *token) {
    char auth[256];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    *h = curl_slist_append(*h, auth);
  }
  if (kubelite_ca_file(k))
    curl_easy_setopt(c, CURLOPT_CAINFO, kubelite_ca_file(k));
  curl_easy_setopt(c, CURLOPT_PROXY, ""); /* straight to the server under test */
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
}

const char *kt_accept;

kt_resp kt_req(kubelite *k, const char *method, const char *path, const char *body,
               const char *ctype, const char *token) {
  kt_resp r = {0};
  if (!shared_curl)
    shared_curl = curl_easy_init();
  CURL *c = shared_curl;
  curl_easy_reset(c);
  char url[2048];
  snprintf(url, sizeof url, "%s%s", kubelite_url(k), path);
  struct curl_slist *h = NULL;
  char ct[128];
  snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
  h = curl_slist_append(h, ct);
  h = curl_slist_append(h, "Expect:");
  if (kt_accept) {
    char accept[256];
    snprintf(accept, sizeof accept, "Accept: %s", kt_accept);
    h = curl_slist_append(h, accept);
  }
  common_opts(c, k, &h, token);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kubelite_collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)KT_WAIT_MS);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  r.curl = curl_easy_perform(c);
  if (r.curl == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.code);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r.seconds);
  }
  curl_slist_free_all(h);
  if (r.body)
    r.json = json_loads(r.body, 0, NULL);
  return r;
}

void kt_resp_free(kt_resp *r) {
  json_decref(r->json);
  free(r->body);
  memset(r, 0, sizeof *r);
}

static kt_resp checked(kubelite *k, const char *m, const char *path, const char *body,
                       const char *ctype) {
  kt_resp r = kt_req(k, m, path, body, ctype, NULL);
  ck_assert_msg(r.curl == CURLE_OK, "%s %s: %s", m, path, curl_easy_strerror(r.curl));
  return r;
}

kt_resp kt_get(kubelite *k, const char *path) {
  return checked(k, "GET", path, NULL, NULL);
}
kt_resp kt_post(kubelite *k, const char *path, const char *body) {
  return checked(k, "POST", path, body, NULL);
}
kt_resp kt_put(kubelite *k, const char *path, const char *body) {
  return checked(k, "PUT", path, body, NULL);
}
kt_resp kt_patch(kubelite *k, const char *path, const char *ctype, const char *body) {
  return checked(k, "PATCH", path, body, ctype);
}
kt_resp kt_delete(kubelite *k, const char *path, const char *body) {
  return checked(k, "DELETE", path, body, NULL);
}

/* Connects to the server and sends the parts, pausing gap_ms after each but the last. */
static CURL *raw_send(kubelite *k, const char *const *parts, const size_t *lens, size_t nparts,
                      int gap_ms) {
  CURL *c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, kubelite_url(k));
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
  for (size_t i = 0; i < nparts; i++) {
    size_t off = 0, len = lens ? lens[i] : strlen(parts[i]);
    while (off < len) {
      size_t sent = 0;
      CURLcode rc = curl_easy_send(c, parts[i] + off, len - off, &sent);
      ck_assert_msg(rc == CURLE_OK || rc == CURLE_AGAIN, "send: %s", curl_easy_strerror(rc));
      off += sent;
    }
    if (gap_ms > 0 && i + 1 < nparts) {
      struct timespec ts = {gap_ms / 1000, (long)(gap_ms % 1000) * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  return c;
}

/* Reads all the server answers until it closes the connection. */
static char *raw_read(CURL *c) {
  curl_socket_t s;
  curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &s);
  size_t cap = 8192, total = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (cap - total < 4096)
      buf = realloc(buf, cap *= 2);
    size_t n = 0;
    CURLcode rc = curl_easy_recv(c, buf + total, cap - 1 - total, &n);
    if (rc == CURLE_AGAIN) {
      fd_set fds;
      FD_ZERO(&fds);
      FD_SET(s, &fds);
      struct timeval tv = {KT_WAIT_MS / 1000, 0};
      ck_assert_msg(select(s + 1, &fds, NULL, NULL, &tv) > 0,
                    "the server neither answered nor closed: %.*s", (int)total, buf);
      continue;
    }
    if (rc != CURLE_OK || n == 0)
      break;
    total += n;
  }
  buf[total] = '\0';
  curl_easy_cleanup(c);
  return buf;
}

static char *raw(kubelite *k, const char *const *parts, const size_t *lens, size_t nparts,
                 int gap_ms) {
  return raw_read(raw_send(k, parts, lens, nparts, gap_ms));
}

kt_conn *kt_raw_open(kubelite *k, const char *request) {
  return (kt_conn *)raw_send(k, &request, NULL, 1, 0);
}

char *kt_raw_finish(kt_conn *c) {
  return raw_read((CURL *)c);
}

void kt_raw_reset(kubelite *k, const char *request) {
  CURL *c = raw_send(k, &request, NULL, 1, 0);
  curl_socket_t s;
  curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &s);
  struct linger l = {1, 0}; /* close with a RST, as a killed process with unread input does */
  ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
  curl_easy_cleanup(c);
}

char *kt_raw(kubelite *k, const char *const *parts, size_t nparts, int gap_ms) {
  return raw(k, parts, NULL, nparts, gap_ms);
}

char *kt_raw_bytes(kubelite *k, const char *data, size_t len) {
  return raw(k, &data, &len, 1, 0);
}

static json_t *walk(json_t *j, const char *dotted) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", dotted);
  json_t *cur = j;
  for (char *save, *t = strtok_r(buf, ".", &save); t && cur; t = strtok_r(NULL, ".", &save)) {
    if (json_is_array(cur))
      cur = json_array_get(cur, (size_t)atoi(t));
    else
      cur = json_object_get(cur, t);
  }
  return cur;
}

const char *kt_str(json_t *j, const char *dotted) {
  return json_string_value(walk(j, dotted));
}

long long kt_int(json_t *j, const char *dotted) {
  return (long long)json_integer_value(walk(j, dotted));
}

unsigned long long kt_rv(json_t *obj) {
  const char *s = kt_str(obj, "metadata.resourceVersion");
  ck_assert_msg(s != NULL, "object without resourceVersion");
  return strtoull(s, NULL, 10);
}

unsigned long long kt_make_cm(kubelite *k, const char *ns, const char *name, const char *label) {
  json_t *o = json_pack("{s:{s:s},s:{s:s}}", "metadata", "name", name, "data", "k", "v");
  if (label) {
    char key[128];
    snprintf(key, sizeof key, "%s", label);
    char *eq = strchr(key, '=');
    ck_assert(eq != NULL);
    *eq = '\0';
    json_object_set_new(json_object_get(o, "metadata"), "labels", json_pack("{s:s}", key, eq + 1));
  }
  char *body = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  char path[256];
  snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns);
  kt_resp r = kt_post(k, path, body);
  free(body);
  ck_assert_msg(r.code == 201, "create %s/%s: %ld %s", ns, name, r.code, r.body);
  unsigned long long rv = kt_rv(r.json);
  kt_resp_free(&r);
  return rv;
}

/* ---- watches ------------------------------------------------------------ */

struct kt_watch {
  CURLM *multi;
  CURL *easy;
  struct curl_slist *headers;
  char *buf;
  size_t len, cap;
  bool done;
  CURLcode result;
  long code;
};

static size_t watch_data(char *p, size_t size, size_t n, void *ud) {
  kt_watch *w = ud;
  size_t len = size * n;
  if (w->len + len + 1 > w->cap) {
    w->cap = (w->len + len + 1) * 2;
    w->buf = realloc(w->buf, w->cap);
  }
  memcpy(w->buf + w->len, p, len);
  w->len += len;
  w->buf[w->len] = '\0';
  return len;
}

/* Moves whatever curl has; returns true if anything changed. */
static bool perform(kt_watch *w) {
  size_t before = w->len;
  long code_before = w->code;
  int running;
  curl_multi_perform(w->multi, &running);
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(w->multi, &left))) {
    if (m->msg == CURLMSG_DONE) {
      w->done = true;
      w->result = m->data.result;
    }
  }
  curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->code);
  return w->done || w->len != before || w->code != code_before;
}

/* Waits for socket activity only when a perform moved nothing, so data
 * curl already read is never left waiting behind a poll. */
static void pump(kt_watch *w, int wait_ms) {
  if (!perform(w) && wait_ms > 0)
    curl_multi_poll(w->multi, NULL, 0, wait_ms, NULL);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kt_watch *kt_watch_open(kubelite *k, const char *path, const char *token) {
  kt_watch *w = calloc(1, sizeof *w);
  w->multi = curl_multi_init();
  w->easy = curl_easy_init();
  char url[2048];
  snprintf(url, sizeof url, "%s%s", kubelite_url(k), path);
  common_opts(w->easy, k, &w->headers, token);
  curl_easy_setopt(w->easy, CURLOPT_URL, url);
  curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
  curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_data);
  curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
  curl_multi_add_handle(w->multi, w->easy);
  long long deadline = now_ms() + KT_WAIT_MS;
  while (!w->done && w->code == 0 && now_ms() < deadline)
    pump(w, 100);
  ck_assert_msg(w->code != 0, "watch %s got no response", path);
  return w;
}

json_t *kt_watch_next(kt_watch *w, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  for (;;) {
    char *nl = w->buf ? memchr(w->buf, '\n', w->len) : NULL;
    if (nl) {
      *nl = '\0';
      json_error_t e;
      json_t *ev = json_loads(w->buf, 0, &e);
      ck_assert_msg(ev != NULL, "bad event line: %s (%s)", w->buf, e.text);
      size_t used = (size_t)(nl - w->buf) + 1;
      memmove(w->buf, nl + 1, w->len - used);
      w->len -= used;
      return ev;
    }
    long long left = deadline - now_ms();
    if (w->done || left <= 0)
      return NULL;
    pump(w, (int)left);
  }
}

bool kt_watch_wait_end(kt_watch *w, int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  while (!w->done && now_ms() < deadline)
    pump(w, (int)(deadline - now_ms()));
  return w->done && w->result == CURLE_OK;
}

bool kt_watch_wait_done(kt_watch *w, int timeout_ms, CURLcode *result) {
  long long deadline = now_ms() + timeout_ms;
  while (!w->done && now_ms() < deadline)
    pump(w, (int)(deadline - now_ms()));
  *result = w->result;
  return w->done;
}

long kt_watch_code(kt_watch *w) {
  return w->code;
}

void kt_watch_close(kt_watch *w) {
  if (!w)
    return;
  curl_multi_remove_handle(w->multi, w->easy);
  curl_easy_cleanup(w->easy);
  curl_multi_cleanup(w->multi);
  curl_slist_free_all(w->headers);
  free(w->buf);
  free(w);
}

json_t *kt_expect_event(kt_watch *w, const char *type, const char *name) {
  json_t *ev = kt_watch_next(w, KT_WAIT_MS);
  ck_assert_msg(ev != NULL, "expected a %s event for %s, the stream %s", type, name ? name : "-",
                w->done ? "ended" : "stayed silent");
  const char *t = kt_str(ev, "type");
  ck_assert_msg(t && strcmp(t, type) == 0, "expected %s, got %s", type, t ? t : "?");
  if (name) {
    const char *n = kt_str(ev, "object.metadata.name");
    ck_assert_msg(n && strcmp(n, name) == 0, "expected %s for %s, got %s", type, name, n ? n : "?");
  }
  return ev;
}

/* ---- fixtures ------------------------------------------------------------- */

void kt_start_with(const kubelite_options *o) {
  kt_server = kubelite_start(o);
  ck_assert_msg(kt_server != NULL, "kube-lite did not start");
}

void kt_start_default(void) {
  kt_start_with(NULL);
}

void kt_stop(void) {
  if (shared_curl) {
    curl_easy_cleanup(shared_curl);
    shared_curl = NULL;
  }
  if (kt_server) {
    int rc = kubelite_stop(kt_server);
    kubelite_free(kt_server);
    kt_server = NULL;
    ck_assert_msg(rc == 0, "kube-lite exited with %d", rc);
  }
}

int kt_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed == 0 ? 0 : 1;
}
