/* Integration tests of proxy mode (--upstream): kube-lite in front of another server (here a
 * second kube-lite) forwards requests as they came, applies its fault rules on the way, counts,
 * streams watches, and goes away and comes back on its control port. */
#include "kt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CM "/api/v1/namespaces/flink/configmaps"

static kubelite *upstream, *proxy;

static void start_pair(void) {
  kubelite_options uo = {.tls = true};
  upstream = kubelite_start(&uo);
  ck_assert_ptr_nonnull(upstream);
  const char *args[] = {"--upstream", kubelite_url(upstream), "--upstream-ca",
                        kubelite_ca_file(upstream), NULL};
  kubelite_options po = {.args = args};
  /* A proxy in the environment would take the upstream traffic, as libcurl honours these:
   * the proxy must go straight to its upstream. */
  static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"};
  for (size_t i = 0; i < 4; i++)
    setenv(vars[i], "http://127.0.0.1:9", 1);
  proxy = kubelite_start(&po);
  for (size_t i = 0; i < 4; i++)
    unsetenv(vars[i]);
  ck_assert_ptr_nonnull(proxy);
  kt_server = proxy;
}

static void stop_pair(void) {
  kt_stop(); /* the proxy */
  ck_assert_int_eq(kubelite_stop(upstream), 0);
  kubelite_free(upstream);
  upstream = NULL;
}

static long count(kubelite *k, const char *verb, int code) {
  return kubelite_count(k, verb, "configmaps", code);
}

START_TEST(forwards_requests_and_answers_as_they_are) {
  kt_resp r = kt_post(proxy, CM, "{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"v\"}}");
  ck_assert_int_eq(r.code, 201);
  ck_assert_str_eq(kt_str(r.json, "metadata.name"), "a");
  kt_resp_free(&r);
  /* stored upstream */
  r = kt_get(upstream, CM "/a");
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "data.k"), "v");
  kt_resp_free(&r);
  /* an upstream error passes through as it is */
  r = kt_get(proxy, CM "/missing");
  ck_assert_int_eq(r.code, 404);
  ck_assert_str_eq(kt_str(r.json, "reason"), "NotFound");
  ck_assert_str_eq(kt_str(r.json, "message"), "configmaps \"missing\" not found");
  kt_resp_free(&r);
  /* the query goes upstream as it was written */
  kt_make_cm(upstream, "flink", "b", "x=1");
  r = kt_get(proxy, CM "?labelSelector=x%3D1");
  ck_assert_int_eq(r.code, 200);
  ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
  ck_assert_str_eq(kt_str(r.json, "items.0.metadata.name"), "b");
  kt_resp_free(&r);
  /* a merge patch with its content type */
  r = kt_patch(proxy, CM "/a", "application/merge-patch+json", "{\"data\":{\"k\":\"w\"}}");
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "data.k"), "w");
  kt_resp_free(&r);
  /* the proxy counts what it forwarded, by the upstream's answer */
  ck_assert_int_eq(count(proxy, "create", 201), 1);
  ck_assert_int_eq(count(proxy, "get", 404), 1);
  ck_assert_int_eq(count(proxy, "patch", 200), 1);
}
END_TEST

