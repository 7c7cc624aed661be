/*
 * libk8sha — k8sha/context.h: the context every other object lives in, its event loop, logging
 * and counters.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * A context holds the connection to the Kubernetes API (from a validated, resolved
 * k8sha_config) and runs on one libuv loop:
 *
 *  - the host's loop (`options.loop` set): the host runs uv_run(); every libk8sha call is made on
 *    that loop's thread and every callback runs there;
 *  - or a loop the library runs on its own thread (`options.loop` NULL): for hosts without
 *    libuv. Then only the functions marked "Thread-safe" may be called from other threads; they
 *    hand work to the loop thread with k8sha_ctx_post(), and k8sha_waiter lets a thread block
 *    until a callback delivers a result.
 */
#ifndef K8SHA_CONTEXT_H
#define K8SHA_CONTEXT_H

#include <stdint.h>
#include "k8sha/common.h"
#include "k8sha/config.h"

K8SHA_BEGIN_DECLS

struct uv_loop_s;

/** Context; opaque. Since 0.1. */
typedef struct k8sha_ctx k8sha_ctx;

/** Log levels, most severe first. Since 0.1. */
typedef enum k8sha_log_level {
  K8SHA_LOG_ERROR = 0,
  K8SHA_LOG_WARN = 1,
  K8SHA_LOG_INFO = 2,
  K8SHA_LOG_DEBUG = 3
} k8sha_log_level;

/**
 * Receives the library's log lines (it never prints). `module` names the part ("kube", "watch",
 * "election", ...); `message` has no trailing newline and never contains a token. Called on the
 * loop thread. Since 0.1.
 */
typedef void (*k8sha_log_cb)(k8sha_log_level level, const char *module, const char *message,
                             void *user_data);

/** Options of k8sha_ctx_new(). Fill with K8SHA_CTX_OPTIONS_INIT or k8sha_ctx_options_init(). */
typedef struct k8sha_ctx_options {
  unsigned int version;              /* K8SHA_CTX_OPTIONS_VERSION */
  const k8sha_allocator *allocator;  /* NULL: malloc/realloc/free */
  struct uv_loop_s *loop;            /* the host's loop, or NULL for a library-owned loop thread */
  k8sha_log_cb log;                  /* NULL: no logging */
  void *log_user_data;
  k8sha_log_level log_level;         /* lines above this level are not produced; default WARN */
} k8sha_ctx_options;

#define K8SHA_CTX_OPTIONS_VERSION 1
#define K8SHA_CTX_OPTIONS_INIT {K8SHA_CTX_OPTIONS_VERSION, NULL, NULL, NULL, NULL, K8SHA_LOG_WARN}

/** Initialises `opts` to the defaults of `version`. 0 or K8SHA_EINVAL. Since 0.1. */
K8SHA_EXPORT int k8sha_ctx_options_init(k8sha_ctx_options *opts, unsigned int version);

/**
 * Creates a context for the cluster `cfg` describes. `cfg` must have passed
 * k8sha_config_validate() and k8sha_config_resolve_kube() (else K8SHA_ECONFIG); what is needed is
 * copied, so `cfg` may be freed afterwards. `opts` may be NULL for the defaults (library-owned
 * loop thread). No request is made yet.
 * Returns 0, K8SHA_EINVAL, K8SHA_ECONFIG, K8SHA_ENOMEM or K8SHA_ESYSTEM (the event loop or its
 * thread could not be started); k8sha_last_error() says what was wrong. Since 0.1.
 */
K8SHA_EXPORT int k8sha_ctx_new(k8sha_ctx **out, const k8sha_config *cfg,
                               const k8sha_ctx_options *opts);

/**
 * Stops and frees the context: pending requests are cancelled (their callbacks run with
 * K8SHA_ECANCELED before this returns), watches end, handles are closed.
 * Returns 0, or refuses and leaves everything as it was (the log says why):
 *  - K8SHA_EBUSY while an object made from the context (election, retriever, checkpoint or
 *    job-graph store, watch) has not been freed: free those first;
 *  - K8SHA_ETHREAD from inside a libk8sha callback, from a thread other than the loop's (host
 *    loop), or from the library's own loop thread (library-owned loop).
 * With a host loop, call it on the loop thread outside libk8sha callbacks (defer it with a
 * uv_idle/uv_timer if needed); then run the loop until it has no more handles
 * (`while (uv_run(loop, UV_RUN_DEFAULT));`) before closing it.
 * With a library-owned loop, call it from any thread but the loop thread; it joins the thread.
 * NULL is a no-op (0). Since 0.1.
 */
K8SHA_EXPORT int k8sha_ctx_free(k8sha_ctx *ctx);

/** The loop the context runs on (the host's, or the library's own). Since 0.1. */
K8SHA_EXPORT struct uv_loop_s *k8sha_ctx_loop(const k8sha_ctx *ctx);

