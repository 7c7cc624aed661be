/*
 * Proxy mode (--upstream URL): kube-lite in front of a real API server.
 *
 * Every request but the control endpoint's goes upstream as it came, with the client's own
 * credentials, after kube-lite's fault rules decided its fate on arrival (latency, an injected
 * answer, a dropped connection, or an answer replaced once the request was applied).  So one
 * fault-rule language, one set of counters and one control endpoint serve kube-lite's own
 * store and a real server alike.
 *
 * libcurl's multi interface runs on kube-lite's loop: curl names the sockets it waits on and
 * a timeout, libuv polls them.  An answer is passed on whole, except a watch's: its body is
 * passed on chunk by chunk as it arrives, and a client that hangs up ends it upstream too.
 */
#include "kl.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An answer other than a watch's is passed on whole; a list of ConfigMaps at their size limit
 * would need more than this many of them. */
#define PROXY_ANSWER_MAX_BYTES (12u * 1024 * 1024)

struct kl_proxy {
  kl_server *srv;
  CURLM *multi;
  uv_timer_t *timer;
  char *upstream; /* scheme://host[:port], no trailing slash */
  char *ca_file;
  kl_fwd *fwds;
  unsigned in_curl; /* inside a curl callback: the multi handle may not be changed */
};

struct kl_fwd {
  kl_fwd *prev, *next;
  kl_proxy *p;
  kl_ctx *ctx; /* owned; ctx->conn is NULL once the client is gone */
  CURL *easy;
  struct curl_slist *headers;
  int code;         /* the upstream status, once its head arrived */
  kl_buf head;      /* upstream response headers passed on */
  char *ctype;      /* upstream Content-Type */
  kl_buf body;      /* an answer passed on whole */
  bool watch;       /* a watch request */
  bool streaming;   /* the head went out; the body follows chunk by chunk */
  bool ended_clean; /* watches/close: end the client's stream with its last chunk */
  bool ended_abort; /* watches/close with abort: drop the client's connection */
  char error[CURL_ERROR_SIZE];
};

typedef struct poll_ctx {
  uv_poll_t poll;
  curl_socket_t fd;
  kl_proxy *p;
} poll_ctx;

static void check_done(kl_proxy *p);

/* ---- curl on the loop ------------------------------------------------------ */

static void on_poll_closed(uv_handle_t *h) {
  free(h);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  poll_ctx *pc = h->data;
  int flags = 0;
  if (status < 0)
    flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE)
    flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE)
    flags |= CURL_CSELECT_OUT;
  kl_proxy *p = pc->p;
  int running;
  p->in_curl++;
  curl_multi_socket_action(p->multi, pc->fd, flags, &running);
  p->in_curl--;
  check_done(p);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  KL_UNUSED(easy);
  kl_proxy *p = userp;
  poll_ctx *pc = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (pc) {
      uv_poll_stop(&pc->poll);
      uv_close((uv_handle_t *)&pc->poll, on_poll_closed);
      curl_multi_assign(p->multi, fd, NULL);
    }
    return 0;
  }
  if (!pc) {
    pc = kl_xcalloc(1, sizeof *pc);
    pc->fd = fd;
    pc->p = p;
    int rc = uv_poll_init_socket(p->srv->loop, &pc->poll, fd);
    if (rc != 0) {
      kl_log("proxy: cannot poll socket %d: %s", (int)fd, uv_strerror(rc));
      free(pc);
      return -1;
    }
    pc->poll.data = pc;
    curl_multi_assign(p->multi, fd, pc);
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
    events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
    events |= UV_WRITABLE;
  uv_poll_start(&pc->poll, events, on_poll);
  return 0;
}

static void on_timeout(uv_timer_t *t) {
  kl_proxy *p = t->data;
  int running;
  p->in_curl++;
  curl_multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  p->in_curl--;
  check_done(p);
}

static int on_timer(CURLM *multi, long ms, void *userp) {
  KL_UNUSED(multi);
  kl_proxy *p = userp;
  if (ms < 0)
    uv_timer_stop(p->timer);
  else
    uv_timer_start(p->timer, on_timeout, (uint64_t)ms, 0);
  return 0;
}

