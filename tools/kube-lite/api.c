/*
 * Request routing: maps a path to an endpoint, applies authentication,
 * authorisation and fault injection, and serves the discovery documents
 * kubectl needs before it will talk to a resource.
 */
#include "kl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kl_endpoint {
  EP_NOT_FOUND,
  EP_WATCH_PREFIX, /* the deprecated /api/v1/watch/... paths: not served */
  EP_HEALTH,
  EP_VERSION,
  EP_API,
  EP_API_V1,
  EP_APIS,
  EP_APIS_COORD,
  EP_APIS_COORD_V1,
  EP_NAMESPACES,
  EP_RESOURCE,
  EP_CONTROL,
  EP_OPENAPI_V2,
};

#define SEGS_MAX 8

static int split(char *path, char **segs) {
  int n = 0;
  for (char *p = strtok(path, "/"); p; p = strtok(NULL, "/")) {
    if (n == SEGS_MAX)
      return -1;
    segs[n++] = p;
  }
  return n;
}

static int verb_for(const char *method, bool named, bool watch) {
  if (strcmp(method, "GET") == 0)
    return named ? KL_VERB_GET : watch ? KL_VERB_WATCH : KL_VERB_LIST;
  if (strcmp(method, "POST") == 0)
    return named ? -1 : KL_VERB_CREATE;
  if (strcmp(method, "PUT") == 0)
    return named ? KL_VERB_UPDATE : -1;
  if (strcmp(method, "PATCH") == 0)
    return named ? KL_VERB_PATCH : -1;
  if (strcmp(method, "DELETE") == 0)
    return named ? KL_VERB_DELETE : KL_VERB_DELETECOLLECTION;
  return -1;
}

/* Fills endpoint, resource, verb, namespace and name from the path. */
static void route(kl_ctx *ctx) {
  const kl_req *r = ctx->req;
  const char *path = r->path;
  ctx->endpoint = EP_NOT_FOUND;
  ctx->res = KL_RES_NONE;
  ctx->verb = KL_VERB_NONRESOURCE;
  if (strncmp(path, "/kube-lite/v1/", 14) == 0) {
    ctx->endpoint = EP_CONTROL;
    ctx->control = true;
    ctx->sub = path + 14;
    return;
  }
  static const struct {
    const char *path;
    int ep;
  } fixed[] = {
      {"/healthz", EP_HEALTH},
      {"/livez", EP_HEALTH},
      {"/readyz", EP_HEALTH},
      {"/version", EP_VERSION},
      {"/api", EP_API},
      {"/api/v1", EP_API_V1},
      {"/apis", EP_APIS},
      {"/apis/coordination.k8s.io", EP_APIS_COORD},
      {"/apis/coordination.k8s.io/v1", EP_APIS_COORD_V1},
      {"/openapi/v2", EP_OPENAPI_V2},
  };
  size_t plen = strlen(path);
  while (plen > 1 && path[plen - 1] == '/')
    plen--;
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
    if (strlen(fixed[i].path) == plen && strncmp(fixed[i].path, path, plen) == 0) {
      ctx->endpoint = fixed[i].ep;
      return;
    }
  }

  char *copy = kl_strdup(path);
  char *segs[SEGS_MAX];
  int n = split(copy, segs);
  int i;
  int group_res;
  if (n >= 2 && strcmp(segs[0], "api") == 0 && strcmp(segs[1], "v1") == 0) {
    i = 2;
    group_res = KL_RES_CONFIGMAPS;
  } else if (n >= 3 && strcmp(segs[0], "apis") == 0 &&
             strcmp(segs[1], "coordination.k8s.io") == 0 && strcmp(segs[2], "v1") == 0) {
    i = 3;
    group_res = KL_RES_LEASES;
  } else {
    free(copy);
    return;
  }
  /* None of kube-lite's clients uses the deprecated /watch/ prefix; it gets a 404 that says
   * so rather than the anonymous one. */
  if (i < n && strcmp(segs[i], "watch") == 0) {
    ctx->endpoint = EP_WATCH_PREFIX;
    free(copy);
    return;
  }
  bool watch = kl_req_param_true(r, "watch");
  if (i < n && strcmp(segs[i], "namespaces") == 0) {
    if (i + 1 >= n || (i + 2 == n && group_res == KL_RES_CONFIGMAPS)) {
      if (group_res == KL_RES_CONFIGMAPS) {
        ctx->endpoint = EP_NAMESPACES;
        ctx->res = KL_RES_NAMESPACES;
        if (i + 1 < n)
          ctx->name = kl_strdup(segs[i + 1]);
        ctx->verb = verb_for(r->method, ctx->name != NULL, watch);
      }
      free(copy);
      return;
    }
    ctx->ns = kl_strdup(segs[i + 1]);
    i += 2;
  }
  if (i < n && (i + 1 == n || i + 2 == n) && strcmp(segs[i], kl_resources[group_res].plural) == 0) {
    ctx->endpoint = EP_RESOURCE;
    ctx->res = group_res;
    if (i + 1 < n)
      ctx->name = kl_strdup(segs[i + 1]);
    ctx->verb = verb_for(r->method, ctx->name != NULL, watch);
    /* Cluster-wide paths serve reads only. */
    if (!ctx->ns && ctx->verb != KL_VERB_LIST && ctx->verb != KL_VERB_WATCH)
      ctx->verb = -1;
  }
  free(copy);
}

