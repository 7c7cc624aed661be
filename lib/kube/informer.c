/* LIST + WATCH into a cache. The loop: list -> synced -> watch from the list's resourceVersion ->
 * events -> (stream ends cleanly: watch again from the last resourceVersion; 410 Expired: list
 * again; errors: back off 0.8 s .. 30 s with jitter, never a tight loop). */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/backoff.h"
#include "core/life.h"
#include "core/timer.h"
#include "k8sha/errors.h"
#include "kube/informer.h"

#define BACKOFF_MIN_MS 800u
#define BACKOFF_MAX_MS 30000u
#define DEFAULT_WATCH_TIMEOUT_S 300u
/* A watch that lived this long, or delivered an event, was healthy: its end resets backoff. */
#define HEALTHY_WATCH_MS 10000u
#define STREAM_IDLE_MARGIN_S 30u

typedef enum inf_state { INF_IDLE, INF_LISTING, INF_WATCHING, INF_WAITING } inf_state;

struct k8sha__informer {
  k8sha__kube *k;
  k8sha__rt *rt;
  k8sha__informer_cbs cbs;
  void *user_data;
  char *collection, *selector_query; /* selector_query: "labelSelector=..&fieldSelector=.." */
  unsigned int watch_timeout_s;
  json_t *cache;       /* name -> object */
  json_t *pages;       /* a paginated list in progress: the items of its pages so far */
  char *next_page;     /* its continue token */
  char *rv;            /* resume point: last list/event/bookmark resourceVersion */
  inf_state state;
  int synced;
  k8sha__req *list_req;
  k8sha__stream *stream;
  k8sha__timer *timer;
  unsigned int failures; /* in a row: the backoff's step */
  uint64_t watch_started;
  int watch_events;
  int relist_next;     /* the next attempt lists instead of watching */
  int error_reported;  /* the error that stopped the stream was already reported */
  k8sha__life life;    /* the lifetime rule (core/life.h): the owner's callbacks hold a reference */
};

static void schedule(k8sha__informer *inf, int relist, int failed);
static void start_list(k8sha__informer *inf);
static void start_watch(k8sha__informer *inf);

static const char *obj_name(json_t *obj) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