/* ---- one forwarded request ---------------------------------------------------- */

static void fwd_free(kl_fwd *f) {
  kl_proxy *p = f->p;
  if (f->prev)
    f->prev->next = f->next;
  else
    p->fwds = f->next;
  if (f->next)
    f->next->prev = f->prev;
  if (f->ctx->conn)
    kl_conn_attach_forward(f->ctx->conn, NULL);
  curl_multi_remove_handle(p->multi, f->easy);
  curl_easy_cleanup(f->easy);
  curl_slist_free_all(f->headers);
  kl_buf_free(&f->head);
  kl_buf_free(&f->body);
  free(f->ctype);
  kl_ctx_free(f->ctx);
  free(f);
}

static bool header_is(const char *line, size_t n, const char *name) {
  size_t k = strlen(name);
  return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

/* Headers that belong to one hop, or that kube-lite writes itself. */
static bool hop_header(const char *line, size_t n) {
  static const char *const names[] = {
      "connection",    "keep-alive",  "transfer-encoding", "te",
      "trailer",       "upgrade",     "proxy-connection",  "content-length",
      "cache-control", "content-type"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (header_is(line, n, names[i]))
      return true;
  return false;
}

/* The head of a streamed answer: kube-lite's own watch head, with the upstream's headers. */
static void stream_begin(kl_fwd *f) {
  kl_ctx *ctx = f->ctx;
  f->streaming = true;
  kl_count(ctx->srv, ctx->verb, ctx->res, f->code);
  if (ctx->srv->cfg.verbose)
    kl_log("%s %s -> %d (upstream, streamed)", ctx->req->method, ctx->req->path, f->code);
  kl_buf h = {0};
  kl_buf_printf(&h,
                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-cache, private\r\n"
                "Transfer-Encoding: chunked\r\n",
                f->code, kl_http_reason(f->code), f->ctype ? f->ctype : "application/json");
  kl_buf_append(&h, f->head.data, f->head.len);
  kl_buf_puts(&h, "\r\n");
  size_t hl = h.len;
  kl_conn_stream_open(ctx->conn);
  kl_conn_send_owned(ctx->conn, kl_buf_steal(&h), hl, NULL, 0);
}

static size_t on_header(char *data, size_t size, size_t n, void *userp) {
  kl_fwd *f = userp;
  size_t len = size * n;
  size_t line = len;
  while (line > 0 && (data[line - 1] == '\n' || data[line - 1] == '\r'))
    line--;
  if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    /* A status line starts a head (again after a 100 Continue). */
    const char *sp = memchr(data, ' ', line);
    f->code = sp ? atoi(sp + 1) : 0;
    f->head.len = 0;
    free(f->ctype);
    f->ctype = NULL;
  } else if (line == 0) {
    /* The end of a head: a watch's answer goes out now, before any event. */
    if (f->watch && f->code >= 200 && f->code < 300 && f->ctx->conn && !f->streaming)
      stream_begin(f);
  } else if (header_is(data, line, "content-type")) {
    const char *v = data + 13;
    while (*v == ' ' || *v == '\t')
      v++;
    free(f->ctype);
    f->ctype = kl_xmalloc((size_t)(data + line - v) + 1);
    memcpy(f->ctype, v, (size_t)(data + line - v));
    f->ctype[data + line - v] = '\0';
  } else if (!hop_header(data, line)) {
    kl_buf_append(&f->head, data, line);
    kl_buf_puts(&f->head, "\r\n");
  }
  return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp) {
  kl_fwd *f = userp;
  size_t len = size * n;
  if (len == 0)
    return 0; /* (an empty chunk would read as the stream's end) */
  if (f->ended_clean || f->ended_abort || (f->watch && !f->ctx->conn))
    return 0; /* ends the transfer */
  if (!f->streaming) {
    if (f->body.len + len > PROXY_ANSWER_MAX_BYTES) {
      snprintf(f->error, sizeof f->error,
               "the answer passes %u MiB, the most kube-lite "
               "passes on whole",
               PROXY_ANSWER_MAX_BYTES >> 20);
      return 0;
    }
    kl_buf_append(&f->body, data, len);
    return len;
  }
  kl_conn *c = f->ctx->conn;
  if (kl_conn_queued(c) > WATCH_MAX_QUEUED_BYTES) {
    /* A watcher that stops reading is dropped, as kube-lite drops its own. */
    kl_conn_close(c);
    return 0;
  }
  kl_shared *chunk = kl_shared_chunk(data, len);
  kl_conn_send_shared(c, chunk);
  kl_shared_unref(chunk);
  return f->ctx->conn ? len : 0;
}

/* A transfer ended (result is curl's); the client gets what it is owed. */
static void finish(kl_fwd *f, CURLcode result) {
  kl_ctx *ctx = f->ctx;
  kl_conn *c = ctx->conn;
  if (!c) {
    /* Served for a client that went away: counted all the same (a watch was, at its head). */
    if (!f->streaming && !ctx->control)
      kl_count(ctx->srv, ctx->verb, ctx->res, result == CURLE_OK && f->code ? f->code : 502);
    fwd_free(f);
    return;
  }
  kl_conn_attach_forward(c, NULL);
  ctx->conn = c;
  if (f->streaming) {
    /* The upstream's end is the client's end: clean when it ended cleanly or
     * watches/close asked for it, dropped when the upstream broke off or abort was asked. */
    bool clean = !f->ended_abort && (f->ended_clean || result == CURLE_OK);
    ctx->conn = NULL;
    fwd_free(f);
    kl_conn_stream_end(c, !clean);
    return;
  }
  if (result != CURLE_OK || f->code == 0) {
    kl_buf m = {0};
    kl_buf_printf(&m, "kube-lite proxy: %s: %s", ctx->req->method,
                  f->error[0] ? f->error : curl_easy_strerror(result));
    kl_reply_status(ctx, 502, "InternalError", m.data, NULL);
    kl_buf_free(&m);
  } else {
    size_t len = f->body.len;
    char *body = kl_buf_steal(&f->body);
    char *head = f->head.len ? kl_buf_steal(&f->head) : NULL;
    kl_reply_raw(ctx, f->code, f->ctype ? f->ctype : "application/json", body, len, head);
    free(head);
  }
  ctx->conn = NULL;
  fwd_free(f);
  kl_conn_resume(c);
}

static void check_done(kl_proxy *p) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(p->multi, &left))) {
    if (m->msg != CURLMSG_DONE)
      continue;
    kl_fwd *f = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&f);
    finish(f, m->data.result);
  }
  /* Watches whose client hung up while curl was calling back end now. */
  kl_fwd *next;
  for (kl_fwd *f = p->fwds; f; f = next) {
    next = f->next;
    if (f->watch && !f->ctx->conn)
      fwd_free(f);
  }
}

