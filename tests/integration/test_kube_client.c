/* The Kubernetes client against kube-lite (or a real server, tests/realkube): status mapping,
 * conflicts, retries, timeouts, authentication, token rotation and TLS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"
#include "k8sha/errors.h"

#define NS "/api/v1/namespaces/flink/configmaps"
#define CM(name, extra) "{\"metadata\":{\"name\":\"" name "\"" extra "},\"data\":{\"k\":\"v\"}}"

static char *kubeconfig_text(itest *t, const char *user_fields, int tls) {
  static char text[4096];
  snprintf(text, sizeof(text),
           "apiVersion: v1\ncurrent-context: c\n"
           "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
           "clusters: [{name: k, cluster: {server: '%s'%s%s%s}}]\n"
           "users: [{name: u, user: {%s}}]\n",
           kubelite_url(t->kl), tls ? ", certificate-authority: '" : "",
           tls ? kubelite_ca_file(t->kl) : "", tls ? "'" : "", user_fields);
  return text;
}

START_TEST(crud_and_status_mapping) {
  itest t;
  it_result r;
  char path[256], body[512], rv[32];
  const char *p;

  it_start(&t, NULL, NULL);
  it_request(&t, t.ctx, K8SHA__CREATE, NS, CM("a", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(r.status, 201);
  p = strstr(r.body, "\"resourceVersion\":\"");
  ck_assert_ptr_nonnull(p);
  sscanf(p + 19, "%31[0-9]", rv);

  it_request(&t, t.ctx, K8SHA__CREATE, NS, CM("a", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_EEXISTS);
  ck_assert_ptr_nonnull(strstr(r.message, "already exists"));

  it_request(&t, t.ctx, K8SHA__GET, NS "/nope", NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(r.message, "\"nope\" not found"));

  /* A conditional update on the current resourceVersion commits; on a stale one, 409. */
  snprintf(body, sizeof(body),
           "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"%s\"},\"data\":{\"k\":\"v2\"}}", rv);
  it_request(&t, t.ctx, K8SHA__UPDATE, NS "/a", body, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  /* (An update that changes nothing keeps the resourceVersion, as on a real server; this one
   * changes data, so the version it names is now stale.) */
  snprintf(body, sizeof(body),
           "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"%s\"},\"data\":{\"k\":\"v3\"}}", rv);
  it_request(&t, t.ctx, K8SHA__UPDATE, NS "/a", body, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(r.message, "the object has been modified"));

  /* merge PATCH carrying a stale resourceVersion: 409 as well. */
  snprintf(body, sizeof(body), "{\"metadata\":{\"resourceVersion\":\"%s\"},\"data\":{\"x\":\"1\"}}", rv);
  it_request(&t, t.ctx, K8SHA__PATCH, NS "/a", body, "application/merge-patch+json", 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_ECONFLICT);
  it_request(&t, t.ctx, K8SHA__PATCH, NS "/a", "{\"data\":{\"x\":\"1\"}}",
             "application/merge-patch+json", 0, 0, &r);
  ck_assert_int_eq(r.err, 0);

  /* DELETE with a failing precondition. */
  snprintf(body, sizeof(body), "{\"preconditions\":{\"resourceVersion\":\"%s\"}}", rv);
  it_request(&t, t.ctx, K8SHA__DELETE, NS "/a", body, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_ECONFLICT);

  /* 422 keeps the server's reasons. */
  it_request(&t, t.ctx, K8SHA__CREATE, NS, CM("Not_A_Name", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_EINVALID_OBJECT);
  ck_assert_ptr_nonnull(strstr(r.message, "Not_A_Name"));

  snprintf(path, sizeof(path), NS "/a");
  it_request(&t, t.ctx, K8SHA__DELETE, path, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  it_stop(&t);
}
END_TEST

START_TEST(reads_retry_5xx_and_429_writes_do_not_guess) {
  itest t;
  it_result r;
  k8sha_stats st;
  uint64_t before;

  it_start(&t, NULL, NULL);
  it_request(&t, t.ctx, K8SHA__CREATE, NS, CM("a", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);

  /* Two 503s, then success: a read is repeated. */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"list\"],\"code\":503,\"count\":2}"), 0);
  it_request(&t, t.ctx, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(kubelite_count(t.kl, "list", "configmaps", 503), 2);
  ck_assert_int_eq(kubelite_count(t.kl, "list", "configmaps", 200), 1);

  /* 429 with Retry-After: 1 s: repeated, and not before the server asked. */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"get\"],\"code\":429,\"retryAfterSeconds\":1,\"count\":1}"), 0);
  before = k8sha__now_ms(&t.ctx->rt);
  it_request(&t, t.ctx, K8SHA__GET, NS "/a", NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_uint_ge(k8sha__now_ms(&t.ctx->rt) - before, 1000);

  /* A 500 on a write may hide a commit: reported as unknown, never repeated. */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"update\"],\"code\":500,\"count\":1}"), 0);
  it_request(&t, t.ctx, K8SHA__UPDATE, NS "/a", CM("a", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_EUNKNOWN_OUTCOME);
  ck_assert_int_eq(kubelite_count(t.kl, "update", "configmaps", 0), 1);

  /* A 429 on a write was not processed: repeated. */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"update\"],\"code\":429,\"retryAfterSeconds\":0,\"count\":1}"), 0);
  it_request(&t, t.ctx, K8SHA__UPDATE, NS "/a", CM("a", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);

  /* Out of attempts: the last error is reported. */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"get\"],\"code\":503,\"count\":3}"), 0);
  it_request(&t, t.ctx, K8SHA__GET, NS "/a", NULL, NULL, 0, 3, &r);
  ck_assert_int_eq(r.err, K8SHA_EUNAVAILABLE);

  st.version = K8SHA_STATS_VERSION;
  k8sha_ctx_stats(t.ctx, &st);
  ck_assert_uint_eq(st.retries, 2 + 1 + 1 + 2);
  ck_assert_uint_eq(st.responses_5xx, 2 + 1 + 3);
  it_stop(&t);
}
END_TEST

