/*
 * The verbs on ConfigMaps and Leases: get, list, watch, create, update,
 * patch, delete and deletecollection, with the generic registry's
 * optimistic concurrency and precondition rules.
 */
#include "kl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODIFIED_MSG                                                                               \
  "the object has been modified; please apply your changes to the latest version and try again"

static json_t *parse_body(kl_ctx *ctx) {
  json_error_t e;
  json_t *j = json_loadb(ctx->req->body, ctx->req->body_len, JSON_DECODE_ANY, &e);
  if (!j) {
    kl_buf b = {0};
    kl_buf_printf(&b, "couldn't get version/kind; json parse error: %s", e.text);
    kl_reply_bad_request(ctx, b.data);
    kl_buf_free(&b);
  }
  return j;
}

static const char *meta_str(json_t *obj, const char *key) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static uint64_t obj_rv(json_t *obj) {
  uint64_t rv = 0;
  const char *s = meta_str(obj, "resourceVersion");
  if (s)
    kl_parse_u64(s, &rv);
  return rv;
}

/* Rebuilds metadata in the order the apiserver writes it. */
static void canonical_meta(json_t *obj, const char *ns, const char *uid, const char *created) {
  json_t *in = json_object_get(obj, "metadata");
  json_t *m = json_object();
  static const char *const order[] = {"name",   "generateName",    "namespace",
                                      "uid",    "resourceVersion", "creationTimestamp",
                                      "labels", "annotations",     "ownerReferences"};
  for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
    const char *k = order[i];
    json_t *v = json_object_get(in, k);
    if (strcmp(k, "namespace") == 0)
      v = json_string(ns);
    else if (strcmp(k, "uid") == 0)
      v = json_string(uid);
    else if (strcmp(k, "creationTimestamp") == 0)
      v = json_string(created);
    else if (strcmp(k, "resourceVersion") == 0)
      v = json_string("");
    else if (v)
      json_incref(v);
    if (v)
      json_object_set_new(m, k, v);
  }
  json_object_set_new(obj, "metadata", m);
}

static bool check_ns_and_name(kl_ctx *ctx, json_t *obj, bool need_name) {
  const char *ns = meta_str(obj, "namespace");
  if (ns && *ns && strcmp(ns, ctx->ns) != 0) {
    kl_reply_bad_request(ctx, "the namespace of the provided object does not match the "
                              "namespace sent on the request");
    return false;
  }
  if (need_name) {
    const char *name = meta_str(obj, "name");
    if (!name || strcmp(name, ctx->name) != 0) {
      kl_buf b = {0};
      kl_buf_printf(&b, "the name of the object (%s) does not match the name on the URL (%s)",
                    name ? name : "", ctx->name);
      kl_reply_bad_request(ctx, b.data);
      kl_buf_free(&b);
      return false;
    }
  }
  return true;
}

static bool validate_or_reply(kl_ctx *ctx, json_t *obj, json_t *old) {
  json_t *causes = kl_validate(ctx->res, obj, old);
  if (!causes)
    return true;
  const char *name = meta_str(obj, "name");
  kl_reply_invalid(ctx, kl_resources[ctx->res].kind, kl_resources[ctx->res].group, name ? name : "",
                   causes);
  return false;
}

/* A write asked as a dry run is refused rather than applied for real: no client of kube-lite
 * sends one, and ignoring the parameter would store what the caller meant only to check. */
static bool refuse_dry_run(kl_ctx *ctx) {
  if (!kl_req_param(ctx->req, "dryRun"))
    return false;
  kl_reply_bad_request(ctx, "dryRun is not supported by kube-lite: nothing was applied");
  return true;
}