/* ---- discovery ------------------------------------------------------------ */

static json_t *resource_entry(int res) {
  const kl_resdef *d = &kl_resources[res];
  json_t *e = json_pack("{s:s,s:s,s:b,s:s,s:[s,s,s,s,s,s,s,s]}", "name", d->plural, "singularName",
                        res == KL_RES_CONFIGMAPS ? "configmap" : "lease", "namespaced", 1, "kind",
                        d->kind, "verbs", "create", "delete", "deletecollection", "get", "list",
                        "patch", "update", "watch");
  if (d->short_name)
    json_object_set_new(e, "shortNames", json_pack("[s]", d->short_name));
  return e;
}

static json_t *coord_group(void) {
  return json_pack("{s:s,s:[{s:s,s:s}],s:{s:s,s:s}}", "name", "coordination.k8s.io", "versions",
                   "groupVersion", "coordination.k8s.io/v1", "version", "v1", "preferredVersion",
                   "groupVersion", "coordination.k8s.io/v1", "version", "v1");
}

static void serve_discovery(kl_ctx *ctx) {
  json_t *doc = NULL;
  switch (ctx->endpoint) {
  case EP_HEALTH:
    kl_reply_raw(ctx, 200, "text/plain; charset=utf-8", kl_strdup("ok"), 2, NULL);
    return;
  case EP_OPENAPI_V2:
    /* kubectl validates `create -f` and friends against this document
     * and fails outright on a 404.  An empty Document (zero protobuf
     * bytes) names no types, which kubectl takes as "nothing to check
     * client-side"; field checks are then the server's, as with
     * fieldValidation on a real cluster.  /openapi/v3 stays 404:
     * kubectl falls back to v2 by itself. */
    if (ctx->req->accept && strstr(ctx->req->accept, "protobuf")) {
      kl_reply_raw(ctx, 200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                   kl_strdup(""), 0, NULL);
      return;
    }
    doc = json_pack("{s:s,s:{s:s,s:s},s:{}}", "swagger", "2.0", "info", "title", "Kubernetes",
                    "version", KL_SERVER_GIT_VERSION, "paths");
    break;
  case EP_VERSION:
    doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "major", KL_SERVER_VERSION_MAJOR,
                    "minor", KL_SERVER_VERSION_MINOR, "gitVersion", KL_SERVER_GIT_VERSION,
                    "gitCommit", "0000000000000000000000000000000000000000", "gitTreeState",
                    "clean", "buildDate", "2024-08-13T00:00:00Z", "goVersion", "go1.22.5",
                    "compiler", "gc", "platform", "linux/amd64");
    break;
  case EP_API: {
    char addr[80];
    snprintf(addr, sizeof addr, "%s:%d", ctx->srv->cfg.host, ctx->srv->port);
    doc = json_pack("{s:s,s:[s],s:[{s:s,s:s}]}", "kind", "APIVersions", "versions", "v1",
                    "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress", addr);
    break;
  }
  case EP_API_V1: {
    json_t *ns = json_pack("{s:s,s:s,s:b,s:s,s:[s,s],s:[s]}", "name", "namespaces", "singularName",
                           "namespace", "namespaced", 0, "kind", "Namespace", "verbs", "create",
                           "get", "shortNames", "ns");
    doc = json_pack("{s:s,s:s,s:s,s:[o,o]}", "kind", "APIResourceList", "apiVersion", "v1",
                    "groupVersion", "v1", "resources", resource_entry(KL_RES_CONFIGMAPS), ns);
    break;
  }
  case EP_APIS:
    doc = json_pack("{s:s,s:s,s:[o]}", "kind", "APIGroupList", "apiVersion", "v1", "groups",
                    coord_group());
    break;
  case EP_APIS_COORD:
    doc = coord_group();
    json_object_set_new(doc, "kind", json_string("APIGroup"));
    json_object_set_new(doc, "apiVersion", json_string("v1"));
    break;
  case EP_APIS_COORD_V1:
    doc = json_pack("{s:s,s:s,s:s,s:[o]}", "kind", "APIResourceList", "apiVersion", "v1",
                    "groupVersion", "coordination.k8s.io/v1", "resources",
                    resource_entry(KL_RES_LEASES));
    break;
  default:
    break;
  }
  kl_reply_json(ctx, 200, doc);
}

