/* Integration tests: bearer tokens, per-verb rules, token rotation, and
 * TLS verified against the CA the server writes. */
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CM "/api/v1/namespaces/flink/configmaps"
#define LEASES "/apis/coordination.k8s.io/v1/namespaces/flink/leases"

static const char tokens[] = "# token,user,rules\n"
                             "alice-token,alice,configmaps:get|list;leases:*\n"
                             "reader-token, reader , configmaps:get|list|watch\n"
                             "all-token,bob,*\n";

static void start_auth(void) {
  kubelite_options o = {.tokens = tokens};
  kt_start_with(&o);
}

static void start_tls(void) {
  kubelite_options o = {.tls = true, .tokens = tokens};
  kt_start_with(&o);
}

static void expect_code(const char *method, const char *path, const char *body, const char *token,
                        long code) {
  kt_resp r = kt_req(kt_server, method, path, body, NULL, token);
  ck_assert_msg(r.code == code, "%s %s as %s: want %ld, got %ld %s", method, path,
                token ? token : "admin", code, r.code, r.body ? r.body : "");
  kt_resp_free(&r);
}

/* A fault rule with "users" meets only those clients: one client cut off while the others still
 * reach the server (a partition), its requests read and never answered. */
START_TEST(faults_per_user) {
  kubelite *k = kt_server;
  int id = kubelite_add_fault(k, "{\"users\":[\"bob\"],\"drop\":true}");
  ck_assert_int_gt(id, 0);
  kt_resp r = kt_req(k, "GET", CM, NULL, NULL, "all-token");
  ck_assert_int_eq(r.curl, CURLE_GOT_NOTHING);
  ck_assert_int_eq(r.code, 0);
  kt_resp_free(&r);
  expect_code("GET", CM, NULL, "reader-token", 200);
  expect_code("GET", CM, NULL, NULL, 200);
  ck_assert_int_eq(kubelite_clear_faults(k), 0);
  expect_code("GET", CM, NULL, "all-token", 200);

  ck_assert_int_gt(kubelite_add_fault(k, "{\"users\":[\"reader\",\"alice\"],\"code\":503}"), 0);
  expect_code("GET", CM, NULL, "reader-token", 503);
  expect_code("GET", CM, NULL, "alice-token", 503);
  expect_code("GET", CM, NULL, "all-token", 200);
  ck_assert_int_lt(kubelite_add_fault(k, "{\"users\":[],\"code\":503}"), 0);
  ck_assert_int_lt(kubelite_add_fault(k, "{\"users\":[\"bob\"],\"code\":503,\"drop\":true}"), 0);
}
END_TEST

START_TEST(authentication) {
  kubelite *k = kt_server;
  kt_resp r = kt_req(k, "GET", CM, NULL, NULL, "");
  ck_assert_int_eq(r.code, 401);
  ck_assert_str_eq(kt_str(r.json, "reason"), "Unauthorized");
  ck_assert_str_eq(kt_str(r.json, "message"), "Unauthorized");
  ck_assert_int_eq(kt_int(r.json, "code"), 401);
  kt_resp_free(&r);
  expect_code("GET", CM, NULL, "wrong", 401);
  expect_code("GET", "/version", NULL, "wrong", 401);
  expect_code("GET", "/healthz", NULL, "", 200);
  expect_code("GET", "/version", NULL, "reader-token", 200);
  expect_code("GET", "/api/v1/namespaces/flink", NULL, "reader-token", 200);

  /* The kubeconfig carries the admin token. */
  FILE *f = fopen(kubelite_kubeconfig(k), "r");
  ck_assert_ptr_nonnull(f);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  char want[128];
  snprintf(want, sizeof want, "token: %s\n", kubelite_admin_token(k));
  ck_assert_ptr_nonnull(strstr(buf, want));
  /* ... so only its owner may read it */
  struct stat st;
  ck_assert_int_eq(stat(kubelite_kubeconfig(k), &st), 0);
  ck_assert_msg((st.st_mode & 077) == 0, "kubeconfig mode %o", (unsigned)(st.st_mode & 0777));

  ck_assert_int_eq(kubelite_rotate_token(k, "alice-token", "alice-2"), 0);
  expect_code("GET", CM, NULL, "alice-token", 401);
  expect_code("GET", CM, NULL, "alice-2", 200);
  ck_assert_int_lt(kubelite_rotate_token(k, "alice-token", "again"), 0);

  /* The control endpoint needs the admin token. */
  expect_code("GET", "/kube-lite/v1/info", NULL, "all-token", 403);
  expect_code("GET", "/kube-lite/v1/info", NULL, "", 401);
  expect_code("GET", "/kube-lite/v1/info", NULL, NULL, 200);
}
END_TEST

