/*
 * Replies and metav1.Status errors.  Messages follow apimachinery's
 * errors package word for word where clients are known to match on them.
 */
#include "kl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kl_count(kl_server *srv, int verb, int res, int code) {
  kl_faults_count(srv->faults, verb, res, code);
}

void kl_reply_raw(kl_ctx *ctx, int code, const char *ctype, char *body, size_t len,
                  const char *extra_headers) {
  kl_req *r = ctx->req;
  bool keep = r && r->keep_alive;
  if (ctx->fault_after) {
    /* The request was served (a write applied); the client gets the fault instead. */
    ctx->fault_after = false;
    free(body);
    if (ctx->srv->cfg.verbose)
      kl_log("%s %s -> %d, replaced by the fault", r ? r->method : "-", r ? r->path : "-", code);
    if (!ctx->fault_drop)
      kl_fault_reply(ctx);
    else if (ctx->conn)
      kl_conn_close(ctx->conn);
    return;
  }
  if (!ctx->control)
    kl_count(ctx->srv, ctx->verb, ctx->res, code);
  if (ctx->srv->cfg.verbose)
    kl_log("%s %s -> %d%s", r ? r->method : "-", r ? r->path : "-", code,
           ctx->conn ? "" : " (its client is gone)");
  if (!ctx->conn) {
    free(body); /* served after its client went away: the answer goes nowhere */
    return;
  }
  kl_buf h = {0};
  kl_buf_reserve(&h, 200);
  kl_buf_printf(&h,
                "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Cache-Control: no-cache, private\r\n"
                "Content-Length: %zu\r\n",
                code, kl_http_reason(code), ctype, len);
  if (!keep)
    kl_buf_puts(&h, "Connection: close\r\n");
  if (extra_headers)
    kl_buf_puts(&h, extra_headers);
  kl_buf_puts(&h, "\r\n");
  size_t hl = h.len;
  kl_conn_send_owned(ctx->conn, kl_buf_steal(&h), hl, body, len);
  kl_conn_response_done(ctx->conn, keep);
}

void kl_reply_json(kl_ctx *ctx, int code, json_t *body) {
  size_t len;
  char *s = kl_json_dumps(body, &len);
  json_decref(body);
  kl_reply_raw(ctx, code, "application/json", s, len, NULL);
}

json_t *kl_status_new(int code, const char *reason, const char *message, json_t *details) {
  json_t *st = json_pack("{s:s,s:s,s:{},s:s}", "kind", "Status", "apiVersion", "v1", "metadata",
                         "status", code >= 200 && code < 300 ? "Success" : "Failure");
  if (message)
    json_object_set_new(st, "message", json_string(message));
  if (reason)
    json_object_set_new(st, "reason", json_string(reason));
  if (details)
    json_object_set_new(st, "details", details);
  json_object_set_new(st, "code", json_integer(code));
  return st;
}

void kl_reply_status(kl_ctx *ctx, int code, const char *reason, const char *message,
                     json_t *details) {
  char extra[64] = "";
  json_t *retry = details ? json_object_get(details, "retryAfterSeconds") : NULL;
  if (ctx->fault_retry_header && (code == 429 || code == 503 || code == 504))
    snprintf(extra, sizeof extra, "Retry-After: %s\r\n", ctx->fault_retry_header);
  else if (retry && (code == 429 || code == 503 || code == 504))
    snprintf(extra, sizeof extra, "Retry-After: %lld\r\n", (long long)json_integer_value(retry));
  json_t *st = kl_status_new(code, reason, message, details);
  size_t len;
  char *s = kl_json_dumps(st, &len);
  json_decref(st);
  kl_reply_raw(ctx, code, "application/json", s, len, extra[0] ? extra : NULL);
}

json_t *kl_details(int res, const char *name) {
  json_t *d = json_object();
  if (name)
    json_object_set_new(d, "name", json_string(name));
  if (res >= 0 && res < KL_RES_COUNT && kl_resources[res].group[0])
    json_object_set_new(d, "group", json_string(kl_resources[res].group));
  if (res != KL_RES_NONE)
    json_object_set_new(d, "kind", json_string(kl_res_plural(res)));
  return d;
}

