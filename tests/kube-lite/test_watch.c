/* Integration tests: watch streams, history, bookmarks and expiry. */
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CM "/api/v1/namespaces/flink/configmaps"

static unsigned long long current_rv(void) {
  kt_resp r = kt_get(kt_server, CM);
  unsigned long long rv = kt_rv(r.json);
  kt_resp_free(&r);
  return rv;
}

static kt_watch *watch_from(unsigned long long rv, const char *extra) {
  char path[512];
  snprintf(path, sizeof path, CM "?watch=true&resourceVersion=%llu%s", rv, extra ? extra : "");
  kt_watch *w = kt_watch_open(kt_server, path, NULL);
  ck_assert_int_eq(kt_watch_code(w), 200);
  return w;
}

static void patch_label(const char *name, const char *value) {
  char path[256], body[128];
  snprintf(path, sizeof path, CM "/%s", name);
  snprintf(body, sizeof body, "{\"metadata\":{\"labels\":{\"app\":\"%s\"}}}", value);
  kt_resp r = kt_patch(kt_server, path, "application/merge-patch+json", body);
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
}

START_TEST(order_and_versions) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "before", NULL);
  unsigned long long start = current_rv();
  kt_watch *w = watch_from(start, NULL);
  unsigned long long created = kt_make_cm(k, "flink", "w", NULL);
  kt_make_cm(k, "other", "elsewhere", NULL);
  patch_label("w", "x");
  kt_resp r = kt_delete(k, CM "/w", NULL);
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);

  json_t *ev = kt_expect_event(w, "ADDED", "w");
  ck_assert_uint_eq(kt_rv(json_object_get(ev, "object")), created);
  ck_assert_str_eq(kt_str(ev, "object.kind"), "ConfigMap");
  ck_assert_str_eq(kt_str(ev, "object.apiVersion"), "v1");
  json_decref(ev);
  ev = kt_expect_event(w, "MODIFIED", "w");
  unsigned long long modified = kt_rv(json_object_get(ev, "object"));
  ck_assert_uint_gt(modified, created + 1); /* the other namespace took one */
  json_decref(ev);
  ev = kt_expect_event(w, "DELETED", "w");
  ck_assert_uint_gt(kt_rv(json_object_get(ev, "object")), modified);
  ck_assert_str_eq(kt_str(ev, "object.metadata.labels.app"), "x");
  json_decref(ev);
  kt_watch_close(w);

  /* Replaying the same range later gives the same events. */
  w = watch_from(start, NULL);
  json_decref(kt_expect_event(w, "ADDED", "w"));
  json_decref(kt_expect_event(w, "MODIFIED", "w"));
  json_decref(kt_expect_event(w, "DELETED", "w"));
  kt_watch_close(w);

  /* A cluster-wide watch sees every namespace. */
  kt_watch *all = kt_watch_open(k, "/api/v1/configmaps?watch=1&resourceVersion=1", NULL);
  json_decref(kt_expect_event(all, "ADDED", "before"));
  json_decref(kt_expect_event(all, "ADDED", "w"));
  json_decref(kt_expect_event(all, "ADDED", "elsewhere"));
  kt_watch_close(all);
}
END_TEST

START_TEST(initial_state) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "one", NULL);
  kt_make_cm(k, "flink", "two", NULL);
  static const char *const paths[] = {CM "?watch=1", CM "?watch=1&resourceVersion=0"};
  for (int i = 0; i < 2; i++) {
    kt_watch *w = kt_watch_open(k, paths[i], NULL);
    if (i == 1) /* synthetic events come in name order */
      json_decref(kt_expect_event(w, "ADDED", "live0"));
    json_decref(kt_expect_event(w, "ADDED", "one"));
    json_decref(kt_expect_event(w, "ADDED", "two"));
    char name[16];
    snprintf(name, sizeof name, "live%d", i);
    kt_make_cm(k, "flink", name, NULL);
    json_decref(kt_expect_event(w, "ADDED", name));
    kt_watch_close(w);
  }
}
END_TEST