/**
 * Runs `fn(ctx, user_data)` on the loop thread soon. Thread-safe. Returns 0, K8SHA_EINVAL,
 * K8SHA_ENOMEM or K8SHA_ECLOSED (the context is being freed; `fn` will not run). Since 0.1.
 */
K8SHA_EXPORT int k8sha_ctx_post(k8sha_ctx *ctx, void (*fn)(k8sha_ctx *ctx, void *user_data),
                                void *user_data);

/**
 * Runs `fn(ctx, user_data)` on the loop thread `delay_ms` from now (a timer for hosts on the
 * library-owned loop; 0: as soon as possible, after what is posted before). It never runs if the
 * context is freed first. Thread-safe. Returns 0, K8SHA_EINVAL, K8SHA_ENOMEM or K8SHA_ECLOSED.
 * Since 0.1.
 */
K8SHA_EXPORT int k8sha_ctx_post_after(k8sha_ctx *ctx, uint64_t delay_ms,
                                      void (*fn)(k8sha_ctx *ctx, void *user_data),
                                      void *user_data);

/**
 * Runs `fn(ctx, user_data)` on the loop thread and returns what it returned: the blocking form
 * of k8sha_ctx_post() for a thread that needs a result (start an election, open a store, read
 * the counters). Called on the loop thread itself, it runs `fn` directly. Returns fn's result,
 * or K8SHA_EINVAL, K8SHA_ENOMEM, or K8SHA_ECLOSED (the context is being freed: `fn` did not run).
 * Thread-safe. Since 0.1.
 */
K8SHA_EXPORT int k8sha_ctx_call(k8sha_ctx *ctx, int (*fn)(k8sha_ctx *ctx, void *user_data),
                                void *user_data);

/** Counters of what a context did, for monitoring and benchmarks. Since 0.1. */
typedef struct k8sha_stats {
  unsigned int version; /* K8SHA_STATS_VERSION: set by the caller */
  uint64_t requests;            /* HTTP requests sent (each retry counts) */
  uint64_t requests_get;        /* ... of which GET (single object), */
  uint64_t requests_list;       /* LIST, */
  uint64_t requests_create;     /* POST, */
  uint64_t requests_update;     /* PUT, */
  uint64_t requests_patch;      /* PATCH, */
  uint64_t requests_delete;     /* DELETE, */
  uint64_t requests_watch;      /* and watch streams opened */
  uint64_t responses_2xx, responses_4xx, responses_5xx;
  uint64_t responses_409;       /* conflicts (also counted in 4xx) */
  uint64_t transport_errors;    /* connection refused/reset, timeouts, TLS failures */
  uint64_t retries;             /* requests repeated by the retry policy */
  uint64_t watch_events;        /* events delivered from watch streams (bookmarks included) */
  uint64_t watch_restarts;      /* watch streams reopened after an end or error */
  uint64_t relists;             /* full lists made after 410 Expired */
  uint64_t bytes_sent, bytes_received;
  uint64_t token_reloads;       /* token files re-read */
} k8sha_stats;

#define K8SHA_STATS_VERSION 1

/**
 * Copies the counters into `*out`; set out->version = K8SHA_STATS_VERSION first. Call on the
 * loop thread (elsewhere: K8SHA_ETHREAD). 0 or K8SHA_EINVAL. Since 0.1.
 */
K8SHA_EXPORT int k8sha_ctx_stats(const k8sha_ctx *ctx, k8sha_stats *out);

/**
 * A one-shot result slot for a thread that waits for a loop callback (library-owned loop).
 * Since 0.1.
 */
typedef struct k8sha_waiter k8sha_waiter;

/** Creates a waiter. 0, K8SHA_EINVAL or K8SHA_ENOMEM. Thread-safe. Since 0.1. */
K8SHA_EXPORT int k8sha_waiter_new(k8sha_waiter **out);

/** Delivers `status`; the first call wins. Thread-safe. Since 0.1. */
K8SHA_EXPORT void k8sha_waiter_signal(k8sha_waiter *w, int status);

/**
 * Blocks until k8sha_waiter_signal() or `timeout_ms` (0: no limit). Stores the delivered status
 * in *status and returns 0, or returns K8SHA_ETIMEDOUT / K8SHA_EINVAL. Thread-safe. Since 0.1.
 */
K8SHA_EXPORT int k8sha_waiter_wait(k8sha_waiter *w, uint64_t timeout_ms, int *status);

/** Frees a waiter no one waits on any more. NULL is a no-op. Since 0.1. */
K8SHA_EXPORT void k8sha_waiter_free(k8sha_waiter *w);

K8SHA_END_DECLS

#endif /* K8SHA_CONTEXT_H */
