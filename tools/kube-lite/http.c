/*
 * The HTTP front: listening socket, connections, request framing and
 * response writing, all on the one libuv loop.
 *
 * A connection handles one request at a time (pipelined requests wait in
 * the input buffer).  A request either completes synchronously, waits on
 * a timer (injected latency) or turns the connection into a watch stream.
 */
#include "kl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum conn_state { CS_IDLE, CS_BUSY, CS_STREAM };

#define READ_CHUNK 65536
/* Bytes a client may send while its previous request is still running. */
#define INPUT_BACKLOG_MAX (REQUEST_BODY_MAX_BYTES + REQUEST_HEADER_MAX_BYTES + READ_CHUNK)

struct kl_conn {
  uv_tcp_t tcp; /* first, so the handle pointer is the connection */
  kl_conn *prev, *next;
  kl_server *srv;
  kl_buf in;
  size_t in_off;
  int state;
  bool closing;
  bool close_after_flush;
  bool stream_keep_alive;
  bool control_only; /* accepted on the control listener: serves /kube-lite/v1/ only */
  unsigned writes;
  kl_ctx *pending;
  bool delayed; /* pending waits on the timer (injected latency), not on a wake-up */
  uv_timer_t *timer;
  kl_watch *watch;
  kl_fwd *fwd; /* the upstream request answering this connection (proxy mode) */
  kl_tls_session *tls;
  char *tls_rbuf;
};

typedef struct wreq {
  uv_write_t req;
  kl_conn *conn;
  char *own[2];
  kl_shared *shared;
} wreq;

static void conn_process(kl_conn *c);

/* ---- writing ------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  kl_conn *c = w->conn;
  free(w->own[0]);
  free(w->own[1]);
  kl_shared_unref(w->shared);
  free(w);
  c->writes--;
  if (c->closing)
    return;
  if (status < 0)
    kl_conn_close(c);
  else if (c->close_after_flush && c->writes == 0)
    kl_conn_close(c);
}

static void submit(kl_conn *c, wreq *w, uv_buf_t *bufs, unsigned n) {
  w->conn = c;
  if (c->closing || uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write) != 0) {
    free(w->own[0]);
    free(w->own[1]);
    kl_shared_unref(w->shared);
    free(w);
    if (!c->closing)
      kl_conn_close(c);
    return;
  }
  c->writes++;
}

void kl_conn_send_raw(kl_conn *c, char *data, size_t len) {
  wreq *w = kl_xcalloc(1, sizeof *w);
  w->own[0] = data;
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  submit(c, w, &b, 1);
}

void kl_conn_send_owned(kl_conn *c, char *head, size_t head_len, char *body, size_t body_len) {
  if (c->closing) {
    free(head);
    free(body);
    return;
  }
  if (c->tls) {
    bool ok =
        kl_tls_write(c->tls, head, head_len) && (!body_len || kl_tls_write(c->tls, body, body_len));
    free(head);
    free(body);
    if (!ok)
      kl_conn_close(c);
    return;
  }
  wreq *w = kl_xcalloc(1, sizeof *w);
  w->own[0] = head;
  w->own[1] = body;
  uv_buf_t b[2] = {uv_buf_init(head, (unsigned)head_len), uv_buf_init(body, (unsigned)body_len)};
  submit(c, w, b, body_len ? 2 : 1);
}

void kl_conn_send(kl_conn *c, const char *data, size_t len) {
  char *copy = kl_xmalloc(len + 1);
  memcpy(copy, data, len);
  kl_conn_send_owned(c, copy, len, NULL, 0);
}

void kl_conn_send_shared(kl_conn *c, kl_shared *s) {
  if (c->closing)
    return;
  if (c->tls) {
    if (!kl_tls_write(c->tls, s->data, s->len))
      kl_conn_close(c);
    return;
  }
  wreq *w = kl_xcalloc(1, sizeof *w);
  w->shared = kl_shared_ref(s);
  uv_buf_t b = uv_buf_init(s->data, (unsigned)s->len);
  submit(c, w, &b, 1);
}

size_t kl_conn_queued(const kl_conn *c) {
  return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

kl_server *kl_conn_server(const kl_conn *c) {
  return c->srv;
}

/* ---- lifecycle ------------------------------------------------------------ */