static void reply_object(kl_ctx *ctx, int code, json_t *obj) {
  if (ctx->table) {
    char rv[24];
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)obj_rv(obj));
    kl_reply_json(
        ctx, code,
        kl_table(ctx->res, &obj, 1, rv, kl_req_param(ctx->req, "includeObject"), time(NULL)));
    return;
  }
  if (ctx->partial) {
    kl_reply_json(ctx, code,
                  json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata", "apiVersion",
                            "meta.k8s.io/v1", "metadata", json_object_get(obj, "metadata")));
    return;
  }
  kl_reply_json(ctx, code, json_incref(obj));
}

/* ---- create ------------------------------------------------------------------ */

static void store_new(kl_ctx *ctx, json_t *obj) {
  char uid[37], ts[32];
  kl_uuid4(uid);
  kl_time_rfc3339(ts, time(NULL));
  canonical_meta(obj, ctx->ns, uid, ts);
  const char *name = meta_str(obj, "name");
  kl_obj *o = kl_store_put(ctx->srv, ctx->res, ctx->ns, name, obj);
  reply_object(ctx, 201, o->json);
}

/* The request body as an object of the resource, or NULL after replying with the problem. */
static json_t *read_object(kl_ctx *ctx) {
  json_t *body = parse_body(ctx);
  if (!body)
    return NULL;
  char *err;
  json_t *obj = kl_normalize(ctx->res, body, &err);
  if (!obj) {
    kl_reply_bad_request(ctx, err);
    free(err);
  }
  return obj;
}

static void do_create(kl_ctx *ctx) {
  json_t *obj = read_object(ctx);
  if (!obj)
    return;
  if (!check_ns_and_name(ctx, obj, false))
    goto out;
  if (meta_str(obj, "resourceVersion") && *meta_str(obj, "resourceVersion")) {
    kl_reply_status(ctx, 500, "InternalError",
                    "Internal error occurred: resourceVersion should not be set on objects "
                    "to be created",
                    json_pack("{s:[{s:s}]}", "causes", "message",
                              "resourceVersion should not be set on objects to be created"));
    goto out;
  }
  if (!validate_or_reply(ctx, obj, NULL))
    goto out;
  const char *name = meta_str(obj, "name");
  if (kl_store_get(ctx->srv->store, ctx->res, ctx->ns, name)) {
    kl_reply_already_exists(ctx, ctx->res, name);
    goto out;
  }
  store_new(ctx, obj);
  return;
out:
  json_decref(obj);
}

/* ---- update and patch ------------------------------------------------------------- */

static void reply_uid_conflict(kl_ctx *ctx, const char *want, const char *have) {
  kl_buf b = {0};
  kl_buf_printf(&b, "Precondition failed: UID in precondition: %s, UID in object meta: %s", want,
                have);
  kl_reply_conflict(ctx, ctx->res, ctx->name, b.data);
  kl_buf_free(&b);
}

/* Shared tail of PUT and PATCH: obj is the complete new state. */
static void apply_update(kl_ctx *ctx, kl_obj *cur, json_t *obj) {
  const char *uid = meta_str(cur->json, "uid");
  const char *new_uid = meta_str(obj, "uid");
  if (new_uid && *new_uid && strcmp(new_uid, uid) != 0) {
    reply_uid_conflict(ctx, new_uid, uid);
    json_decref(obj);
    return;
  }
  if (!validate_or_reply(ctx, obj, cur->json)) {
    json_decref(obj);
    return;
  }
  canonical_meta(obj, ctx->ns, uid, meta_str(cur->json, "creationTimestamp"));
  /* A write that changes nothing keeps its resourceVersion and wakes no
   * watcher, as with etcd's guaranteed update. */
  json_object_set(json_object_get(obj, "metadata"), "resourceVersion",
                  json_object_get(json_object_get(cur->json, "metadata"), "resourceVersion"));
  if (json_equal(obj, cur->json)) {
    reply_object(ctx, 200, obj);
    json_decref(obj);
    return;
  }
  kl_obj *o = kl_store_put(ctx->srv, ctx->res, ctx->ns, ctx->name, obj);
  reply_object(ctx, 200, o->json);
}