bool kl_proxy_is_watch(const kl_fwd *f) {
  return f->watch;
}

void kl_proxy_client_gone(kl_fwd *f) {
  f->ctx->conn = NULL;
  /* A watch ends upstream at once; any other request completes upstream (as a server that
   * read it would apply it) and its answer is dropped. */
  if (f->watch && !f->p->in_curl)
    fwd_free(f);
}

size_t kl_proxy_end_watches(kl_proxy *p, bool abort) {
  size_t n = 0;
  kl_fwd *next;
  for (kl_fwd *f = p->fwds; f; f = next) {
    next = f->next;
    kl_conn *c = f->ctx->conn;
    if (!f->watch || !c)
      continue;
    n++;
    if (abort && !f->streaming) {
      /* (its head has not arrived: the connection goes without an answer) */
      f->ctx->conn = NULL;
      kl_conn_attach_forward(c, NULL);
      fwd_free(f);
      kl_conn_close(c);
      continue;
    }
    if (!f->streaming) {
      /* (its head has not arrived: the client gets an empty stream, as from a watch that
       * ended at once) */
      f->code = 200;
      f->head.len = 0;
      free(f->ctype);
      f->ctype = NULL;
      stream_begin(f);
    }
    if (abort)
      f->ended_abort = true;
    else
      f->ended_clean = true;
    finish(f, CURLE_OK);
  }
  return n;
}

