/* The context: loop ownership, k8sha_ctx_post(), teardown, counters. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/ctx_priv.h"
#include "k8sha/errors.h"
#include "kube/client.h"
#include "storage/storage.h"

typedef struct post_item {
  struct post_item *next;
  void (*fn)(k8sha_ctx *, void *);
  void *user_data;
} post_item;

/* Lives until its uv_async_t is closed, which may be after the context is gone. Queue items are
 * allocated with libc because other threads create them and a host allocator need not be
 * thread-safe. */
struct k8sha__poster {
  uv_async_t async;
  uv_mutex_t mu;
  post_item *head, *tail;
  k8sha_ctx *ctx; /* NULL once the context is torn down */
  int closed;     /* no more posts accepted */
  int stop_loop;  /* library-owned loop: tear down on the loop thread */
  int refs;       /* the context and the open handle: freed when both are gone */
};

static void poster_unref(struct k8sha__poster *p) {
  int last;
  uv_mutex_lock(&p->mu);
  last = --p->refs == 0;
  uv_mutex_unlock(&p->mu);
  if (last) {
    post_item *it = p->head, *next;
    for (; it; it = next) {
      next = it->next;
      free(it);
    }
    uv_mutex_destroy(&p->mu);
    free(p);
  }
}

int k8sha_ctx_options_init(k8sha_ctx_options *opts, unsigned int version) {
  static const k8sha_ctx_options defaults = K8SHA_CTX_OPTIONS_INIT;
  if (!opts || version != K8SHA_CTX_OPTIONS_VERSION)
    return K8SHA_EINVAL;
  *opts = defaults;
  return 0;
}

uint64_t k8sha__now_ms(k8sha_ctx *ctx) {
  uv_update_time(ctx->loop);
  return uv_now(ctx->loop);
}

static post_item *take_posts(struct k8sha__poster *p) {
  post_item *items;
  uv_mutex_lock(&p->mu);
  items = p->head;
  p->head = p->tail = NULL;
  uv_mutex_unlock(&p->mu);
  return items;
}

static void teardown(k8sha_ctx *ctx);

static void on_async(uv_async_t *h) {
  struct k8sha__poster *p = h->data;
  post_item *it = take_posts(p), *next;
  int stop;

  for (; it; it = next) {
    next = it->next;
    if (p->ctx)
      it->fn(p->ctx, it->user_data);
    free(it);
  }
  uv_mutex_lock(&p->mu);
  stop = p->stop_loop;
  uv_mutex_unlock(&p->mu);
  if (stop && p->ctx)
    teardown(p->ctx);
}

static void poster_closed(uv_handle_t *h) {
  poster_unref(h->data);
}

static int poster_new(k8sha_ctx *ctx) {
  struct k8sha__poster *p = calloc(1, sizeof(*p));
  if (!p)
    return K8SHA_ENOMEM;
  if (uv_mutex_init(&p->mu) != 0) {
    free(p);
    return K8SHA_ENOMEM;
  }
  if (uv_async_init(ctx->loop, &p->async, on_async) != 0) {
    uv_mutex_destroy(&p->mu);
    free(p);
    return K8SHA_EIO;
  }
  p->async.data = p;
  p->ctx = ctx;
  p->refs = 2;
  ctx->poster = p;
  return 0;
}

int k8sha_ctx_post(k8sha_ctx *ctx, void (*fn)(k8sha_ctx *, void *), void *user_data) {
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
  uv_mutex_lock(&p->mu);
  if (p->closed) {
    uv_mutex_unlock(&p->mu);
    free(it);
    return K8SHA_ECLOSED;
  }
  if (p->tail)
    p->tail->next = it;
  else
    p->head = it;
  p->tail = it;
  /* Under the lock: teardown sets `closed` under it before closing the handle, so no send can
   * reach a closed handle. */
  uv_async_send(&p->async);
  uv_mutex_unlock(&p->mu);
  return 0;
}

/* On the loop thread: cancel everything and close every handle the context owns. */
static void teardown(k8sha_ctx *ctx) {
  struct k8sha__poster *p = ctx->poster;
  if (ctx->freeing)
    return;
  ctx->freeing = 1;
  k8sha__storage_close(ctx);
  if (ctx->kube) {
    k8sha__kube_free(ctx->kube);
    ctx->kube = NULL;
  }
  if (p) {
    uv_mutex_lock(&p->mu);
    p->closed = 1;
    uv_mutex_unlock(&p->mu);
    p->ctx = NULL;
    /* ctx->poster stays set (and the poster alive) until k8sha_ctx_free() returns, so a post
     * racing the teardown finds it closed rather than freed. */
    uv_close((uv_handle_t *)&p->async, poster_closed);
  }
}