static void do_update(kl_ctx *ctx) {
  json_t *obj = read_object(ctx);
  if (!obj)
    return;
  if (!check_ns_and_name(ctx, obj, true)) {
    json_decref(obj);
    return;
  }
  const kl_resdef *def = &kl_resources[ctx->res];
  kl_obj *cur = kl_store_get(ctx->srv->store, ctx->res, ctx->ns, ctx->name);
  const char *rvs = meta_str(obj, "resourceVersion");
  bool has_rv = rvs && *rvs;
  if (!cur) {
    if (def->create_on_update && !has_rv && validate_or_reply(ctx, obj, NULL)) {
      store_new(ctx, obj);
      return;
    }
    if (!def->create_on_update || has_rv)
      kl_reply_not_found(ctx, ctx->res, ctx->name);
    json_decref(obj);
    return;
  }
  if (!has_rv && !def->unconditional_update) {
    json_t *causes = json_array();
    kl_cause_invalid(causes, "metadata.resourceVersion", "0x0", "must be specified for an update");
    kl_reply_invalid(ctx, def->plural, def->group, ctx->name, causes);
    json_decref(obj);
    return;
  }
  uint64_t rv;
  if (has_rv && (!kl_parse_u64(rvs, &rv) || rv != cur->rv)) {
    kl_reply_conflict(ctx, ctx->res, ctx->name, NULL);
    json_decref(obj);
    return;
  }
  apply_update(ctx, cur, obj);
}

static bool media_is(const char *ctype, const char *want) {
  size_t n = strlen(want);
  return ctype && strncmp(ctype, want, n) == 0 && (ctype[n] == '\0' || ctype[n] == ';');
}

/* Strategic merge patches are read as merge patches (no client here patches a list); JSON
 * patch (RFC 6902) and server-side apply are refused as a server refuses a type it lacks. */
static void do_patch(kl_ctx *ctx) {
  const char *ct = ctx->req->content_type;
  if (!media_is(ct, "application/merge-patch+json") &&
      !media_is(ct, "application/strategic-merge-patch+json")) {
    kl_reply_status(ctx, 415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/merge-patch+json, "
                    "application/strategic-merge-patch+json",
                    NULL);
    return;
  }
  json_t *patch = parse_body(ctx);
  if (!patch)
    return;
  kl_obj *cur = kl_store_get(ctx->srv->store, ctx->res, ctx->ns, ctx->name);
  if (!cur) {
    kl_reply_not_found(ctx, ctx->res, ctx->name);
    json_decref(patch);
    return;
  }
  json_t *patched = kl_merge_patch(cur->json, patch);
  json_decref(patch);
  const char *rvs = meta_str(patched, "resourceVersion");
  uint64_t rv;
  if (rvs && *rvs && (!kl_parse_u64(rvs, &rv) || rv != cur->rv)) {
    kl_reply_conflict(ctx, ctx->res, ctx->name, NULL);
    json_decref(patched);
    return;
  }
  char *err;
  json_t *obj = kl_normalize(ctx->res, patched, &err);
  if (!obj) {
    kl_reply_status(ctx, 422, "Invalid", err, NULL);
    free(err);
    return;
  }
  if (!check_ns_and_name(ctx, obj, true)) {
    json_decref(obj);
    return;
  }
  apply_update(ctx, cur, obj);
}

/* ---- delete ------------------------------------------------------------------------ */

static json_t *success_status(kl_obj *o) {
  json_t *d = kl_details(o->res, o->name);
  json_object_set_new(d, "uid", json_string(meta_str(o->json, "uid")));
  return json_pack("{s:s,s:s,s:{},s:s,s:o}", "kind", "Status", "apiVersion", "v1", "metadata",
                   "status", "Success", "details", d);
}

