/* The hdfs:// backend, over WebHDFS (or HttpFS, which speaks the same REST API): a blob is an
 * HDFS file. A write is CREATE with overwrite=false: the namenode answers with a redirect to a
 * datanode, which takes the bytes and refuses a path that exists (FileAlreadyExistsException ->
 * K8SHA_EEXISTS); a read is OPEN (redirected to a datanode too, the length checked against
 * Content-Length); a delete is DELETE, not recursive (an absent file is success); a list is
 * LISTSTATUS_BATCH page by page (LISTSTATUS where a server has no batches).
 *
 * With an HA nameservice each request goes to the namenode that last answered as the active one,
 * and on to the next when a namenode is unreachable or answers StandbyException (a datanode says
 * the same when a standby namenode redirected a write to it). Transient failures (no namenode
 * answered as active, 5xx, RetriableException such as safe mode) are retried with a jittered
 * backoff. Simple authentication sends user.name; Kerberos uses SPNEGO through libcurl's GSS-API
 * support (the process needs a ticket: kinit, or a keytab through KRB5_CLIENT_KTNAME). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config/hdfs_conf.h"
#include "core/alloc.h"
#include "k8sha/errors.h"
#include "storage/hdfs.h"
#include "storage/http.h"
#include "storage/pool.h"

#define HDFS_BLOB_MAX (1024u * 1024u * 1024u) /* a state blob larger than this is refused */
#define HDFS_ANSWER_MAX (4u * 1024u * 1024u)  /* an error or list answer larger than this is */
#define HDFS_ATTEMPTS 5                       /* rounds over the namenodes, transient failures */
#define HDFS_PATH_MAX 4096

typedef struct hdfs_backend {
  k8sha__pool pool; /* (first) */
  k8sha__hdfs_conf conf;
  k8sha__http_share *share;
  uv_mutex_t lock;
  size_t active; /* under lock: the namenode that answered last as the active one */
} hdfs_backend;

typedef struct hdfs_work {
  k8sha__pool_work base; /* (first) */
  hdfs_backend *b;
  char fs[300];                   /* the URI's "hdfs://authority" as written */
  char path[HDFS_PATH_MAX + 1];   /* the HDFS path, "/..." */
} hdfs_work;

typedef k8sha__http_answer answer;

/* What a WebHDFS error answer says: {"RemoteException":{"exception":..,"message":..}}. */
typedef struct remote_error {
  char exception[128]; /* "" when the answer is not one */
  char message[300];   /* its first line */
} remote_error;

/* How one try of an operation against one namenode ended. */
typedef enum outcome {
  DONE,        /* a definite answer (success or not) is in the answer */
  STANDBY,     /* the namenode (or the datanode it sent us to) is not the active one */
  UNREACHABLE, /* no answer; `err` says why */
  TRANSIENT,   /* an answer worth another try later (5xx, RetriableException) */
  FAILED       /* the work failed for good (status set) */
} outcome;

#define failf(w, ...) k8sha__pool_failf(&(w)->base, __VA_ARGS__)

static const char *op_name(const hdfs_work *w) {
  switch (w->base.kind) {
  case K8SHA__POOL_WRITE: return "CREATE";
  case K8SHA__POOL_READ: return "OPEN";
  case K8SHA__POOL_REMOVE: return "DELETE";
  default: return "LISTSTATUS_BATCH";
  }
}

static void parse_remote(const answer *a, remote_error *e) {
  json_t *doc, *re, *x, *m;
  memset(e, 0, sizeof(*e));
  if (!a->body)
    return;
  doc = json_loadb(a->body, a->len, 0, NULL);
  re = json_object_get(doc, "RemoteException");
  x = json_object_get(re, "exception");
  m = json_object_get(re, "message");
  if (json_is_string(x))
    snprintf(e->exception, sizeof(e->exception), "%s", json_string_value(x));
  if (json_is_string(m))
    snprintf(e->message, sizeof(e->message), "%.*s",
             (int)strcspn(json_string_value(m), "\r\n"), json_string_value(m));
  json_decref(doc);
}

/* Percent-encodes `s` for a URL path (keeping '/') or a query value. 0, or -1 when too long. */
static int encode(const char *s, int keep_slash, char *out, size_t out_len) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (n + 4 > out_len)
      return -1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out[n++] = (char)c;
    } else {
      out[n++] = '%';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 15];
    }
  }
  out[n] = '\0';
  return 0;
}

