/* The context: loop ownership, k8sha_ctx_post(), teardown, counters. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/ctx_priv.h"
#include "core/fail.h"
#include "core/mailbox.h"
#include "core/timer.h"
#include "core/versioned.h"
#include "election/elector.h"
#include "k8sha/errors.h"
#include "kube/client.h"
#include "storage/hdfs.h"
#include "storage/s3.h"
#include "storage/storage.h"

typedef struct post_item {
  k8sha__letter letter; /* first: the mailbox links items through it */
  void (*fn)(k8sha_ctx *, void *);
  void *user_data;
  void (*dropped)(void *user_data); /* when it will never run (the context went first) */
} post_item;

/* Lives until its handle is closed, which may be after the context is gone. Items are allocated
 * with libc because other threads create them and a host allocator need not be thread-safe. */
struct k8sha__poster {
  k8sha__mailbox box;
  k8sha_ctx *ctx; /* NULL once the context is torn down */
  int stop_loop;  /* (atomic) library-owned loop: tear down on the loop thread */
  int refs;       /* (atomic) the context and the open handle: freed when both are gone */
};

static void run_posts(struct k8sha__poster *p) {
  k8sha__letter *l = k8sha__mailbox_take(&p->box), *next;
  for (; l; l = next) {
    post_item *it = (post_item *)l;
    next = l->next;
    if (p->ctx)
      it->fn(p->ctx, it->user_data);
    else if (it->dropped)
      it->dropped(it->user_data);
    free(it);
  }
}

static void poster_unref(struct k8sha__poster *p) {
  if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    p->ctx = NULL;
    run_posts(p); /* (each is dropped) */
    k8sha__mailbox_destroy(&p->box);
    free(p);
  }
}

/* The sizes of each version of the versioned structs (core/versioned.h). */
static const size_t options_sizes[] = {0, sizeof(k8sha_ctx_options)};
static const size_t stats_sizes[] = {0, sizeof(k8sha_stats)};
static const size_t allocator_sizes[] = {0, sizeof(k8sha_allocator)};

int k8sha_ctx_options_init(k8sha_ctx_options *opts, unsigned int version) {
  static const k8sha_ctx_options defaults = K8SHA_CTX_OPTIONS_INIT;
  if (!opts || !K8SHA__VERSION_OK(version, options_sizes))
    return K8SHA_EINVAL;
  k8sha__versioned_copy(opts, &defaults, version, options_sizes);
  opts->version = version;
  return 0;
}

static void teardown(k8sha_ctx *ctx);
static void orphans_gone(k8sha__env *env);

static void on_async(uv_async_t *h) {
  struct k8sha__poster *p = h->data;

  run_posts(p);
  if (__atomic_load_n(&p->stop_loop, __ATOMIC_ACQUIRE) && p->ctx) {
    /* Library-owned loop: a release still being written for an election the host has freed
     * goes out first (its request's timeout bounds the wait); then everything closes. */
    if (p->ctx->env.orphans)
      p->ctx->teardown_due = 1;
    else
      teardown(p->ctx);
  }
}

static void poster_closed(uv_handle_t *h) {
  poster_unref(h->data);
}

static int poster_new(k8sha_ctx *ctx) {
  struct k8sha__poster *p = calloc(1, sizeof(*p));
  int rc;
  if (!p)
    return K8SHA_ENOMEM;
  rc = k8sha__mailbox_init(&p->box, ctx->rt.loop, on_async, p);
  if (rc) {
    free(p);
    return rc;
  }
  p->ctx = ctx;
  p->refs = 2;
  ctx->poster = p;
  return 0;
}

static int post(k8sha_ctx *ctx, void (*fn)(k8sha_ctx *, void *), void *user_data,
                void (*dropped)(void *)) {
  struct k8sha__poster *p;
  post_item *it;

  if (!ctx || !fn)
    return K8SHA_EINVAL;
  p = ctx->poster;
  it = calloc(1, sizeof(*it));
  if (!it)
    return K8SHA_ENOMEM;
  it->fn = fn;
  it->user_data = user_data;
  it->dropped = dropped;
  if (k8sha__mailbox_post(&p->box, &it->letter) != 0) {
    free(it);
    return K8SHA_ECLOSED;
  }
  return 0;
}