static void do_delete(kl_ctx *ctx) {
  kl_obj *cur = kl_store_get(ctx->srv->store, ctx->res, ctx->ns, ctx->name);
  json_t *opts = NULL;
  if (ctx->req->body_len > 0) {
    opts = parse_body(ctx);
    if (!opts)
      return;
  }
  if (!cur) {
    json_decref(opts);
    kl_reply_not_found(ctx, ctx->res, ctx->name);
    return;
  }
  json_t *pre = json_object_get(opts, "preconditions");
  const char *puid = json_string_value(json_object_get(pre, "uid"));
  const char *prv = json_string_value(json_object_get(pre, "resourceVersion"));
  const char *uid = meta_str(cur->json, "uid");
  const char *rv = meta_str(cur->json, "resourceVersion");
  if (puid && strcmp(puid, uid) != 0) {
    reply_uid_conflict(ctx, puid, uid);
  } else if (prv && strcmp(prv, rv) != 0) {
    kl_buf b = {0};
    kl_buf_printf(&b,
                  "Precondition failed: ResourceVersion in precondition: %s, "
                  "ResourceVersion in object meta: %s",
                  prv, rv);
    kl_reply_conflict(ctx, ctx->res, ctx->name, b.data);
    kl_buf_free(&b);
  } else {
    json_t *st = success_status(cur);
    kl_store_delete(ctx->srv, cur);
    kl_reply_json(ctx, 200, st);
  }
  json_decref(opts);
}

/* ---- list and deletecollection ------------------------------------------------------ */

static bool parse_selectors(kl_ctx *ctx, kl_selector **labels, kl_selector **fields) {
  char *err;
  *fields = NULL;
  *labels = kl_label_selector_parse(kl_req_param(ctx->req, "labelSelector"), &err);
  if (!err)
    *fields = kl_field_selector_parse(kl_req_param(ctx->req, "fieldSelector"), &err);
  if (err) {
    kl_selector_free(*labels);
    kl_reply_bad_request(ctx, err);
    free(err);
    return false;
  }
  return true;
}

/* List items leave out kind and apiVersion, as typed lists do on the wire. */
static json_t *list_item(json_t *obj) {
  json_t *item = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (strcmp(k, "kind") != 0 && strcmp(k, "apiVersion") != 0)
      json_object_set(item, k, v);
  }
  return item;
}

static char *continue_token(kl_obj *o) {
  json_t *t = json_pack("{s:s,s:s}", "ns", o->ns, "name", o->name);
  size_t n;
  char *s = kl_json_dumps(t, &n);
  json_decref(t);
  char *b = kl_base64_encode(s, n);
  free(s);
  return b;
}