/* One exchange with `url` (a namenode's, or where it redirected). 0 with the answer; -1 when no
 * answer came (`err` says why); the work has failed for good on -2/-3 (status set). */
static int exchange(hdfs_work *w, const char *method, const char *url, const void *body,
                    size_t body_len, answer *a, char *err, size_t err_len) {
  const char *headers[] = {"Content-Type: application/octet-stream", NULL};
  k8sha__http_req req;
  int rc;
  memset(&req, 0, sizeof(req));
  req.method = method;
  req.url = url;
  req.headers = body ? headers : NULL;
  req.body = body;
  req.body_len = body_len;
  req.answer_limit = w->base.kind == K8SHA__POOL_READ ? HDFS_BLOB_MAX : HDFS_ANSWER_MAX;
  req.connect_timeout_ms = 10000;
  req.share = w->b->share;
  req.negotiate = w->b->conf.kerberos;
  rc = k8sha__http_do(&req, a, err, err_len);
  if (rc == -2)
    failf(w, K8SHA_ESTORAGE, "hdfs: %s %s: the answer is larger than %zu bytes", op_name(w),
          w->base.uri, req.answer_limit);
  else if (rc == -3)
    failf(w, K8SHA_ENOMEM, "hdfs: %s %s: out of memory", op_name(w), w->base.uri);
  return rc;
}

/* What an answer means for the namenode that gave it (or whose redirect led to it). */
static outcome judge(const answer *a, const remote_error *e) {
  /* The namenode is starting (safe mode) or busy; or the datanode could not reach a namenode
   * (during a failover, or with none active): worth another try. */
  static const char *const passing[] = {"RetriableException", "SafeModeException",
                                        "ConnectException", "NoRouteToHostException",
                                        "SocketTimeoutException"};
  /* Answers about the request itself, whatever the status (HttpFS says them with a 500). */
  static const char *const definite[] = {
      "FileAlreadyExistsException", "FileNotFoundException", "PathIsNotEmptyDirectoryException",
      "ParentNotDirectoryException", "AccessControlException", "SecurityException",
      "AuthorizationException", "IllegalArgumentException", "UnsupportedOperationException",
      "QueryParamException"};
  size_t i;
  if (strcmp(e->exception, "StandbyException") == 0)
    return STANDBY;
  for (i = 0; i < sizeof(definite) / sizeof(definite[0]); i++)
    if (strcmp(e->exception, definite[i]) == 0)
      return DONE;
  if (a->code >= 500)
    return TRANSIENT;
  for (i = 0; i < sizeof(passing) / sizeof(passing[0]); i++)
    if (strcmp(e->exception, passing[i]) == 0)
      return TRANSIENT;
  return DONE;
}

/* One try of the operation on namenode `i`: the request to it and, when it redirects (CREATE,
 * OPEN), the request to the datanode. `query` is the operation's (without user.name). */