static const char *obj_rv(json_t *obj) {
  return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

static int set_rv(k8sha__informer *inf, const char *rv) {
  char *copy;
  if (!rv || !*rv)
    return 0;
  copy = k8sha__strdup(&inf->rt->alloc, rv);
  if (!copy)
    return K8SHA_ENOMEM;
  k8sha__free(&inf->rt->alloc, inf->rv);
  inf->rv = copy;
  return 0;
}

static void destroy(k8sha__informer *inf);

/* Runs an owner's callback holding a reference; when the owner freed the informer inside it,
 * the enclosing function returns at once. */
#define GUARDED(inf, call)                                                                         \
  do {                                                                                             \
    int gone_;                                                                                     \
    k8sha__life_enter(&(inf)->life);                                                               \
    call;                                                                                          \
    if (k8sha__life_leave(&(inf)->life, &gone_)) {                                                 \
      if (gone_)                                                                                   \
        destroy(inf);                                                                              \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* After a stretch of owner callbacks begun with k8sha__life_enter(): 1 when the owner freed
 * the informer meanwhile (it is destroyed here when that was the last reference). */
static int left_closed(k8sha__informer *inf) {
  int gone;
  if (!k8sha__life_leave(&inf->life, &gone))
    return 0;
  if (gone)
    destroy(inf);
  return 1;
}

static void report(k8sha__informer *inf, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(k8sha__informer *inf, int err, const char *fmt, ...) {
  char message[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof(message), fmt, ap);
  va_end(ap);
  k8sha__log(inf->rt, err == K8SHA_EEXPIRED ? K8SHA_LOG_INFO : K8SHA_LOG_WARN, "watch", "%s",
             message);
  if (inf->cbs.on_error)
    inf->cbs.on_error(err, message, inf->user_data);
}

int k8sha__watch_event_parse(const char *line, size_t len, json_t **root, const char **type,
                             json_t **object, const char **why) {
  json_error_t jerr;
  json_t *r = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
  json_t *t, *o;

  if (!r) {
    *why = "not JSON";
    return K8SHA_ECORRUPT;
  }
  t = json_object_get(r, "type");
  o = json_object_get(r, "object");
  if (!json_is_string(t) || !json_is_object(o)) {
    json_decref(r);
    *why = "no \"type\" string or no \"object\"";
    return K8SHA_ECORRUPT;
  }
  *root = r;
  *type = json_string_value(t);
  *object = o;
  return 0;
}

/* ---- events into the cache ---- */

/* Applies one object to the cache and reports the change. Returns after the callback; the caller
 * must check whether the informer was freed meanwhile (inf->life.closed, see GUARDED). K8SHA_ENOMEM
 * when the cache could not take the object: then nothing was reported and the cache holds what it
 * held. */
static int apply(k8sha__informer *inf, k8sha__change change, json_t *obj) {
  const char *name = obj_name(obj);
  json_t *old;

  if (!name)
    return 0;
  old = json_object_get(inf->cache, name);
  if (old)
    json_incref(old);
  if (change == K8SHA__DELETED) {
    if (!old)
      return 0;
    json_object_del(inf->cache, name);
  } else {
    const char *rv = obj_rv(obj), *old_rv = old ? obj_rv(old) : NULL;
    /* An event for a state we already hold (a re-list, or our own echo): nothing changed. */
    if (old && rv && old_rv && strcmp(rv, old_rv) == 0) {
      json_decref(old);
      return 0;
    }
    if (json_object_set(inf->cache, name, obj) != 0) {
      json_decref(old);
      return K8SHA_ENOMEM;
    }
    change = old ? K8SHA__MODIFIED : K8SHA__ADDED;
  }
  if (inf->cbs.on_change)
    inf->cbs.on_change(change, obj, old, inf->user_data);
  json_decref(old);
  return 0;
}

/* Objects per page of a LIST: a namespace with more than fits one response is still listed. */
#ifndef K8SHA__LIST_PAGE
#define K8SHA__LIST_PAGE 500u
#endif

static void start_list(k8sha__informer *inf);

static int on_line(const char *line, size_t len, void *user_data) {
  k8sha__informer *inf = user_data;
  json_t *root = NULL, *obj = NULL;
  const char *type = NULL, *why = NULL;
  int rc = 0;

  inf->rt->stats.watch_events++;
  k8sha__life_enter(&inf->life); /* (left below, on every way out) */
  if (k8sha__watch_event_parse(line, len, &root, &type, &obj, &why) != 0) {
    report(inf, K8SHA_ECORRUPT, "malformed watch event (%s): %.120s%s", why, line,
           len > 120 ? "..." : "");
    if (left_closed(inf))
      return K8SHA_ECORRUPT;
    inf->error_reported = 1;
    /* Stop this stream: what follows cannot be trusted to line up. Resume from the last good
     * resourceVersion. */
    return K8SHA_ECORRUPT;
  }
  if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 ||
      strcmp(type, "DELETED") == 0) {
    k8sha__change c = type[0] == 'A' ? K8SHA__ADDED
                      : type[0] == 'M' ? K8SHA__MODIFIED
                                       : K8SHA__DELETED;
    inf->watch_events++; /* only good events prove the watch healthy, not errors or garbage */
    /* The resume point moves past an event only once the cache has taken it: out of memory,
     * the stream stops and the watch resumes from before it (the cache skips a state it holds). */
    if (apply(inf, c, obj) != 0 || (!inf->life.closed && set_rv(inf, obj_rv(obj)) != 0))
      rc = K8SHA_ENOMEM;
  } else if (strcmp(type, "BOOKMARK") == 0) {
    inf->watch_events++;
    set_rv(inf, obj_rv(obj));
  } else if (strcmp(type, "ERROR") == 0) {
    json_t *code = json_object_get(obj, "code");
    const char *msg = json_string_value(json_object_get(obj, "message"));
    long c = json_is_integer(code) ? (long)json_integer_value(code) : 0;
    /* "too old resource version" comes in-band on an HTTP 200 stream. */
    rc = c == 410 ? K8SHA_EEXPIRED : k8sha__status_to_err(c >= 400 ? c : 500, NULL);
    if (rc != K8SHA_EEXPIRED) {
      report(inf, rc, "watch of %s: error event: %s", inf->collection, msg ? msg : "(no message)");
      inf->error_reported = 1;
    }
  } else {
    report(inf, K8SHA_ECORRUPT, "unknown watch event type '%s'", type);
  }
  json_decref(root);
  return left_closed(inf) ? K8SHA_ECANCELED : rc;
}

static void on_stream_end(int err, const k8sha__resp *resp, void *user_data) {
  k8sha__informer *inf = user_data;
  uint64_t lived = k8sha__now_ms(inf->rt) - inf->watch_started;
  int healthy = inf->watch_events > 0 || lived >= HEALTHY_WATCH_MS;

  inf->stream = NULL;
  if (err == K8SHA_ECANCELED)
    return; /* freed from inside on_line */
  if (healthy)
    inf->failures = 0; /* a failure after a good run starts the backoff from the bottom */
  if (err == 0) {
    /* The server ended the watch (timeoutSeconds, or its own limit): resume. */
    schedule(inf, 0, !healthy);
    return;
  }
  if (err == K8SHA_EEXPIRED) {
    /* Routine recovery: logged, not an error for the owner (nothing failed, nothing is lost). */
    k8sha__log(inf->rt, K8SHA_LOG_INFO, "watch",
               "watch of %s: resource version %s is too old; listing again", inf->collection,
               inf->rv ? inf->rv : "?");
    /* After a healthy watch, at once; a watch that expired before any event (a server whose
     * history is gone each time) lists again only after a growing delay, never in a loop. */
    schedule(inf, 1, !healthy);
    return;
  }
  if (!inf->error_reported)
    GUARDED(inf, report(inf, err, "watch of %s ended: %s", inf->collection,
                        resp && resp->message ? resp->message : k8sha_strerror(err)));
  schedule(inf, 0, 1);
}

static void start_watch(k8sha__informer *inf) {
  k8sha__stream_cbs cbs = {on_line, on_stream_end};
  /* Spread the server-side timeouts so that many watchers do not reconnect together. */
  unsigned int timeout = inf->watch_timeout_s +
                         (unsigned int)k8sha__kube_random(inf->k, inf->watch_timeout_s + 1);
  char *path;
  int rc;

  path = k8sha__asprintf(&inf->rt->alloc,
                         "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%u"
                         "&resourceVersion=%s%s%s",
                         inf->collection, timeout, inf->rv ? inf->rv : "0",
                         inf->selector_query ? "&" : "",
                         inf->selector_query ? inf->selector_query : "");
  if (!path) {
    schedule(inf, 0, 1);
    return;
  }
  inf->state = INF_WATCHING;
  inf->watch_started = k8sha__now_ms(inf->rt);
  inf->watch_events = 0;
  inf->error_reported = 0;
  rc = k8sha__stream_open(inf->k, path, timeout + STREAM_IDLE_MARGIN_S, &cbs, inf, &inf->stream);
  k8sha__free(&inf->rt->alloc, path);
  if (rc) {
    inf->stream = NULL;
    schedule(inf, 0, 1);
  }
}

/* ---- listing ---- */

/* A list that could not be taken for want of memory: said, and listed again (with backoff). */
static void list_oom(k8sha__informer *inf) {
  json_decref(inf->pages);
  inf->pages = NULL;
  GUARDED(inf, report(inf, K8SHA_ENOMEM, "list of %s: out of memory taking the list",
                      inf->collection));
  schedule(inf, 1, 1);
}

static void on_list(const k8sha__resp *resp, void *user_data) {
  k8sha__informer *inf = user_data;
  json_t *items, *item, *seen, *value;
  const char *name;
  size_t i;
  void *tmp;
  int failed;

  inf->list_req = NULL;
  k8sha__free(&inf->rt->alloc, inf->next_page);
  inf->next_page = NULL;
  if (resp->err) {
    /* (an expired continue token, 410, starts the list over like any failure) */
    json_decref(inf->pages);
    inf->pages = NULL;
    GUARDED(inf, report(inf, resp->err, "list of %s failed: %s", inf->collection,
                        resp->message ? resp->message : k8sha_strerror(resp->err)));
    schedule(inf, 1, 1);
    return;
  }
  items = json_object_get(resp->json, "items");
  if (!json_is_array(items)) {
    json_decref(inf->pages);
    inf->pages = NULL;
    GUARDED(inf, report(inf, K8SHA_ECORRUPT, "list of %s: the response is not a list",
                        inf->collection));
    schedule(inf, 1, 1);
    return;
  }
  if (set_rv(inf, json_string_value(json_object_get(json_object_get(resp->json, "metadata"),
                                                    "resourceVersion"))) != 0) {
    list_oom(inf);
    return;
  }
  {
    /* Paginated (limit/continue): gather every page, then apply them as one list. All pages are
     * one snapshot, at the resourceVersion each of them carries. */
    const char *next = json_string_value(
        json_object_get(json_object_get(resp->json, "metadata"), "continue"));
    if (inf->pages || (next && *next)) {
      if (!inf->pages)
        inf->pages = json_array();
      if (!inf->pages || json_array_extend(inf->pages, items) != 0) {
        list_oom(inf);
        return;
      }
      if (next && *next) {
        inf->next_page = k8sha__strdup(&inf->rt->alloc, next);
        if (inf->next_page) {
          start_list(inf);
          return;
        }
        list_oom(inf);
        return;
      }
      items = inf->pages; /* the last page: the whole list (freed below) */
    }
  }
  /* What the list holds, by name. Incomplete (out of memory), it would make cached objects look
   * deleted: list again instead. */
  seen = json_object();
  failed = !seen;
  json_array_foreach(items, i, item) {
    if (!failed && (name = obj_name(item)) != NULL && json_object_set(seen, name, item) != 0)
      failed = 1;
  }
  if (failed) {
    json_decref(seen);
    list_oom(inf);
    return;
  }
  /* Bring the cache to the listed state: deletions for what vanished, then the rest. A callback
   * may free the informer (the reference held here keeps its memory until the end). */
  {
    k8sha__life_enter(&inf->life);
    json_object_foreach_safe(inf->cache, tmp, name, value) {
      if (!json_object_get(seen, name)) {
        json_incref(value);
        apply(inf, K8SHA__DELETED, value); /* (a deletion takes no memory) */
        json_decref(value);
        if (inf->life.closed)
          break;
      }
    }
    if (!inf->life.closed) {
      json_object_foreach_safe(seen, tmp, name, value) {
        if (apply(inf, K8SHA__ADDED, value) != 0)
          failed = 1; /* (the others still go in: the next list skips what the cache holds) */
        if (inf->life.closed)
          break;
      }
    }
    json_decref(seen);
    if (left_closed(inf))
      return;
  }
  if (failed) {
    list_oom(inf);
    return;
  }
  json_decref(inf->pages);
  inf->pages = NULL;
  inf->synced = 1; /* (the backoff is reset by a healthy watch, not by a list) */
  if (inf->cbs.on_synced)
    GUARDED(inf, inf->cbs.on_synced(inf->user_data));
  start_watch(inf);
}

/* A list attempt timed out and the client tries again (within the list's deadline): said now,
 * not only once every attempt has failed, or a server that accepts connections and never answers
 * would stay invisible to the owner for the whole deadline. */
static void on_list_attempt_timeout(const k8sha__resp *resp, void *user_data) {
  k8sha__informer *inf = user_data;
  GUARDED(inf, report(inf, resp->err, "list of %s: %s", inf->collection,
                      resp->message ? resp->message : k8sha_strerror(resp->err)));
}

static void start_list(k8sha__informer *inf) {
  k8sha__req_opts o;
  char *path;
  int rc;

  memset(&o, 0, sizeof(o));
  if (inf->next_page) {
    char *token = k8sha__query_escape(inf->k, inf->next_page);
    path = token ? k8sha__asprintf(&inf->rt->alloc, "%s?limit=%u&continue=%s%s%s",
                                   inf->collection, K8SHA__LIST_PAGE, token,
                                   inf->selector_query ? "&" : "",
                                   inf->selector_query ? inf->selector_query : "")
                 : NULL;
    k8sha__free(&inf->rt->alloc, token);
  } else {
    path = k8sha__asprintf(&inf->rt->alloc, "%s?limit=%u%s%s", inf->collection,
                           K8SHA__LIST_PAGE, inf->selector_query ? "&" : "",
                           inf->selector_query ? inf->selector_query : "");
  }
  if (!path) {
    schedule(inf, 1, 1);
    return;
  }
  o.verb = K8SHA__LIST;
  o.path = path;
  o.on_attempt_timeout = on_list_attempt_timeout;
  o.urgent = 1; /* (the lock's view, and every watcher's, resumes without waiting) */
  inf->state = INF_LISTING;
  rc = k8sha__req_start(inf->k, &o, on_list, inf, &inf->list_req);
  k8sha__free(&inf->rt->alloc, path);
  if (rc) {
    inf->list_req = NULL;
    schedule(inf, 1, 1);
  }
}

/* ---- scheduling ---- */

static void on_timer(void *user_data) {
  k8sha__informer *inf = user_data;
  if (inf->relist_next || !inf->synced) {
    inf->rt->stats.relists += inf->synced;
    start_list(inf);
  } else {
    inf->rt->stats.watch_restarts++;
    start_watch(inf);
  }
}

/* The next attempt: at once after a healthy watch, else after a growing, jittered delay. */
static void schedule(k8sha__informer *inf, int relist, int failed) {
  uint64_t delay = 0, least = k8sha__kube_informer_backoff(inf->k);
  if (!least)
    least = BACKOFF_MIN_MS;
  inf->state = INF_WAITING;
  inf->relist_next = relist;
  if (failed) {
    delay = k8sha__backoff_ms(++inf->failures, least, BACKOFF_MAX_MS,
                              k8sha__kube_random(inf->k, UINT64_MAX));
    if (delay < least) /* (never under the minimum) */
      delay = least;
  } else {
    inf->failures = 0;
  }
  k8sha__timer_start(inf->timer, delay);
}

/* ---- object ---- */

static char *selector_query(k8sha__informer *inf, const k8sha__informer_opts *o) {
  const k8sha_allocator *a = &inf->rt->alloc;
  char *label = NULL, *field = NULL, *fsel = NULL, *out = NULL;

  if (!o->label_selector && !o->name)
    return NULL;
  if (o->label_selector && !(label = k8sha__query_escape(inf->k, o->label_selector)))
    goto done;
  if (o->name) {
    fsel = k8sha__asprintf(a, "metadata.name=%s", o->name);
    if (!fsel || !(field = k8sha__query_escape(inf->k, fsel)))
      goto done;
  }
  out = k8sha__asprintf(a, "%s%s%s%s%s", label ? "labelSelector=" : "", label ? label : "",
                        label && field ? "&" : "", field ? "fieldSelector=" : "",
                        field ? field : "");
done:
  k8sha__free(a, label);
  k8sha__free(a, field);
  k8sha__free(a, fsel);
  return out;
}

int k8sha__informer_new(k8sha__kube *k, const k8sha__informer_opts *o,
                        const k8sha__informer_cbs *cbs, void *user_data, k8sha__informer **out) {
  k8sha__rt *rt;
  k8sha__informer *inf;

  if (!k || !o || !o->collection || !cbs || !out)
    return K8SHA_EINVAL;
  rt = k8sha__kube_rt(k);
  inf = k8sha__calloc(&rt->alloc, 1, sizeof(*inf));
  if (!inf)
    return K8SHA_ENOMEM;
  k8sha__life_init(&inf->life);
  inf->k = k;
  inf->rt = rt;
  inf->cbs = *cbs;
  inf->user_data = user_data;
  inf->watch_timeout_s = o->watch_timeout_s ? o->watch_timeout_s : DEFAULT_WATCH_TIMEOUT_S;
  inf->collection = k8sha__strdup(&rt->alloc, o->collection);
  inf->cache = json_object();
  inf->timer = k8sha__timer_new(rt, on_timer, inf);
  if (!inf->collection || !inf->cache || !inf->timer)
    goto fail;
  if ((o->label_selector || o->name) && !(inf->selector_query = selector_query(inf, o)))
    goto fail;
  *out = inf;
  return 0;
fail:
  k8sha__informer_free(inf);
  return K8SHA_ENOMEM;
}

int k8sha__informer_start(k8sha__informer *inf) {
  if (!inf || inf->state != INF_IDLE)
    return K8SHA_EINVAL;
  start_list(inf);
  return 0;
}

json_t *k8sha__informer_get(const k8sha__informer *inf, const char *name) {
  return json_object_get(inf->cache, name);
}

static void destroy(k8sha__informer *inf) {
  const k8sha_allocator *a = &inf->rt->alloc;
  json_decref(inf->cache);
  json_decref(inf->pages);
  k8sha__free(a, inf->next_page);
  k8sha__free(a, inf->collection);
  k8sha__free(a, inf->selector_query);
  k8sha__free(a, inf->rv);
  k8sha__free(a, inf);
}

void k8sha__informer_free(k8sha__informer *inf) {
  if (!inf || inf->life.closed)
    return;
  /* No callback after this: the requests and the timer go now; the memory when no callback of
   * ours is under way (core/life.h). */
  k8sha__req_cancel(inf->list_req);
  inf->list_req = NULL;
  k8sha__stream_close(inf->stream);
  inf->stream = NULL;
  k8sha__timer_free(inf->timer);
  inf->timer = NULL;
  if (k8sha__life_close(&inf->life))
    destroy(inf);
}
