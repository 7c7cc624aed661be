/* Kubernetes access: kubeconfig parsing and merging, credentials, in-cluster discovery, and the
 * rule that a token never appears in a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/kube_access.h"
#include "core/alloc.h"
#include "testutil.h"

#define CERT_PEM "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n"
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\nMIIBdummy\n-----END PRIVATE KEY-----\n"
/* base64 of CERT_PEM */
#define CERT_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkdW1teQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg=="
#define SECRET "s3cr3t-t0ken-value"

/* Each test starts from a clean environment: Check may run tests in one process. */
static void env_reset(void) {
  char home[600];
  snprintf(home, sizeof(home), "%s/home-empty", tu_tmpdir());
  mkdir(home, 0700);
  setenv("HOME", home, 1);
  unsetenv("KUBECONFIG");
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
}

static k8sha_config *with_kubeconfig(const char *path) {
  k8sha_config *cfg = NULL;
  env_reset();
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  if (path)
    ck_assert_int_eq(k8sha_config_set(cfg, "kubernetes.config.file", path), 0);
  return cfg;
}

static k8sha_config *resolved(const char *kubeconfig_text) {
  k8sha_config *cfg = with_kubeconfig(tu_write("kc.yaml", kubeconfig_text));
  if (k8sha_config_resolve_kube(cfg) != 0)
    tu_dump(cfg);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), 0);
  return cfg;
}

static void expect_kube_error(const char *kubeconfig_text, const char *needle) {
  k8sha_config *cfg = with_kubeconfig(tu_write("kc.yaml", kubeconfig_text));
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, needle);
  ck_assert_ptr_null(k8sha_config_kube_server(cfg));
  k8sha_config_free(cfg);
}

#define KC_HEAD "apiVersion: v1\nkind: Config\ncurrent-context: c1\n"
#define KC_CTX "contexts:\n- name: c1\n  context: {cluster: k1, user: u1, namespace: ns1}\n"
#define KC_CLUSTER(body) "clusters:\n- name: k1\n  cluster:\n" body
#define KC_USER(body) "users:\n- name: u1\n  user:\n" body

START_TEST(token_user) {
  k8sha_config *cfg = resolved(KC_HEAD KC_CTX KC_CLUSTER("    server: https://10.0.0.1:6443/\n")
                                   KC_USER("    token: " SECRET "\n"));
  ck_assert_str_eq(k8sha_config_kube_server(cfg), "https://10.0.0.1:6443");
  ck_assert_uint_eq(k8sha_config_kube_auth(cfg), K8SHA_AUTH_TOKEN);
  ck_assert_int_eq(k8sha_config_kube_insecure(cfg), 0);
  ck_assert_ptr_nonnull(strstr(k8sha_config_kube_source(cfg), "kc.yaml, context c1"));
  ck_assert_ptr_null(strstr(k8sha_config_kube_source(cfg), SECRET));
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(token_file_relative_to_the_kubeconfig) {
  k8sha_config *cfg;
  tu_write("token", SECRET "\n");
  cfg = resolved(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                     KC_USER("    token: inline\n    tokenFile: token\n"));
  /* The file wins over the inline token: it is the one that rotates. */
  ck_assert_uint_eq(k8sha_config_kube_auth(cfg), K8SHA_AUTH_TOKEN_FILE);
  k8sha_config_free(cfg);
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    tokenFile: no-such-token\n"),
                    "users[u1].user.tokenFile: cannot read");
  tu_write("empty-token", "");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    tokenFile: empty-token\n"),
                    "is empty");
}
END_TEST