static outcome try_namenode(hdfs_work *w, size_t i, const char *query, answer *a,
                            remote_error *e, char *err, size_t err_len) {
  const k8sha__hdfs_conf *c = &w->b->conf;
  char path[3 * HDFS_PATH_MAX + 1], user[3 * sizeof(c->user)], url[3 * HDFS_PATH_MAX + 1200];
  const char *method = w->base.kind == K8SHA__POOL_WRITE    ? "PUT"
                       : w->base.kind == K8SHA__POOL_REMOVE ? "DELETE"
                                                            : "GET";
  int rc, redirects = w->base.kind == K8SHA__POOL_WRITE || w->base.kind == K8SHA__POOL_READ;
  if (encode(w->path, 1, path, sizeof(path)) != 0 || encode(c->user, 0, user, sizeof(user)) != 0) {
    failf(w, K8SHA_ESTORAGE, "hdfs: %s %s: the path is too long", op_name(w), w->base.uri);
    return FAILED;
  }
  snprintf(url, sizeof(url), "%s/webhdfs/v1%s?%s%s%s", c->namenodes[i].url, path, query,
           c->kerberos ? "" : "&user.name=", c->kerberos ? "" : user);
  rc = exchange(w, method, url, NULL, 0, a, err, err_len);
  if (rc < -1)
    return FAILED;
  if (rc == -1)
    return UNREACHABLE;
  parse_remote(a, e);
  if (redirects && (a->code == 307 || a->code == 302 || a->code == 303)) {
    char *to = a->location;
    if (!to) {
      failf(w, K8SHA_ESTORAGE, "hdfs: %s %s: the namenode %s redirected without a Location",
            op_name(w), w->base.uri, c->namenodes[i].url);
      k8sha__http_answer_clear(a); /* (FAILED: the caller keeps no answer) */
      return FAILED;
    }
    a->location = NULL;
    k8sha__http_answer_clear(a);
    /* (a write always sends a body, "" for an empty blob: HttpFS refuses a data request
     * without its Content-Type) */
    rc = exchange(w, method, to,
                  w->base.kind == K8SHA__POOL_WRITE ? (w->base.data ? w->base.data : "") : NULL,
                  w->base.len, a, err, err_len);
    if (rc == -1) {
      /* (the namenode answered: a datanode that does not is worth another try) */
      size_t n = strlen(err);
      snprintf(err + n, err_len - n, " (the datanode the namenode chose)");
      free(to);
      return TRANSIENT;
    }
    free(to);
    if (rc < -1)
      return FAILED;
    parse_remote(a, e);
  } else if (w->base.kind == K8SHA__POOL_WRITE && a->code >= 200 && a->code < 300) {
    /* (the bytes go to the datanode it names; a server that took the bodiless request as the
     * write has made an empty file) */
    failf(w, K8SHA_ESTORAGE, "hdfs: CREATE %s: the namenode %s answered %ld instead of "
          "redirecting the write to a datanode", w->base.uri, c->namenodes[i].url, a->code);
    k8sha__http_answer_clear(a);
    return FAILED;
  }
  return judge(a, e);
}

/* The operation's request, on the active namenode: tries them from the one that answered last,
 * rounds over them with a backoff while none answers as active. 1 with a definite answer in `a`;
 * 0 when the work failed (status set). `*sent` says whether a try may have reached a datanode or
 * a namenode that acted on it. */
static int request(hdfs_work *w, const char *query, answer *a, remote_error *e, int *sent) {
  hdfs_backend *b = w->b;
  const k8sha__hdfs_conf *c = &b->conf;
  char err[400], tried[900], said[420];
  unsigned attempt;
  size_t start, k;
  int answered; /* a namenode (or its datanode) answered, not as a standby */
  for (attempt = 0;; attempt++) {
    answered = 0;
    uv_mutex_lock(&b->lock);
    start = b->active;
    uv_mutex_unlock(&b->lock);
    tried[0] = '\0';
    for (k = 0; k < c->n_namenodes; k++) {
      size_t i = (start + k) % c->n_namenodes, n = strlen(tried);
      outcome o;
      err[0] = '\0';
      o = try_namenode(w, i, query, a, e, err, sizeof(err));
      if (o == FAILED)
        return 0;
      if (o == DONE) {
        if (i != start) {
          uv_mutex_lock(&b->lock);
          b->active = i;
          uv_mutex_unlock(&b->lock);
        }
        return 1;
      }
      if (o != UNREACHABLE)
        *sent = 1;
      answered |= o == TRANSIENT;
      if (o == STANDBY)
        snprintf(said, sizeof(said), "standby");
      else if (o == TRANSIENT && e->exception[0])
        snprintf(said, sizeof(said), "%ld %s: %.160s", a->code, e->exception, e->message);
      else if (o == TRANSIENT && a->code >= 500)
        snprintf(said, sizeof(said), "a server error (%ld)", a->code);
      else
        snprintf(said, sizeof(said), "%s", err);
      snprintf(tried + n, sizeof(tried) - n, "%s%s%s%s: %s", n ? "; " : "",
               c->namenodes[i].id, c->namenodes[i].id[0] ? " " : "", c->namenodes[i].url, said);
      k8sha__http_answer_clear(a);
    }
    if (attempt + 1 >= HDFS_ATTEMPTS) {
      failf(w, K8SHA_ESTORAGE, "hdfs: %s %s: %s after %d tries (%s)", op_name(w), w->base.uri,
            answered ? "failed" : "no namenode answered as the active one", HDFS_ATTEMPTS, tried);
      return 0;
    }
    k8sha__pool_backoff(attempt);
  }
}

