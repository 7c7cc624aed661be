/* Integration tests: fault injection through the control endpoint and
 * flags, its determinism under a seed, and the request counters. */
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CM "/api/v1/namespaces/flink/configmaps"

static double since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

START_TEST(latency) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "slow", NULL);
  int id = kubelite_add_fault(k, "{\"verbs\":[\"get\"],\"resources\":[\"configmaps\"],"
                                 "\"latencyMs\":300}");
  ck_assert_int_gt(id, 0);
  kt_resp r = kt_get(k, CM "/slow");
  ck_assert_int_eq(r.code, 200);
  ck_assert_msg(r.seconds >= 0.29, "GET took %.3fs", r.seconds);
  kt_resp_free(&r);
  r = kt_get(k, CM);
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
  char *faults = NULL;
  ck_assert_int_eq(kubelite_control(k, "GET", "faults", NULL, &faults), 200);
  json_t *j = json_loads(faults, 0, NULL);
  ck_assert_int_eq(kt_int(j, "faults.0.hits"), 1); /* the list was not delayed */
  json_decref(j);
  free(faults);
  ck_assert_int_eq(kubelite_clear_faults(k), 0);
  r = kt_get(k, CM "/slow");
  ck_assert_msg(r.seconds < 0.29, "GET still slow: %.3fs", r.seconds);
  kt_resp_free(&r);

  /* Requests pipelined behind a delayed one wait for it, in order. */
  ck_assert_int_gt(kubelite_add_fault(k, "{\"name\":\"slow\",\"latencyMs\":200,\"count\":1}"), 0);
  r = kt_get(k, CM "/slow");
  ck_assert_msg(r.seconds >= 0.19, "named latency %.3fs", r.seconds);
  kt_resp_free(&r);
}
END_TEST

/* A write held by latency is applied when its delay ends even though its client was killed
 * meanwhile (the connection reset): the answer goes nowhere, the write lands. */
START_TEST(a_delayed_write_lands_after_its_client_is_gone) {
  kubelite *k = kt_server;
  kt_watch *w = kt_watch_open(k, CM "?watch=true", NULL);
  ck_assert_int_eq(kt_watch_code(w), 200);
  ck_assert_int_gt(kubelite_add_fault(k, "{\"verbs\":[\"create\"],\"latencyMs\":300,\"count\":1}"),
                   0);
  kt_raw_reset(k, "POST " CM " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: 25\r\n\r\n{\"metadata\":{\"name\":\"l\"}}");
  json_decref(kt_expect_event(w, "ADDED", "l"));
  kt_watch_close(w);
  ck_assert_int_eq(kubelite_count(k, "create", "configmaps", 201), 1);
}
END_TEST

static void pattern(kubelite *k, char *out, int n) {
  for (int i = 0; i < n; i++) {
    kt_resp r = kt_put(k, CM "/d", "{\"metadata\":{\"name\":\"d\"},\"data\":{\"k\":\"v\"}}");
    ck_assert_msg(r.code == 200 || r.code == 503, "%ld %s", r.code, r.body);
    if (r.code == 503)
      ck_assert_str_eq(kt_str(r.json, "reason"), "ServiceUnavailable");
    out[i] = r.code == 200 ? '.' : 'X';
    kt_resp_free(&r);
  }
  out[n] = '\0';
}

START_TEST(deterministic_errors) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "d", NULL);
  ck_assert_int_gt(kubelite_add_fault(k, "{\"verbs\":[\"update\"],\"code\":503,\"rate\":0.5}"), 0);
  char a[41], b[41], c[41];
  ck_assert_int_eq(kubelite_reseed(k, 42), 0);
  pattern(k, a, 40);
  ck_assert_int_eq(kubelite_reseed(k, 42), 0);
  pattern(k, b, 40);
  ck_assert_str_eq(a, b);
  ck_assert_ptr_nonnull(strchr(a, 'X'));
  ck_assert_ptr_nonnull(strchr(a, '.'));
  ck_assert_int_eq(kubelite_reseed(k, 43), 0);
  pattern(k, c, 40);
  ck_assert_str_ne(a, c);
  /* Reads did not consume the sequence: only matching rules draw. */
  ck_assert_int_eq(kubelite_reseed(k, 42), 0);
  kt_resp r = kt_get(k, CM "/d");
  kt_resp_free(&r);
  pattern(k, b, 40);
  ck_assert_str_eq(a, b);

  /* The same --seed on a fresh server gives the same sequence. */
  static const char *const args[] = {"--seed", "42", "--fault",
                                     "{\"verbs\":[\"update\"],\"code\":503,\"rate\":0.5}", NULL};
  kubelite_options o = {.args = args};
  kubelite *k2 = kubelite_start(&o);
  ck_assert_ptr_nonnull(k2);
  kt_make_cm(k2, "flink", "d", NULL);
  pattern(k2, c, 40);
  ck_assert_str_eq(a, c);
  ck_assert_int_eq(kubelite_stop(k2), 0);
  kubelite_free(k2);
}
END_TEST