START_TEST(request_timeouts) {
  itest t;
  it_result r;
  it_start(&t, NULL, NULL);
  it_request(&t, t.ctx, K8SHA__CREATE, NS, CM("a", ""), NULL, 0, 0, &r);
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"get\"],\"latencyMs\":5000,\"count\":1}"), 0);
  it_request(&t, t.ctx, K8SHA__GET, NS "/a", NULL, NULL, 300, 1, &r);
  ck_assert_int_eq(r.err, K8SHA_ETIMEDOUT);
  ck_assert_msg(strstr(r.message, "timed out") != NULL, "message: %s", r.message);
  /* The same for a write: it may still be applied, so the outcome is unknown. */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"update\"],\"latencyMs\":5000,\"count\":1}"), 0);
  it_request(&t, t.ctx, K8SHA__UPDATE, NS "/a", CM("a", ""), NULL, 300, 1, &r);
  ck_assert_int_eq(r.err, K8SHA_EUNKNOWN_OUTCOME);
  it_stop(&t);
}
END_TEST

/* Requests beyond the limit in flight wait their turn, oldest first; an urgent one does not
 * wait; a cancelled one is never sent; one whose deadline passes while it waits ends without
 * being sent. Order of completion is the evidence: with one slot and the first request held by
 * the server, nothing queued can answer before it. */
typedef struct turns {
  uv_loop_t *loop;
  int n, done, order[8], err[8];
  char msg[8][512];
} turns;
typedef struct turn {
  turns *t;
  int id;
} turn;

static void on_turn(const k8sha__resp *resp, void *ud) {
  turn *u = ud;
  u->t->order[u->t->n++] = u->id;
  u->t->err[u->id] = resp->err;
  snprintf(u->t->msg[u->id], sizeof(u->t->msg[0]), "%s", resp->message ? resp->message : "");
  u->t->done = u->t->n == 4;
  if (u->t->done)
    uv_stop(u->t->loop);
}

static k8sha__req *get_turn(itest *t, turn *u, const char *path, int urgent,
                           uint64_t deadline_ms) {
  k8sha__req_opts o;
  k8sha__req *r = NULL;
  memset(&o, 0, sizeof(o));
  o.verb = K8SHA__GET;
  o.path = path;
  o.urgent = urgent;
  o.timeout_ms = deadline_ms;
  o.deadline_ms = deadline_ms;
  ck_assert_int_eq(k8sha__req_start(t->ctx->kube, &o, on_turn, u, &r), 0);
  return r;
}