/* A definite answer that is not a success. */
static void fail_answer(hdfs_work *w, const answer *a, const remote_error *e) {
  const char *x = e->exception[0] ? e->exception : "(no RemoteException)";
  if (a->code == 401 && w->b->conf.kerberos)
    failf(w, K8SHA_EFORBIDDEN, "hdfs: %s %s: 401: the namenode did not accept this process's "
          "Kerberos credentials (SPNEGO needs a ticket: kinit, or a keytab in KRB5_CLIENT_KTNAME; "
          "KRB5_CONFIG names the realm)", op_name(w), w->base.uri);
  else if (a->code == 401)
    failf(w, K8SHA_EFORBIDDEN, "hdfs: %s %s: 401: the namenode wants Kerberos (SPNEGO), but "
          "hadoop.security.authentication is simple here (set it to kerberos in core-site.xml, "
          "or as flink.hadoop.hadoop.security.authentication)", op_name(w), w->base.uri);
  else if ( strcmp(e->exception, "AccessControlException") == 0 ||
      strcmp(e->exception, "SecurityException") == 0 ||
      strcmp(e->exception, "AuthorizationException") == 0)
    failf(w, K8SHA_EFORBIDDEN, "hdfs: %s %s: %ld %s: %s (as %s%s)", op_name(w), w->base.uri,
          a->code, x, e->message, w->b->conf.kerberos ? "the Kerberos ticket's principal"
                                                      : w->b->conf.user,
          w->b->conf.kerberos ? "" : ", simple authentication");
  else if (a->code == 404 && w->base.kind == K8SHA__POOL_READ)
    failf(w, K8SHA_ENOTFOUND, "hdfs: OPEN %s: no such file", w->base.uri);
  else
    failf(w, K8SHA_ESTORAGE, "hdfs: %s %s: %ld %s: %s", op_name(w), w->base.uri, a->code, x,
          e->message);
}

static void do_read(hdfs_work *w) {
  answer a;
  remote_error e;
  int sent = 0;
  if (!request(w, "op=OPEN", &a, &e, &sent))
    return;
  if (a.code != 200)
    fail_answer(w, &a, &e);
  else
    k8sha__pool_take_read(&w->base, &a.body, a.len, a.content_length, "hdfs: OPEN");
  k8sha__http_answer_clear(&a);
}

static void do_write(hdfs_work *w) {
  answer a;
  remote_error e;
  int sent = 0;
  if (!request(w, "op=CREATE&overwrite=false", &a, &e, &sent))
    return;
  /* (the datanode says it with a 403, HttpFS with a 500) */
  if (strcmp(e.exception, "FileAlreadyExistsException") == 0 && sent) {
    /* An earlier try may have written it: the file is ours when it holds our bytes. */
    hdfs_work r = *w;
    int got;
    k8sha__http_answer_clear(&a);
    r.base.kind = K8SHA__POOL_READ;
    got = request(&r, "op=OPEN", &a, &e, &sent) && a.code == 200;
    if (got && k8sha__pool_same_bytes(&w->base, a.body, a.len)) {
      k8sha__http_answer_clear(&a);
      return;
    }
    k8sha__http_answer_clear(&a);
    if (got)
      failf(w, K8SHA_EEXISTS, "hdfs: CREATE %s: the file exists (and holds other bytes)",
            w->base.uri);
    else
      failf(w, K8SHA_EEXISTS, "hdfs: CREATE %s: the file exists and could not be read back to "
            "tell whether an earlier try wrote it: %.600s", w->base.uri,
            r.base.status ? r.base.message : "OPEN did not answer 200");
    return;
  }
  if (strcmp(e.exception, "FileAlreadyExistsException") == 0)
    failf(w, K8SHA_EEXISTS, "hdfs: CREATE %s: the file exists", w->base.uri);
  else if (a.code != 201)
    fail_answer(w, &a, &e);
  k8sha__http_answer_clear(&a);
}

static void do_remove(hdfs_work *w) {
  answer a;
  remote_error e;
  int sent = 0;
  json_t *doc;
  if (!request(w, "op=DELETE&recursive=false", &a, &e, &sent))
    return;
  if (a.code == 404 && strcmp(e.exception, "FileNotFoundException") == 0) {
    k8sha__http_answer_clear(&a); /* (absent: success) */
    return;
  }
  if (a.code != 200) {
    fail_answer(w, &a, &e);
    k8sha__http_answer_clear(&a);
    return;
  }
  /* {"boolean": true} deleted, false: there was nothing (both success) */
  doc = a.body ? json_loadb(a.body, a.len, 0, NULL) : NULL;
  if (!json_is_boolean(json_object_get(doc, "boolean")))
    failf(w, K8SHA_ESTORAGE, "hdfs: DELETE %s: the answer is not {\"boolean\": ...}: %.200s",
          w->base.uri, a.body ? a.body : "(empty)");
  json_decref(doc);
  k8sha__http_answer_clear(&a);
}