static const char *qualified(int res) {
  return res >= 0 && res < KL_RES_COUNT ? kl_resources[res].qualified : kl_res_plural(res);
}

void kl_reply_not_found(kl_ctx *ctx, int res, const char *name) {
  kl_buf b = {0};
  kl_buf_printf(&b, "%s \"%s\" not found", qualified(res), name);
  kl_reply_status(ctx, 404, "NotFound", b.data, kl_details(res, name));
  kl_buf_free(&b);
}

void kl_reply_already_exists(kl_ctx *ctx, int res, const char *name) {
  kl_buf b = {0};
  kl_buf_printf(&b, "%s \"%s\" already exists", qualified(res), name);
  kl_reply_status(ctx, 409, "AlreadyExists", b.data, kl_details(res, name));
  kl_buf_free(&b);
}

void kl_reply_conflict(kl_ctx *ctx, int res, const char *name, const char *why) {
  kl_buf b = {0};
  kl_buf_printf(&b, "Operation cannot be fulfilled on %s \"%s\": %s", qualified(res), name,
                why ? why
                    : "the object has been modified; please apply your changes to the "
                      "latest version and try again");
  kl_reply_status(ctx, 409, "Conflict", b.data, kl_details(res, name));
  kl_buf_free(&b);
}

void kl_reply_bad_request(kl_ctx *ctx, const char *message) {
  kl_reply_status(ctx, 400, "BadRequest", message, NULL);
}

void kl_reply_invalid(kl_ctx *ctx, const char *kind, const char *group, const char *name,
                      json_t *causes) {
  kl_buf b = {0};
  if (group && *group)
    kl_buf_printf(&b, "%s.%s \"%s\" is invalid: ", kind, group, name);
  else
    kl_buf_printf(&b, "%s \"%s\" is invalid: ", kind, name);
  size_t n = json_array_size(causes);
  if (n > 1)
    kl_buf_puts(&b, "[");
  for (size_t i = 0; i < n; i++) {
    json_t *c = json_array_get(causes, i);
    const char *field = json_string_value(json_object_get(c, "field"));
    if (i)
      kl_buf_puts(&b, ", ");
    if (field && *field)
      kl_buf_printf(&b, "%s: ", field);
    kl_buf_puts(&b, json_string_value(json_object_get(c, "message")));
  }
  if (n > 1)
    kl_buf_puts(&b, "]");
  json_t *d = json_object();
  json_object_set_new(d, "name", json_string(name));
  if (group && *group)
    json_object_set_new(d, "group", json_string(group));
  json_object_set_new(d, "kind", json_string(kind));
  json_object_set_new(d, "causes", causes);
  kl_reply_status(ctx, 422, "Invalid", b.data, d);
  kl_buf_free(&b);
}

void kl_reply_forbidden(kl_ctx *ctx) {
  const char *user = ctx->token ? ctx->token->user : "system:anonymous";
  const char *group = ctx->res < KL_RES_COUNT ? kl_resources[ctx->res].group : "";
  const char *verb = ctx->verb < KL_VERB_COUNT ? kl_verb_names[ctx->verb] : "get";
  kl_buf b = {0};
  if (ctx->name)
    kl_buf_printf(&b, "%s \"%s\" is forbidden: ", qualified(ctx->res), ctx->name);
  else
    kl_buf_printf(&b, "%s is forbidden: ", qualified(ctx->res));
  kl_buf_printf(&b, "User \"%s\" cannot %s resource \"%s\" in API group \"%s\"", user, verb,
                kl_res_plural(ctx->res), group);
  if (ctx->ns)
    kl_buf_printf(&b, " in the namespace \"%s\"", ctx->ns);
  else
    kl_buf_puts(&b, " at the cluster scope");
  kl_reply_status(ctx, 403, "Forbidden", b.data, kl_details(ctx->res, ctx->name));
  kl_buf_free(&b);
}