START_TEST(requests_beyond_the_limit_wait_their_turn) {
  itest t;
  it_result r;
  turns ts;
  turn u[5];
  long gets;
  int i;

  it_start(&t, NULL, NULL);
  it_request(&t, t.ctx, K8SHA__CREATE, NS, CM("a", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  it_request(&t, t.ctx, K8SHA__CREATE, NS, CM("b", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  memset(&ts, 0, sizeof(ts));
  ts.loop = &t.loop;
  for (i = 0; i < 5; i++)
    u[i].t = &ts, u[i].id = i;
  gets = kubelite_count(t.kl, "get", "configmaps", 0);
  k8sha__kube_set_max_in_flight(t.ctx->kube, 1);
  /* (the held request is the only one reading "a": whichever connection the server sees first) */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"get\"],\"name\":\"a\","
                                            "\"latencyMs\":1500,\"count\":1}"),
                   0);
  get_turn(&t, &u[0], NS "/a", 0, 10000); /* in flight, held by the server */
  get_turn(&t, &u[1], NS "/b", 0, 10000); /* waits for it */
  get_turn(&t, &u[2], NS "/b", 1, 10000); /* urgent: does not wait */
  k8sha__req_cancel(get_turn(&t, &u[3], NS "/b", 0, 10000)); /* waits, then is cancelled */
  get_turn(&t, &u[4], NS "/b", 0, 300);  /* waits past its deadline */
  it_run_until(&t, &ts.done);
  ck_assert_int_eq(ts.order[0], 2);
  ck_assert_int_eq(ts.order[1], 0);
  ck_assert_int_eq(ts.order[2], 1);
  ck_assert_int_eq(ts.order[3], 4);
  ck_assert_int_eq(ts.err[0], 0);
  ck_assert_int_eq(ts.err[1], 0);
  ck_assert_int_eq(ts.err[2], 0);
  ck_assert_int_eq(ts.err[4], K8SHA_ETIMEDOUT);
  ck_assert_msg(strstr(ts.msg[4], "not sent") != NULL, "%s", ts.msg[4]);
  /* 0, 1 and 2 reached the server; the cancelled and the expired ones did not */
  ck_assert_int_eq(kubelite_count(t.kl, "get", "configmaps", 0), gets + 3);
  it_stop(&t);
}
END_TEST

/* A request and the attempts that timed out on its way, as its owner hears them. */
typedef struct attempts_seen {
  it_result r;
  int timeouts, last_err;
  char last_message[1024];
} attempts_seen;

static void on_attempt_timeout(const k8sha__resp *resp, void *ud) {
  attempts_seen *a = ud;
  a->timeouts++;
  a->last_err = resp->err;
  snprintf(a->last_message, sizeof(a->last_message), "%s", resp->message ? resp->message : "");
}

static void on_seen_resp(const k8sha__resp *resp, void *ud) {
  it_on_resp(resp, &((attempts_seen *)ud)->r);
}

/* Starts a request with options `o` and waits for its end; returns its duration on the loop's
 * clock. */
static uint64_t request_with(itest *t, k8sha__req_opts *o, attempts_seen *a) {
  uint64_t start;
  memset(a, 0, sizeof(*a));
  a->r.loop = &t->loop;
  o->on_attempt_timeout = on_attempt_timeout;
  start = k8sha__now_ms(&t->ctx->rt);
  ck_assert_int_eq(k8sha__req_start(t->ctx->kube, o, on_seen_resp, a, NULL), 0);
  it_run_until(t, &a->r.done);
  return k8sha__now_ms(&t->ctx->rt) - start;
}

/* The deadline bounds a request's total time, not only when its last attempt may start: an
 * attempt begun near the deadline is cut to what is left. Every GET here waits 1.5 s and then
 * fails (503): the first attempt fails at 1.5 s, the second begins about 0.1 s later and must end
 * at the 2 s deadline, not run its own 2 s timeout (it would end at about 3.1 s, when the server
 * answers). A timed-out attempt that is repeated is told to the owner at once. */
START_TEST(deadline_bounds_the_total_and_timeouts_are_told) {
  itest t;
  k8sha__req_opts o;
  attempts_seen a;
  uint64_t took;

  it_start(&t, NULL, NULL);
  it_request(&t, t.ctx, K8SHA__CREATE, NS, CM("a", ""), NULL, 0, 0, &a.r);
  ck_assert_int_eq(a.r.err, 0);
  ck_assert_int_ge(
      kubelite_add_fault(t.kl, "{\"verbs\":[\"get\"],\"latencyMs\":1500,\"code\":503}"), 0);
  memset(&o, 0, sizeof(o));
  o.verb = K8SHA__GET;
  o.path = NS "/a";
  o.timeout_ms = 2000;
  o.deadline_ms = 2000;
  o.max_attempts = 5;
  took = request_with(&t, &o, &a);
  ck_assert_msg(a.r.err == K8SHA_ETIMEDOUT, "%s: %s", k8sha_err_name(a.r.err), a.r.message);
  ck_assert_uint_ge(took, 1500);
  ck_assert_msg(took <= 2000 + 600, "a request with a 2 s deadline took %llu ms",
                (unsigned long long)took);
  ck_assert_int_eq(a.timeouts, 0); /* the last attempt timed out: that is the outcome itself */
  ck_assert_int_eq(kubelite_clear_faults(t.kl), 0);

  /* The first attempt of a read times out (300 ms; the server would answer after 5 s): its owner
   * hears it then, while the second attempt goes on and succeeds. */
  ck_assert_int_ge(
      kubelite_add_fault(t.kl, "{\"verbs\":[\"list\"],\"latencyMs\":5000,\"count\":1}"), 0);
  memset(&o, 0, sizeof(o));
  o.verb = K8SHA__LIST;
  o.path = NS;
  o.timeout_ms = 300;
  o.max_attempts = 3;
  took = request_with(&t, &o, &a);
  ck_assert_msg(a.r.err == 0, "%s", a.r.message);
  ck_assert_int_eq(a.timeouts, 1);
  ck_assert_int_eq(a.last_err, K8SHA_ETIMEDOUT);
  ck_assert_msg(strstr(a.last_message, "attempt 1 of 3") != NULL, "%s", a.last_message);
  ck_assert_uint_lt(took, 5000);
  it_stop(&t);
}
END_TEST

/* A watch whose response never begins (the server holds it for a minute) ends after the client's
 * timeout with K8SHA_ETIMEDOUT, not after the stream's idle limit (here 60 s). */
typedef struct stream_end {
  uv_loop_t *loop;
  int ended, err;
  char message[1024];
} stream_end;

static int on_stream_line(const char *line, size_t len, void *ud) {
  (void)line;
  (void)len;
  (void)ud;
  return 0;
}

static void on_stream_end(int err, const k8sha__resp *resp, void *ud) {
  stream_end *s = ud;
  s->ended = 1;
  s->err = err;
  snprintf(s->message, sizeof(s->message), "%s", resp && resp->message ? resp->message : "");
  uv_stop(s->loop);
}

static void on_bound(uv_timer_t *h) {
  *(int *)h->data = 1;
  uv_stop(h->loop);
}

START_TEST(watch_start_is_bounded) {
  k8sha__stream_cbs cbs = {on_stream_line, on_stream_end};
  k8sha__stream *st = NULL;
  itest t;
  stream_end s;
  uv_timer_t bound;
  int bound_hit = 0;
  uint64_t start, took;

  it_start(&t, NULL, NULL);
  k8sha__kube_set_default_timeout(t.ctx->kube, 300);
  ck_assert_int_ge(
      kubelite_add_fault(t.kl, "{\"verbs\":[\"watch\"],\"latencyMs\":60000,\"count\":1}"), 0);
  memset(&s, 0, sizeof(s));
  s.loop = &t.loop;
  /* a failure bound only: the stream's own timeout ends it long before */
  uv_timer_init(&t.loop, &bound);
  bound.data = &bound_hit;
  uv_timer_start(&bound, on_bound, 20000, 0);
  start = k8sha__now_ms(&t.ctx->rt);
  ck_assert_int_eq(k8sha__stream_open(t.ctx->kube, NS "?watch=1", 60, &cbs, &s, &st), 0);
  while (!s.ended && !bound_hit)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  took = k8sha__now_ms(&t.ctx->rt) - start;
  uv_close((uv_handle_t *)&bound, NULL);
  ck_assert_msg(s.ended, "the watch was still waiting for its response after 20 s");
  ck_assert_msg(s.err == K8SHA_ETIMEDOUT, "%s: %s", k8sha_err_name(s.err), s.message);
  ck_assert_msg(strstr(s.message, "no response within 300 ms") != NULL, "%s", s.message);
  ck_assert_uint_ge(took, 300);
  ck_assert_uint_lt(took, 5000);
  it_stop(&t);
}
END_TEST

/* An unknown token gives 401; a verb the user's Role lacks gives 403 naming the verb and the
 * resource. On kube-lite, users come from its token rules; on a real server, the user bound to
 * the documented Role without update (K8SHA_TEST_NOUPDATE_KUBECONFIG, see tests/realkube). */
START_TEST(unauthorized_and_forbidden) {
  kubelite_options ko;
  itest t;
  it_result r;
  k8sha_ctx *c;
  const char *external = getenv("K8SHA_TEST_NOUPDATE_KUBECONFIG");

  memset(&ko, 0, sizeof(ko));
  ko.tokens = "reader-token,reader,configmaps:get|list\n";
  it_start(&t, kubelite_external_mode() ? NULL : &ko, NULL);

  /* An unknown token: 401. */
  c = it_ctx(&t, it_file(&t, "kc-bad",
                         kubeconfig_text(&t, "token: no-such-token", kubelite_external_mode())));
  it_request(&t, c, K8SHA__GET, NS "/a", NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_EUNAUTHORIZED);
  ck_assert_int_eq(r.status, 401);
  k8sha_ctx_free(c);

  /* A Role without update: reading works, updating gives 403 naming the verb and resource. */
  if (kubelite_external_mode()) {
    ck_assert_msg(external && *external, "K8SHA_TEST_NOUPDATE_KUBECONFIG is needed here");
    c = it_ctx(&t, external);
  } else {
    c = it_ctx(&t, it_file(&t, "kc-reader", kubeconfig_text(&t, "token: reader-token", 0)));
  }
  it_request(&t, c, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  it_request(&t, c, K8SHA__UPDATE, NS "/a", CM("a", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_EFORBIDDEN);
  ck_assert_int_eq(r.status, 403);
  ck_assert_msg(strstr(r.message, "cannot update resource \"configmaps\"") != NULL, "%s",
                r.message);
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

/* A token file that rotates: after the server switches tokens, the first 401 makes the client
 * re-read the file and repeat the request, which then succeeds. (kube-lite only: a real server's
 * static tokens cannot change while it runs.) */
START_TEST(token_file_rotation) {
  kubelite_options ko;
  itest t;
  it_result r;
  k8sha_ctx *rotating;
  k8sha_stats st;

  memset(&ko, 0, sizeof(ko));
  ko.tokens = "writer-old,writer,configmaps:*\n";
  it_start(&t, &ko, NULL);
  it_file(&t, "token", "writer-old\n");
  rotating = it_ctx(&t, it_file(&t, "kc-rot", kubeconfig_text(&t, "tokenFile: token", 0)));
  it_request(&t, rotating, K8SHA__CREATE, NS, CM("r", ""), NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(kubelite_rotate_token(t.kl, "writer-old", "writer-new"), 0);
  ck_assert_int_eq(kubelite_reset_stats(t.kl), 0);
  it_file(&t, "token", "writer-new\n");
  it_request(&t, rotating, K8SHA__GET, NS "/r", NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_int_eq(kubelite_count(t.kl, "get", "configmaps", 401), 1);
  ck_assert_int_eq(kubelite_count(t.kl, "get", "configmaps", 200), 1);
  st.version = K8SHA_STATS_VERSION;
  k8sha_ctx_stats(rotating, &st);
  ck_assert_uint_ge(st.token_reloads, 2); /* at start, and after the 401 */
  k8sha_ctx_free(rotating);
  uv_run(&t.loop, UV_RUN_NOWAIT);
  it_stop(&t);
}
END_TEST

START_TEST(tls_verification) {
  kubelite_options ko;
  itest t;
  it_result r;
  k8sha_ctx *wrong;
  char cmd[2048], user[300] = "users: [{name: u, user: {}}]\n";
  const char *dir;
  /* the name the server's certificate holds besides 127.0.0.1 (kube-apiserver's self-signed
   * certificate names kubernetes, not localhost) */
  const char *name = kubelite_external_mode() ? "kubernetes" : "localhost";

  memset(&ko, 0, sizeof(ko));
  ko.tls = 1;
  it_start(&t, &ko, NULL);
  /* a real server wants credentials with every request; kube-lite here has none */
  if (kubelite_admin_token(t.kl))
    snprintf(user, sizeof(user), "users: [{name: u, user: {token: '%s'}}]\n",
             kubelite_admin_token(t.kl));
  /* The written kubeconfig carries the right CA. */
  it_request(&t, t.ctx, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);

  /* Another CA: a clear TLS error, not retried. */
  dir = kubelite_dir(t.kl);
  snprintf(cmd, sizeof(cmd),
           "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=wrong-ca -days 1 "
           "-keyout %s/wrong.key -out %s/wrong.crt >/dev/null 2>&1",
           dir, dir);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(cmd, sizeof(cmd),
           "apiVersion: v1\ncurrent-context: c\n"
           "contexts: [{name: c, context: {cluster: k, user: u}}]\n%s"
           "clusters: [{name: k, cluster: {server: '%s', certificate-authority: '%s/wrong.crt'}}]\n",
           user, kubelite_url(t.kl), dir);
  wrong = it_ctx(&t, it_file(&t, "kc-wrong-ca", cmd));
  it_request(&t, wrong, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_ETLS);
  ck_assert_msg(strstr(r.message, "certificate") != NULL, "message: %s", r.message);
  k8sha_ctx_free(wrong);

  /* insecure-skip-tls-verify: no verification at all. */
  snprintf(cmd, sizeof(cmd),
           "apiVersion: v1\ncurrent-context: c\n"
           "contexts: [{name: c, context: {cluster: k, user: u}}]\n%s"
           "clusters: [{name: k, cluster: {server: '%s', insecure-skip-tls-verify: true}}]\n",
           user, kubelite_url(t.kl));
  wrong = it_ctx(&t, it_file(&t, "kc-insecure", cmd));
  it_request(&t, wrong, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  k8sha_ctx_free(wrong);

  /* tls-server-name: the client verifies that name, while connecting to the URL's address. The
   * certificate names 127.0.0.1 and `name`: a name it lacks fails, `name` passes. */
  snprintf(cmd, sizeof(cmd),
           "apiVersion: v1\ncurrent-context: c\n"
           "contexts: [{name: c, context: {cluster: k, user: u}}]\n%s"
           "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:%d', tls-server-name: "
           "not-in-the-certificate, certificate-authority: '%s'}}]\n",
           user, kubelite_port(t.kl), kubelite_ca_file(t.kl));
  wrong = it_ctx(&t, it_file(&t, "kc-sni-bad", cmd));
  it_request(&t, wrong, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, K8SHA_ETLS);
  k8sha_ctx_free(wrong);
  snprintf(cmd, sizeof(cmd),
           "apiVersion: v1\ncurrent-context: c\n"
           "contexts: [{name: c, context: {cluster: k, user: u}}]\n%s"
           "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:%d', tls-server-name: "
           "%s, certificate-authority: '%s'}}]\n",
           user, kubelite_port(t.kl), name, kubelite_ca_file(t.kl));
  wrong = it_ctx(&t, it_file(&t, "kc-sni-good", cmd));
  it_request(&t, wrong, K8SHA__LIST, NS, NULL, NULL, 0, 0, &r);
  ck_assert_msg(r.err == 0, "tls-server-name %s: %s", name, r.message);
  k8sha_ctx_free(wrong);
  it_stop(&t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube_client");
  TCase *tc = tcase_create("kube_client");
  tcase_set_timeout(tc, 120);
  it_add(tc, crud_and_status_mapping, IT_ANY);
  it_add(tc, reads_retry_5xx_and_429_writes_do_not_guess, IT_FAULTS);
  it_add(tc, request_timeouts, IT_FAULTS);
  it_add(tc, requests_beyond_the_limit_wait_their_turn, IT_FAULTS);
  it_add(tc, deadline_bounds_the_total_and_timeouts_are_told, IT_FAULTS);
  it_add(tc, watch_start_is_bounded, IT_FAULTS);
  it_add(tc, unauthorized_and_forbidden, IT_ANY);
  it_add(tc, token_file_rotation, IT_KUBELITE);
  it_add(tc, tls_verification, IT_ANY);
  suite_add_tcase(s, tc);
  return it_run_suite(s);
}