/* Adds the files of one listing page whose names start with `name` (of the folder `folder`).
 * 0 with *more and *last (the page's last name, for startAfter), or -1 (status set). */
static int list_page(hdfs_work *w, const char *folder, const char *name, const answer *a,
                     int batch, int *more, char *last, size_t last_len) {
  json_t *doc = json_loadb(a->body ? a->body : "", a->len, 0, NULL), *statuses, *list, *rem;
  json_t *item;
  size_t i, n_name = strlen(name);
  char uri[HDFS_PATH_MAX + 400];
  int rc = 0;
  json_t *listing = batch ? json_object_get(json_object_get(doc, "DirectoryListing"),
                                            "partialListing")
                          : doc;
  statuses = json_object_get(listing, "FileStatuses");
  list = json_object_get(statuses, "FileStatus");
  rem = batch ? json_object_get(json_object_get(doc, "DirectoryListing"), "remainingEntries")
              : NULL;
  if (!json_is_array(list) || (batch && !json_is_integer(rem))) {
    failf(w, K8SHA_ESTORAGE, "hdfs: %s %s: the answer is not a %s: %.200s",
          batch ? "LISTSTATUS_BATCH" : "LISTSTATUS", w->base.uri,
          batch ? "DirectoryListing with FileStatuses and remainingEntries" : "FileStatuses",
          a->body ? a->body : "(empty)");
    json_decref(doc);
    return -1;
  }
  *more = batch && json_integer_value(rem) > 0;
  last[0] = '\0';
  json_array_foreach(list, i, item) {
    json_t *suffix = json_object_get(item, "pathSuffix"), *type = json_object_get(item, "type");
    const char *s = json_string_value(suffix);
    if (!s || !*s || strchr(s, '/') || !json_is_string(type) || strlen(s) >= last_len) {
      failf(w, K8SHA_ESTORAGE, "hdfs: %s %s: entry %zu has no usable pathSuffix and type",
            batch ? "LISTSTATUS_BATCH" : "LISTSTATUS", w->base.uri, i + 1);
      rc = -1;
      break;
    }
    snprintf(last, last_len, "%s", s);
    if (strcmp(json_string_value(type), "FILE") != 0 || strncmp(s, name, n_name) != 0)
      continue;
    snprintf(uri, sizeof(uri), "%s%s/%s", w->fs, folder, s);
    if (k8sha_storage_op_add_entry(w->base.op, uri) != 0) {
      failf(w, K8SHA_ENOMEM, "hdfs: LISTSTATUS_BATCH %s: out of memory", w->base.uri);
      rc = -1;
      break;
    }
  }
  if (rc == 0 && *more && !last[0]) {
    failf(w, K8SHA_ESTORAGE, "hdfs: LISTSTATUS_BATCH %s: an empty page with %lld remaining",
          w->base.uri, (long long)json_integer_value(rem));
    rc = -1;
  }
  json_decref(doc);
  return rc;
}

