/* Integration tests: what kube-lite does not serve, because none of its clients sends it, is
 * refused with an error that names it, never ignored (docs/kube-lite.md, "What its clients
 * use"). */
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CM "/api/v1/namespaces/flink/configmaps"

static void assert_refused(kt_resp *r, long code, const char *reason, const char *message) {
  ck_assert_msg(r->code == code, "want %ld, got %ld: %s", code, r->code, r->body);
  ck_assert_str_eq(kt_str(r->json, "kind"), "Status");
  ck_assert_str_eq(kt_str(r->json, "status"), "Failure");
  ck_assert_int_eq(kt_int(r->json, "code"), code);
  ck_assert_str_eq(kt_str(r->json, "reason"), reason);
  ck_assert_str_eq(kt_str(r->json, "message"), message);
}

/* The Status body of a raw answer, after its head. */
static json_t *raw_status(const char *answer) {
  const char *body = strstr(answer, "\r\n\r\n");
  ck_assert_ptr_nonnull(body);
  json_t *j = json_loads(body + 4, 0, NULL);
  ck_assert_msg(j != NULL, "not a JSON body: %s", answer);
  ck_assert_str_eq(kt_str(j, "kind"), "Status");
  return j;
}

static void assert_absent(kubelite *k, const char *name) {
  char path[256];
  snprintf(path, sizeof path, CM "/%s", name);
  kt_resp r = kt_get(k, path);
  ck_assert_msg(r.code == 404, "%s: want 404, got %ld: %s", name, r.code, r.body);
  kt_resp_free(&r);
}

START_TEST(chunked_request_body_is_411) {
  kubelite *k = kt_server;
  static const char *const req[] = {"POST " CM
                                    " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "19\r\n{\"metadata\":{\"name\":\"c\"}}\r\n0\r\n\r\n"};
  char *answer = kt_raw(k, req, 1, 0);
  ck_assert_msg(strncmp(answer, "HTTP/1.1 411 Length Required\r\n", 30) == 0, "%s", answer);
  json_t *st = raw_status(answer);
  ck_assert_int_eq(kt_int(st, "code"), 411);
  ck_assert_str_eq(kt_str(st, "message"),
                   "kube-lite needs Content-Length: chunked request bodies are not supported");
  json_decref(st);
  free(answer);
  assert_absent(k, "c");
}
END_TEST

START_TEST(http10_is_505) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "old", NULL);
  /* A plain request, and a watch (which HTTP/1.0 would have streamed without chunks). */
  static const char *const paths[] = {CM "/old", CM "?watch=1"};
  for (size_t i = 0; i < 2; i++) {
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", paths[i]);
    const char *parts[] = {req};
    char *answer = kt_raw(k, parts, 1, 0);
    ck_assert_msg(strncmp(answer, "HTTP/1.1 505 HTTP Version Not Supported\r\n", 41) == 0, "%s",
                  answer);
    ck_assert_ptr_nonnull(strstr(answer, "\r\nConnection: close\r\n"));
    json_t *st = raw_status(answer);
    ck_assert_int_eq(kt_int(st, "code"), 505);
    ck_assert_str_eq(kt_str(st, "message"), "kube-lite speaks HTTP/1.1 only");
    json_decref(st);
    free(answer);
  }
}
END_TEST

START_TEST(expect_100_continue_gets_no_interim_answer) {
  /* The head arrives alone; no "100 Continue" is sent; the body the client sends anyway is
   * read, and the one answer is the create's. */
  kubelite *k = kt_server;
  static const char *const req[] = {
      "POST " CM " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: 25\r\nConnection: close\r\n\r\n",
      "{\"metadata\":{\"name\":\"e\"}}"};
  char *answer = kt_raw(k, req, 2, 200);
  ck_assert_msg(strncmp(answer, "HTTP/1.1 201 Created\r\n", 22) == 0, "%s", answer);
  ck_assert_ptr_null(strstr(answer, "100 Continue"));
  free(answer);
  kt_resp r = kt_get(k, CM "/e");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
}
END_TEST

START_TEST(dry_run_is_400_and_applies_nothing) {
  static const char msg[] = "dryRun is not supported by kube-lite: nothing was applied";
  kubelite *k = kt_server;
  unsigned long long rv = kt_make_cm(k, "flink", "d", "app=d");
  kt_resp r = kt_post(k, CM "?dryRun=All", "{\"metadata\":{\"name\":\"dry\"}}");
  assert_refused(&r, 400, "BadRequest", msg);
  kt_resp_free(&r);
  assert_absent(k, "dry");
  r = kt_put(k, CM "/d?dryRun=All", "{\"metadata\":{\"name\":\"d\"},\"data\":{\"k\":\"2\"}}");
  assert_refused(&r, 400, "BadRequest", msg);
  kt_resp_free(&r);
  r = kt_patch(k, CM "/d?dryRun=All", "application/merge-patch+json", "{\"data\":{\"k\":\"3\"}}");
  assert_refused(&r, 400, "BadRequest", msg);
  kt_resp_free(&r);
  r = kt_delete(k, CM "/d?dryRun=All", NULL);
  assert_refused(&r, 400, "BadRequest", msg);
  kt_resp_free(&r);
  r = kt_delete(k, CM "?labelSelector=app%3Dd&dryRun=All", NULL);
  assert_refused(&r, 400, "BadRequest", msg);
  kt_resp_free(&r);
  r = kt_get(k, CM "/d");
  ck_assert_int_eq(r.code, 200);
  ck_assert_uint_eq(kt_rv(r.json), rv);
  ck_assert_str_eq(kt_str(r.json, "data.k"), "v");
  kt_resp_free(&r);
  r = kt_post(k, "/api/v1/namespaces?dryRun=All", "{\"metadata\":{\"name\":\"n\"}}");
  assert_refused(&r, 400, "BadRequest", msg);
  kt_resp_free(&r);
}
END_TEST