/* Skips objects up to and including the one the token names. */
static bool after_token(const char *token, kl_obj **objs, size_t n, size_t *start) {
  *start = 0;
  if (!token || !*token)
    return true;
  size_t dlen;
  if (!kl_base64_valid(token, &dlen))
    return false;
  /* Decode by round-tripping through the JSON we encoded. */
  char *dec = kl_xcalloc(1, dlen + 1);
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (const char *p = token; *p && *p != '='; p++) {
    acc = acc << 6 | (unsigned)(strchr(tbl, *p) - tbl);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      dec[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  json_t *t = json_loads(dec, 0, NULL);
  free(dec);
  const char *ns = json_string_value(json_object_get(t, "ns"));
  const char *name = json_string_value(json_object_get(t, "name"));
  bool ok = ns && name;
  while (ok && *start < n) {
    int c = strcmp(objs[*start]->ns, ns);
    if (c > 0 || (c == 0 && strcmp(objs[*start]->name, name) > 0))
      break;
    (*start)++;
  }
  json_decref(t);
  return ok;
}

static void do_list(kl_ctx *ctx) {
  kl_selector *labels, *fields;
  if (!parse_selectors(ctx, &labels, &fields))
    return;
  kl_obj **objs;
  size_t n = kl_store_collect(ctx->srv->store, ctx->res, ctx->ns, &objs);
  uint64_t limit = 0;
  const char *ls = kl_req_param(ctx->req, "limit");
  if (ls && *ls)
    kl_parse_u64(ls, &limit);
  size_t i;
  if (!after_token(kl_req_param(ctx->req, "continue"), objs, n, &i)) {
    free(objs);
    kl_selector_free(labels);
    kl_selector_free(fields);
    kl_reply_bad_request(ctx, "continue key is not valid");
    return;
  }
  json_t **sel = kl_xmalloc((n + 1) * sizeof *sel);
  size_t k = 0, last = 0;
  for (; i < n && (!limit || k < limit); i++) {
    if (kl_selectors_match(labels, fields, objs[i]->json)) {
      sel[k++] = objs[i]->json;
      last = i;
    }
  }
  size_t remaining = 0;
  for (size_t j = i; limit && j < n; j++)
    remaining += kl_selectors_match(labels, fields, objs[j]->json);
  char rv[24];
  snprintf(rv, sizeof rv, "%llu", (unsigned long long)kl_store_rv(ctx->srv->store));
  json_t *doc;
  if (ctx->table) {
    doc = kl_table(ctx->res, sel, k, rv, kl_req_param(ctx->req, "includeObject"), time(NULL));
  } else {
    json_t *items = json_array();
    for (size_t j = 0; j < k; j++)
      json_array_append_new(items, list_item(sel[j]));
    doc = json_pack("{s:s,s:s,s:{s:s},s:o}", "kind", kl_resources[ctx->res].list_kind, "apiVersion",
                    kl_resources[ctx->res].api_version, "metadata", "resourceVersion", rv, "items",
                    items);
  }
  if (remaining > 0) {
    json_t *meta = json_object_get(doc, "metadata");
    char *tok = continue_token(objs[last]);
    json_object_set_new(meta, "continue", json_string(tok));
    json_object_set_new(meta, "remainingItemCount", json_integer((json_int_t)remaining));
    free(tok);
  }
  free(sel);
  free(objs);
  kl_selector_free(labels);
  kl_selector_free(fields);
  kl_reply_json(ctx, 200, doc);
}

static void do_delete_collection(kl_ctx *ctx) {
  kl_selector *labels, *fields;
  if (!parse_selectors(ctx, &labels, &fields))
    return;
  kl_obj **objs;
  size_t n = kl_store_collect(ctx->srv->store, ctx->res, ctx->ns, &objs);
  json_t *items = json_array();
  for (size_t i = 0; i < n; i++) {
    if (!kl_selectors_match(labels, fields, objs[i]->json))
      continue;
    json_array_append_new(items, list_item(objs[i]->json));
    kl_store_delete(ctx->srv, objs[i]);
  }
  free(objs);
  kl_selector_free(labels);
  kl_selector_free(fields);
  char rv[24];
  snprintf(rv, sizeof rv, "%llu", (unsigned long long)kl_store_rv(ctx->srv->store));
  kl_reply_json(ctx, 200,
                json_pack("{s:s,s:s,s:{s:s},s:o}", "kind", kl_resources[ctx->res].list_kind,
                          "apiVersion", kl_resources[ctx->res].api_version, "metadata",
                          "resourceVersion", rv, "items", items));
}

static void do_watch(kl_ctx *ctx) {
  /* The WatchList handshake (initial events ended by a marked bookmark) is a client-go
   * feature none of kube-lite's clients turns on; ignored, the client would wait for a
   * bookmark that never comes. */
  if (kl_req_param(ctx->req, "sendInitialEvents")) {
    kl_reply_bad_request(ctx, "sendInitialEvents is not supported by kube-lite: watch from a "
                              "list's resourceVersion");
    return;
  }
  kl_selector *labels, *fields;
  if (!parse_selectors(ctx, &labels, &fields))
    return;
  kl_watch_start(ctx, labels, fields);
}

/* ---- entry points --------------------------------------------------------------------- */

void kl_handle_resource(kl_ctx *ctx) {
  if (ctx->ns && !kl_is_dns1123_label(ctx->ns)) {
    kl_reply_not_found(ctx, KL_RES_NAMESPACES, ctx->ns);
    return;
  }
  if (ctx->verb != KL_VERB_GET && ctx->verb != KL_VERB_LIST && ctx->verb != KL_VERB_WATCH &&
      refuse_dry_run(ctx))
    return;
  switch (ctx->verb) {
  case KL_VERB_GET: {
    kl_obj *o = kl_store_get(ctx->srv->store, ctx->res, ctx->ns, ctx->name);
    if (o)
      reply_object(ctx, 200, o->json);
    else
      kl_reply_not_found(ctx, ctx->res, ctx->name);
    return;
  }
  case KL_VERB_LIST:
    do_list(ctx);
    return;
  case KL_VERB_WATCH:
    do_watch(ctx);
    return;
  case KL_VERB_CREATE:
    do_create(ctx);
    return;
  case KL_VERB_UPDATE:
    do_update(ctx);
    return;
  case KL_VERB_PATCH:
    do_patch(ctx);
    return;
  case KL_VERB_DELETE:
    do_delete(ctx);
    return;
  case KL_VERB_DELETECOLLECTION:
    do_delete_collection(ctx);
    return;
  default:
    break;
  }
}

/* Namespaces are implicit: every DNS label names an active namespace. */
static json_t *namespace_object(kl_server *srv, const char *name) {
  uint64_t h = 1469598103934665603ULL;
  for (const char *p = name; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  char uid[40], ts[32];
  snprintf(uid, sizeof uid, "%08llx-%04llx-4%03llx-8%03llx-%012llx", (unsigned long long)(h >> 32),
           (unsigned long long)(h >> 16 & 0xffff), (unsigned long long)(h >> 4 & 0xfff),
           (unsigned long long)(h >> 20 & 0xfff), (unsigned long long)(h & 0xffffffffffffULL));
  kl_time_rfc3339(ts, srv->start_time);
  return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "kind", "Namespace",
                   "apiVersion", "v1", "metadata", "name", name, "uid", uid, "resourceVersion", "1",
                   "creationTimestamp", ts, "labels", "kubernetes.io/metadata.name", name, "spec",
                   "finalizers", "kubernetes", "status", "phase", "Active");
}

void kl_handle_namespace(kl_ctx *ctx) {
  if (ctx->verb == KL_VERB_GET) {
    if (!kl_is_dns1123_label(ctx->name))
      kl_reply_not_found(ctx, KL_RES_NAMESPACES, ctx->name);
    else
      kl_reply_json(ctx, 200, namespace_object(ctx->srv, ctx->name));
  } else if (ctx->verb == KL_VERB_LIST || ctx->verb == KL_VERB_WATCH) {
    /* kubectl reads one namespace (its own) and creates namespaces; no client of
     * kube-lite lists them. */
    kl_reply_status(ctx, 404, "NotFound",
                    "kube-lite does not list namespaces: every DNS label names one, read it "
                    "with GET /api/v1/namespaces/{name}",
                    json_object());
  } else if (ctx->verb == KL_VERB_CREATE) {
    if (refuse_dry_run(ctx))
      return;
    json_t *body = parse_body(ctx);
    if (!body)
      return;
    const char *name = meta_str(body, "name");
    if (!name || !kl_is_dns1123_label(name)) {
      json_t *causes = json_array();
      kl_buf q = {0};
      kl_goquote(&q, name ? name : "");
      kl_cause_invalid(causes, "metadata.name", q.data,
                       "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                       "characters or '-', and must start and end with an alphanumeric "
                       "character");
      kl_buf_free(&q);
      kl_reply_invalid(ctx, "Namespace", "", name ? name : "", causes);
    } else {
      kl_reply_json(ctx, 201, namespace_object(ctx->srv, name));
    }
    json_decref(body);
  } else {
    kl_reply_status(ctx, 405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                    json_object());
  }
}