START_TEST(bookmarks_and_timeout) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "b", NULL);
  unsigned long long rv = current_rv();
  kt_watch *plain = watch_from(rv, NULL);
  kt_watch *bm = watch_from(rv, "&allowWatchBookmarks=true");
  ck_assert_int_eq(kubelite_send_bookmarks(k), 1);
  json_t *ev = kt_expect_event(bm, "BOOKMARK", NULL);
  ck_assert_uint_eq(kt_rv(json_object_get(ev, "object")), rv);
  ck_assert_str_eq(kt_str(ev, "object.kind"), "ConfigMap");
  ck_assert_int_eq(
      (int)json_object_size(json_object_get(json_object_get(ev, "object"), "metadata")), 1);
  json_decref(ev);
  /* The plain watcher got nothing: its next event is the next change. */
  kt_make_cm(k, "flink", "c", NULL);
  json_decref(kt_expect_event(plain, "ADDED", "c"));
  json_decref(kt_expect_event(bm, "ADDED", "c"));

  /* Periodic bookmarks, at an interval shortened for the test. */
  ck_assert_int_eq(kubelite_set_bookmark_interval(k, 0.05), 0);
  ev = kt_expect_event(bm, "BOOKMARK", NULL);
  ck_assert_uint_eq(kt_rv(json_object_get(ev, "object")), current_rv());
  json_decref(ev);
  kt_watch_close(plain);
  kt_watch_close(bm);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  kt_watch *w = kt_watch_open(k, CM "?watch=1&resourceVersion=1&timeoutSeconds=1", NULL);
  json_decref(kt_expect_event(w, "ADDED", "b"));
  ck_assert(kt_watch_wait_end(w, KT_WAIT_MS));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  ck_assert_msg(secs >= 0.9, "ended after %.3fs", secs);
  ck_assert_int_eq(kt_watch_code(w), 200);
  kt_watch_close(w);
}
END_TEST

START_TEST(selector_enter_leave) {
  kubelite *k = kt_server;
  unsigned long long rv = current_rv();
  kt_watch *w = watch_from(rv, "&labelSelector=app%3Dx");
  kt_watch *f = watch_from(rv, "&fieldSelector=metadata.name%3Dm");
  kt_make_cm(k, "flink", "m", "app=y");       /* not selected */
  kt_make_cm(k, "flink", "marker1", "app=x"); /* selected: proves m was skipped */
  json_decref(kt_expect_event(w, "ADDED", "marker1"));
  json_decref(kt_expect_event(f, "ADDED", "m"));

  patch_label("m", "x");
  json_t *ev = kt_expect_event(w, "ADDED", "m");
  unsigned long long entered = kt_rv(json_object_get(ev, "object"));
  json_decref(ev);
  json_decref(kt_expect_event(f, "MODIFIED", "m"));

  kt_resp r = kt_patch(k, CM "/m", "application/merge-patch+json", "{\"data\":{\"n\":\"1\"}}");
  kt_resp_free(&r);
  json_decref(kt_expect_event(w, "MODIFIED", "m"));

  patch_label("m", "z");
  ev = kt_expect_event(w, "DELETED", "m");
  /* Leaving shows the last selected state with the new version. */
  ck_assert_str_eq(kt_str(ev, "object.metadata.labels.app"), "x");
  ck_assert_uint_gt(kt_rv(json_object_get(ev, "object")), entered);
  json_decref(ev);

  r = kt_delete(k, CM "/m", NULL);
  kt_resp_free(&r);
  kt_make_cm(k, "flink", "marker2", "app=x");
  json_decref(kt_expect_event(w, "ADDED", "marker2")); /* no second DELETED for m */
  json_decref(kt_expect_event(f, "MODIFIED", "m"));
  json_decref(kt_expect_event(f, "MODIFIED", "m"));
  json_decref(kt_expect_event(f, "DELETED", "m"));
  kt_watch_close(w);
  kt_watch_close(f);

  /* Leases and ConfigMaps do not mix. */
  kt_watch *lw = kt_watch_open(
      k, "/apis/coordination.k8s.io/v1/namespaces/flink/leases?watch=1&resourceVersion=1", NULL);
  r = kt_post(k, "/apis/coordination.k8s.io/v1/namespaces/flink/leases",
              "{\"metadata\":{\"name\":\"l\"},\"spec\":{\"holderIdentity\":\"h\"}}");
  kt_resp_free(&r);
  ev = kt_expect_event(lw, "ADDED", "l");
  ck_assert_str_eq(kt_str(ev, "object.kind"), "Lease");
  json_decref(ev);
  kt_watch_close(lw);
}
END_TEST

static void expect_expired(kt_watch *w, unsigned long long asked) {
  ck_assert_int_eq(kt_watch_code(w), 200);
  json_t *ev = kt_expect_event(w, "ERROR", NULL);
  ck_assert_str_eq(kt_str(ev, "object.kind"), "Status");
  ck_assert_str_eq(kt_str(ev, "object.apiVersion"), "v1");
  ck_assert_str_eq(kt_str(ev, "object.status"), "Failure");
  ck_assert_str_eq(kt_str(ev, "object.reason"), "Expired");
  ck_assert_int_eq(kt_int(ev, "object.code"), 410);
  char prefix[64];
  snprintf(prefix, sizeof prefix, "too old resource version: %llu (", asked);
  ck_assert_ptr_eq(strstr(kt_str(ev, "object.message"), prefix), kt_str(ev, "object.message"));
  json_decref(ev);
  ck_assert(kt_watch_wait_end(w, KT_WAIT_MS));
}