START_TEST(watch_path_prefix_is_404) {
  kubelite *k = kt_server;
  static const char *const paths[] = {
      "/api/v1/watch/namespaces/flink/configmaps",
      "/api/v1/watch/configmaps",
      "/apis/coordination.k8s.io/v1/watch/namespaces/flink/leases",
  };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    kt_resp r = kt_get(k, paths[i]);
    assert_refused(&r, 404, "NotFound",
                   "kube-lite does not serve the deprecated /watch/ path prefix: watch with "
                   "?watch=true on the list path");
    kt_resp_free(&r);
  }
}
END_TEST

START_TEST(label_operators_gt_lt_are_400) {
  kubelite *k = kt_server;
  static const char *const paths[] = {CM "?labelSelector=tier%3E1", CM "?labelSelector=tier%3C1",
                                      CM "?labelSelector=app%3Dx,tier%3E1",
                                      CM "?watch=1&labelSelector=tier%3E1"};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    kt_resp r = kt_get(k, paths[i]);
    assert_refused(&r, 400, "BadRequest",
                   "unable to parse requirement: the operators '>' and '<' are not supported "
                   "by kube-lite");
    kt_resp_free(&r);
  }
}
END_TEST

START_TEST(delete_stats_is_not_a_reset) {
  kubelite *k = kt_server;
  kt_resp r = kt_get(k, CM);
  kt_resp_free(&r);
  r = kt_delete(k, "/kube-lite/v1/stats", NULL);
  assert_refused(&r, 404, "NotFound", "unknown kube-lite control call: DELETE stats");
  kt_resp_free(&r);
  ck_assert_int_eq(kubelite_count(k, "list", "configmaps", 200), 1);
}
END_TEST

START_TEST(json_patch_is_415) {
  kubelite *k = kt_server;
  unsigned long long rv = kt_make_cm(k, "flink", "j", NULL);
  kt_resp r = kt_patch(k, CM "/j", "application/json-patch+json",
                       "[{\"op\":\"add\",\"path\":\"/data/j\",\"value\":\"3\"}]");
  assert_refused(&r, 415, "UnsupportedMediaType",
                 "the body of the request was in an unknown format - accepted media types "
                 "include: application/merge-patch+json, application/strategic-merge-patch+json");
  kt_resp_free(&r);
  r = kt_get(k, CM "/j");
  ck_assert_uint_eq(kt_rv(r.json), rv);
  kt_resp_free(&r);
}
END_TEST

START_TEST(generate_name_is_422) {
  kubelite *k = kt_server;
  kt_resp r = kt_post(k, CM, "{\"metadata\":{\"generateName\":\"gen-\"}}");
  assert_refused(&r, 422, "Invalid",
                 "ConfigMap \"\" is invalid: metadata.name: Required value: name is required: "
                 "kube-lite does not support generateName");
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.reason"), "FieldValueRequired");
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.field"), "metadata.name");
  kt_resp_free(&r);
  r = kt_get(k, CM);
  ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), 0);
  kt_resp_free(&r);
}
END_TEST

START_TEST(send_initial_events_is_400) {
  kubelite *k = kt_server;
  kt_resp r = kt_get(k, CM "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
                           "&resourceVersionMatch=NotOlderThan");
  assert_refused(&r, 400, "BadRequest",
                 "sendInitialEvents is not supported by kube-lite: watch from a list's "
                 "resourceVersion");
  kt_resp_free(&r);
}
END_TEST

START_TEST(namespace_list_is_404) {
  kubelite *k = kt_server;
  kt_resp r = kt_get(k, "/api/v1/namespaces");
  assert_refused(&r, 404, "NotFound",
                 "kube-lite does not list namespaces: every DNS label names one, read it with "
                 "GET /api/v1/namespaces/{name}");
  kt_resp_free(&r);
  /* What kubectl does with namespaces stays. */
  r = kt_get(k, "/api/v1/namespaces/flink");
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "kind"), "Namespace");
  kt_resp_free(&r);
  r = kt_post(k, "/api/v1/namespaces", "{\"metadata\":{\"name\":\"made\"}}");
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube-lite unsupported");
  TCase *tc = tcase_create("unsupported");
  tcase_add_checked_fixture(tc, kt_start_default, kt_stop);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, chunked_request_body_is_411);
  tcase_add_test(tc, http10_is_505);
  tcase_add_test(tc, expect_100_continue_gets_no_interim_answer);
  tcase_add_test(tc, dry_run_is_400_and_applies_nothing);
  tcase_add_test(tc, watch_path_prefix_is_404);
  tcase_add_test(tc, label_operators_gt_lt_are_400);
  tcase_add_test(tc, delete_stats_is_not_a_reset);
  tcase_add_test(tc, json_patch_is_415);
  tcase_add_test(tc, generate_name_is_422);
  tcase_add_test(tc, send_initial_events_is_400);
  tcase_add_test(tc, namespace_list_is_404);
  suite_add_tcase(s, tc);
  return kt_run(s);
}