static void reply_unauthorized(kl_ctx *ctx) {
  kl_reply_status(ctx, 401, "Unauthorized", "Unauthorized", NULL);
}

static void reply_method_not_allowed(kl_ctx *ctx) {
  kl_reply_status(ctx, 405, "MethodNotAllowed",
                  "the server does not allow this method on the requested resource", json_object());
}

/* ---- dispatch --------------------------------------------------------------- */

void kl_execute(kl_ctx *ctx) {
  /* A delayed watch whose client went away has no one to stream to. */
  if (!ctx->conn && ctx->verb == KL_VERB_WATCH)
    return;
  /* (with fault_after the request is served as usual; kl_reply_raw replaces its answer) */
  if (ctx->fault_drop && !ctx->fault_after) {
    /* A partition or a crashed server: the request is read, nothing is answered. */
    if (ctx->conn)
      kl_conn_close(ctx->conn);
    return;
  }
  if (ctx->fault_code && !ctx->fault_after) {
    kl_fault_reply(ctx);
    return;
  }
  /* (the /watch/ prefix is refused in proxy mode too: forwarded as a plain request, its
   * stream would be held back until it ended) */
  if (ctx->srv->proxy && ctx->endpoint != EP_CONTROL && ctx->endpoint != EP_WATCH_PREFIX) {
    kl_proxy_forward(ctx);
    return;
  }
  switch (ctx->endpoint) {
  case EP_CONTROL:
    kl_handle_control(ctx, ctx->sub);
    return;
  case EP_NAMESPACES:
    kl_handle_namespace(ctx);
    return;
  case EP_RESOURCE:
    kl_handle_resource(ctx);
    return;
  case EP_NOT_FOUND:
    kl_reply_status(ctx, 404, "NotFound", "the server could not find the requested resource",
                    json_object());
    return;
  case EP_WATCH_PREFIX:
    kl_reply_status(ctx, 404, "NotFound",
                    "kube-lite does not serve the deprecated /watch/ path prefix: watch with "
                    "?watch=true on the list path",
                    json_object());
    return;
  default:
    serve_discovery(ctx);
  }
}

