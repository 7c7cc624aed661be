/* The public constructors that take a context: each hands the module what it is made with (the
 * context's env), so no module reaches into the context. */
#include "core/ctx_priv.h"
#include "election/elector.h"
#include "k8sha/errors.h"
#include "store/make.h"

static k8sha__env *env_of(k8sha_ctx *ctx) {
  return ctx ? &ctx->env : NULL;
}

int k8sha_election_new(k8sha_election **out, k8sha_ctx *ctx, const k8sha_election_options *opts,
                       const k8sha_election_callbacks *cbs) {
  return k8sha__election_new(out, env_of(ctx), opts, cbs);
}

int k8sha_retriever_new(k8sha_retriever **out, k8sha_ctx *ctx,
                        const k8sha_retriever_options *opts, const char *component,
                        k8sha_retriever_cb cb, void *user_data) {
  return k8sha__retriever_new(out, env_of(ctx), opts, component, cb, user_data);
}

int k8sha_watch_new(k8sha_watch **out, k8sha_ctx *ctx, const char *label_selector,
                    k8sha_watch_cb cb, void *user_data) {
  return k8sha__watch_new(out, env_of(ctx), label_selector, cb, user_data);
}

int k8sha_cleanup_job(k8sha_ctx *ctx, k8sha_election *leader, const char *job_id,
                      unsigned int flags, k8sha_found_cb found, k8sha_cleanup_done_cb done,
                      void *user_data) {
  return k8sha__cleanup_job(env_of(ctx), leader, job_id, flags, found, done, user_data);
}

int k8sha_cleanup_cluster(k8sha_ctx *ctx, unsigned int flags, k8sha_found_cb found,
                          k8sha_cleanup_done_cb done, void *user_data) {
  return k8sha__cleanup_cluster(env_of(ctx), flags, found, done, user_data);
}

int k8sha_orphans_scan(k8sha_ctx *ctx, k8sha_election *leader, k8sha_found_cb found,
                       k8sha_cleanup_done_cb done, void *user_data) {
  return k8sha__orphans_scan(env_of(ctx), leader, found, done, user_data);
}
