#include "fakekube.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakeapi.h"

typedef struct watcher {
  struct watcher *next;
  fakekube *fk;
  fake_conn *c;
  char kind[16];
  char *name;     /* fieldSelector metadata.name, or NULL */
  char *selector; /* labelSelector, or NULL */
  int ended;      /* ended by the fake: told nothing more */
} watcher;

struct fakekube {
  fakeapi *api;
  json_t *store;   /* kind -> name -> object */
  json_t *history; /* [{rv, type, kind, object}] */
  long rv;
  long requests;
  watcher *watchers;
  int *busy;
  char kubeconfig[512];
};

typedef struct request {
  char kind[16];   /* "configmaps" or "leases" */
  char name[256];  /* "" for the collection */
  int watch;
  long since;      /* resourceVersion of a watch; -1 when absent */
  char *field;     /* decoded fieldSelector metadata.name value, or NULL */
  char *label;     /* decoded labelSelector, or NULL */
} request;

static char *decode(const char *s, size_t n) {
  char *out = malloc(n + 1), *o = out;
  size_t i;
  for (i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n) {
      char hex[3] = {s[i + 1], s[i + 2], 0};
      *o++ = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      *o++ = s[i] == '+' ? ' ' : s[i];
    }
  }
  *o = '\0';
  return out;
}

/* Splits the path into kind, name and the query parameters the fake knows. 0 when understood. */
static int parse(const char *path, request *r) {
  const char *q = strchr(path, '?'), *k, *end = q ? q : path + strlen(path);
  memset(r, 0, sizeof(*r));
  r->since = -1;
  if ((k = strstr(path, "/configmaps")) != NULL && k < end) {
    snprintf(r->kind, sizeof(r->kind), "configmaps");
    k += strlen("/configmaps");
  } else if ((k = strstr(path, "/leases")) != NULL && k < end) {
    snprintf(r->kind, sizeof(r->kind), "leases");
    k += strlen("/leases");
  } else {
    return -1;
  }
  if (*k == '/')
    snprintf(r->name, sizeof(r->name), "%.*s", (int)(end - k - 1), k + 1);
  while (q && *q) {
    const char *p = q + 1, *amp = strchr(p, '&'), *eq;
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    eq = memchr(p, '=', n);
    if (eq) {
      size_t kl = (size_t)(eq - p);
      char *v = decode(eq + 1, n - kl - 1);
      if (kl == 5 && strncmp(p, "watch", 5) == 0)
        r->watch = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
      else if (kl == 15 && strncmp(p, "resourceVersion", 15) == 0)
        r->since = strtol(v, NULL, 10);
      else if (kl == 13 && strncmp(p, "fieldSelector", 13) == 0 &&
               strncmp(v, "metadata.name=", 14) == 0)
        r->field = strdup(v + 14);
      else if (kl == 13 && strncmp(p, "labelSelector", 13) == 0)
        r->label = strdup(v);
      free(v);
    }
    q = amp;
  }
  return 0;
}

/* Equality-based selectors ("a=b,c==d,e"); anything else matches. */
static int labels_match(json_t *obj, const char *selector) {
  json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
  char *copy, *term, *save = NULL;
  int ok = 1;
  if (!selector || !*selector)
    return 1;
  copy = strdup(selector);
  for (term = strtok_r(copy, ",", &save); term && ok; term = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(term, '=');
    if (!eq) {
      ok = json_object_get(labels, term) != NULL;
    } else if (eq > term && eq[-1] == '!') {
      continue;
    } else {
      const char *v;
      *eq = '\0';
      v = json_string_value(json_object_get(labels, term));
      ok = v && strcmp(v, eq[1] == '=' ? eq + 2 : eq + 1) == 0;
    }
  }
  free(copy);
  return ok;
}

static int matches(json_t *obj, const char *name, const char *label) {
  const char *n = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
  return (!name || (n && strcmp(n, name) == 0)) && labels_match(obj, label);
}

static void reply_json(fake_conn *c, int status, json_t *body) {
  char *text = json_dumps(body, JSON_COMPACT);
  fake_reply(c, status, text);
  free(text);
  json_decref(body);
}

static void reply_status(fake_conn *c, int code, const char *reason, const char *message) {
  reply_json(c, code,
             json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                       "metadata", "status", "Failure", "message", message, "reason", reason,
                       "code", code));
}

static void send_event(watcher *w, const char *type, json_t *obj) {
  json_t *ev = json_pack("{s:s, s:O}", "type", type, "object", obj);
  char *text = json_dumps(ev, JSON_COMPACT), *line = malloc(strlen(text) + 2);
  sprintf(line, "%s\n", text);
  fake_send(w->c, line);
  free(line);
  free(text);
  json_decref(ev);
}

static void record(fakekube *fk, const char *kind, const char *type, json_t *obj) {
  watcher *w;
  json_array_append_new(fk->history, json_pack("{s:I, s:s, s:s, s:O}", "rv", (json_int_t)fk->rv,
                                               "type", type, "kind", kind, "object", obj));
  for (w = fk->watchers; w; w = w->next)
    if (!w->ended && strcmp(w->kind, kind) == 0 && matches(obj, w->name, w->selector))
      send_event(w, type, obj);
}

