/* Integration tests: --data-dir survives SIGKILL and restarts. */
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CM "/api/v1/namespaces/flink/configmaps"
#define LEASES "/apis/coordination.k8s.io/v1/namespaces/flink/leases"

static void start_persistent(void) {
  kubelite_options o = {.persist = true};
  kt_start_with(&o);
}

static void start_persistent_tls(void) {
  kubelite_options o = {.persist = true, .tls = true};
  kt_start_with(&o);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *buf = calloc(1, 1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

START_TEST(survives_sigkill) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "a", "app=x");
  kt_make_cm(k, "flink", "b", NULL);
  kt_make_cm(k, "other", "c", NULL);
  kt_resp r = kt_put(k, CM "/a",
                     "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"x\"}},"
                     "\"data\":{\"k\":\"v2\"},\"binaryData\":{\"b\":\"AQID\"}}");
  ck_assert_int_eq(r.code, 200);
  char *uid = strdup(kt_str(r.json, "metadata.uid"));
  unsigned long long rv_a = kt_rv(r.json);
  kt_resp_free(&r);
  r = kt_post(k, LEASES,
              "{\"metadata\":{\"name\":\"l\"},\"spec\":{\"holderIdentity\":\"me\","
              "\"renewTime\":\"2024-05-06T07:08:09.123456Z\"}}");
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);
  r = kt_delete(k, CM "/b", NULL);
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
  unsigned long long before = kubelite_resource_version(k);
  ck_assert_uint_gt(before, rv_a);

  ck_assert_int_eq(kubelite_kill(k), 128 + 9);
  ck_assert_int_eq(kubelite_restart(k), 0);

  r = kt_get(k, CM "/a");
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "metadata.uid"), uid);
  ck_assert_str_eq(kt_str(r.json, "data.k"), "v2");
  ck_assert_str_eq(kt_str(r.json, "binaryData.b"), "AQID");
  ck_assert_str_eq(kt_str(r.json, "metadata.labels.app"), "x");
  ck_assert_uint_eq(kt_rv(r.json), rv_a);
  kt_resp_free(&r);
  r = kt_get(k, CM "/b");
  ck_assert_int_eq(r.code, 404);
  kt_resp_free(&r);
  r = kt_get(k, LEASES "/l");
  ck_assert_str_eq(kt_str(r.json, "spec.renewTime"), "2024-05-06T07:08:09.123456Z");
  kt_resp_free(&r);
  r = kt_get(k, "/api/v1/namespaces/other/configmaps/c");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);

  /* resourceVersion continues, even though the last change was a delete. */
  ck_assert_uint_eq(kubelite_resource_version(k), before);
  unsigned long long after = kt_make_cm(k, "flink", "d", NULL);
  ck_assert_uint_gt(after, before);

  /* History did not survive: older versions are expired, current is fine. */
  char path[256];
  snprintf(path, sizeof path, CM "?watch=1&resourceVersion=%llu", rv_a);
  kt_watch *w = kt_watch_open(k, path, NULL);
  json_t *ev = kt_expect_event(w, "ERROR", NULL);
  ck_assert_int_eq(kt_int(ev, "object.code"), 410);
  json_decref(ev);
  kt_watch_close(w);
  snprintf(path, sizeof path, CM "?watch=1&resourceVersion=%llu", before);
  w = kt_watch_open(k, path, NULL);
  json_decref(kt_expect_event(w, "ADDED", "d"));
  kt_watch_close(w);

  /* A clean stop and a second restart keep everything too. */
  ck_assert_int_eq(kubelite_restart(k), 0);
  r = kt_get(k, CM "/d");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);

  /* The journal was compacted at start: it begins with a checkpoint. */
  char jpath[512];
  snprintf(jpath, sizeof jpath, "%s/journal.jsonl", kubelite_data_dir(k));
  char *journal = slurp(jpath);
  ck_assert_ptr_eq(strstr(journal, "{\"op\":\"checkpoint\""), journal);
  free(journal);
  free(uid);
}
END_TEST

START_TEST(data_dir_is_locked) {
  static const char *args[3] = {"--data-dir", NULL, NULL};
  args[1] = kubelite_data_dir(kt_server);
  kubelite_options o = {.args = args};
  kubelite *second = kubelite_start(&o);
  ck_assert_ptr_null(second);
}
END_TEST

START_TEST(ca_is_kept) {
  kubelite *k = kt_server;
  char *ca1 = slurp(kubelite_ca_file(k));
  kt_make_cm(k, "flink", "t", NULL);
  ck_assert_int_eq(kubelite_kill(k), 128 + 9);
  ck_assert_int_eq(kubelite_restart(k), 0);
  char *ca2 = slurp(kubelite_ca_file(k));
  ck_assert_str_eq(ca1, ca2);
  kt_resp r = kt_get(k, CM "/t");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
  free(ca1);
  free(ca2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube-lite persistence");
  TCase *tc = tcase_create("persist");
  tcase_add_checked_fixture(tc, start_persistent, kt_stop);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, survives_sigkill);
  tcase_add_test(tc, data_dir_is_locked);
  suite_add_tcase(s, tc);
  TCase *tt = tcase_create("tls");
  tcase_add_checked_fixture(tt, start_persistent_tls, kt_stop);
  tcase_set_timeout(tt, 120);
  tcase_add_test(tt, ca_is_kept);
  suite_add_tcase(s, tt);
  return kt_run(s);
}