START_TEST(faults_are_decided_by_the_proxy) {
  kt_make_cm(upstream, "flink", "f", NULL);
  /* an injected answer never reaches the upstream server */
  ck_assert_int_gt(kubelite_add_fault(proxy, "{\"verbs\":[\"get\"],\"code\":503,"
                                             "\"retryAfterSeconds\":2,\"count\":1}"),
                   0);
  kt_resp r = kt_get(proxy, CM "/f");
  ck_assert_int_eq(r.code, 503);
  ck_assert_str_eq(kt_str(r.json, "reason"), "ServiceUnavailable");
  ck_assert_str_eq(r.retry_after, "2");
  kt_resp_free(&r);
  ck_assert_int_eq(count(upstream, "get", 0), 0);
  r = kt_get(proxy, CM "/f");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
  ck_assert_int_eq(count(upstream, "get", 200), 1);

  /* afterApply: the write lands upstream, the client is told it failed */
  ck_assert_int_gt(kubelite_add_fault(proxy, "{\"verbs\":[\"update\"],\"code\":500,"
                                             "\"afterApply\":true,\"count\":1}"),
                   0);
  r = kt_put(proxy, CM "/f", "{\"metadata\":{\"name\":\"f\"},\"data\":{\"k\":\"late\"}}");
  ck_assert_int_eq(r.code, 500);
  ck_assert_str_eq(kt_str(r.json, "reason"), "InternalError");
  kt_resp_free(&r);
  r = kt_get(upstream, CM "/f");
  ck_assert_str_eq(kt_str(r.json, "data.k"), "late");
  kt_resp_free(&r);

  /* a drop: the request is read and never answered, nor forwarded (twice: libcurl sends a
   * request again once on a fresh connection when a reused one dies without an answer) */
  ck_assert_int_gt(kubelite_add_fault(proxy, "{\"verbs\":[\"delete\"],\"drop\":true,"
                                             "\"count\":2}"),
                   0);
  r = kt_req(proxy, "DELETE", CM "/f", NULL, NULL, NULL);
  ck_assert_msg(r.curl == CURLE_GOT_NOTHING, "a dropped request got curl %d, HTTP %ld", (int)r.curl,
                r.code);
  kt_resp_free(&r);
  ck_assert_int_eq(count(upstream, "delete", 0), 0);

  /* latency, then the request goes through */
  ck_assert_int_gt(kubelite_add_fault(proxy, "{\"verbs\":[\"get\"],\"latencyMs\":200,"
                                             "\"count\":1}"),
                   0);
  r = kt_get(proxy, CM "/f");
  ck_assert_int_eq(r.code, 200);
  ck_assert_msg(r.seconds >= 0.19, "delayed GET took %.3f s", r.seconds);
  kt_resp_free(&r);
}
END_TEST

START_TEST(watches_stream_and_end_on_demand) {
  kt_watch *w = kt_watch_open(proxy, CM "?watch=true", NULL);
  ck_assert_int_eq(kt_watch_code(w), 200);
  kt_make_cm(upstream, "flink", "w1", NULL);
  json_decref(kt_expect_event(w, "ADDED", "w1"));
  kt_resp r = kt_put(proxy, CM "/w1", "{\"metadata\":{\"name\":\"w1\"},\"data\":{\"k\":\"2\"}}");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
  json_decref(kt_expect_event(w, "MODIFIED", "w1"));
  /* watches/close ends the client's stream cleanly */
  char *out = NULL;
  ck_assert_int_eq(kubelite_control(proxy, "POST", "watches/close", "{}", &out), 200);
  json_t *j = json_loads(out, 0, NULL);
  ck_assert_int_eq(kt_int(j, "closed"), 1);
  json_decref(j);
  free(out);
  ck_assert(kt_watch_wait_end(w, KT_WAIT_MS));
  kt_watch_close(w);
  ck_assert_int_eq(count(proxy, "watch", 200), 1);

  /* with abort, the connection is dropped without the stream's end */
  w = kt_watch_open(proxy, CM "?watch=true&resourceVersion=1", NULL);
  json_decref(kt_expect_event(w, "ADDED", "w1"));
  ck_assert_int_eq(kubelite_control(proxy, "POST", "watches/close", "{\"abort\":true}", NULL), 200);
  CURLcode res;
  ck_assert_msg(kt_watch_wait_done(w, KT_WAIT_MS, &res), "the aborted watch did not end");
  ck_assert_msg(res != CURLE_OK, "the aborted watch ended cleanly");
  kt_watch_close(w);
}
END_TEST

/* The number of watches the upstream server holds, from its control endpoint. */
static long long upstream_watches(void) {
  char *out = NULL;
  ck_assert_int_eq(kubelite_control(upstream, "GET", "info", NULL, &out), 200);
  json_t *j = json_loads(out, 0, NULL);
  long long n = kt_int(j, "watches");
  json_decref(j);
  free(out);
  return n;
}

