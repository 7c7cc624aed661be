/*
 * Watches: chunked streams of one JSON event per line.
 *
 * Delivery is synchronous with the write that caused it, so a watcher is
 * always caught up with the store; that is what makes a bookmark carrying
 * the current global resourceVersion truthful.  Idle watchers cost nothing
 * but their socket: no polling, only the bookmark and timeout timers.
 */
#include "kl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void watch_end(kl_watch *w, bool abort) {
  kl_conn *c = w->conn;
  kl_watch_detach(w);
  kl_conn_stream_end(c, abort);
}

static void on_timer_closed(uv_handle_t *h) {
  free(h);
}

void kl_watch_detach(kl_watch *w) {
  kl_server *srv = w->srv;
  if (w->prev)
    w->prev->next = w->next;
  else
    srv->watches = w->next;
  if (w->next)
    w->next->prev = w->prev;
  srv->nwatches--;
  if (w->timer)
    uv_close((uv_handle_t *)w->timer, on_timer_closed);
  kl_selector_free(w->labels);
  kl_selector_free(w->fields);
  free(w->ns);
  free(w);
}

/* A watcher that cannot keep up is cut off, as the apiserver does, so a
 * stuck client cannot make the server buffer without limit. */
static bool send_line(kl_watch *w, kl_shared *line) {
  if (kl_conn_queued(w->conn) > WATCH_MAX_QUEUED_BYTES) {
    kl_log("dropping a watcher that stopped reading");
    watch_end(w, true);
    return false;
  }
  kl_conn_send_shared(w->conn, line);
  return true;
}

static bool send_table_event(kl_watch *w, const char *type, json_t *obj) {
  json_t *t = kl_table(w->res, &obj, 1, NULL, "Metadata", time(NULL));
  kl_shared *line = kl_event_make_line(type, t);
  json_decref(t);
  bool ok = send_line(w, line);
  kl_shared_unref(line);
  return ok;
}

static const char *obj_ns(json_t *obj) {
  const char *ns =
      json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
  return ns ? ns : "";
}

static bool matches(const kl_watch *w, json_t *obj) {
  return kl_selectors_match(w->labels, w->fields, obj);
}

/* Decides what one change looks like through this watcher's selectors:
 * entering the selection is ADDED, leaving it is DELETED.  Returns false
 * when the watcher was dropped. */
static bool deliver(kl_watch *w, kl_event *ev, const char *ns) {
  if (ev->res != w->res || (w->ns && strcmp(w->ns, ns) != 0))
    return true;
  bool is = matches(w, ev->obj);
  bool was = ev->prev && matches(w, ev->prev);
  int kind;
  if (ev->type == KL_EV_MODIFIED) {
    if (is && was)
      kind = KL_LINE_AS_IS;
    else if (is)
      kind = KL_LINE_ADDED;
    else if (was)
      kind = KL_LINE_DELETED_PREV;
    else
      return true;
  } else if (is) {
    kind = KL_LINE_AS_IS;
  } else {
    return true;
  }
  if (w->table) {
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
    if (kind == KL_LINE_DELETED_PREV)
      return send_table_event(w, "DELETED", ev->prev);
    return send_table_event(w, kind == KL_LINE_ADDED ? "ADDED" : names[ev->type], ev->obj);
  }
  return send_line(w, kl_event_line(ev, kind));
}

void kl_watch_notify(kl_server *srv, kl_event *ev) {
  if (!srv->watches)
    return;
  const char *ns = obj_ns(ev->obj);
  kl_watch *next;
  for (kl_watch *w = srv->watches; w; w = next) {
    next = w->next;
    deliver(w, ev, ns);
  }
}

static json_t *bookmark_object(int res, uint64_t rv) {
  char buf[24];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)rv);
  return json_pack("{s:s,s:s,s:{s:s}}", "kind", kl_resources[res].kind, "apiVersion",
                   kl_resources[res].api_version, "metadata", "resourceVersion", buf);
}

size_t kl_watch_bookmark_all(kl_server *srv) {
  kl_shared *lines[KL_RES_COUNT] = {0};
  size_t sent = 0;
  kl_watch *next;
  for (kl_watch *w = srv->watches; w; w = next) {
    next = w->next;
    if (!w->bookmarks)
      continue;
    if (!lines[w->res]) {
      json_t *b = bookmark_object(w->res, kl_store_rv(srv->store));
      lines[w->res] = kl_event_make_line("BOOKMARK", b);
      json_decref(b);
    }
    if (send_line(w, lines[w->res]))
      sent++;
  }
  for (int i = 0; i < KL_RES_COUNT; i++)
    kl_shared_unref(lines[i]);
  return sent;
}

size_t kl_watch_end_all(kl_server *srv, bool abort) {
  size_t n = 0;
  while (srv->watches) {
    watch_end(srv->watches, abort);
    n++;
  }
  return n;
}