static void on_timer_closed(uv_handle_t *h) {
  free(h);
}

static void free_ctx(kl_ctx *ctx) {
  kl_ctx_free(ctx);
}

static void on_conn_closed(uv_handle_t *h) {
  kl_conn *c = (kl_conn *)h;
  kl_tls_session_free(c->tls);
  free(c->tls_rbuf);
  kl_buf_free(&c->in);
  free(c);
}

/* ---- delayed requests whose client went away ---- */

/* A server that read a request serves it, whether or not its client is still there: a request
 * held by injected latency is served when its delay ends (a write lands late), and its answer
 * goes nowhere. */
struct kl_orphan {
  uv_timer_t timer; /* first: the handle pointer is the orphan */
  kl_orphan *prev, *next;
  kl_server *srv;
  kl_ctx *ctx;
};

static void orphan_unlink(kl_orphan *o) {
  if (o->prev)
    o->prev->next = o->next;
  else
    o->srv->orphans = o->next;
  if (o->next)
    o->next->prev = o->prev;
}

static void on_orphan_closed(uv_handle_t *h) {
  free(h);
}

static void on_orphan_due(uv_timer_t *t) {
  kl_orphan *o = (kl_orphan *)t;
  orphan_unlink(o);
  kl_execute(o->ctx);
  free_ctx(o->ctx);
  uv_close((uv_handle_t *)&o->timer, on_orphan_closed);
}

static void orphan_start(kl_server *srv, kl_ctx *ctx, uint64_t ms) {
  kl_orphan *o = kl_xcalloc(1, sizeof *o);
  ctx->conn = NULL;
  o->srv = srv;
  o->ctx = ctx;
  o->next = srv->orphans;
  if (srv->orphans)
    srv->orphans->prev = o;
  srv->orphans = o;
  uv_timer_init(srv->loop, &o->timer);
  uv_timer_start(&o->timer, on_orphan_due, ms, 0);
}

static void orphans_drop(kl_server *srv) {
  while (srv->orphans) {
    kl_orphan *o = srv->orphans;
    orphan_unlink(o);
    free_ctx(o->ctx);
    uv_close((uv_handle_t *)&o->timer, on_orphan_closed);
  }
}