START_TEST(a_client_hanging_up_ends_its_watch_upstream) {
  kt_watch *w = kt_watch_open(proxy, CM "?watch=true", NULL);
  ck_assert_int_eq(kt_watch_code(w), 200);
  ck_assert_int_eq(upstream_watches(), 1);
  kt_watch_close(w);
  /* The proxy sees the hang-up and ends the upstream transfer; the upstream server then sees
   * its connection close.  Each step is an event in another process: bounded polling. */
  long long n = 1;
  for (int i = 0; i < 2000 && n > 0; i++) {
    n = upstream_watches();
    if (n > 0)
      usleep(10000);
  }
  ck_assert_msg(n == 0, "the upstream server still holds %lld watch(es)", n);
}
END_TEST

START_TEST(stop_and_start_on_the_control_port) {
  /* start while listening is answered at once */
  ck_assert_int_eq(kubelite_control(proxy, "POST", "start", "{}", NULL), 200);
  ck_assert_int_eq(kubelite_control(proxy, "POST", "stop", "{}", NULL), 200);
  kt_resp r = kt_req(proxy, "GET", CM, NULL, NULL, NULL);
  ck_assert_msg(r.curl == CURLE_COULDNT_CONNECT, "the stopped proxy answered: curl %d",
                (int)r.curl);
  kt_resp_free(&r);
  /* start answers once the API port listens again, and it does */
  ck_assert_int_eq(kubelite_control(proxy, "POST", "start", "{}", NULL), 200);
  ck_assert_int_eq(kubelite_wait_listening(proxy, 0), 0); /* the ready line again */
  char *out = NULL;
  ck_assert_int_eq(kubelite_control(proxy, "GET", "listening", NULL, &out), 200);
  json_t *j = json_loads(out, 0, NULL);
  ck_assert_str_eq(kt_str(j, "url"), kubelite_url(proxy));
  json_decref(j);
  free(out);
  r = kt_get(proxy, CM);
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
  /* the control endpoint is served on the API port too, as kube-lite serves it */
  r = kt_req(proxy, "GET", "/kube-lite/v1/info", NULL, NULL, NULL);
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
}
END_TEST

/* A request held by latency is forwarded when its delay ends, even when its client was killed
 * meanwhile (its connection reset): the write lands late, as on a server that read it. */
START_TEST(a_delayed_write_lands_after_its_client_is_gone) {
  kt_watch *w = kt_watch_open(upstream, CM "?watch=true", NULL);
  ck_assert_int_eq(kt_watch_code(w), 200);
  ck_assert_int_gt(
      kubelite_add_fault(proxy, "{\"verbs\":[\"create\"],\"latencyMs\":300,\"count\":1}"), 0);
  kt_raw_reset(proxy, "POST " CM " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 25\r\n\r\n{\"metadata\":{\"name\":\"l\"}}");
  json_decref(kt_expect_event(w, "ADDED", "l"));
  kt_watch_close(w);
}
END_TEST