static void on_bookmark_timer(uv_timer_t *t) {
  kl_watch_bookmark_all(t->data);
}

void kl_watch_reset_bookmark_timer(kl_server *srv) {
  srv->bookmark_timer.data = srv;
  uv_timer_stop(&srv->bookmark_timer);
  if (srv->cfg.bookmark_ms > 0)
    uv_timer_start(&srv->bookmark_timer, on_bookmark_timer, srv->cfg.bookmark_ms,
                   srv->cfg.bookmark_ms);
}

static void on_watch_timeout(uv_timer_t *t) {
  watch_end(t->data, false);
}

static void send_expired(kl_watch *w, uint64_t asked, uint64_t oldest) {
  char msg[96];
  snprintf(msg, sizeof msg, "too old resource version: %llu (%llu)", (unsigned long long)asked,
           (unsigned long long)oldest);
  json_t *st = kl_status_new(410, "Expired", msg, NULL);
  kl_shared *line = kl_event_make_line("ERROR", st);
  json_decref(st);
  send_line(w, line);
  kl_shared_unref(line);
}

static bool send_initial(kl_watch *w) {
  kl_obj **objs;
  size_t n = kl_store_collect(w->srv->store, w->res, w->ns, &objs);
  bool ok = true;
  for (size_t i = 0; i < n && ok; i++) {
    if (!matches(w, objs[i]->json))
      continue;
    if (w->table) {
      ok = send_table_event(w, "ADDED", objs[i]->json);
      continue;
    }
    kl_shared *line = kl_event_make_line("ADDED", objs[i]->json);
    ok = send_line(w, line);
    kl_shared_unref(line);
  }
  free(objs);
  return ok;
}

void kl_watch_start(kl_ctx *ctx, kl_selector *labels, kl_selector *fields) {
  kl_server *srv = ctx->srv;
  const kl_req *r = ctx->req;
  const char *rvs = kl_req_param(r, "resourceVersion");
  const char *tos = kl_req_param(r, "timeoutSeconds");
  uint64_t from = 0, timeout = 0;
  bool initial = !rvs || !*rvs || strcmp(rvs, "0") == 0;
  if (rvs && *rvs && !kl_parse_u64(rvs, &from)) {
    kl_selector_free(labels);
    kl_selector_free(fields);
    char msg[160];
    snprintf(msg, sizeof msg, "invalid resource version: %.100s", rvs);
    kl_reply_bad_request(ctx, msg);
    return;
  }
  if (tos && *tos && !kl_parse_u64(tos, &timeout)) {
    kl_selector_free(labels);
    kl_selector_free(fields);
    kl_reply_bad_request(ctx, "timeoutSeconds: invalid value");
    return;
  }
  uint64_t current = kl_store_rv(srv->store);
  if (!initial && from > current) {
    kl_selector_free(labels);
    kl_selector_free(fields);
    char msg[128];
    snprintf(msg, sizeof msg, "Too large resource version: %llu, current: %llu",
             (unsigned long long)from, (unsigned long long)current);
    json_t *d = json_pack("{s:[{s:s,s:s}],s:i}", "causes", "reason", "ResourceVersionTooLarge",
                          "message", "Too large resource version", "retryAfterSeconds", 1);
    kl_reply_status(ctx, 504, "Timeout", msg, d);
    return;
  }

  kl_watch *w = kl_xcalloc(1, sizeof *w);
  w->srv = srv;
  w->conn = ctx->conn;
  w->res = ctx->res;
  w->ns = kl_strdup(ctx->ns);
  w->labels = labels;
  w->fields = fields;
  w->bookmarks = kl_req_param_true(r, "allowWatchBookmarks");
  w->table = ctx->table;
  w->next = srv->watches;
  if (srv->watches)
    srv->watches->prev = w;
  srv->watches = w;
  srv->nwatches++;
  kl_count(srv, KL_VERB_WATCH, ctx->res, 200);
  kl_conn_stream_begin(ctx->conn, w);

  bool alive;
  if (initial) {
    alive = send_initial(w);
  } else {
    kl_event **evs;
    size_t n;
    if (!kl_store_history(srv->store, from, &evs, &n)) {
      /* A real apiserver answers 200 and reports expiry in-band. */
      send_expired(w, from, kl_store_compacted_rv(srv->store));
      watch_end(w, false);
      return;
    }
    alive = true;
    for (size_t i = 0; i < n && alive; i++)
      alive = deliver(w, evs[i], obj_ns(evs[i]->obj));
    free(evs);
  }
  if (alive && timeout > 0) {
    w->timer = kl_xmalloc(sizeof *w->timer);
    uv_timer_init(srv->loop, w->timer);
    w->timer->data = w;
    uv_update_time(srv->loop);
    uv_timer_start(w->timer, on_watch_timeout, timeout * 1000, 0);
  }
}