/* The files of the prefix's folder whose names start with the prefix's last segment. */
static void do_list(hdfs_work *w) {
  char folder[HDFS_PATH_MAX + 1], name[HDFS_PATH_MAX + 1], last[HDFS_PATH_MAX + 1];
  char query[3 * HDFS_PATH_MAX + 64], enc[3 * HDFS_PATH_MAX + 1];
  const char *slash = strrchr(w->path, '/');
  int more = 1, batch = 1, sent = 0;
  snprintf(folder, sizeof(folder), "%.*s", (int)(slash - w->path), w->path);
  snprintf(name, sizeof(name), "%s", slash + 1);
  snprintf(w->path, sizeof(w->path), "%s", folder[0] ? folder : "/");
  last[0] = '\0';
  while (more) {
    answer a;
    remote_error e;
    if (!batch)
      snprintf(query, sizeof(query), "op=LISTSTATUS");
    else if (last[0] && encode(last, 0, enc, sizeof(enc)) == 0)
      snprintf(query, sizeof(query), "op=LISTSTATUS_BATCH&startAfter=%s", enc);
    else
      snprintf(query, sizeof(query), "op=LISTSTATUS_BATCH");
    if (!request(w, query, &a, &e, &sent))
      return;
    if (a.code == 404 && strcmp(e.exception, "FileNotFoundException") == 0) {
      k8sha__http_answer_clear(&a); /* (no folder: no blobs) */
      return;
    }
    if (batch && !last[0] && (a.code == 400 || a.code == 500) &&
        (strcmp(e.exception, "IllegalArgumentException") == 0 ||
         strcmp(e.exception, "UnsupportedOperationException") == 0 ||
         strcmp(e.exception, "QueryParamException") == 0)) {
      batch = 0; /* (a server without LISTSTATUS_BATCH: one listing of the whole folder) */
      k8sha__http_answer_clear(&a);
      continue;
    }
    if (a.code != 200) {
      fail_answer(w, &a, &e);
      k8sha__http_answer_clear(&a);
      return;
    }
    if (list_page(w, folder, name, &a, batch, &more, last, sizeof(last)) != 0)
      more = 0;
    k8sha__http_answer_clear(&a);
  }
}

static void run(k8sha__pool_work *base) {
  hdfs_work *w = (hdfs_work *)base;
  switch (base->kind) {
  case K8SHA__POOL_WRITE: do_write(w); break;
  case K8SHA__POOL_READ: do_read(w); break;
  case K8SHA__POOL_REMOVE: do_remove(w); break;
  case K8SHA__POOL_LIST: do_list(w); break;
  }
}

/* Loop thread: "hdfs://authority/path" into the work's file system and path. The authority must
 * be the storage directory's (or empty, when that is the default file system's). */
static int prepare(k8sha__pool_work *base) {
  hdfs_work *w = (hdfs_work *)base;
  const k8sha__hdfs_conf *c;
  const char *a, *path;
  size_t alen, i;
  w->b = (hdfs_backend *)base->pool;
  c = &w->b->conf;
  if (base->kind == K8SHA__POOL_WRITE && base->len > HDFS_BLOB_MAX)
    return K8SHA_ESTORAGE;
  if (strncmp(base->uri, "hdfs://", 7) != 0)
    return K8SHA_EINVAL;
  a = base->uri + 7;
  alen = strcspn(a, "/");
  path = a + alen;
  if (!(alen == 0 ? c->default_fs
                  : alen == strlen(c->authority) && strncmp(a, c->authority, alen) == 0) ||
      path[0] != '/' || strlen(path) > HDFS_PATH_MAX || (size_t)(path - base->uri) >= sizeof(w->fs))
    return K8SHA_EINVAL;
  for (i = 0; path[i]; i++)
    if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
      return K8SHA_EINVAL;
  if (base->kind != K8SHA__POOL_LIST && path[strlen(path) - 1] == '/')
    return K8SHA_EINVAL;
  snprintf(w->fs, sizeof(w->fs), "%.*s", (int)(path - base->uri), base->uri);
  snprintf(w->path, sizeof(w->path), "%s", path);
  return 0;
}

static void destroy(k8sha__pool *p) {
  hdfs_backend *b = (hdfs_backend *)p;
  k8sha__http_share_free(b->share);
  k8sha_allocator a = p->alloc;
  uv_mutex_destroy(&b->lock);
  k8sha__free(&a, b);
}

int k8sha__hdfs_backend_register(k8sha__storage *st, k8sha__rt *rt, const k8sha__hdfs_conf *conf) {
  static const char *const schemes[] = {"hdfs"};
  hdfs_backend *b = k8sha__calloc(&rt->alloc, 1, sizeof(*b));
  if (!b)
    return K8SHA_ENOMEM;
  if (uv_mutex_init(&b->lock) != 0) {
    k8sha__free(&rt->alloc, b);
    return K8SHA_ENOMEM;
  }
  k8sha__pool_init(&b->pool, rt->loop, &rt->alloc, sizeof(hdfs_work), prepare, run, destroy);
  b->conf = *conf;
  if (!(b->share = k8sha__http_share_new())) {
    destroy(&b->pool);
    return K8SHA_ENOMEM;
  }
  return k8sha__pool_register(&b->pool, st, schemes, 1);
}
