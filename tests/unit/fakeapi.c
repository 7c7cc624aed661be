#include "fakeapi.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct fakeapi {
  uv_tcp_t server;
  int port;
  fake_handler handler;
  void *user_data;
  fake_conn *conns;
  int stopped_listening, listener_closed, stopping;
};

struct fake_conn {
  uv_tcp_t tcp;
  fakeapi *api;
  fake_conn *next;
  char buf[65536];
  size_t len;
  const char *body; /* in buf, once the headers and the body have arrived */
  int answered, closing;
  void (*on_close)(fake_conn *c, void *ud);
  void *on_close_ud;
};

typedef struct wreq {
  uv_write_t req;
  char *data;
} wreq;

static void on_write(uv_write_t *w, int status) {
  wreq *r = (wreq *)w;
  (void)status;
  free(r->data);
  free(r);
}

static void write_raw(fake_conn *c, const char *data, size_t len) {
  wreq *r;
  uv_buf_t b;
  if (c->closing)
    return;
  r = calloc(1, sizeof(*r));
  r->data = malloc(len ? len : 1);
  memcpy(r->data, data, len);
  b = uv_buf_init(r->data, (unsigned int)len);
  uv_write(&r->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
}

static void on_closed(uv_handle_t *h) {
  fake_conn *c = h->data, **p;
  if (!c->api) { /* the server was stopped: it no longer lists its connections */
    free(c);
    return;
  }
  for (p = &c->api->conns; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  free(c);
}

static void conn_close(fake_conn *c) {
  if (c->closing)
    return;
  c->closing = 1;
  if (c->on_close)
    c->on_close(c, c->on_close_ud);
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_shutdown(uv_shutdown_t *s, int status) {
  fake_conn *c = s->data;
  (void)status;
  free(s);
  conn_close(c);
}

/* Closes after the queued writes went out. */
static void finish(fake_conn *c) {
  uv_shutdown_t *s = calloc(1, sizeof(*s));
  s->data = c;
  if (uv_shutdown(s, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    free(s);
    conn_close(c);
  }
}

void fake_reply(fake_conn *c, int status, const char *body) {
  fake_reply_headers(c, status, "", body);
}

void fake_reply_headers(fake_conn *c, int status, const char *headers, const char *body) {
  char head[1024];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "%sConnection: close\r\n\r\n",
                   status, strlen(body), headers);
  write_raw(c, head, (size_t)n);
  write_raw(c, body, strlen(body));
  finish(c);
}

void fake_reply_keep(fake_conn *c, int status, const char *body) {
  char head[1024];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                   status, strlen(body));
  write_raw(c, head, (size_t)n);
  write_raw(c, body, strlen(body));
  c->len = 0; /* ready for the next request on this connection */
  c->body = NULL;
  c->answered = 0;
}

void fake_drop(fake_conn *c) {
  conn_close(c);
}

static void on_server_closed(uv_handle_t *h);

void fake_stop_listening(fakeapi *api) {
  if (api->stopped_listening)
    return;
  api->stopped_listening = 1;
  uv_close((uv_handle_t *)&api->server, on_server_closed);
}

void fake_stream_begin(fake_conn *c) {
  static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  write_raw(c, head, sizeof(head) - 1);
}

void fake_send(fake_conn *c, const char *data) {
  char size[32];
  int n = snprintf(size, sizeof(size), "%zx\r\n", strlen(data));
  write_raw(c, size, (size_t)n);
  write_raw(c, data, strlen(data));
  write_raw(c, "\r\n", 2);
}

void fake_end(fake_conn *c, int clean) {
  if (clean)
    write_raw(c, "0\r\n\r\n", 5);
  finish(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  fake_conn *c = h->data;
  (void)suggested;
  *b = uv_buf_init(c->buf + c->len, (unsigned int)(sizeof(c->buf) - c->len - 1));
}

/* The Content-Length of the request whose headers end at `end`, or 0. */
static size_t content_length(const char *buf, const char *end) {
  const char *p = strstr(buf, "\r\n"); /* past the request line */
  while (p && p < end) {
    p += 2;
    if (strncasecmp(p, "Content-Length:", 15) == 0)
      return (size_t)strtoul(p + 15, NULL, 10);
    p = strstr(p, "\r\n");
  }
  return 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  fake_conn *c = s->data;
  char method[16], path[4096], *end;
  (void)b;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  if (c->answered || !(end = strstr(c->buf, "\r\n\r\n")))
    return;
  end += 4;
  if ((size_t)(end - c->buf) + content_length(c->buf, end) > c->len) {
    if (c->len + 1 < sizeof(c->buf))
      return; /* more of the body to come */
    c->answered = 1;
    fake_reply(c, 413, "{}");
    return;
  }
  c->body = end;
  c->answered = 1;
  if (sscanf(c->buf, "%15s %4095s", method, path) != 2) {
    fake_reply(c, 400, "{}");
    return;
  }
  c->api->handler(c->api, c, method, path, c->api->user_data);
}

static void on_connection(uv_stream_t *server, int status) {
  fakeapi *api = server->data;
  fake_conn *c;
  if (status < 0)
    return;
  c = calloc(1, sizeof(*c));
  c->api = api;
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  c->next = api->conns;
  api->conns = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  else
    conn_close(c);
}

fakeapi *fake_start(uv_loop_t *loop, fake_handler h, void *user_data) {
  fakeapi *api = calloc(1, sizeof(*api));
  struct sockaddr_in sa;
  int len = sizeof(sa);
  api->handler = h;
  api->user_data = user_data;
  uv_tcp_init(loop, &api->server);
  api->server.data = api;
  uv_ip4_addr("127.0.0.1", 0, &sa);
  ck_assert_int_eq(uv_tcp_bind(&api->server, (const struct sockaddr *)&sa, 0), 0);
  ck_assert_int_eq(uv_listen((uv_stream_t *)&api->server, 16, on_connection), 0);
  uv_tcp_getsockname(&api->server, (struct sockaddr *)&sa, &len);
  api->port = ntohs(sa.sin_port);
  return api;
}

const char *fake_body(const fake_conn *c) {
  return c->body ? c->body : "";
}

void fake_on_close(fake_conn *c, void (*cb)(fake_conn *c, void *ud), void *ud) {
  c->on_close = cb;
  c->on_close_ud = ud;
}

int fake_port(const fakeapi *api) {
  return api->port;
}

/* Frees the server once it is both closed and stopped (in either order). */
static void on_server_closed(uv_handle_t *h) {
  fakeapi *api = h->data;
  api->listener_closed = 1;
  if (api->stopping)
    free(api);
}

void fake_stop(fakeapi *api) {
  fake_conn *c, *next;
  /* libuv runs close callbacks in no promised order: detach the connections first. */
  for (c = api->conns; c; c = next) {
    next = c->next;
    conn_close(c);
    c->api = NULL;
  }
  api->conns = NULL;
  api->stopping = 1;
  if (!api->stopped_listening)
    uv_close((uv_handle_t *)&api->server, on_server_closed);
  else if (api->listener_closed)
    free(api);
}