static void stamp(fakekube *fk, json_t *obj, const char *uid) {
  json_t *meta = json_object_get(obj, "metadata");
  char rv[32];
  snprintf(rv, sizeof(rv), "%ld", ++fk->rv);
  json_object_set_new(meta, "resourceVersion", json_string(rv));
  if (uid)
    json_object_set_new(meta, "uid", json_string(uid));
  json_object_del(meta, "managedFields");
}

static void watcher_closed(fake_conn *c, void *ud) {
  watcher *w = ud, **p;
  (void)c;
  for (p = &w->fk->watchers; *p; p = &(*p)->next)
    if (*p == w) {
      *p = w->next;
      break;
    }
  free(w->name);
  free(w->selector);
  free(w);
}

static void start_watch(fakekube *fk, fake_conn *c, request *r) {
  watcher *w = calloc(1, sizeof(*w));
  json_t *objs = json_object_get(fk->store, r->kind), *v, *ev;
  const char *key;
  size_t i;

  w->fk = fk;
  w->c = c;
  snprintf(w->kind, sizeof(w->kind), "%s", r->kind);
  w->name = r->field ? strdup(r->field) : NULL;
  w->selector = r->label ? strdup(r->label) : NULL;
  w->next = fk->watchers;
  fk->watchers = w;
  fake_on_close(c, watcher_closed, w);
  fake_stream_begin(c);
  if (r->since <= 0) {
    /* "any version": the current state as ADDED events */
    json_object_foreach(objs, key, v) {
      if (matches(v, w->name, w->selector))
        send_event(w, "ADDED", v);
    }
    return;
  }
  json_array_foreach(fk->history, i, ev) {
    json_t *obj = json_object_get(ev, "object");
    if (json_integer_value(json_object_get(ev, "rv")) > r->since &&
        strcmp(json_string_value(json_object_get(ev, "kind")), r->kind) == 0 &&
        matches(obj, w->name, w->selector))
      send_event(w, json_string_value(json_object_get(ev, "type")), obj);
  }
}

/* `target` with the merge patch `patch` applied (RFC 7386), new. */
static json_t *merge_patch(json_t *target, json_t *patch) {
  json_t *out, *v;
  const char *key;
  if (!json_is_object(patch))
    return json_incref(patch);
  out = json_is_object(target) ? json_deep_copy(target) : json_object();
  json_object_foreach(patch, key, v) {
    if (json_is_null(v))
      json_object_del(out, key);
    else
      json_object_set_new(out, key, merge_patch(json_object_get(out, key), v));
  }
  return out;
}

static void serve(fakekube *fk, fake_conn *c, const char *method, request *r) {
  json_t *objs = json_object_get(fk->store, r->kind), *cur, *body;
  char uid[32];

  if (strcmp(method, "GET") == 0 && !r->name[0]) {
    json_t *items = json_array(), *v;
    const char *key;
    char rv[32];
    if (r->watch) {
      json_decref(items);
      start_watch(fk, c, r);
      return;
    }
    json_object_foreach(objs, key, v) {
      if (matches(v, r->field, r->label))
        json_array_append(items, v);
    }
    snprintf(rv, sizeof(rv), "%ld", fk->rv);
    reply_json(c, 200, json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", "List", "apiVersion", "v1",
                                 "metadata", "resourceVersion", rv, "items", items));
    return;
  }
  cur = r->name[0] ? json_object_get(objs, r->name) : NULL;
  if (strcmp(method, "GET") == 0) {
    if (cur)
      reply_json(c, 200, json_incref(cur));
    else
      reply_status(c, 404, "NotFound", "not found");
    return;
  }
  if (strcmp(method, "DELETE") == 0) {
    const char *want;
    if (!cur) {
      reply_status(c, 404, "NotFound", "not found");
      return;
    }
    body = json_loads(fake_body(c), 0, NULL);
    want = json_string_value(
        json_object_get(json_object_get(body, "preconditions"), "resourceVersion"));
    if (want && *want &&
        strcmp(want, json_string_value(json_object_get(json_object_get(cur, "metadata"),
                                                       "resourceVersion"))) != 0) {
      json_decref(body);
      reply_status(c, 409, "Conflict", "precondition failed");
      return;
    }
    json_decref(body);
    json_incref(cur);
    json_object_del(objs, r->name);
    stamp(fk, cur, NULL);
    record(fk, r->kind, "DELETED", cur);
    reply_json(c, 200, cur);
    return;
  }
  body = json_loads(fake_body(c), 0, NULL);
  if (!json_is_object(body) || !json_is_object(json_object_get(body, "metadata"))) {
    json_decref(body);
    reply_status(c, 400, "BadRequest", "not an object");
    return;
  }
  if (strcmp(method, "POST") == 0 && !r->name[0]) {
    const char *name =
        json_string_value(json_object_get(json_object_get(body, "metadata"), "name"));
    if (!name) {
      json_decref(body);
      reply_status(c, 422, "Invalid", "no name");
      return;
    }
    if (json_object_get(objs, name)) {
      json_decref(body);
      reply_status(c, 409, "AlreadyExists", "already exists");
      return;
    }
    snprintf(uid, sizeof(uid), "uid-%ld", fk->rv + 1);
    stamp(fk, body, uid);
    json_object_set(objs, name, body);
    record(fk, r->kind, "ADDED", body);
    reply_json(c, 201, body);
    return;
  }
  if ((strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) && r->name[0]) {
    const char *want;
    if (!cur) {
      json_decref(body);
      reply_status(c, 404, "NotFound", "not found");
      return;
    }
    if (strcmp(method, "PATCH") == 0) {
      /* a JSON merge patch (RFC 7386), then as an update of what it makes */
      json_t *patched = merge_patch(cur, body);
      json_decref(body);
      body = patched;
    }
    want = json_string_value(json_object_get(json_object_get(body, "metadata"), "resourceVersion"));
    if (want && *want &&
        strcmp(want, json_string_value(json_object_get(json_object_get(cur, "metadata"),
                                                       "resourceVersion"))) != 0) {
      json_decref(body);
      reply_status(c, 409, "Conflict", "the object has been modified");
      return;
    }
    stamp(fk, body, json_string_value(json_object_get(json_object_get(cur, "metadata"), "uid")));
    json_object_set(objs, r->name, body);
    record(fk, r->kind, "MODIFIED", body);
    reply_json(c, 200, body);
    return;
  }
  json_decref(body);
  reply_status(c, 405, "MethodNotAllowed", "not supported here");
}