static void loop_thread(void *arg) {
  k8sha_ctx *ctx = arg;
  /* Runs until teardown has closed every handle. */
  uv_run(ctx->loop, UV_RUN_DEFAULT);
}

static void ctx_release(k8sha_ctx *ctx) {
  k8sha_allocator a = ctx->alloc;
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
    k8sha__log(ctx, K8SHA_LOG_WARN, "kube", "the bearer token is sent in clear text to %s",
               ctx->access.server);
  if (ctx->access.insecure)
    k8sha__log(ctx, K8SHA_LOG_WARN, "kube",
               "insecure-skip-tls-verify: the API server's certificate is not checked");
}

int k8sha_ctx_new(k8sha_ctx **out, const k8sha_config *cfg, const k8sha_ctx_options *opts) {
  static const k8sha_ctx_options defaults = K8SHA_CTX_OPTIONS_INIT;
  const k8sha_allocator *a;
  k8sha_ctx *ctx;
  int rc;

  if (!out || !cfg)
    return K8SHA_EINVAL;
  if (!opts)
    opts = &defaults;
  if (opts->version != K8SHA_CTX_OPTIONS_VERSION || k8sha__allocator_check(opts->allocator) ||
      opts->log_level > K8SHA_LOG_DEBUG)
    return K8SHA_EINVAL;
  if (!k8sha_config_cluster_id(cfg) || !k8sha_config_kube_server(cfg))
    return K8SHA_ECONFIG; /* not validated, or not resolved */
  a = opts->allocator ? opts->allocator : k8sha__default_allocator();
  ctx = k8sha__calloc(a, 1, sizeof(*ctx));
  if (!ctx)
    return K8SHA_ENOMEM;
  ctx->alloc = *a;
  ctx->log = opts->log;
  ctx->log_user_data = opts->log_user_data;
  ctx->log_level = opts->log_level;
  ctx->stats.version = K8SHA_STATS_VERSION;
  rc = k8sha__config_copy_runtime(cfg, a, &ctx->ha, &ctx->access);
  if (rc)
    goto fail;
  warn_transport(ctx);
  if (opts->loop) {
    ctx->loop = opts->loop;
  } else {
    ctx->own_loop = k8sha__malloc(a, sizeof(*ctx->own_loop));
    if (!ctx->own_loop) {
      rc = K8SHA_ENOMEM;
      goto fail;
    }
    if (uv_loop_init(ctx->own_loop) != 0) {
      k8sha__free(a, ctx->own_loop);
      ctx->own_loop = NULL;
      rc = K8SHA_EIO;
      goto fail;
    }
    ctx->loop = ctx->own_loop;
  }
  rc = poster_new(ctx);
  if (rc == 0)
    rc = k8sha__kube_new(ctx, &ctx->kube);
  if (rc == 0 && strncmp(ctx->ha.storage_dir, "file://", 7) == 0)
    rc = k8sha__file_backend_register(ctx);
  if (rc)
    goto fail_loop;
  if (ctx->own_loop) {
    if (uv_thread_create(&ctx->thread, loop_thread, ctx) != 0) {
      rc = K8SHA_EIO;
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

void k8sha_ctx_free(k8sha_ctx *ctx) {
  if (!ctx)
    return;
  if (ctx->own_loop) {
    struct k8sha__poster *p = ctx->poster;
    uv_mutex_lock(&p->mu);
    p->stop_loop = 1;
    uv_async_send(&p->async);
    uv_mutex_unlock(&p->mu);
    uv_thread_join(&ctx->thread);
    uv_loop_close(ctx->own_loop);
  } else {
    teardown(ctx);
  }
  ctx_release(ctx);
}

uv_loop_t *k8sha_ctx_loop(const k8sha_ctx *ctx) {
  return ctx ? ctx->loop : NULL;
}

int k8sha_ctx_stats(const k8sha_ctx *ctx, k8sha_stats *out) {
  if (!ctx || !out || out->version != K8SHA_STATS_VERSION)
    return K8SHA_EINVAL;
  *out = ctx->stats;
  return 0;
}