START_TEST(client_certificates) {
  k8sha_config *cfg;
  tu_write("client.crt", CERT_PEM);
  tu_write("client.key", KEY_PEM);
  tu_write("ca.crt", CERT_PEM);
  tu_write("not-pem.crt", "hello");
  cfg = resolved(KC_HEAD KC_CTX
                 KC_CLUSTER("    server: https://h:1\n    certificate-authority: ca.crt\n"
                            "    tls-server-name: api.internal\n")
                     KC_USER("    client-certificate: client.crt\n    client-key: client.key\n"));
  ck_assert_uint_eq(k8sha_config_kube_auth(cfg), K8SHA_AUTH_CLIENT_CERT);
  k8sha_config_free(cfg);
  cfg = resolved(KC_HEAD KC_CTX
                 KC_CLUSTER("    server: https://h:1\n    certificate-authority-data: " CERT_B64 "\n")
                     KC_USER("    client-certificate-data: " CERT_B64 "\n    client-key: client.key\n"
                             "    token: " SECRET "\n"));
  ck_assert_uint_eq(k8sha_config_kube_auth(cfg), K8SHA_AUTH_CLIENT_CERT | K8SHA_AUTH_TOKEN);
  k8sha_config_free(cfg);
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    client-certificate: client.crt\n"),
                    "a client certificate needs its key");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    client-key: client.key\n"),
                    "a client certificate needs its key");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    client-certificate-data: '%%%not base64'\n"
                                "    client-key: client.key\n"),
                    "client-certificate-data is not base64 of a PEM document");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    client-certificate-data: aGVsbG8=\n"
                                "    client-key: client.key\n"),
                    "client-certificate-data is not base64 of a PEM document");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n    certificate-authority: not-pem.crt\n")
                        KC_USER("    token: x\n"),
                    "is not a PEM file");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n    certificate-authority: /nonexistent/ca.crt\n")
                        KC_USER("    token: x\n"),
                    "clusters[k1].cluster.certificate-authority: cannot read '/nonexistent/ca.crt'");
}
END_TEST

START_TEST(insecure_flag) {
  k8sha_config *cfg;
  tu_write("ca.crt", CERT_PEM);
  cfg = resolved(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n    insecure-skip-tls-verify: true\n")
                     KC_USER("    token: x\n"));
  ck_assert_int_eq(k8sha_config_kube_insecure(cfg), 1);
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, "kubernetes.config.file", "certificate is not checked");
  k8sha_config_free(cfg);
  /* a bearer token to a plain-http server works, with a warning; a verified https one has none */
  cfg = resolved(KC_HEAD KC_CTX KC_CLUSTER("    server: http://h:1\n") KC_USER("    token: x\n"));
  tu_assert_diag(cfg, K8SHA_DIAG_WARNING, "kubernetes.config.file", "sent in clear text");
  k8sha_config_free(cfg);
  cfg = resolved(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n") KC_USER("    token: x\n"));
  ck_assert_int_eq(tu_has_diag(cfg, K8SHA_DIAG_WARNING, "kubernetes.config.file", "clear text"), 0);
  k8sha_config_free(cfg);
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n    insecure-skip-tls-verify: yes please\n")
                        KC_USER("    token: x\n"),
                    "insecure-skip-tls-verify must be true or false");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n    insecure-skip-tls-verify: true\n"
                                              "    certificate-authority: ca.crt\n")
                        KC_USER("    token: x\n"),
                    "exclude each other");
}
END_TEST

START_TEST(contexts_clusters_users) {
  k8sha_config *cfg;
  /* kubernetes.context picks another context than current-context. */
  cfg = with_kubeconfig(tu_write("kc2.yaml", KC_HEAD KC_CTX
                                 "- name: c2\n  context: {cluster: k2}\n"
                                 KC_CLUSTER("    server: https://one:1\n")
                                 "- name: k2\n  cluster: {server: 'http://two:2'}\n"));
  ck_assert_int_eq(k8sha_config_set(cfg, "kubernetes.context", "c2"), 0);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), 0);
  ck_assert_str_eq(k8sha_config_kube_server(cfg), "http://two:2");
  ck_assert_uint_eq(k8sha_config_kube_auth(cfg), K8SHA_AUTH_NONE);
  ck_assert_int_eq(k8sha_config_set(cfg, "kubernetes.context", "c9"), 0);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "context 'c9' is not defined");
  k8sha_config_free(cfg);

  expect_kube_error("apiVersion: v1\n" KC_CTX KC_CLUSTER("    server: https://h:1\n"),
                    "no current-context is set");
  expect_kube_error(KC_HEAD "contexts:\n- name: c1\n  context: {cluster: nope}\n",
                    "names cluster 'nope', which is not defined");
  expect_kube_error(KC_HEAD "contexts:\n- name: c1\n  context: {cluster: k1, user: ghost}\n"
                        KC_CLUSTER("    server: https://h:1\n"),
                    "names user 'ghost', which is not defined");
  expect_kube_error(KC_HEAD "contexts:\n- name: c1\n  context: {user: u1}\n",
                    "contexts[c1].context.cluster is missing");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    insecure-skip-tls-verify: true\n")
                        KC_USER("    token: x\n"),
                    "clusters[k1].cluster.server is missing");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: ftp://h:1\n") KC_USER("    token: x\n"),
                    "must start with https:// or http://");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: [a, b]\n") KC_USER("    token: x\n"),
                    "server must be a plain value");
}
END_TEST

