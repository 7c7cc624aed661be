/* A CA named by the kubeconfig (file or data; the in-cluster ca.crt takes the file path)
 * replaces the system's trust instead of widening it, as in client-go: a server whose certificate
 * only the system trusts is refused with a TLS error, and the bearer token never reaches it.
 *
 * "The system" is libcurl's default CA directory (CURLOPT_CAPATH after curl_easy_reset: with the
 * OpenSSL backend, /etc/ssl/certs on Debian). libcurl does not read SSL_CERT_DIR, SSL_CERT_FILE or
 * CURL_CA_BUNDLE when it has a compiled-in CA path and bundle (they are OpenSSL's and the curl
 * tool's), so no environment variable can put a CA there for one process. This program is linked
 * with -Wl,--wrap=curl_easy_reset instead: after the real reset, every easy handle of the process
 * (the library's included) starts with a default CA directory of the test's making, a c_rehash'd
 * directory holding the server's CA and nothing else. A library that leaves the default in place
 * then trusts the server; one that replaces it does not. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/base64.h"
#include "itest.h"
#include "k8sha/errors.h"

#define NS "/api/v1/namespaces/flink/configmaps"

void __real_curl_easy_reset(CURL *e);
void __wrap_curl_easy_reset(CURL *e);

/* The stand-in for libcurl's compiled-in CA directory ("" until the test has made it). */
static char system_ca_dir[1024];

void __wrap_curl_easy_reset(CURL *e) {
  __real_curl_easy_reset(e);
  if (system_ca_dir[0])
    curl_easy_setopt(e, CURLOPT_CAPATH, system_ca_dir);
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  ck_assert_msg(f != NULL, "cannot open %s", path);
  ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
  n = ftell(f);
  ck_assert_int_ge(n, 0);
  rewind(f);
  buf = calloc(1, (size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return buf;
}

/* Makes `dir` a CA directory as c_rehash makes them, trusting `ca_file` only. */
static void make_ca_dir(const char *dir, const char *ca_file) {
  char cmd[2048], hash[64] = "", path[1200];
  FILE *p, *out;
  char *pem;

  ck_assert_int_eq(mkdir(dir, 0700), 0);
  snprintf(cmd, sizeof(cmd), "openssl x509 -hash -noout -in '%s'", ca_file);
  p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  ck_assert_ptr_nonnull(fgets(hash, sizeof(hash), p));
  ck_assert_int_eq(pclose(p), 0);
  hash[strcspn(hash, "\r\n")] = '\0';
  ck_assert_uint_eq(strlen(hash), 8);
  snprintf(path, sizeof(path), "%s/%s.0", dir, hash);
  pem = read_all(ca_file);
  out = fopen(path, "w");
  ck_assert_ptr_nonnull(out);
  fputs(pem, out);
  ck_assert_int_eq(fclose(out), 0);
  free(pem);
}

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
}

/* What a program with libcurl's default trust gets from `url`. */
static CURLcode get_with_system_trust(const char *url) {
  CURL *e = curl_easy_init();
  CURLcode rc;
  ck_assert_ptr_nonnull(e);
  curl_easy_reset(e); /* the defaults, the CA directory of the test's making among them */
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  rc = curl_easy_perform(e);
  curl_easy_cleanup(e);
  return rc;
}

/* A kubeconfig for the server with the admin token and `ca_field` (certificate-authority: or
 * certificate-authority-data: ...). */
static const char *kubeconfig(itest *t, const char *name, const char *ca_field) {
  static char text[16384];
  snprintf(text, sizeof(text),
           "apiVersion: v1\ncurrent-context: c\n"
           "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
           "clusters: [{name: k, cluster: {server: '%s', %s}}]\n"
           "users: [{name: u, user: {token: '%s'}}]\n",
           kubelite_url(t->kl), ca_field, kubelite_admin_token(t->kl));
  return it_file(t, name, text);
}

START_TEST(configured_ca_replaces_system_trust) {
  kubelite_options ko;
  itest t;
  it_result r;
  k8sha_ctx *c;
  char cmd[2048], other_ca[700], field[8192], url[300], *pem, *b64 = NULL;
  const char *dir;

  memset(&ko, 0, sizeof(ko));
  ko.tls = 1;
  ko.tokens = "# token,user,rules\n";
  it_start(&t, &ko, NULL);
  ck_assert_ptr_nonnull(kubelite_admin_token(t.kl));
  dir = kubelite_dir(t.kl);

  /* The server's CA (kube-lite's own, CA-A) is the only one "the system" trusts. */
  snprintf(system_ca_dir, sizeof(system_ca_dir), "%s/system-ca", dir);
  make_ca_dir(system_ca_dir, kubelite_ca_file(t.kl));
  /* A second CA (CA-B), which did not sign the server's certificate. */
  snprintf(other_ca, sizeof(other_ca), "%s/other-ca.crt", dir);
  snprintf(cmd, sizeof(cmd),
           "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "
           "/CN=other-ca -days 1 -keyout '%s/other-ca.key' -out '%s' >/dev/null 2>&1",
           dir, other_ca);
  ck_assert_int_eq(system(cmd), 0);

  /* Controls: a program with libcurl's default trust does trust the server (the stand-in for the
   * system's CA directory works) ... */
  snprintf(url, sizeof(url), "%s/healthz", kubelite_url(t.kl));
  ck_assert_int_eq(get_with_system_trust(url), CURLE_OK);
  /* ... and so does the library with the server's own CA. */
  snprintf(field, sizeof(field), "certificate-authority: '%s'", kubelite_ca_file(t.kl));
  c = it_ctx(&t, kubeconfig(&t, "kc-right-ca", field));
  it_request(&t, c, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_msg(r.err == 0, "%s", r.message);
  k8sha_ctx_free(c);
  ck_assert_int_eq(kubelite_reset_stats(t.kl), 0);

  /* certificate-authority (and the in-cluster ca.crt): CA-B only, so the server is refused. */
  snprintf(field, sizeof(field), "certificate-authority: '%s'", other_ca);
  c = it_ctx(&t, kubeconfig(&t, "kc-other-ca", field));
  it_request(&t, c, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_msg(r.err == K8SHA_ETLS, "certificate-authority of another CA: %s (%s)",
                k8sha_err_name(r.err), r.message);
  ck_assert_msg(strstr(r.message, "certificate") != NULL, "message: %s", r.message);
  k8sha_ctx_free(c);

  /* certificate-authority-data: the same. */
  pem = read_all(other_ca);
  ck_assert_int_eq(k8sha__base64_encode(k8sha__default_allocator(), (const unsigned char *)pem,
                                        strlen(pem), &b64),
                   0);
  snprintf(field, sizeof(field), "certificate-authority-data: '%s'", b64);
  k8sha__free(k8sha__default_allocator(), b64);
  free(pem);
  c = it_ctx(&t, kubeconfig(&t, "kc-other-ca-data", field));
  it_request(&t, c, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_msg(r.err == K8SHA_ETLS, "certificate-authority-data of another CA: %s (%s)",
                k8sha_err_name(r.err), r.message);
  k8sha_ctx_free(c);

  /* Not one request reached the server: the token was never sent. */
  ck_assert_int_eq(kubelite_count(t.kl, NULL, NULL, 0), 0);
  system_ca_dir[0] = '\0';
  it_stop(&t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube_trust");
  TCase *tc = tcase_create("kube_trust");
  tcase_set_timeout(tc, 120);
  it_add(tc, configured_ca_replaces_system_trust, IT_KUBELITE);
  suite_add_tcase(s, tc);
  return it_run_suite(s);
}
