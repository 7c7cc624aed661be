/* Allocation failure at every point of load, validate and resolve: each call either succeeds or
 * returns K8SHA_ENOMEM, nothing leaks, and the configuration stays usable. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct counting {
  long fail_at;   /* allocation number that fails (1-based); 0 never */
  long calls;
  long live;      /* allocations not yet freed */
} counting;

static void *cm_malloc(size_t n, void *ud) {
  counting *c = ud;
  void *p;
  if (++c->calls == c->fail_at)
    return NULL;
  p = malloc(n);
  if (p)
    c->live++;
  return p;
}

static void *cm_realloc(void *ptr, size_t n, void *ud) {
  counting *c = ud;
  void *p;
  if (++c->calls == c->fail_at)
    return NULL;
  p = realloc(ptr, n);
  if (p && !ptr)
    c->live++;
  return p;
}

static void cm_free(void *ptr, void *ud) {
  counting *c = ud;
  if (ptr)
    c->live--;
  free(ptr);
}

static const char yaml[] =
    "kubernetes:\n  cluster-id: cluster1337\n  namespace: flink\n"
    "high-availability.type: kubernetes\n"
    "high-availability.storageDir: /var/ha/\n"
    "high-availability.kubernetes.leader-election.lease-duration: 15 s\n"
    "high-availability.kubernetes.leader-election.bogus: 1\n"
    "kubernetes.namespace: flink\n";

/* One full run; returns the first error, or 0. */
static int run_once(counting *c, const char *kubeconfig) {
  k8sha_allocator a = {K8SHA_ALLOCATOR_VERSION, cm_malloc, cm_realloc, cm_free, NULL};
  k8sha_config *cfg = NULL;
  int rc;

  a.user_data = c;
  rc = k8sha_config_new(&cfg, &a);
  if (rc) {
    ck_assert_int_eq(rc, K8SHA_ENOMEM);
    return rc;
  }
  rc = k8sha_config_load_string(cfg, "f.yaml", yaml, sizeof(yaml) - 1);
  if (!rc)
    rc = k8sha_config_set(cfg, "kubernetes.config.file", kubeconfig);
  if (!rc)
    rc = k8sha_config_validate(cfg);
  if (!rc)
    rc = k8sha_config_resolve_kube(cfg);
  if (rc == 0) {
    ck_assert_str_eq(k8sha_config_storage_dir(cfg), "file:///var/ha");
    ck_assert_str_eq(k8sha_config_kube_server(cfg), "https://h:1");
  } else {
    /* Only allocation failures are expected here, and they must be reported as such. */
    ck_assert_int_eq(rc, K8SHA_ENOMEM);
  }
  k8sha_config_free(cfg);
  return rc;
}

START_TEST(every_allocation_may_fail) {
  counting c;
  long n, total;
  const char *kc = tu_write("kc.yaml", "apiVersion: v1\ncurrent-context: c\n"
                                       "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"
                                       "clusters:\n- name: k\n  cluster: {server: 'https://h:1'}\n"
                                       "users:\n- name: u\n  user: {token: abc}\n");
  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(run_once(&c, kc), 0);
  ck_assert_int_eq(c.live, 0);
  total = c.calls;
  ck_assert_int_gt(total, 20);
  for (n = 1; n <= total; n++) {
    memset(&c, 0, sizeof(c));
    c.fail_at = n;
    ck_assert_msg(run_once(&c, kc) == K8SHA_ENOMEM, "allocation %ld failing went unnoticed", n);
    ck_assert_msg(c.live == 0, "allocation %ld failing leaked %ld blocks", n, c.live);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("failmalloc");
  TCase *tc = tcase_create("failmalloc");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, every_allocation_may_fail);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