int k8sha_ctx_post(k8sha_ctx *ctx, void (*fn)(k8sha_ctx *, void *), void *user_data) {
  return post(ctx, fn, user_data, NULL);
}

/* ---- k8sha_ctx_call: run on the loop thread and wait ---- */

typedef struct call {
  int (*fn)(k8sha_ctx *, void *);
  void *user_data;
  k8sha_waiter *w;
} call;

static void call_on_loop(k8sha_ctx *ctx, void *ud) {
  call *c = ud;
  k8sha_waiter_signal(c->w, c->fn(ctx, c->user_data));
}

static void call_dropped(void *ud) {
  call *c = ud;
  k8sha_waiter_signal(c->w, K8SHA_ECLOSED);
}

int k8sha_ctx_call(k8sha_ctx *ctx, int (*fn)(k8sha_ctx *ctx, void *user_data), void *user_data) {
  call c;
  int rc, status = 0;
  if (!ctx || !fn)
    return K8SHA_EINVAL;
  if (k8sha__rt_on_loop(&ctx->rt))
    return fn(ctx, user_data); /* (waiting for ourselves would never end) */
  c.fn = fn;
  c.user_data = user_data;
  rc = k8sha_waiter_new(&c.w);
  if (rc)
    return rc;
  rc = post(ctx, call_on_loop, &c, call_dropped);
  if (rc == 0)
    rc = k8sha_waiter_wait(c.w, 0, &status) == 0 ? status : K8SHA_EINVAL;
  k8sha_waiter_free(c.w);
  return rc;
}

/* ---- k8sha_ctx_post_after: a timer on the loop ---- */

struct k8sha__delayed {
  struct k8sha__delayed *next, **prev;
  k8sha_ctx *ctx;
  k8sha__timer *timer;
  uint64_t delay_ms;
  void (*fn)(k8sha_ctx *, void *);
  void *user_data;
};

static void delayed_free(struct k8sha__delayed *d) {
  if (d->next)
    d->next->prev = d->prev;
  *d->prev = d->next;
  k8sha__timer_free(d->timer);
  free(d);
}

static void delayed_fire(void *ud) {
  struct k8sha__delayed *d = ud;
  k8sha_ctx *ctx = d->ctx;
  void (*fn)(k8sha_ctx *, void *) = d->fn;
  void *user_data = d->user_data;
  delayed_free(d);
  fn(ctx, user_data);
}

static void delayed_start(k8sha_ctx *ctx, void *ud) {
  struct k8sha__delayed *d = ud;
  d->ctx = ctx;
  d->timer = k8sha__timer_new(&ctx->rt, delayed_fire, d);
  d->next = ctx->delayed;
  d->prev = &ctx->delayed;
  if (d->next)
    d->next->prev = &d->next;
  ctx->delayed = d;
  if (!d->timer) {
    k8sha__log(&ctx->rt, K8SHA_LOG_ERROR, "context",
               "out of memory starting a timer: the delayed call runs now");
    delayed_fire(d);
    return;
  }
  k8sha__timer_start(d->timer, d->delay_ms);
}

static void delayed_dropped(void *ud) {
  free(ud);
}

int k8sha_ctx_post_after(k8sha_ctx *ctx, uint64_t delay_ms,
                         void (*fn)(k8sha_ctx *ctx, void *user_data), void *user_data) {
  struct k8sha__delayed *d;
  int rc;
  if (!ctx || !fn)
    return K8SHA_EINVAL;
  d = calloc(1, sizeof(*d)); /* (libc: made on any thread) */
  if (!d)
    return K8SHA_ENOMEM;
  d->delay_ms = delay_ms;
  d->fn = fn;
  d->user_data = user_data;
  rc = post(ctx, delayed_start, d, delayed_dropped);
  if (rc)
    free(d);
  return rc;
}

