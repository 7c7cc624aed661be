/*
 * The control endpoint under /kube-lite/v1/: lets tests break the server
 * on purpose and read what the client under test did to it.
 * docs/kube-lite.md is the reference for every call.
 */
#include "kl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *body_object(kl_ctx *ctx) {
  if (ctx->req->body_len == 0)
    return json_object();
  json_error_t e;
  json_t *j = json_loadb(ctx->req->body, ctx->req->body_len, 0, &e);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    kl_buf b = {0};
    kl_buf_printf(&b, "control body must be a JSON object: %s", e.text);
    kl_reply_bad_request(ctx, b.data);
    kl_buf_free(&b);
    return NULL;
  }
  return j;
}

static json_t *rv_string(uint64_t rv) {
  char buf[24];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)rv);
  return json_string(buf);
}

static void info(kl_ctx *ctx) {
  kl_server *srv = ctx->srv;
  json_t *j = json_pack("{s:o,s:o,s:I,s:I,s:I,s:I,s:i,s:s,s:b,s:b,s:I}", "resourceVersion",
                        rv_string(kl_store_rv(srv->store)), "compactedResourceVersion",
                        rv_string(kl_store_compacted_rv(srv->store)), "historyLength",
                        (json_int_t)kl_store_history_len(srv->store), "objects",
                        (json_int_t)kl_store_count(srv->store), "watches",
                        (json_int_t)srv->nwatches, "connections", (json_int_t)srv->nconns, "port",
                        srv->port, "url", srv->url, "tls", srv->tls != NULL, "auth",
                        srv->auth != NULL, "bookmarkIntervalMs", (json_int_t)srv->cfg.bookmark_ms);
  kl_reply_json(ctx, 200, j);
}

static bool method(const kl_ctx *ctx, const char *m) {
  return strcmp(ctx->req->method, m) == 0;
}

static double seconds_field(json_t *body, const char *key, bool *ok) {
  json_t *v = json_object_get(body, key);
  if (!v || !json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 86400) {
    *ok = false;
    return 0;
  }
  return json_number_value(v);
}

/* Names the call, so that one kube-lite does not have (such as DELETE stats, which is POST
 * stats/reset) is plain from the answer. */
static void unknown_call(kl_ctx *ctx, const char *sub, int code) {
  kl_buf b = {0};
  kl_buf_printf(&b, "unknown kube-lite control call: %s %s", ctx->req->method, sub);
  kl_reply_status(ctx, code, "NotFound", b.data, NULL);
  kl_buf_free(&b);
}

static void faults(kl_ctx *ctx, const char *rest) {
  kl_faults *f = ctx->srv->faults;
  if (method(ctx, "GET") && !*rest) {
    kl_reply_json(ctx, 200, kl_faults_list(f));
  } else if (method(ctx, "POST") && !*rest) {
    json_t *body = body_object(ctx);
    if (!body)
      return;
    char *err;
    int id = kl_faults_add(f, body, &err);
    json_decref(body);
    if (id < 0) {
      kl_reply_bad_request(ctx, err);
      free(err);
      return;
    }
    kl_reply_json(ctx, 201, json_pack("{s:i}", "id", id));
  } else if (method(ctx, "DELETE")) {
    uint64_t id = 0;
    if (*rest && (rest[0] != '/' || !kl_parse_u64(rest + 1, &id) || id == 0)) {
      kl_reply_bad_request(ctx, "expected /kube-lite/v1/faults/{id}");
      return;
    }
    kl_faults_clear(f, (int)id);
    kl_reply_json(ctx, 200, json_object());
  } else {
    kl_reply_status(ctx, 405, "MethodNotAllowed", "unsupported method", NULL);
  }
}