START_TEST(expired_after_compaction) {
  kubelite *k = kt_server;
  unsigned long long old = kt_make_cm(k, "flink", "e1", NULL);
  kt_make_cm(k, "flink", "e2", NULL);
  kt_watch *ok = watch_from(old, NULL);
  json_decref(kt_expect_event(ok, "ADDED", "e2"));
  kt_watch_close(ok);
  ck_assert_int_eq(kubelite_compact(k), 0);
  kt_watch *w = watch_from(old, NULL);
  expect_expired(w, old);
  kt_watch_close(w);
  /* The current version is still good after compaction. */
  unsigned long long now = current_rv();
  w = watch_from(now, NULL);
  kt_make_cm(k, "flink", "e3", NULL);
  json_decref(kt_expect_event(w, "ADDED", "e3"));
  kt_watch_close(w);
  /* A version from the future is refused up front. */
  kt_resp r = kt_get(k, CM "?watch=1&resourceVersion=999999");
  ck_assert_int_eq(r.code, 504);
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.reason"), "ResourceVersionTooLarge");
  kt_resp_free(&r);
}
END_TEST

START_TEST(history_window) {
  kubelite *k = kt_server;
  unsigned long long first = kt_make_cm(k, "flink", "h0", NULL);
  for (int i = 1; i < 5; i++) {
    char name[8];
    snprintf(name, sizeof name, "h%d", i);
    kt_make_cm(k, "flink", name, NULL);
  }
  kt_watch *w = watch_from(first, NULL);
  expect_expired(w, first);
  kt_watch_close(w);
  /* The newest --history events are still there. */
  w = watch_from(current_rv() - 2, NULL);
  json_decref(kt_expect_event(w, "ADDED", "h3"));
  json_decref(kt_expect_event(w, "ADDED", "h4"));
  kt_watch_close(w);
}
END_TEST

START_TEST(end_all_and_idle) {
  kubelite *k = kt_server;
  enum { N = 40 };
  kt_watch *ws[N];
  for (int i = 0; i < N; i++)
    ws[i] = kt_watch_open(k, CM "?watch=1&allowWatchBookmarks=true", NULL);
  /* Idle watchers must not spin: measure server CPU over a quiet second. */
  char statpath[64];
  snprintf(statpath, sizeof statpath, "/proc/%d/stat", (int)kubelite_pid(k));
  unsigned long long ticks[2];
  for (int s = 0; s < 2; s++) {
    FILE *fp = fopen(statpath, "r");
    ck_assert_ptr_nonnull(fp);
    unsigned long ut = 0, st = 0;
    int rc = fscanf(fp, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    fclose(fp);
    ck_assert_int_eq(rc, 2);
    ticks[s] = ut + st;
    if (s == 0)
      sleep(1); /* a measurement window, not synchronisation */
  }
  ck_assert_msg(ticks[1] - ticks[0] <= 5, "idle watches used %llu ticks", ticks[1] - ticks[0]);
  ck_assert_int_eq(kubelite_end_watches(k), N);
  for (int i = 0; i < N; i++) {
    ck_assert(kt_watch_wait_end(ws[i], KT_WAIT_MS));
    kt_watch_close(ws[i]);
  }
}
END_TEST

static void start_small_history(void) {
  static const char *const args[] = {"--history", "2", NULL};
  kubelite_options o = {.args = args};
  kt_start_with(&o);
}

int main(void) {
  Suite *s = suite_create("kube-lite watch");
  TCase *tc = tcase_create("watch");
  tcase_add_checked_fixture(tc, kt_start_default, kt_stop);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, order_and_versions);
  tcase_add_test(tc, initial_state);
  tcase_add_test(tc, bookmarks_and_timeout);
  tcase_add_test(tc, selector_enter_leave);
  tcase_add_test(tc, expired_after_compaction);
  tcase_add_test(tc, end_all_and_idle);
  suite_add_tcase(s, tc);
  TCase *th = tcase_create("history");
  tcase_add_checked_fixture(th, start_small_history, kt_stop);
  tcase_set_timeout(th, 120);
  tcase_add_test(th, history_window);
  suite_add_tcase(s, th);
  return kt_run(s);
}