static void add_header(kl_fwd *f, const char *name, const char *value) {
  kl_buf h = {0};
  /* "Name:" with no value tells curl not to send a header of its own. */
  kl_buf_printf(&h, "%s:%s%s", name, value ? " " : "", value ? value : "");
  f->headers = curl_slist_append(f->headers, h.data);
  kl_buf_free(&h);
}

void kl_proxy_forward(kl_ctx *ctx) {
  kl_proxy *p = ctx->srv->proxy;
  static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  bool known = false;
  for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
    known = known || strcmp(ctx->req->method, methods[i]) == 0;
  if (!known) {
    kl_reply_status(ctx, 405, "MethodNotAllowed",
                    "kube-lite forwards GET, POST, PUT, PATCH and DELETE requests only", NULL);
    return;
  }
  kl_fwd *f = kl_xcalloc(1, sizeof *f);
  f->p = p;
  /* The request and what was decided about it move into the forward. */
  f->ctx = kl_ctx_take(ctx);
  kl_req *r = f->ctx->req;
  f->watch = f->ctx->verb == KL_VERB_WATCH;

  kl_buf url = {0};
  kl_buf_printf(&url, "%s%s", p->upstream, r->target);
  f->easy = curl_easy_init();
  CURL *e = f->easy;
  curl_easy_setopt(e, CURLOPT_URL, url.data);
  kl_buf_free(&url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, f);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_PROXY, ""); /* straight to the upstream, whatever http_proxy says */
  if (p->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
  if (strcmp(r->method, "GET") == 0) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body_len || strcmp(r->method, "DELETE") != 0) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    }
  }
  if (r->authorization)
    add_header(f, "Authorization", r->authorization);
  add_header(f, "Accept", r->accept);
  add_header(f, "Content-Type", r->content_type);
  add_header(f, "Expect", NULL);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);

  f->next = p->fwds;
  if (p->fwds)
    p->fwds->prev = f;
  p->fwds = f;
  if (f->ctx->conn) /* (NULL: a delayed request whose client went away, served all the same) */
    kl_conn_attach_forward(f->ctx->conn, f);
  CURLMcode mc = curl_multi_add_handle(p->multi, e);
  if (mc != CURLM_OK) {
    snprintf(f->error, sizeof f->error, "%s", curl_multi_strerror(mc));
    finish(f, CURLE_FAILED_INIT);
  }
}

/* ---- the proxy ------------------------------------------------------------------ */

static void on_timer_closed(uv_handle_t *h) {
  free(h);
}

kl_proxy *kl_proxy_new(kl_server *srv, const char *upstream, const char *ca_file, char **err) {
  size_t ul = strlen(upstream);
  while (ul > 0 && upstream[ul - 1] == '/')
    ul--;
  if (!((ul > 7 && strncmp(upstream, "http://", 7) == 0) ||
        (ul > 8 && strncmp(upstream, "https://", 8) == 0)) ||
      memchr(upstream + 8, '/', ul - 8) || memchr(upstream, '?', ul)) {
    kl_buf m = {0};
    kl_buf_printf(&m, "--upstream %s: expected http(s)://HOST[:PORT], with no path", upstream);
    *err = kl_buf_steal(&m);
    return NULL;
  }
  kl_proxy *p = kl_xcalloc(1, sizeof *p);
  p->srv = srv;
  p->upstream = kl_xmalloc(ul + 1);
  memcpy(p->upstream, upstream, ul);
  p->upstream[ul] = '\0';
  p->ca_file = ca_file ? kl_strdup(ca_file) : NULL;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  p->multi = curl_multi_init();
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
  p->timer = kl_xmalloc(sizeof *p->timer);
  uv_timer_init(srv->loop, p->timer);
  p->timer->data = p;
  return p;
}

void kl_proxy_free(kl_proxy *p) {
  if (!p)
    return;
  while (p->fwds)
    fwd_free(p->fwds);
  curl_multi_cleanup(p->multi);
  uv_close((uv_handle_t *)p->timer, on_timer_closed);
  free(p->upstream);
  free(p->ca_file);
  free(p);
  curl_global_cleanup();
}
