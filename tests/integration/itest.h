/* Helpers for integration tests: a context on a test-owned loop, pointed at a kube-lite. */
#ifndef K8SHA_ITEST_H
#define K8SHA_ITEST_H

#include <check.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "kube/client.h"
#include "kubelite_harness.h"

typedef struct itest {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  kubelite *kl;
} itest;

/* Starts kube-lite with `opts` (may be NULL) and a context on it. `kubeconfig` overrides the
 * server's own kubeconfig when not NULL. */
void it_start(itest *t, const kubelite_options *opts, const char *kubeconfig);
/* A context for `kubeconfig` on t's loop (t->ctx is not touched). */
k8sha_ctx *it_ctx(itest *t, const char *kubeconfig);
/* The same with extra configuration: NULL-terminated key, value pairs. The pseudo-key
 * IT_STORAGE_SCHEME registers a storage scheme the test backs itself. */
#define IT_STORAGE_SCHEME "+storage-scheme"
k8sha_ctx *it_ctx_with(itest *t, const char *kubeconfig, const char *const *kv);
void it_stop(itest *t);
/* Runs the loop until *flag is non-zero; fails the test if it never happens (bounded by loop
 * turns, which every request's own timeout keeps finite). */
void it_run_until(itest *t, const int *flag);

/* One request's result, filled by it_on_resp. */
typedef struct it_result {
  uv_loop_t *loop; /* stopped when the result arrives */
  int done, err;
  long status;
  char message[1024];
  char body[8192];
} it_result;

void it_on_resp(const k8sha__resp *resp, void *ud);
/* Makes a request and waits for it. */
void it_request(itest *t, k8sha_ctx *ctx, k8sha__verb verb, const char *path, const char *body,
                const char *content_type, uint64_t timeout_ms, unsigned attempts, it_result *out);
/* Registers a test. Against a real API server (K8SHA_TEST_KUBECONFIG, see tests/realkube):
 * IT_ANY tests run directly against it; IT_FAULTS tests (fault injection, watches ended on
 * demand) run only through the fault proxy (K8SHA_TEST_CONTROL_URL), and then only they run;
 * IT_KUBELITE tests (restarts, kube-lite's token and persistence options) never. What is left
 * out is said on stdout. With kube-lite, all run. */
#define IT_ANY 0
#define IT_KUBELITE 1
#define IT_FAULTS 2
void it_add(TCase *tc, const TTest *test, int needs);
/* Runs a suite; returns the process exit status. */
int it_run_suite(Suite *s);
/* A kubeconfig (a file in kube-lite's temp dir, static slot) for kube-lite's user of `token`
 * (one from kubelite_options.tokens), namespace flink. */
const char *it_token_kubeconfig(itest *t, const char *token);
/* Writes a file in kube-lite's temp dir and returns its path (static slot). */
const char *it_file(itest *t, const char *name, const char *text);

#endif