/* On the loop thread: cancel everything and close every handle the context owns. */
static void teardown(k8sha_ctx *ctx) {
  struct k8sha__poster *p = ctx->poster;
  if (ctx->freeing)
    return;
  ctx->freeing = 1;
  while (ctx->delayed) /* (delayed calls not run yet never run) */
    delayed_free(ctx->delayed);
  k8sha__election_reap(&ctx->env); /* (releases still being written are cancelled) */
  k8sha__storage_close(ctx->storage); /* (it frees itself once nothing is pending) */
  ctx->storage = ctx->env.storage = NULL;
  if (ctx->kube) {
    k8sha__kube_free(ctx->kube);
    ctx->kube = ctx->env.kube = NULL;
  }
  if (p) {
    p->ctx = NULL;
    /* ctx->poster stays set (and the poster alive) until k8sha_ctx_free() returns, so a post
     * racing the teardown finds it closed rather than freed. */
    k8sha__mailbox_close(&p->box, poster_closed);
  }
}

static void loop_thread(void *arg) {
  k8sha_ctx *ctx = arg;
  /* Runs until teardown has closed every handle. */
  uv_run(ctx->rt.loop, UV_RUN_DEFAULT);
}

static void ctx_release(k8sha_ctx *ctx) {
  k8sha_allocator a = ctx->rt.alloc;
  if (ctx->poster)
    poster_unref(ctx->poster);
  k8sha__ha_clear(&a, &ctx->ha);
  k8sha__kube_access_clear(&a, &ctx->access);
  k8sha__free(&a, ctx->own_loop);
  k8sha__free(&a, ctx);
}

/* Said once per context, as `k8sha config check` says it: access that exposes the credentials. */
static void warn_transport(k8sha_ctx *ctx) {
  const unsigned int bearer = K8SHA_AUTH_TOKEN | K8SHA_AUTH_TOKEN_FILE | K8SHA_AUTH_SERVICE_ACCOUNT;
  if ((ctx->access.auth & bearer) && ctx->access.server &&
      strncasecmp(ctx->access.server, "http://", 7) == 0)
    k8sha__log(&ctx->rt, K8SHA_LOG_WARN, "kube", "the bearer token is sent in clear text to %s",
               ctx->access.server);
  if (ctx->access.insecure)
    k8sha__log(&ctx->rt, K8SHA_LOG_WARN, "kube",
               "insecure-skip-tls-verify: the API server's certificate is not checked");
}

/* The built-in s3 backend, with the settings the configuration and the environment give now. */
static int s3_backend(k8sha_ctx *ctx, const k8sha_config *cfg) {
  k8sha__s3_conf *conf = k8sha__malloc(&ctx->rt.alloc, sizeof(*conf));
  char why[400];
  int rc;
  if (!conf)
    return K8SHA_ENOMEM;
  rc = k8sha__s3_conf_read(cfg, getenv, conf, why, sizeof(why));
  if (rc == 0)
    rc = k8sha__s3_backend_register(ctx->storage, &ctx->rt, conf);
  else
    rc = k8sha__fail(rc, "k8sha_ctx_new: s3 storage: %s", why);
  k8sha__free(&ctx->rt.alloc, conf);
  return rc;
}

/* The built-in hdfs backend, with the Hadoop configuration and the environment of now. */
static int hdfs_backend(k8sha_ctx *ctx, const k8sha_config *cfg) {
  k8sha__hdfs_conf *conf = k8sha__malloc(&ctx->rt.alloc, sizeof(*conf));
  char why[600];
  int rc;
  if (!conf)
    return K8SHA_ENOMEM;
  rc = k8sha__hdfs_conf_read(cfg, ctx->ha.storage_dir, getenv, conf, why, sizeof(why));
  if (rc == 0)
    rc = k8sha__hdfs_backend_register(ctx->storage, &ctx->rt, conf);
  else
    rc = k8sha__fail(rc, "k8sha_ctx_new: hdfs storage: %s", why);
  k8sha__free(&ctx->rt.alloc, conf);
  return rc;
}