void kl_handle_control(kl_ctx *ctx, const char *sub) {
  kl_server *srv = ctx->srv;
  if (strcmp(sub, "info") == 0 && method(ctx, "GET")) {
    info(ctx);
    return;
  }
  if (strcmp(sub, "stats") == 0 && method(ctx, "GET")) {
    kl_reply_json(ctx, 200, kl_faults_stats(srv->faults));
    return;
  }
  if (strcmp(sub, "stats/reset") == 0 && method(ctx, "POST")) {
    kl_faults_stats_reset(srv->faults);
    kl_reply_json(ctx, 200, json_object());
    return;
  }
  if (strcmp(sub, "listening") == 0 && method(ctx, "GET")) {
    /* Answers once the API port listens (at once when it does). */
    if (srv->listener)
      kl_reply_json(ctx, 200, json_pack("{s:s}", "url", srv->url));
    else
      kl_conn_park(ctx->conn, kl_ctx_take(ctx));
    return;
  }
  if (strncmp(sub, "faults", 6) == 0 && (sub[6] == '\0' || sub[6] == '/')) {
    faults(ctx, sub + 6);
    return;
  }
  if (!method(ctx, "POST")) {
    unknown_call(ctx, sub, strcmp(sub, "info") == 0 ? 405 : 404);
    return;
  }
  json_t *body = body_object(ctx);
  if (!body)
    return;
  bool ok = true;
  if (strcmp(sub, "seed") == 0) {
    json_t *s = json_object_get(body, "seed");
    if (!json_is_integer(s) || json_integer_value(s) < 0) {
      kl_reply_bad_request(ctx, "expected {\"seed\": N}");
    } else {
      kl_faults_reseed(srv->faults, (uint64_t)json_integer_value(s));
      kl_reply_json(ctx, 200, json_object());
    }
  } else if (strcmp(sub, "watches/close") == 0) {
    bool abort = json_is_true(json_object_get(body, "abort"));
    size_t n = kl_watch_end_all(srv, abort);
    if (srv->proxy)
      n += kl_proxy_end_watches(srv->proxy, abort);
    kl_reply_json(ctx, 200, json_pack("{s:I}", "closed", (json_int_t)n));
  } else if ((strcmp(sub, "stop") == 0 || strcmp(sub, "start") == 0) && !srv->control_listener) {
    kl_reply_bad_request(ctx, "stop and start need the control port (--control-port, or "
                              "--upstream)");
  } else if (strcmp(sub, "stop") == 0) {
    /* The server goes away until start: no listener, no API connection. */
    kl_server_refuse(srv, ctx->conn, -1);
    kl_reply_json(ctx, 200, json_object());
  } else if (strcmp(sub, "start") == 0) {
    /* Answered once the API port listens again: at once, unless the port is taken. */
    kl_server_reopen(srv);
    if (srv->listener)
      kl_reply_json(ctx, 200, json_pack("{s:s}", "url", srv->url));
    else
      kl_conn_park(ctx->conn, kl_ctx_take(ctx));
  } else if (srv->proxy && strcmp(sub, "compact") == 0) {
    kl_reply_bad_request(ctx, "compact: the upstream server's history is not kube-lite's");
  } else if (strcmp(sub, "compact") == 0) {
    kl_store_compact(srv->store);
    kl_reply_json(ctx, 200,
                  json_pack("{s:o}", "compactedResourceVersion",
                            rv_string(kl_store_compacted_rv(srv->store))));
  } else if (strcmp(sub, "refuse") == 0) {
    double secs = seconds_field(body, "seconds", &ok);
    if (!ok) {
      kl_reply_bad_request(ctx, "expected {\"seconds\": N} with 0 <= N <= 86400");
    } else {
      /* The reply goes out on this connection, then it closes too. */
      kl_server_refuse(srv, ctx->conn, (int64_t)llround(secs * 1000.0));
      kl_reply_json(ctx, 200, json_pack("{s:f}", "seconds", secs));
    }
  } else if (strcmp(sub, "tokens/rotate") == 0) {
    const char *old = json_string_value(json_object_get(body, "old"));
    const char *nw = json_string_value(json_object_get(body, "new"));
    if (!srv->auth)
      kl_reply_bad_request(ctx, "authentication is off (no --token-file)");
    else if (!kl_auth_rotate(srv->auth, old, nw))
      kl_reply_status(ctx, 404, "NotFound", "no such token, or the new token is taken", NULL);
    else
      kl_reply_json(ctx, 200, json_object());
  } else if (strcmp(sub, "bookmarks") == 0) {
    json_t *iv = json_object_get(body, "intervalSeconds");
    if (iv) {
      double secs = seconds_field(body, "intervalSeconds", &ok);
      if (!ok) {
        kl_reply_bad_request(ctx, "intervalSeconds must be between 0 and 86400");
        json_decref(body);
        return;
      }
      srv->cfg.bookmark_ms = (uint64_t)llround(secs * 1000.0);
      kl_watch_reset_bookmark_timer(srv);
    }
    size_t n = iv ? 0 : kl_watch_bookmark_all(srv);
    kl_reply_json(ctx, 200, json_pack("{s:I}", "sent", (json_int_t)n));
  } else {
    unknown_call(ctx, sub, 404);
  }
  json_decref(body);
}