void kl_conn_close(kl_conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  if (c->watch)
    kl_watch_detach(c->watch);
  if (c->fwd)
    kl_proxy_client_gone(c->fwd);
  c->fwd = NULL;
  if (c->pending && c->delayed && !c->srv->stopping) {
    orphan_start(c->srv, c->pending, uv_timer_get_due_in(c->timer));
    c->pending = NULL;
  }
  c->delayed = false;
  free_ctx(c->pending);
  c->pending = NULL;
  if (c->timer) {
    uv_close((uv_handle_t *)c->timer, on_timer_closed);
    c->timer = NULL;
  }
  kl_server *srv = c->srv;
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  srv->nconns--;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

void kl_conn_response_done(kl_conn *c, bool keep_alive) {
  if (c->closing)
    return;
  c->state = CS_IDLE;
  if (!keep_alive) {
    c->close_after_flush = true;
    if (c->writes == 0)
      kl_conn_close(c);
  }
}

static uv_timer_t *conn_timer(kl_conn *c) {
  if (!c->timer) {
    c->timer = kl_xmalloc(sizeof *c->timer);
    uv_timer_init(c->srv->loop, c->timer);
    c->timer->data = c;
  }
  return c->timer;
}

static void on_delay_done(uv_timer_t *t) {
  kl_conn *c = t->data;
  kl_ctx *ctx = c->pending;
  c->pending = NULL;
  c->delayed = false;
  if (ctx) {
    kl_execute(ctx);
    free_ctx(ctx);
  }
  if (!c->closing)
    conn_process(c);
}

void kl_conn_delay(kl_conn *c, kl_ctx *ctx, uint64_t ms) {
  c->pending = ctx;
  c->delayed = true;
  /* The loop's cached clock may lag behind a busy iteration; a delay
   * must not come out shorter than asked. */
  uv_update_time(c->srv->loop);
  uv_timer_start(conn_timer(c), on_delay_done, ms, 0);
}

void kl_conn_stream_begin(kl_conn *c, kl_watch *w) {
  static const char head[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: application/json\r\n"
                             "Cache-Control: no-cache, private\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n";
  c->state = CS_STREAM;
  c->watch = w;
  kl_conn_send(c, head, sizeof head - 1);
}

static void on_resume(uv_timer_t *t) {
  kl_conn *c = t->data;
  if (!c->closing)
    conn_process(c);
}

void kl_conn_resume(kl_conn *c) {
  if (!c->closing && c->in.len > c->in_off)
    uv_timer_start(conn_timer(c), on_resume, 0, 0);
}

void kl_conn_stream_open(kl_conn *c) {
  c->state = CS_STREAM;
}

void kl_conn_attach_forward(kl_conn *c, kl_fwd *f) {
  c->fwd = f;
}

bool kl_conn_control_only(const kl_conn *c) {
  return c->control_only;
}

void kl_conn_park(kl_conn *c, kl_ctx *ctx) {
  c->pending = ctx;
}

void kl_server_wake_listeners(kl_server *srv) {
  kl_conn *next;
  for (kl_conn *c = srv->conns; c; c = next) {
    next = c->next;
    kl_ctx *ctx = c->pending;
    if (!c->control_only || !ctx)
      continue;
    c->pending = NULL;
    kl_reply_json(ctx, 200, json_pack("{s:s}", "url", srv->url));
    free_ctx(ctx);
    kl_conn_resume(c);
  }
}

void kl_conn_stream_end(kl_conn *c, bool abort) {
  if (c->closing)
    return;
  c->watch = NULL;
  if (abort || !c->stream_keep_alive) {
    if (!abort)
      kl_conn_send(c, "0\r\n\r\n", 5);
    if (abort || c->writes == 0) {
      kl_conn_close(c);
      return;
    }
    c->close_after_flush = true;
    return;
  }
  kl_conn_send(c, "0\r\n\r\n", 5);
  c->state = CS_IDLE;
  /* Ending a stream can happen in the middle of another connection's
   * request; parse anything the client pipelined on the next loop turn
   * rather than re-entering the store from here. */
  if (c->in.len > c->in_off)
    uv_timer_start(conn_timer(c), on_resume, 0, 0);
}

/* ---- reading ---------------------------------------------------------------- */

/* A request kube-lite will not read: answered, then the connection closes (what follows it
 * cannot be framed).  The message says what is missing, so a client's log explains it. */
static void send_parse_error(kl_conn *c, int code) {
  kl_ctx ctx = {.srv = c->srv, .conn = c, .verb = KL_VERB_NONRESOURCE, .res = KL_RES_NONE};
  const char *reason = code == 413 ? "RequestEntityTooLarge" : "BadRequest";
  const char *msg = kl_http_reason(code);
  if (code == 411)
    msg = "kube-lite needs Content-Length: chunked request bodies are not supported";
  else if (code == 413)
    msg = "the request is too large";
  else if (code == 505)
    msg = "kube-lite speaks HTTP/1.1 only";
  c->state = CS_BUSY;
  kl_reply_status(&ctx, code, reason, msg, NULL);
}

static void conn_process(kl_conn *c) {
  while (!c->closing && c->state == CS_IDLE && !c->close_after_flush) {
    size_t avail = c->in.len - c->in_off;
    if (avail == 0)
      break;
    kl_req *req = NULL;
    size_t used = 0;
    int rc = kl_http_parse(c->in.data + c->in_off, avail, &req, &used);
    if (rc == KL_PARSE_MORE) {
      c->in_off += used;
      break;
    }
    if (rc != KL_PARSE_OK) {
      send_parse_error(c, rc);
      break;
    }
    c->in_off += used;
    c->state = CS_BUSY;
    c->stream_keep_alive = req->keep_alive;
    kl_dispatch(c, req);
  }
  if (c->closing)
    return;
  if (c->in_off == c->in.len) {
    c->in_off = c->in.len = 0;
  } else if (c->in_off > READ_CHUNK && c->in_off * 2 > c->in.len) {
    memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
    c->in.len -= c->in_off;
    c->in_off = 0;
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  KL_UNUSED(suggested);
  kl_conn *c = (kl_conn *)h;
  if (c->tls) {
    if (!c->tls_rbuf)
      c->tls_rbuf = kl_xmalloc(READ_CHUNK);
    *buf = uv_buf_init(c->tls_rbuf, READ_CHUNK);
    return;
  }
  if (c->in_off == c->in.len)
    c->in_off = c->in.len = 0;
  kl_buf_reserve(&c->in, READ_CHUNK);
  *buf = uv_buf_init(c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len - 1));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  kl_conn *c = (kl_conn *)s;
  KL_UNUSED(buf);
  if (c->closing)
    return;
  if (nread < 0) {
    /* A client that half-closes after its request still gets the
     * answer; a watcher hanging up ends its stream at once. */
    bool pending_watch =
        (c->pending && c->pending->verb == KL_VERB_WATCH) || (c->fwd && kl_proxy_is_watch(c->fwd));
    if (nread == UV_EOF && c->state != CS_STREAM && !pending_watch &&
        (c->writes > 0 || c->state == CS_BUSY)) {
      uv_read_stop(s);
      c->close_after_flush = true;
      return;
    }
    kl_conn_close(c);
    return;
  }
  if (nread == 0)
    return;
  if (c->tls) {
    if (!kl_tls_feed(c->tls, buf->base, (size_t)nread, &c->in)) {
      kl_conn_close(c);
      return;
    }
  } else {
    c->in.len += (size_t)nread;
    c->in.data[c->in.len] = '\0';
  }
  if (c->in.len - c->in_off > INPUT_BACKLOG_MAX && c->state != CS_IDLE) {
    kl_conn_close(c);
    return;
  }
  conn_process(c);
}

static void accept_conn(uv_stream_t *server, int status, bool control_only) {
  kl_server *srv = server->data;
  if (status < 0 || srv->stopping)
    return;
  kl_conn *c = kl_xcalloc(1, sizeof *c);
  c->srv = srv;
  c->control_only = control_only;
  uv_tcp_init(srv->loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return;
  }
  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  if (srv->nconns > CONNECTIONS_MAX) {
    kl_conn_close(c);
    return;
  }
  /* Small request/response pairs: Nagle would add 40ms stalls. */
  uv_tcp_nodelay(&c->tcp, 1);
  if (srv->tls && !control_only && !(c->tls = kl_tls_session_new(srv->tls, c))) {
    kl_conn_close(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connection(uv_stream_t *server, int status) {
  accept_conn(server, status, false);
}

static void on_control_connection(uv_stream_t *server, int status) {
  accept_conn(server, status, true);
}

/* ---- listening socket --------------------------------------------------------- */

static void on_listener_closed(uv_handle_t *h) {
  free(h);
}

/* Listens on the configured host and *port (0: a free one, written back); the URL goes to url. */
static int bind_listener(kl_server *srv, int *port, uv_connection_cb cb, const char *scheme,
                         uv_tcp_t **out, char url[64]) {
  struct sockaddr_storage addr;
  int rc;
  if (strchr(srv->cfg.host, ':'))
    rc = uv_ip6_addr(srv->cfg.host, *port, (struct sockaddr_in6 *)&addr);
  else
    rc = uv_ip4_addr(srv->cfg.host, *port, (struct sockaddr_in *)&addr);
  if (rc != 0) {
    kl_log("bad listen address %s: %s", srv->cfg.host, uv_strerror(rc));
    return rc;
  }
  uv_tcp_t *l = kl_xmalloc(sizeof *l);
  uv_tcp_init(srv->loop, l);
  l->data = srv;
  rc = uv_tcp_bind(l, (const struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)l, 511, cb);
  if (rc != 0) {
    kl_log("cannot listen on %s:%d: %s", srv->cfg.host, *port, uv_strerror(rc));
    uv_close((uv_handle_t *)l, on_listener_closed);
    return rc;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(l, (struct sockaddr *)&bound, &blen);
  *port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  *out = l;
  const char *host = srv->cfg.host;
  snprintf(url, 64, strchr(host, ':') ? "%s://[%s]:%d" : "%s://%s:%d", scheme, host, *port);
  return 0;
}

int kl_server_listen(kl_server *srv) {
  return bind_listener(srv, &srv->port, on_connection, srv->tls ? "https" : "http", &srv->listener,
                       srv->url);
}

int kl_server_listen_control(kl_server *srv, int port) {
  srv->control_port = port;
  return bind_listener(srv, &srv->control_port, on_control_connection, "http",
                       &srv->control_listener, srv->control_url);
}

/* The control listener's connections stay: they are how a test brings the server back. */
static void close_conns(kl_server *srv, kl_conn *keep, bool control_too) {
  kl_conn *next;
  for (kl_conn *c = srv->conns; c; c = next) {
    next = c->next;
    if (c != keep && (control_too || !c->control_only))
      kl_conn_close(c);
  }
}

void kl_server_close_conns(kl_server *srv, kl_conn *keep) {
  close_conns(srv, keep, false);
}

static void on_reopen(uv_timer_t *t) {
  kl_server *srv = t->data;
  if (srv->stopping || srv->listener)
    return;
  if (kl_server_listen(srv) != 0) {
    /* Someone else took the port meanwhile; keep trying like a
     * restarting apiserver would. */
    uv_timer_start(&srv->reopen_timer, on_reopen, 100, 0);
    return;
  }
  kl_announce(srv);
  kl_server_wake_listeners(srv);
}

void kl_server_refuse(kl_server *srv, kl_conn *keep, int64_t ms) {
  if (srv->listener) {
    uv_close((uv_handle_t *)srv->listener, on_listener_closed);
    srv->listener = NULL;
  }
  kl_server_close_conns(srv, keep);
  if (keep && !keep->control_only)
    keep->close_after_flush = true;
  srv->reopen_timer.data = srv;
  uv_update_time(srv->loop);
  if (ms >= 0)
    uv_timer_start(&srv->reopen_timer, on_reopen, (uint64_t)ms, 0);
  else
    uv_timer_stop(&srv->reopen_timer);
}

void kl_server_reopen(kl_server *srv) {
  if (srv->listener)
    return;
  srv->reopen_timer.data = srv;
  uv_timer_stop(&srv->reopen_timer);
  on_reopen(&srv->reopen_timer); /* at once; while the port is taken, again every 100 ms */
}

void kl_server_stop(kl_server *srv) {
  if (srv->stopping)
    return;
  srv->stopping = true;
  if (srv->listener) {
    uv_close((uv_handle_t *)srv->listener, on_listener_closed);
    srv->listener = NULL;
  }
  if (srv->control_listener) {
    uv_close((uv_handle_t *)srv->control_listener, on_listener_closed);
    srv->control_listener = NULL;
  }
  close_conns(srv, NULL, true);
  orphans_drop(srv);
  kl_proxy_free(srv->proxy);
  srv->proxy = NULL;
  uv_close((uv_handle_t *)&srv->reopen_timer, NULL);
  uv_close((uv_handle_t *)&srv->bookmark_timer, NULL);
  uv_close((uv_handle_t *)&srv->sig_term, NULL);
  uv_close((uv_handle_t *)&srv->sig_int, NULL);
}