int k8sha_ctx_new(k8sha_ctx **out, const k8sha_config *cfg, const k8sha_ctx_options *given) {
  k8sha_ctx_options o = K8SHA_CTX_OPTIONS_INIT, *opts = &o;
  k8sha_allocator alloc;
  const k8sha_allocator *a;
  k8sha_ctx *ctx;
  int rc;

  if (!out || !cfg)
    return K8SHA_EINVAL;
  if (given) {
    if (!K8SHA__VERSION_OK(given->version, options_sizes))
      return k8sha__fail(K8SHA_EINVAL, "k8sha_ctx_new: options version %u is not one this "
                                       "library knows (1..%u)", given->version,
                         (unsigned)K8SHA__VERSIONS(options_sizes));
    k8sha__versioned_copy(&o, given, given->version, options_sizes);
  }
  if (k8sha__allocator_check(opts->allocator))
    return k8sha__fail(K8SHA_EINVAL, "k8sha_ctx_new: the allocator needs a known version and "
                                     "malloc, realloc and free");
  if (opts->log_level > K8SHA_LOG_DEBUG)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_ctx_new: log level %d is not a k8sha_log_level",
                       (int)opts->log_level);
  if (!k8sha_config_cluster_id(cfg))
    return k8sha__fail(K8SHA_ECONFIG, "k8sha_ctx_new: the configuration has not passed "
                                      "k8sha_config_validate()");
  if (!k8sha_config_kube_server(cfg))
    return k8sha__fail(K8SHA_ECONFIG, "k8sha_ctx_new: the configuration's Kubernetes access is "
                                      "not resolved (call k8sha_config_resolve_kube())");
  a = k8sha__default_allocator();
  if (opts->allocator) {
    alloc = *a;
    k8sha__versioned_copy(&alloc, opts->allocator, opts->allocator->version, allocator_sizes);
    a = &alloc;
  }
  ctx = k8sha__calloc(a, 1, sizeof(*ctx));
  if (!ctx)
    return K8SHA_ENOMEM;
  ctx->rt.alloc = *a;
  ctx->rt.log = opts->log;
  ctx->rt.log_user_data = opts->log_user_data;
  ctx->rt.log_level = opts->log_level;
  ctx->rt.stats.version = K8SHA_STATS_VERSION;
  rc = k8sha__config_copy_runtime(cfg, a, &ctx->ha, &ctx->access);
  if (rc)
    goto fail;
  warn_transport(ctx);
  if (opts->loop) {
    ctx->rt.loop = opts->loop;
    ctx->rt.loop_thread = uv_thread_self();
  } else {
    ctx->own_loop = k8sha__malloc(a, sizeof(*ctx->own_loop));
    if (!ctx->own_loop) {
      rc = K8SHA_ENOMEM;
      goto fail;
    }
    if (uv_loop_init(ctx->own_loop) != 0) {
      k8sha__free(a, ctx->own_loop);
      ctx->own_loop = NULL;
      rc = k8sha__fail(K8SHA_ESYSTEM, "k8sha_ctx_new: the event loop could not be made");
      goto fail;
    }
    ctx->rt.loop = ctx->own_loop;
    ctx->rt.own_loop = 1;
  }
  rc = poster_new(ctx);
  if (rc == 0)
    rc = k8sha__kube_new(&ctx->rt, &ctx->access, &ctx->kube);
  if (rc == 0)
    rc = k8sha__storage_new(&ctx->rt, &ctx->storage);
  if (rc == 0) {
    ctx->env.rt = &ctx->rt;
    ctx->env.ha = &ctx->ha;
    ctx->env.kube = ctx->kube;
    ctx->env.storage = ctx->storage;
    ctx->env.orphans_gone = orphans_gone;
  }
  if (rc == 0 && strncmp(ctx->ha.storage_dir, "file://", 7) == 0)
    rc = k8sha__file_backend_register(ctx->storage, &ctx->rt, ctx->ha.storage_dir);
  if (rc == 0 && k8sha__s3_scheme(ctx->ha.storage_dir, strcspn(ctx->ha.storage_dir, ":")))
    rc = s3_backend(ctx, cfg);
  if (rc == 0 && strncmp(ctx->ha.storage_dir, "hdfs://", 7) == 0)
    rc = hdfs_backend(ctx, cfg);
  if (rc)
    goto fail_loop;
  if (ctx->own_loop) {
    if (uv_thread_create(&ctx->rt.loop_thread, loop_thread, ctx) != 0) {
      rc = k8sha__fail(K8SHA_ESYSTEM, "k8sha_ctx_new: the loop thread could not be started");
      goto fail_loop;
    }
    ctx->thread_started = 1;
  }
  *out = ctx;
  return 0;