START_TEST(unsupported_and_malformed) {
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    exec:\n      command: aws\n"),
                    "users[u1].user.exec is not supported");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    username: admin\n    password: pw\n"),
                    "users[u1].user.username is not supported");
  expect_kube_error("clusters: [\n", "not valid YAML");
  expect_kube_error("- a\n- b\n", "a kubeconfig must be a mapping");
}
END_TEST

/* A NUL inside a quoted value ("\0") would cut the value short there, silently: refused. */
START_TEST(nul_in_a_value_is_refused) {
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: \"https://h:1\\0.evil\"\n")
                        KC_USER("    token: t\n"),
                    "clusters[k1].cluster.server contains a NUL character");
  expect_kube_error(KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1\n")
                        KC_USER("    token: \"abc\\0def\"\n"),
                    "users[u1].user.token contains a NUL character");
}
END_TEST

/* The text entry point (the fuzzer's) resolves a kubeconfig as the file path does, relative
 * credential paths against the named file's directory included. */
START_TEST(text_resolves_as_the_file_would) {
  static const char text[] = KC_HEAD KC_CTX KC_CLUSTER("    server: https://h:1/\n")
      KC_USER("    tokenFile: text-token\n");
  const k8sha_allocator *a = k8sha__default_allocator();
  char path[600];
  k8sha_config *cfg = with_kubeconfig(NULL);
  k8sha__kube_access k;

  tu_write("text-token", SECRET "\n");
  snprintf(path, sizeof(path), "%s/not-read.yaml", tu_tmpdir());
  memset(&k, 0, sizeof(k));
  ck_assert_int_eq(k8sha__kubeconfig_resolve_text(cfg, path, text, sizeof(text) - 1, NULL, &k), 0);
  ck_assert_str_eq(k.server, "https://h:1");
  ck_assert_uint_eq(k.auth, K8SHA_AUTH_TOKEN_FILE);
  ck_assert_ptr_nonnull(strstr(k.source, "not-read.yaml, context c1"));
  k8sha__kube_access_clear(a, &k);
  /* not NUL-terminated: only `len` bytes count */
  memset(&k, 0, sizeof(k));
  ck_assert_int_eq(k8sha__kubeconfig_resolve_text(cfg, path, "current-context: c1\nXXXX", 20,
                                                  NULL, &k),
                   K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "context 'c1' is not defined");
  k8sha__kube_access_clear(a, &k);
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(token_never_in_messages) {
  k8sha_config *cfg = with_kubeconfig(tu_write(
      "kc-secret.yaml", KC_HEAD KC_CTX KC_CLUSTER("    server: nonsense\n")
                            KC_USER("    token: " SECRET "\n    exec: {command: x}\n")));
  size_t i;
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), K8SHA_ECONFIG);
  ck_assert_uint_ge(tu_count(cfg, K8SHA_DIAG_ERROR), 2);
  for (i = 0; i < k8sha_config_diag_count(cfg); i++)
    ck_assert_ptr_null(strstr(k8sha_config_diag_at(cfg, i)->text, SECRET));
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(kubeconfig_search_order) {
  k8sha_config *cfg;
  char home[600], kdir[700], list[2048];
  char *a = tu_write("merge-a.yaml", "apiVersion: v1\ncurrent-context: c1\n"
                                     KC_CLUSTER("    server: https://from-a:1\n"));
  char *b = tu_write("merge-b.yaml", "apiVersion: v1\ncurrent-context: ignored\n" KC_CTX
                                     KC_CLUSTER("    server: https://from-b:1\n")
                                     KC_USER("    token: x\n"));

  /* $KUBECONFIG: files merge, the first definition of each name wins, missing files skip. */
  env_reset();
  snprintf(list, sizeof(list), "/nonexistent/kc:%s:%s", a, b);
  setenv("KUBECONFIG", list, 1);
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  if (k8sha_config_resolve_kube(cfg) != 0)
    tu_dump(cfg);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), 0);
  ck_assert_str_eq(k8sha_config_kube_server(cfg), "https://from-a:1");
  ck_assert_uint_eq(k8sha_config_kube_auth(cfg), K8SHA_AUTH_TOKEN);
  k8sha_config_free(cfg);

  /* kubernetes.config.file beats $KUBECONFIG, and a missing one is an error naming the key. */
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_set(cfg, "kubernetes.config.file", "/nonexistent/kubeconfig"), 0);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "kubernetes.config.file",
                 "override: kubernetes.config.file: cannot read '/nonexistent/kubeconfig'");
  k8sha_config_free(cfg);

  /* ~/.kube/config when nothing else is set. */
  env_reset();
  snprintf(home, sizeof(home), "%s/home-with-config", tu_tmpdir());
  snprintf(kdir, sizeof(kdir), "%s/.kube", home);
  mkdir(home, 0700);
  mkdir(kdir, 0700);
  snprintf(list, sizeof(list), "home-with-config/.kube/config");
  tu_write(list, KC_HEAD KC_CTX KC_CLUSTER("    server: https://from-home:1\n") KC_USER("    token: x\n"));
  setenv("HOME", home, 1);
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), 0);
  ck_assert_str_eq(k8sha_config_kube_server(cfg), "https://from-home:1");
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(nothing_to_connect_with) {
  k8sha_config *cfg = with_kubeconfig(NULL);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, "kubernetes.config.file", "no Kubernetes access found");
  ck_assert_ptr_nonnull(strstr(k8sha_config_last_error(cfg), "KUBERNETES_SERVICE_HOST"));
  k8sha_config_free(cfg);
}
END_TEST