/* watches/close ends a watch whose upstream head has not arrived yet: an empty stream. */
START_TEST(watches_close_ends_a_watch_not_answered_upstream_yet) {
  ck_assert_int_gt(
      kubelite_add_fault(upstream, "{\"verbs\":[\"watch\"],\"latencyMs\":60000,\"count\":1}"), 0);
  kt_conn *c = kt_raw_open(proxy, "GET " CM "?watch=true HTTP/1.1\r\nHost: x\r\n"
                                  "Connection: close\r\n\r\n");
  /* the watch is with the upstream server once the upstream counted it as delayed */
  char *out = NULL;
  long long hits = 0;
  for (int i = 0; i < 2000 && hits == 0; i++) {
    ck_assert_int_eq(kubelite_control(upstream, "GET", "faults", NULL, &out), 200);
    json_t *j = json_loads(out, 0, NULL);
    hits = kt_int(j, "faults.0.hits");
    json_decref(j);
    free(out);
    if (hits == 0)
      usleep(10000);
  }
  ck_assert_int_eq(hits, 1);
  ck_assert_int_eq(kubelite_control(proxy, "POST", "watches/close", "{}", &out), 200);
  json_t *j = json_loads(out, 0, NULL);
  ck_assert_int_eq(kt_int(j, "closed"), 1);
  json_decref(j);
  free(out);
  char *answer = kt_raw_finish(c);
  ck_assert_msg(strncmp(answer, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", answer);
  size_t n = strlen(answer);
  ck_assert_msg(n >= 9 && strcmp(answer + n - 9, "\r\n\r\n0\r\n\r\n") == 0, "%s", answer);
  free(answer);
}
END_TEST

START_TEST(methods_other_than_the_apis_are_405) {
  kt_resp r = kt_req(proxy, "OPTIONS", CM, NULL, NULL, NULL);
  ck_assert_int_eq(r.code, 405);
  ck_assert_str_eq(kt_str(r.json, "message"),
                   "kube-lite forwards GET, POST, PUT, PATCH and DELETE requests only");
  kt_resp_free(&r);
}
END_TEST

START_TEST(an_unreachable_upstream_is_a_502_naming_it) {
  ck_assert_int_eq(kubelite_stop(upstream), 0);
  kt_resp r = kt_req(proxy, "GET", CM, NULL, NULL, NULL);
  ck_assert_int_eq(r.code, 502);
  ck_assert_msg(r.body && strstr(r.body, "kube-lite proxy: GET"), "502 body: %s", r.body);
  kt_resp_free(&r);
  ck_assert_int_eq(kubelite_restart(upstream), 0);
}
END_TEST

/* Runs the server with args; returns its exit status and its stderr's first line in err. */
static int run_server(const char *const *args, char *err, size_t errlen) {
  int fd[2];
  ck_assert_int_eq(pipe(fd), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    dup2(fd[1], 2);
    close(fd[0]);
    execv(KUBELITE_BIN, (char *const *)args);
    _exit(127);
  }
  close(fd[1]);
  size_t len = 0;
  ssize_t n;
  while (len + 1 < errlen &&
         ((n = read(fd[0], err + len, errlen - 1 - len)) > 0 || (n < 0 && errno == EINTR)))
    len += n > 0 ? (size_t)n : 0;
  err[len] = '\0';
  close(fd[0]);
  int st;
  pid_t r;
  while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
    ;
  ck_assert_int_eq(r, pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(proxy_options_are_checked) {
  char err[512];
  const char *bad_url[] = {KUBELITE_BIN, "--port", "0", "--upstream", "ftp://x", NULL};
  ck_assert_int_eq(run_server(bad_url, err, sizeof err), 1);
  ck_assert_msg(strstr(err, "--upstream ftp://x: expected http(s)://HOST[:PORT]"), "%s", err);
  const char *with_path[] = {KUBELITE_BIN, "--port", "0", "--upstream", "http://h:1/api", NULL};
  ck_assert_int_eq(run_server(with_path, err, sizeof err), 1);
  ck_assert_msg(strstr(err, "with no path"), "%s", err);
  const char *tokens[] = {KUBELITE_BIN, "--upstream", "http://h:1", "--token-file", "t", NULL};
  ck_assert_int_eq(run_server(tokens, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "--upstream and --token-file do not go together"), "%s", err);
  const char *ca_only[] = {KUBELITE_BIN, "--upstream-ca", "ca.pem", NULL};
  ck_assert_int_eq(run_server(ca_only, err, sizeof err), 2);
  ck_assert_msg(strstr(err, "--upstream-ca needs --upstream"), "%s", err);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube-lite proxy");
  TCase *tc = tcase_create("proxy");
  tcase_add_checked_fixture(tc, start_pair, stop_pair);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, forwards_requests_and_answers_as_they_are);
  tcase_add_test(tc, faults_are_decided_by_the_proxy);
  tcase_add_test(tc, watches_stream_and_end_on_demand);
  tcase_add_test(tc, a_client_hanging_up_ends_its_watch_upstream);
  tcase_add_test(tc, stop_and_start_on_the_control_port);
  tcase_add_test(tc, a_delayed_write_lands_after_its_client_is_gone);
  tcase_add_test(tc, watches_close_ends_a_watch_not_answered_upstream_yet);
  tcase_add_test(tc, methods_other_than_the_apis_are_405);
  tcase_add_test(tc, an_unreachable_upstream_is_a_502_naming_it);
  suite_add_tcase(s, tc);
  TCase *opts = tcase_create("options");
  tcase_add_test(opts, proxy_options_are_checked);
  suite_add_tcase(s, opts);
  return kt_run(s);
}