fail_loop:
  teardown(ctx);
  if (ctx->own_loop) {
    /* Let the close callbacks run, then the loop can be closed. */
    uv_run(ctx->own_loop, UV_RUN_DEFAULT);
    uv_loop_close(ctx->own_loop);
  }
  /* With a host loop, closing handles finish when the host next runs its loop; they do not
   * refer to the context. */
fail:
  ctx_release(ctx);
  return rc;
}

/* The env's hook: the last election freed while writing its release is done with it, so a
 * context freed meanwhile (on its own loop thread) may now close. */
static void orphans_gone(k8sha__env *env) {
  k8sha_ctx *ctx = (k8sha_ctx *)(void *)((char *)env - offsetof(k8sha_ctx, env));
  /* (on the loop, inside a request's completion: the teardown runs from the poster's turn) */
  if (ctx->teardown_due && ctx->poster)
    k8sha__mailbox_wake(&ctx->poster->box);
}

int k8sha_ctx_free(k8sha_ctx *ctx) {
  unsigned int children;
  if (!ctx)
    return 0;
  if (ctx->own_loop ? k8sha__rt_on_loop(&ctx->rt)
                    : !k8sha__rt_on_loop(&ctx->rt) || ctx->rt.depth > 0) {
    char msg[256];
    snprintf(msg, sizeof(msg), "k8sha_ctx_free was called %s; the context was not freed",
             ctx->own_loop ? "on the library's own loop thread (call it from another thread)"
             : ctx->rt.depth > 0 ? "from inside a libk8sha callback (defer it until the callback "
                                "has returned)"
                              : "from a thread other than the loop's");
    k8sha__log(&ctx->rt, K8SHA_LOG_ERROR, "context", "%s", msg);
    return k8sha__fail(K8SHA_ETHREAD, "%s", msg);
  }
  children = __atomic_load_n(&ctx->rt.children, __ATOMIC_SEQ_CST);
  if (children > 0) {
    char msg[256];
    snprintf(msg, sizeof(msg), "k8sha_ctx_free: %u object%s made from the context (elections, "
             "retrievers, stores, watches, running cleanup tasks and orphan scans) %s not freed "
             "or finished yet; the context was not freed",
             children, children == 1 ? "" : "s", children == 1 ? "is" : "are");
    k8sha__log(&ctx->rt, K8SHA_LOG_ERROR, "context", "%s", msg);
    return k8sha__fail(K8SHA_EBUSY, "%s", msg);
  }
  if (ctx->own_loop) {
    struct k8sha__poster *p = ctx->poster;
    __atomic_store_n(&p->stop_loop, 1, __ATOMIC_RELEASE);
    k8sha__mailbox_wake(&p->box);
    uv_thread_join(&ctx->rt.loop_thread);
    uv_loop_close(ctx->own_loop);
  } else {
    teardown(ctx);
  }
  ctx_release(ctx);
  return 0;
}

int k8sha_storage_register(k8sha_ctx *ctx, const k8sha_storage_backend *backend, void *self) {
  if (!ctx)
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY(&ctx->rt, K8SHA_ETHREAD);
  return k8sha__storage_register(ctx->storage, backend, self);
}

uv_loop_t *k8sha_ctx_loop(const k8sha_ctx *ctx) {
  return ctx ? ctx->rt.loop : NULL;
}

int k8sha_ctx_stats(const k8sha_ctx *ctx, k8sha_stats *out) {
  unsigned int version;
  if (!ctx || !out || !K8SHA__VERSION_OK(out->version, stats_sizes))
    return K8SHA_EINVAL;
  K8SHA__LOOP_ONLY(&((k8sha_ctx *)ctx)->rt, K8SHA_ETHREAD);
  /* Only what the caller's version has room for. */
  version = out->version;
  k8sha__versioned_copy(out, &ctx->rt.stats, version, stats_sizes);
  out->version = version;
  return 0;
}