START_TEST(authorization_per_verb) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "x", NULL);
  const char *reader = "reader-token";
  expect_code("GET", CM "/x", NULL, reader, 200);
  expect_code("GET", CM, NULL, reader, 200);
  kt_watch *w = kt_watch_open(k, CM "?watch=1", reader);
  ck_assert_int_eq(kt_watch_code(w), 200);
  kt_watch_close(w);
  expect_code("POST", CM, "{\"metadata\":{\"name\":\"y\"}}", reader, 403);
  expect_code("PUT", CM "/x", "{\"metadata\":{\"name\":\"x\"}}", reader, 403);
  expect_code("DELETE", CM "/x", NULL, reader, 403);
  expect_code("DELETE", CM, NULL, reader, 403);
  kt_resp r = kt_req(k, "PATCH", CM "/x", "{}", "application/merge-patch+json", reader);
  ck_assert_int_eq(r.code, 403);
  kt_resp_free(&r);

  r = kt_req(k, "DELETE", CM "/x", NULL, NULL, reader);
  ck_assert_str_eq(kt_str(r.json, "message"),
                   "configmaps \"x\" is forbidden: User \"reader\" cannot delete resource "
                   "\"configmaps\" in API group \"\" in the namespace \"flink\"");
  ck_assert_str_eq(kt_str(r.json, "reason"), "Forbidden");
  ck_assert_str_eq(kt_str(r.json, "details.name"), "x");
  ck_assert_str_eq(kt_str(r.json, "details.kind"), "configmaps");
  kt_resp_free(&r);

  /* "The Role lacks watch": alice may get and list but not watch. */
  r = kt_req(k, "GET", CM "?watch=1", NULL, NULL, "alice-token");
  ck_assert_int_eq(r.code, 403);
  ck_assert_str_eq(kt_str(r.json, "message"),
                   "configmaps is forbidden: User \"alice\" cannot watch resource \"configmaps\" "
                   "in API group \"\" in the namespace \"flink\"");
  kt_resp_free(&r);
  expect_code("GET", CM, NULL, "alice-token", 200);
  expect_code("GET", LEASES "/none", NULL, "alice-token", 404);
  r = kt_req(k, "GET", LEASES "/l", NULL, NULL, reader);
  ck_assert_int_eq(r.code, 403);
  ck_assert_str_eq(kt_str(r.json, "message"),
                   "leases.coordination.k8s.io \"l\" is forbidden: User \"reader\" cannot get "
                   "resource \"leases\" in API group \"coordination.k8s.io\" in the namespace "
                   "\"flink\"");
  kt_resp_free(&r);
  expect_code("POST", CM, "{\"metadata\":{\"name\":\"z\"}}", "all-token", 201);
  ck_assert_int_eq(kubelite_count(k, NULL, NULL, 403), 8);
}
END_TEST

START_TEST(tls_verification) {
  kubelite *k = kt_server;
  ck_assert_ptr_eq(strstr(kubelite_url(k), "https://"), kubelite_url(k));
  kt_make_cm(k, "flink", "sec", NULL);
  expect_code("GET", CM "/sec", NULL, NULL, 200);

  /* Without the CA the certificate must not verify. */
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof url, "%s/version", kubelite_url(k));
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CAINFO, "/dev/null");
  curl_easy_setopt(c, CURLOPT_CAPATH, "/nonexistent");
  CURLcode rc = curl_easy_perform(c);
  ck_assert_msg(rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                    rc == CURLE_SSL_CONNECT_ERROR,
                "unexpected %s", curl_easy_strerror(rc));
  /* With it, and by the localhost name, it does. */
  snprintf(url, sizeof url, "https://localhost:%d/healthz", kubelite_port(k));
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CAINFO, kubelite_ca_file(k));
  curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
  FILE *devnull = fopen("/dev/null", "w");
  curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
  rc = curl_easy_perform(c);
  fclose(devnull);
  ck_assert_msg(rc == CURLE_OK, "localhost: %s", curl_easy_strerror(rc));
  curl_easy_cleanup(c);

  /* The kubeconfig embeds the same CA. */
  FILE *f = fopen(kubelite_kubeconfig(k), "r");
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  ck_assert_ptr_nonnull(strstr(buf, "certificate-authority-data: "));
  ck_assert_ptr_nonnull(strstr(buf, "server: https://127.0.0.1:"));

  /* Streams work over TLS as well. */
  kt_watch *w = kt_watch_open(k, CM "?watch=1", NULL);
  json_decref(kt_expect_event(w, "ADDED", "sec"));
  kt_make_cm(k, "flink", "sec2", NULL);
  json_decref(kt_expect_event(w, "ADDED", "sec2"));
  kt_watch_close(w);
  expect_code("GET", CM, NULL, "", 401);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube-lite auth and tls");
  TCase *ta = tcase_create("auth");
  tcase_add_checked_fixture(ta, start_auth, kt_stop);
  tcase_set_timeout(ta, 120);
  tcase_add_test(ta, authentication);
  tcase_add_test(ta, authorization_per_verb);
  tcase_add_test(ta, faults_per_user);
  suite_add_tcase(s, ta);
  TCase *tt = tcase_create("tls");
  tcase_add_checked_fixture(tt, start_tls, kt_stop);
  tcase_set_timeout(tt, 120);
  tcase_add_test(tt, tls_verification);
  suite_add_tcase(s, tt);
  return kt_run(s);
}