START_TEST(in_cluster_without_kubeconfig) {
  /* In a pod with no kubeconfig, the service account is used; here its files do not exist. */
  k8sha_config *cfg = with_kubeconfig(NULL);
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL,
                 "/var/run/secrets/kubernetes.io/serviceaccount/token: cannot read the "
                 "service-account token");
  k8sha_config_free(cfg);
  env_reset();
}
END_TEST

START_TEST(in_cluster_service_account) {
  const k8sha_allocator *a = k8sha__default_allocator();
  k8sha__kube_access k;
  k8sha_config *cfg = with_kubeconfig(NULL);
  char sa[600];

  snprintf(sa, sizeof(sa), "%s/sa", tu_tmpdir());
  mkdir(sa, 0700);
  tu_write("sa/token", SECRET);
  tu_write("sa/ca.crt", CERT_PEM);
  tu_write("sa/namespace", "flink\n");

  memset(&k, 0, sizeof(k));
  ck_assert_int_eq(k8sha__incluster_resolve(cfg, "10.96.0.1", "443", sa, &k), 0);
  ck_assert_str_eq(k.server, "https://10.96.0.1:443");
  ck_assert_uint_eq(k.auth, K8SHA_AUTH_SERVICE_ACCOUNT | K8SHA_AUTH_TOKEN_FILE);
  ck_assert_ptr_nonnull(strstr(k.token_file, "/sa/token"));
  ck_assert_ptr_nonnull(strstr(k.ca_file, "/sa/ca.crt"));
  ck_assert_str_eq(k.context_namespace, "flink");
  ck_assert_ptr_null(k.token); /* read from the file each time, never kept */
  k8sha__kube_access_clear(a, &k);

  /* IPv6 service addresses are bracketed. */
  ck_assert_int_eq(k8sha__incluster_resolve(cfg, "fd00:10:96::1", "6443", sa, &k), 0);
  ck_assert_str_eq(k.server, "https://[fd00:10:96::1]:6443");
  k8sha__kube_access_clear(a, &k);

  ck_assert_int_eq(k8sha__incluster_resolve(cfg, "10.96.0.1", NULL, sa, &k), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "needs both KUBERNETES_SERVICE_HOST and");
  k8sha__kube_access_clear(a, &k);

  tu_write("sa/token", "");
  ck_assert_int_eq(k8sha__incluster_resolve(cfg, "10.96.0.1", "443", sa, &k), K8SHA_ECONFIG);
  tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "the service-account token file is empty");
  k8sha__kube_access_clear(a, &k);
  k8sha_config_free(cfg);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kubeconfig");
  TCase *tc = tcase_create("kubeconfig");
  tcase_add_test(tc, token_user);
  tcase_add_test(tc, token_file_relative_to_the_kubeconfig);
  tcase_add_test(tc, client_certificates);
  tcase_add_test(tc, insecure_flag);
  tcase_add_test(tc, contexts_clusters_users);
  tcase_add_test(tc, unsupported_and_malformed);
  tcase_add_test(tc, nul_in_a_value_is_refused);
  tcase_add_test(tc, text_resolves_as_the_file_would);
  tcase_add_test(tc, token_never_in_messages);
  tcase_add_test(tc, kubeconfig_search_order);
  tcase_add_test(tc, nothing_to_connect_with);
  tcase_add_test(tc, in_cluster_without_kubeconfig);
  tcase_add_test(tc, in_cluster_service_account);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