START_TEST(status_codes) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "s", NULL);
  ck_assert_int_gt(kubelite_add_fault(k, "{\"code\":429,\"retryAfterSeconds\":3,\"count\":1}"), 0);
  kt_resp r = kt_get(k, CM "/s");
  ck_assert_int_eq(r.code, 429);
  ck_assert_str_eq(r.retry_after, "3");
  ck_assert_str_eq(kt_str(r.json, "reason"), "TooManyRequests");
  ck_assert_int_eq(kt_int(r.json, "details.retryAfterSeconds"), 3);
  kt_resp_free(&r);
  r = kt_get(k, CM "/s");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);

  /* A 409 storm: the next three writes conflict, reads are untouched. */
  ck_assert_int_gt(kubelite_add_fault(k, "{\"verbs\":[\"create\",\"update\",\"patch\",\"delete\"],"
                                         "\"code\":409,\"count\":3}"),
                   0);
  r = kt_put(k, CM "/s", "{\"metadata\":{\"name\":\"s\"}}");
  ck_assert_int_eq(r.code, 409);
  ck_assert_str_eq(kt_str(r.json, "reason"), "Conflict");
  ck_assert_str_eq(kt_str(r.json, "details.name"), "s");
  kt_resp_free(&r);
  r = kt_get(k, CM "/s");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
  r = kt_post(k, CM, "{\"metadata\":{\"name\":\"new\"}}");
  ck_assert_int_eq(r.code, 409);
  ck_assert_str_eq(kt_str(r.json, "details.name"), "new");
  kt_resp_free(&r);
  r = kt_patch(k, CM "/s", "application/merge-patch+json", "{}");
  ck_assert_int_eq(r.code, 409);
  kt_resp_free(&r);
  r = kt_put(k, CM "/s", "{\"metadata\":{\"name\":\"s\"}}");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);

  ck_assert_int_gt(kubelite_add_fault(k, "{\"verbs\":[\"list\"],\"code\":500,\"count\":1}"), 0);
  r = kt_get(k, CM);
  ck_assert_int_eq(r.code, 500);
  ck_assert_str_eq(kt_str(r.json, "reason"), "InternalError");
  kt_resp_free(&r);
  ck_assert_int_gt(kubelite_add_fault(k, "{\"verbs\":[\"watch\"],\"code\":503,\"count\":1}"), 0);
  r = kt_get(k, CM "?watch=1");
  ck_assert_int_eq(r.code, 503);
  kt_resp_free(&r);
  ck_assert_int_lt(kubelite_add_fault(k, "{\"verbs\":[\"fly\"],\"code\":500}"), 0);

  /* A Retry-After header a client must survive, sent as given. */
  ck_assert_int_gt(kubelite_add_fault(k, "{\"code\":429,\"retryAfterHeader\":\"-1\",\"count\":1}"),
                   0);
  r = kt_get(k, CM "/s");
  ck_assert_int_eq(r.code, 429);
  ck_assert_str_eq(r.retry_after, "-1");
  kt_resp_free(&r);
  ck_assert_int_lt(kubelite_add_fault(k, "{\"code\":429,\"retryAfterHeader\":\"1\\r\\nX: y\"}"), 0);

  /* drop: the request is read and the connection closed without an answer (libcurl itself
   * retries once on a fresh connection when a reused one dies like this). */
  ck_assert_int_gt(kubelite_add_fault(k, "{\"verbs\":[\"get\"],\"drop\":true}"), 0);
  r = kt_req(k, "GET", CM "/s", NULL, NULL, NULL);
  ck_assert_int_eq(r.curl, CURLE_GOT_NOTHING);
  ck_assert_int_eq(r.code, 0);
  kt_resp_free(&r);
  ck_assert_int_eq(kubelite_clear_faults(k), 0);
  r = kt_get(k, CM "/s");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);

  /* afterApply: the write is applied, then answered with the fault (or not at all). */
  ck_assert_int_lt(kubelite_add_fault(k, "{\"afterApply\":true,\"latencyMs\":5}"), 0);
  ck_assert_int_gt(kubelite_add_fault(k, "{\"verbs\":[\"update\"],\"afterApply\":true,"
                                         "\"code\":409,\"count\":1}"),
                   0);
  r = kt_put(k, CM "/s", "{\"metadata\":{\"name\":\"s\"},\"data\":{\"a\":\"1\"}}");
  ck_assert_int_eq(r.code, 409);
  ck_assert_str_eq(kt_str(r.json, "reason"), "Conflict");
  kt_resp_free(&r);
  r = kt_get(k, CM "/s");
  ck_assert_str_eq(kt_str(r.json, "data.a"), "1");
  kt_resp_free(&r);
  /* (no count: libcurl sends the request again on a fresh connection, which meets it too) */
  ck_assert_int_gt(kubelite_add_fault(k, "{\"verbs\":[\"update\"],\"afterApply\":true,"
                                         "\"drop\":true}"),
                   0);
  r = kt_req(k, "PUT", CM "/s", "{\"metadata\":{\"name\":\"s\"},\"data\":{\"a\":\"2\"}}", NULL,
             NULL);
  ck_assert_int_eq(r.code, 0);
  ck_assert_int_eq(r.curl, CURLE_GOT_NOTHING);
  kt_resp_free(&r);
  ck_assert_int_eq(kubelite_clear_faults(k), 0);
  r = kt_get(k, CM "/s");
  ck_assert_str_eq(kt_str(r.json, "data.a"), "2");
  kt_resp_free(&r);
}
END_TEST