kl_ctx *kl_ctx_take(kl_ctx *ctx) {
  kl_ctx *t = kl_xmalloc(sizeof *t);
  *t = *ctx;
  ctx->req = NULL;
  ctx->ns = ctx->name = ctx->fault_retry_header = NULL;
  return t;
}

void kl_ctx_free(kl_ctx *ctx) {
  if (!ctx)
    return;
  kl_req_free(ctx->req);
  free(ctx->ns);
  free(ctx->name);
  free(ctx->fault_retry_header);
  free(ctx);
}

void kl_dispatch(kl_conn *c, kl_req *req) {
  kl_ctx *ctx = kl_xcalloc(1, sizeof *ctx);
  ctx->srv = kl_conn_server(c);
  ctx->conn = c;
  ctx->req = req;
  ctx->table = req->accept && strstr(req->accept, "as=Table");
  ctx->partial = !ctx->table && req->accept && strstr(req->accept, "as=PartialObjectMetadata");
  route(ctx);
  kl_server *srv = ctx->srv;

  bool done = true;
  if (kl_conn_control_only(c) && ctx->endpoint != EP_CONTROL) {
    ctx->control = true;
    kl_reply_status(ctx, 404, "NotFound",
                    "this port serves the kube-lite control endpoint (/kube-lite/v1/) only", NULL);
    goto out;
  }
  if (srv->auth && ctx->endpoint != EP_HEALTH) {
    ctx->token = kl_auth_lookup(srv->auth, req->authorization);
    if (!ctx->token) {
      reply_unauthorized(ctx);
      goto out;
    }
  }
  if (ctx->endpoint == EP_CONTROL) {
    if (ctx->token && !ctx->token->admin) {
      kl_reply_status(ctx, 403, "Forbidden", "the kube-lite control endpoint needs the admin token",
                      NULL);
      goto out;
    }
    kl_execute(ctx);
    goto out;
  }
  if (srv->proxy) {
    /* The upstream server judges paths and methods; faults see what route() made of them. */
    if (ctx->verb < 0)
      ctx->verb = KL_VERB_NONRESOURCE;
  } else if ((ctx->endpoint == EP_RESOURCE || ctx->endpoint == EP_NAMESPACES) && ctx->verb < 0) {
    ctx->verb = KL_VERB_NONRESOURCE;
    reply_method_not_allowed(ctx);
    goto out;
  }
  if (!srv->proxy && ctx->endpoint != EP_RESOURCE && ctx->endpoint != EP_NAMESPACES &&
      strcmp(req->method, "GET") != 0 && ctx->endpoint != EP_NOT_FOUND &&
      ctx->endpoint != EP_WATCH_PREFIX) {
    reply_method_not_allowed(ctx);
    goto out;
  }
  if (ctx->endpoint == EP_RESOURCE && ctx->token &&
      !kl_auth_allows(ctx->token, ctx->res, ctx->verb)) {
    kl_reply_forbidden(ctx);
    goto out;
  }
  kl_fault_decision d = {0};
  if (ctx->endpoint != EP_HEALTH)
    kl_faults_decide(srv->faults, ctx, &d);
  /* The outcome is fixed on arrival, so the seeded sequence does not
   * depend on how delayed requests interleave. */
  ctx->fault_code = d.code;
  ctx->fault_retry_after = d.retry_after;
  ctx->fault_drop = d.drop;
  ctx->fault_after = d.after_apply && (d.code || d.drop) && ctx->verb != KL_VERB_WATCH;
  ctx->fault_retry_header = d.retry_header ? kl_strdup(d.retry_header) : NULL;
  if (d.latency_ms > 0) {
    kl_conn_delay(c, ctx, d.latency_ms);
    done = false;
    goto out;
  }
  kl_execute(ctx);
out:
  if (done)
    kl_ctx_free(ctx);
}
