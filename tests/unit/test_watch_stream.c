/* The informer against a scripted server: malformed lines, a stream ending inside an event, an
 * abrupt close, bookmarks, an in-band 410 with the re-list that follows. Checks the events, the
 * errors, and the resourceVersion each watch resumes from. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "fakeapi.h"
#include "kube/informer.h"
#include "testutil.h"

#define COLL "/api/v1/namespaces/ns/configmaps"
#define CM(name, rv) "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}"
#define EV(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}\n"

typedef struct script {
  uv_loop_t *loop;
  int lists, watches;
  char watch_paths[8][512];
  char log[4096]; /* what the informer reported, in order */
  int done;
} script;

static void logf_(script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(script *s, const char *fmt, ...) {
  size_t n = strlen(s->log);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->log + n, sizeof(s->log) - n, fmt, ap);
  va_end(ap);
}

static void handler(fakeapi *api, fake_conn *c, const char *method, const char *path, void *ud) {
  script *s = ud;
  (void)api;
  ck_assert_str_eq(method, "GET");
  if (!strstr(path, "watch=1")) {
    s->lists++;
    if (s->lists == 1)
      fake_reply(c, 200, "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"10\"},"
                         "\"items\":[" CM("a", "9") "]}");
    else
      fake_reply(c, 200, "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"20\"},"
                         "\"items\":[" CM("a", "9") "," CM("c", "19") "]}");
    return;
  }
  snprintf(s->watch_paths[s->watches % 8], 512, "%s", path);
  s->watches++;
  fake_stream_begin(c);
  switch (s->watches) {
  case 1: /* an event, then a line that is not JSON; the client must drop the stream */
    fake_send(c, EV("ADDED", CM("b", "11")));
    fake_send(c, "this is not json\n");
    break;
  case 2: /* an event, then the stream ends cleanly in the middle of the next one */
    fake_send(c, EV("MODIFIED", CM("b", "12")));
    fake_send(c, "{\"type\":\"MODIFIED\",\"obj");
    fake_end(c, 1);
    break;
  case 3: /* a bookmark split across chunks, then the connection drops mid-transfer */
    fake_send(c, "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":");
    fake_send(c, "{\"resourceVersion\":\"15\"}}}\n");
    fake_end(c, 0);
    break;
  case 4: /* too old: the in-band 410 on an HTTP 200 stream */
    fake_send(c, EV("ERROR", "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                             "\"status\":\"Failure\",\"message\":\"too old resource version: 15 "
                             "(18)\",\"reason\":\"Expired\",\"code\":410}"));
    break;
  default:
    fake_send(c, EV("DELETED", CM("a", "21")));
    break;
  }
}

static void on_change(k8sha__change change, json_t *obj, json_t *old, void *ud) {
  script *s = ud;
  const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
  (void)old;
  logf_(s, "%s %s\n", change == K8SHA__ADDED ? "added" : change == K8SHA__MODIFIED ? "modified" : "deleted",
        name);
  if (change == K8SHA__DELETED && strcmp(name, "a") == 0)
    s->done = 1;
  uv_stop(s->loop);
}

static void on_synced(void *ud) {
  logf_(ud, "synced\n");
}

static void on_error(int err, const char *message, void *ud) {
  script *s = ud;
  logf_(s, "error %s: ", k8sha_err_name(err));
  /* Only the first words: the rest has the URL with its random port. */
  if (strstr(message, "malformed watch event"))
    logf_(s, "malformed\n");
  else if (strstr(message, "ended inside an event"))
    logf_(s, "truncated\n");
  else if (strstr(message, "too old"))
    logf_(s, "expired\n");
  else
    logf_(s, "other\n");
}

/* A context on `loop` pointed at the scripted server on `port`. */
static k8sha_ctx *ctx_for(uv_loop_t *loop, int port) {
  char server[64];
  snprintf(server, sizeof(server), "http://127.0.0.1:%d", port);
  return tu_ctx(loop, server, "/tmp/ha");
}

START_TEST(informer_recovers_from_every_stream_failure) {
  k8sha__informer_cbs cbs = {on_change, on_synced, on_error};
  k8sha__informer_opts io;
  k8sha__informer *inf = NULL;
  k8sha_ctx *ctx = NULL;
  fakeapi *api;
  uv_loop_t loop;
  script s;
  int turns = 0;
  k8sha_stats st;

  memset(&s, 0, sizeof(s));
  uv_loop_init(&loop);
  s.loop = &loop;
  api = fake_start(&loop, handler, &s);
  ctx = ctx_for(&loop, fake_port(api));

  memset(&io, 0, sizeof(io));
  io.collection = COLL;
  io.label_selector = "app=c1,configmap-type=high-availability";
  ck_assert_int_eq(k8sha__informer_new(ctx->kube, &io, &cbs, &s, &inf), 0);
  ck_assert_int_eq(k8sha__informer_start(inf), 0);
  /* The last event stops the loop; the turn count only guards against a broken script. */
  while (!s.done && turns++ < 100)
    uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_msg(s.done, "the informer did not get through the script; it saw:\n%s", s.log);
  ck_assert_str_eq(s.log, "added a\n"
                          "synced\n"
                          "added b\n"
                          "error K8SHA_ECORRUPT: malformed\n"
                          "modified b\n"
                          "error K8SHA_ECORRUPT: truncated\n"
                          "error K8SHA_EUNAVAILABLE: other\n"
                          /* (the 410 then: routine, a new list, no error) */
                          "deleted b\n"
                          "added c\n"
                          "synced\n"
                          "deleted a\n");
  ck_assert_int_eq(s.lists, 2);
  ck_assert_int_eq(s.watches, 5);
  /* Each watch resumed from the last resourceVersion it had seen, selector kept. */
  ck_assert_ptr_nonnull(strstr(s.watch_paths[0], "resourceVersion=10"));
  ck_assert_ptr_nonnull(strstr(s.watch_paths[1], "resourceVersion=11"));
  ck_assert_ptr_nonnull(strstr(s.watch_paths[2], "resourceVersion=12"));
  ck_assert_ptr_nonnull(strstr(s.watch_paths[3], "resourceVersion=15"));
  ck_assert_ptr_nonnull(strstr(s.watch_paths[4], "resourceVersion=20"));
  ck_assert_ptr_nonnull(strstr(s.watch_paths[0], "allowWatchBookmarks=true"));
  ck_assert_ptr_nonnull(strstr(s.watch_paths[0], "labelSelector=app%3Dc1%2Cconfigmap-type%3Dhigh-availability"));
  ck_assert_ptr_nonnull(k8sha__informer_get(inf, "c"));
  ck_assert_ptr_null(k8sha__informer_get(inf, "a"));
  st.version = K8SHA_STATS_VERSION;
  k8sha_ctx_stats(ctx, &st);
  ck_assert_uint_eq(st.relists, 1);
  ck_assert_uint_eq(st.requests_watch, 5);
  ck_assert_uint_eq(st.requests_list, 2);

  k8sha__informer_free(inf);
  k8sha_ctx_free(ctx);
  fake_stop(api);
  while (uv_run(&loop, UV_RUN_DEFAULT))
    ;
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* A watch refused with a Status body ending in a newline, as a real API server sends it: the
 * error is the server's (403), not a malformed event. */
static void forbidding_handler(fakeapi *api, fake_conn *c, const char *method, const char *path,
                               void *ud) {
  script *s = ud;
  (void)api;
  (void)method;
  if (!strstr(path, "watch=1")) {
    fake_reply(c, 200, "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[]}");
    return;
  }
  s->watches++;
  if (s->watches == 1) {
    fake_reply(c, 403, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                       "\"Failure\",\"message\":\"configmaps is forbidden: User \\\"u\\\" cannot watch "
                       "resource \\\"configmaps\\\"\",\"reason\":\"Forbidden\",\"code\":403}\n");
    return;
  }
  fake_stream_begin(c);
  fake_send(c, EV("ADDED", CM("a", "11")));
}

static void on_error_stop(int err, const char *message, void *ud) {
  on_error(err, message, ud);
}

START_TEST(watch_error_bodies_are_errors_not_events) {
  k8sha__informer_cbs cbs = {on_change, NULL, on_error_stop};
  k8sha__informer_opts io;
  k8sha__informer *inf = NULL;
  k8sha_ctx *ctx = NULL;
  fakeapi *api;
  uv_loop_t loop;
  script s;
  int turns = 0;

  memset(&s, 0, sizeof(s));
  uv_loop_init(&loop);
  s.loop = &loop;
  api = fake_start(&loop, forbidding_handler, &s);
  ctx = ctx_for(&loop, fake_port(api));
  memset(&io, 0, sizeof(io));
  io.collection = COLL;
  ck_assert_int_eq(k8sha__informer_new(ctx->kube, &io, &cbs, &s, &inf), 0);
  ck_assert_int_eq(k8sha__informer_start(inf), 0);
  while (!strstr(s.log, "added a") && turns++ < 100)
    uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_str_eq(s.log, "error K8SHA_EFORBIDDEN: other\nadded a\n");
  k8sha__informer_free(inf);
  k8sha_ctx_free(ctx);
  fake_stop(api);
  while (uv_run(&loop, UV_RUN_DEFAULT))
    ;
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* A server whose every watch fails at once, before any event: with an in-band 410 (its history
 * is gone each time), or with a line that is not an event. The informer must back off, growing,
 * not relist or rewatch in a tight loop. */
typedef struct failing {
  uv_loop_t *loop;
  int mode; /* 0: in-band 410 ERROR; 1: a malformed line */
  int lists, watches;
  uint64_t at[16]; /* when each retried request (list for 410, watch for garbage) arrived */
  int n;
} failing;

static void failing_handler(fakeapi *api, fake_conn *c, const char *method, const char *path,
                            void *ud) {
  failing *f = ud;
  (void)api;
  (void)method;
  if (!strstr(path, "watch=1")) {
    if (f->mode == 0 && f->n < 16)
      f->at[f->n++] = uv_now(f->loop);
    f->lists++;
    fake_reply(c, 200, "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[]}");
    return;
  }
  if (f->mode == 1 && f->n < 16)
    f->at[f->n++] = uv_now(f->loop);
  f->watches++;
  fake_stream_begin(c);
  if (f->mode == 0)
    fake_send(c, EV("ERROR", "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
                             "\"message\":\"too old resource version: 10 (20)\"}"));
  else
    fake_send(c, "{\"type\":\"ADDED\",\"object\":[\n");
  fake_end(c, 1);
}

static void ignore_change(k8sha__change change, json_t *obj, json_t *old, void *ud) {
  (void)change;
  (void)obj;
  (void)old;
  (void)ud;
}

static void ignore_error(int err, const char *message, void *ud) {
  (void)err;
  (void)message;
  (void)ud;
}

START_TEST(failing_watches_back_off) {
  int mode;
  for (mode = 0; mode < 2; mode++) {
    k8sha__informer_cbs cbs = {ignore_change, NULL, ignore_error};
    k8sha__informer_opts io;
    k8sha__informer *inf = NULL;
    k8sha_ctx *ctx = NULL;
    fakeapi *api;
    uv_loop_t loop;
    failing f;
    int turns = 0;

    memset(&f, 0, sizeof(f));
    uv_loop_init(&loop);
    f.loop = &loop;
    f.mode = mode;
    api = fake_start(&loop, failing_handler, &f);
    ctx = ctx_for(&loop, fake_port(api));
    memset(&io, 0, sizeof(io));
    io.collection = COLL;
    ck_assert_int_eq(k8sha__informer_new(ctx->kube, &io, &cbs, &f, &inf), 0);
    ck_assert_int_eq(k8sha__informer_start(inf), 0);
    while (f.n < 4 && turns++ < 100000)
      uv_run(&loop, UV_RUN_ONCE);
    ck_assert_int_ge(f.n, 4);
    /* the waits between attempts grow: the steps are 0.8 s, 1.6 s and 3.2 s, each wait between
     * half its step and the step (core/backoff.h), never under 0.8 s */
    ck_assert_msg(f.at[1] - f.at[0] >= 800, "mode %d: first retry after %llu ms", mode,
                  (unsigned long long)(f.at[1] - f.at[0]));
    ck_assert_msg(f.at[2] - f.at[1] >= 800, "mode %d: second retry after %llu ms", mode,
                  (unsigned long long)(f.at[2] - f.at[1]));
    ck_assert_msg(f.at[3] - f.at[2] >= 1600, "mode %d: third retry after %llu ms", mode,
                  (unsigned long long)(f.at[3] - f.at[2]));
    k8sha__informer_free(inf);
    k8sha_ctx_free(ctx);
    fake_stop(api);
    while (uv_run(&loop, UV_RUN_DEFAULT))
      ;
    ck_assert_int_eq(uv_loop_close(&loop), 0);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("watch_stream");
  TCase *tc = tcase_create("watch_stream");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, informer_recovers_from_every_stream_failure);
  tcase_add_test(tc, watch_error_bodies_are_errors_not_events);
  tcase_add_test(tc, failing_watches_back_off);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