START_TEST(refuse_connections) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "kept", NULL);
  kt_watch *w = kt_watch_open(k, CM "?watch=1", NULL);
  json_decref(kt_expect_event(w, "ADDED", "kept"));
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ck_assert_int_eq(kubelite_refuse_connections(k, 1.0), 0);
  kt_resp r = kt_req(k, "GET", CM, NULL, NULL, NULL);
  ck_assert_msg(r.curl == CURLE_COULDNT_CONNECT, "got %s", curl_easy_strerror(r.curl));
  kt_resp_free(&r);
  /* The open watch was cut, not ended cleanly. */
  ck_assert(!kt_watch_wait_end(w, KT_WAIT_MS));
  kt_watch_close(w);
  ck_assert_int_eq(kubelite_wait_listening(k, KT_WAIT_MS), 0);
  ck_assert_msg(since(&t0) >= 0.9, "reopened after %.3fs", since(&t0));
  r = kt_get(k, CM "/kept");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
}
END_TEST

START_TEST(counters) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "c", NULL);
  ck_assert_int_eq(kubelite_reset_stats(k), 0);
  for (int i = 0; i < 3; i++) {
    kt_resp r = kt_get(k, CM "/c");
    kt_resp_free(&r);
  }
  kt_resp r = kt_get(k, CM "/none");
  kt_resp_free(&r);
  r = kt_put(k, CM "/c", "{\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"1\"}}");
  kt_resp_free(&r);
  r = kt_get(k, "/api");
  kt_resp_free(&r);
  ck_assert_int_eq(kubelite_count(k, "get", "configmaps", 200), 3);
  ck_assert_int_eq(kubelite_count(k, "get", "configmaps", 404), 1);
  ck_assert_int_eq(kubelite_count(k, "get", "configmaps", 0), 4);
  ck_assert_int_eq(kubelite_count(k, "update", "configmaps", 409), 1);
  ck_assert_int_eq(kubelite_count(k, "nonresource", NULL, 0), 1);
  ck_assert_int_eq(kubelite_count(k, NULL, NULL, 0), 6);
  ck_assert_int_eq(kubelite_count(k, "watch", NULL, 0), 0);
  kt_watch *w = kt_watch_open(k, CM "?watch=1", NULL);
  kt_watch_close(w);
  ck_assert_int_eq(kubelite_count(k, "watch", "configmaps", 200), 1);
  ck_assert_int_eq(kubelite_reset_stats(k), 0);
  ck_assert_int_eq(kubelite_count(k, NULL, NULL, 0), 0);
}
END_TEST

static void start_with_flag_faults(void) {
  static const char *const args[] = {"--fault", "{\"verbs\":[\"create\"],\"code\":500,\"count\":1}",
                                     "--latency-ms", "50", NULL};
  kubelite_options o = {.args = args};
  kt_start_with(&o);
}

START_TEST(flag_faults) {
  kt_resp r = kt_post(kt_server, CM, "{\"metadata\":{\"name\":\"f\"}}");
  ck_assert_int_eq(r.code, 500);
  ck_assert_msg(r.seconds >= 0.045, "latency %.3f", r.seconds);
  kt_resp_free(&r);
  r = kt_post(kt_server, CM, "{\"metadata\":{\"name\":\"f\"}}");
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube-lite faults");
  TCase *tc = tcase_create("faults");
  tcase_add_checked_fixture(tc, kt_start_default, kt_stop);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, latency);
  tcase_add_test(tc, a_delayed_write_lands_after_its_client_is_gone);
  tcase_add_test(tc, deterministic_errors);
  tcase_add_test(tc, status_codes);
  tcase_add_test(tc, refuse_connections);
  tcase_add_test(tc, counters);
  suite_add_tcase(s, tc);
  TCase *tf = tcase_create("flags");
  tcase_add_checked_fixture(tf, start_with_flag_faults, kt_stop);
  tcase_set_timeout(tf, 120);
  tcase_add_test(tf, flag_faults);
  suite_add_tcase(s, tf);
  return kt_run(s);
}