static void handler(fakeapi *api, fake_conn *c, const char *method, const char *path, void *ud) {
  fakekube *fk = ud;
  request r;
  (void)api;
  if (fk->busy)
    *fk->busy = 1;
  fk->requests++;
  if (parse(path, &r) != 0)
    reply_status(c, 404, "NotFound", "no such resource");
  else
    serve(fk, c, method, &r);
  free(r.field);
  free(r.label);
  if (fk->busy)
    *fk->busy = 0;
}

void fk_apply(fakekube *fk, const char *kind, const char *json) {
  json_t *obj, *objs, *cur;
  const char *name;
  char uid[32];
  if (fk->busy)
    *fk->busy = 1;
  obj = json_loads(json, 0, NULL);
  objs = json_object_get(fk->store, kind);
  name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
  if (!obj || !objs || !name)
    abort();
  cur = json_object_get(objs, name);
  snprintf(uid, sizeof(uid), "uid-%ld", fk->rv + 1);
  stamp(fk, obj,
        cur ? json_string_value(json_object_get(json_object_get(cur, "metadata"), "uid")) : uid);
  record(fk, kind, cur ? "MODIFIED" : "ADDED", obj);
  json_object_set_new(objs, name, obj);
  if (fk->busy)
    *fk->busy = 0;
}

json_t *fk_get(const fakekube *fk, const char *kind, const char *name) {
  return json_object_get(json_object_get(fk->store, kind), name);
}

void fk_expire_watches(fakekube *fk) {
  static const char expired[] =
      "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
      "\"status\":\"Failure\",\"message\":\"too old resource version\",\"reason\":"
      "\"Expired\",\"code\":410}}\n";
  watcher *w, *next;
  if (fk->busy)
    *fk->busy = 1;
  for (w = fk->watchers; w; w = next) {
    next = w->next; /* (fake_end closes later, from the loop) */
    if (w->ended)
      continue;
    w->ended = 1;
    fake_send(w->c, expired);
    fake_end(w->c, 1);
  }
  if (fk->busy)
    *fk->busy = 0;
}

int fk_watches(const fakekube *fk) {
  const watcher *w;
  int n = 0;
  for (w = fk->watchers; w; w = w->next)
    n += !w->ended;
  return n;
}

fakekube *fk_start(uv_loop_t *loop) {
  fakekube *fk = calloc(1, sizeof(*fk));
  fk->store = json_pack("{s:{}, s:{}}", "configmaps", "leases");
  fk->history = json_array();
  fk->api = fake_start(loop, handler, fk);
  snprintf(fk->kubeconfig, sizeof(fk->kubeconfig),
           "apiVersion: v1\ncurrent-context: c\n"
           "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
           "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:%d'}}]\n"
           "users: [{name: u, user: {token: t0k}}]\n",
           fake_port(fk->api));
  return fk;
}

int fk_port(const fakekube *fk) {
  return fake_port(fk->api);
}

const char *fk_kubeconfig(const fakekube *fk) {
  return fk->kubeconfig;
}

long fk_requests(const fakekube *fk) {
  return fk->requests;
}

void fk_set_busy_flag(fakekube *fk, int *flag) {
  fk->busy = flag;
}

void fk_stop(fakekube *fk) {
  int *busy = fk->busy;
  if (busy)
    *busy = 1;
  fake_stop(fk->api); /* closes the watches: their watchers go */
  json_decref(fk->store);
  json_decref(fk->history);
  free(fk);
  if (busy)
    *busy = 0;
}
