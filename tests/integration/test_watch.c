/* k8sha_watch against kube-lite while watches are ended, history is compacted (410 Expired) and
 * the server restarts: at the end, what the watch has seen equals what the server holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"
#include "kube/informer.h"
#include "k8sha/errors.h"
#include "k8sha/watch.h"

#define NS "/api/v1/namespaces/flink/configmaps"
#define LABELS "\"labels\":{\"app\":\"it\",\"configmap-type\":\"high-availability\"}"

typedef struct seen {
  uv_loop_t *loop;
  json_t *objects; /* name -> resourceVersion, as the watch reported */
  int synced, errors, events;
} seen;

static void on_event(k8sha_watch *w, const k8sha_watch_event *ev, void *ud) {
  seen *s = ud;
  (void)w;
  switch (ev->type) {
  case K8SHA_WATCH_ADDED:
  case K8SHA_WATCH_MODIFIED:
    ck_assert_ptr_nonnull(ev->object_json);
    json_object_set_new(s->objects, ev->name, json_string(ev->resource_version));
    break;
  case K8SHA_WATCH_DELETED:
    ck_assert_ptr_nonnull(json_object_get(s->objects, ev->name));
    json_object_del(s->objects, ev->name);
    break;
  case K8SHA_WATCH_SYNCED:
    s->synced++;
    break;
  case K8SHA_WATCH_ERROR:
    ck_assert_ptr_nonnull(ev->message);
    s->errors++;
    break;
  }
  s->events++;
  uv_stop(s->loop);
}

/* Runs the loop until the watch reports `name` at the resourceVersion in `body` (or gone when
 * body is NULL). */
static void await_state(itest *t, seen *s, const char *name, const char *rv) {
  int turns = 0;
  for (;;) {
    const char *have = json_string_value(json_object_get(s->objects, name));
    if (rv ? (have && strcmp(have, rv) == 0) : !have)
      return;
    ck_assert_msg(turns++ < 10000, "the watch never reported %s at %s", name, rv ? rv : "gone");
    uv_run(&t->loop, UV_RUN_DEFAULT);
  }
}

static void rv_of(const it_result *r, char *rv, size_t size) {
  json_error_t e;
  json_t *j = json_loads(r->body, 0, &e);
  const char *v = json_string_value(json_object_get(json_object_get(j, "metadata"), "resourceVersion"));
  ck_assert_ptr_nonnull(v);
  snprintf(rv, size, "%s", v);
  json_decref(j);
}

static void put_cm(itest *t, const char *name, const char *value, char *rv, size_t size) {
  char body[512], path[256];
  it_result r;
  snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"," LABELS "},\"data\":{\"v\":\"%s\"}}",
           name, value);
  snprintf(path, sizeof(path), NS "/%s", name);
  it_request(t, t->ctx, K8SHA__UPDATE, path, body, NULL, 0, 0, &r);
  if (r.err == K8SHA_ENOTFOUND)
    it_request(t, t->ctx, K8SHA__CREATE, NS, body, NULL, 0, 0, &r);
  ck_assert_msg(r.err == 0, "writing %s: %s", name, r.message);
  rv_of(&r, rv, size);
}

static void delete_cm(itest *t, const char *name) {
  char path[256];
  it_result r;
  snprintf(path, sizeof(path), NS "/%s", name);
  it_request(t, t->ctx, K8SHA__DELETE, path, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
}

START_TEST(nothing_is_missed_across_expiry_and_restarts) {
  kubelite_options ko;
  itest t;
  seen s;
  k8sha_watch *w = NULL;
  char rv1[32], rv2[32], rv3[32], rvx[32];
  it_result r;
  json_t *list, *items, *item, *server;
  json_error_t je;
  size_t i;
  k8sha_stats st;

  memset(&ko, 0, sizeof(ko));
  ko.persist = 1;
  it_start(&t, &ko, NULL);
  memset(&s, 0, sizeof(s));
  s.loop = &t.loop;
  s.objects = json_object();

  /* A ConfigMap that exists before the watch, and one without the HA labels (never reported). */
  put_cm(&t, "cm1", "a", rv1, sizeof(rv1));
  it_request(&t, t.ctx, K8SHA__CREATE, NS, "{\"metadata\":{\"name\":\"other\"},\"data\":{}}", NULL, 0, 0, &r);
  ck_assert_int_eq(k8sha_watch_new(&w, t.ctx, NULL, on_event, &s), 0);
  await_state(&t, &s, "cm1", rv1);
  ck_assert_int_eq(s.synced, 1);

  /* Changes while watching. */
  put_cm(&t, "cm2", "b", rv2, sizeof(rv2));
  await_state(&t, &s, "cm2", rv2);

  /* The server ends every watch: the client resumes from where it was. */
  ck_assert_int_ge(kubelite_end_watches(t.kl), 1);
  put_cm(&t, "cm1", "a2", rv1, sizeof(rv1));
  await_state(&t, &s, "cm1", rv1);

  /* Watches fail while history is compacted: the resumed watch gets 410 and the client lists
   * again, catching up on what happened meanwhile (including a deletion). */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"watch\"],\"code\":500,\"count\":100000}"), 0);
  ck_assert_int_ge(kubelite_end_watches(t.kl), 1);
  put_cm(&t, "cm3", "c", rv3, sizeof(rv3));
  delete_cm(&t, "cm2");
  put_cm(&t, "cm1", "a3", rv1, sizeof(rv1));
  ck_assert_int_eq(kubelite_compact(t.kl), 0);
  ck_assert_int_eq(kubelite_clear_faults(t.kl), 0);
  await_state(&t, &s, "cm3", rv3);
  await_state(&t, &s, "cm2", NULL);
  await_state(&t, &s, "cm1", rv1);
  st.version = K8SHA_STATS_VERSION;
  k8sha_ctx_stats(t.ctx, &st);
  ck_assert_uint_ge(st.relists, 1);
  ck_assert_int_ge(s.synced, 2);

  /* The server goes away and comes back with its data: the watch reconnects by itself. */
  ck_assert_int_eq(kubelite_stop(t.kl), 0);
  ck_assert_int_eq(kubelite_restart(t.kl), 0);
  put_cm(&t, "cm4", "d", rvx, sizeof(rvx));
  await_state(&t, &s, "cm4", rvx);
  delete_cm(&t, "cm3");
  await_state(&t, &s, "cm3", NULL);
  ck_assert_int_ge(s.errors, 1); /* the outage was reported, not hidden */

  /* What the watch saw is exactly what the server holds. */
  it_request(&t, t.ctx, K8SHA__LIST, NS "?labelSelector=app%3Dit", NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  list = json_loads(r.body, 0, &je);
  items = json_object_get(list, "items");
  server = json_object();
  json_array_foreach(items, i, item) {
    json_t *m = json_object_get(item, "metadata");
    json_object_set(server, json_string_value(json_object_get(m, "name")),
                    json_object_get(m, "resourceVersion"));
  }
  ck_assert_msg(json_equal(server, s.objects), "server %s != watch %s",
                json_dumps(server, JSON_COMPACT), json_dumps(s.objects, JSON_COMPACT));
  ck_assert_int_eq((int)json_object_size(server), 2);
  json_decref(server);
  json_decref(list);
  k8sha_watch_free(w);
  json_decref(s.objects);
  it_stop(&t);
}
END_TEST

/* An informer whose watch (ended by the server after its timeoutSeconds) resumes from a
 * resourceVersion that has been compacted away in the meantime: the server answers 410 and the
 * informer lists again, missing nothing. Runs against kube-lite (history dropped) and against a
 * real kube-apiserver (etcd compacted; its configmaps watch cache off, see tests/realkube). */
typedef struct relisting {
  uv_loop_t *loop;
  int synced, modified, expired_reports;
} relisting;

static void on_rl_change(k8sha__change change, json_t *obj, json_t *old, void *ud) {
  relisting *r = ud;
  const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), "k"));
  (void)old;
  if (change == K8SHA__MODIFIED && v && strcmp(v, "after") == 0) {
    r->modified = 1;
    uv_stop(r->loop);
  }
}

static void on_rl_synced(void *ud) {
  relisting *r = ud;
  r->synced++;
  uv_stop(r->loop);
}

static void on_rl_error(int err, const char *message, void *ud) {
  relisting *r = ud;
  (void)message;
  if (err == K8SHA_EEXPIRED)
    r->expired_reports++;
}

START_TEST(resuming_from_a_compacted_version_relists) {
  itest t;
  it_result r;
  relisting rl;
  k8sha__informer *inf = NULL;
  k8sha__informer_cbs cbs = {on_rl_change, on_rl_synced, on_rl_error};
  k8sha__informer_opts o;
  k8sha_stats st;
  char body[512];
  int i, turns = 0;

  it_start(&t, NULL, NULL);
  it_request(&t, t.ctx, K8SHA__CREATE, NS,
             "{\"metadata\":{\"name\":\"w1\",\"labels\":{\"app\":\"relist\"}},\"data\":{\"k\":\"before\"}}",
             NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  memset(&rl, 0, sizeof(rl));
  rl.loop = &t.loop;
  memset(&o, 0, sizeof(o));
  o.collection = NS;
  o.label_selector = "app=relist";
  o.watch_timeout_s = 1; /* the server ends each watch after 1-2 s */
  ck_assert_int_eq(k8sha__informer_new(t.ctx->kube, &o, &cbs, &rl, &inf), 0);
  ck_assert_int_eq(k8sha__informer_start(inf), 0);
  it_run_until(&t, &rl.synced);
  /* Objects the informer does not watch move the revision on; then history is compacted. Its
   * own resourceVersion is now older than anything the server can resume from. */
  for (i = 0; i < 5; i++) {
    snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"other%d\"},\"data\":{\"k\":\"v\"}}", i);
    it_request(&t, t.ctx, K8SHA__CREATE, NS, body, NULL, 0, 0, &r);
    ck_assert_int_eq(r.err, 0);
  }
  ck_assert_int_eq(kubelite_compact(t.kl), 0);
  /* the watch ends, resumes from the compacted version, gets 410, lists again */
  while (rl.synced < 2) {
    ck_assert_msg(turns++ < 100000, "the informer never listed again");
    uv_run(&t.loop, UV_RUN_DEFAULT);
  }
  st.version = K8SHA_STATS_VERSION;
  ck_assert_int_eq(k8sha_ctx_stats(t.ctx, &st), 0);
  ck_assert_uint_ge(st.relists, 1);
  /* routine recovery, not an error: the owner's error callback did not hear of it */
  ck_assert_int_eq(rl.expired_reports, 0);
  /* and it keeps following */
  it_request(&t, t.ctx, K8SHA__GET, NS "/w1", NULL, NULL, 0, 0, &r);
  {
    json_t *obj = json_loads(r.body, 0, NULL);
    char *text;
    json_object_set_new(json_object_get(obj, "data"), "k", json_string("after"));
    text = json_dumps(obj, JSON_COMPACT);
    it_request(&t, t.ctx, K8SHA__UPDATE, NS "/w1", text, NULL, 0, 0, &r);
    free(text);
    json_decref(obj);
  }
  ck_assert_int_eq(r.err, 0);
  it_run_until(&t, &rl.modified);
  k8sha__informer_free(inf);
  it_stop(&t);
}
END_TEST

/* More objects than one page of a LIST (500): the informer follows the continue tokens and
 * sees every one at its sync, then keeps following. */
typedef struct counting {
  uv_loop_t *loop;
  int synced, added, added_at_sync;
} counting;

static void on_cnt_change(k8sha__change change, json_t *obj, json_t *old, void *ud) {
  counting *c = ud;
  (void)obj;
  (void)old;
  if (change == K8SHA__ADDED)
    c->added++;
}

static void on_cnt_synced(void *ud) {
  counting *c = ud;
  c->synced++;
  c->added_at_sync = c->added;
  uv_stop(c->loop);
}

START_TEST(lists_of_many_pages_are_followed) {
  itest t;
  it_result r;
  counting c;
  k8sha__informer *inf = NULL;
  k8sha__informer_cbs cbs = {on_cnt_change, on_cnt_synced, on_rl_error};
  k8sha__informer_opts o;
  k8sha_stats st;
  uint64_t lists_before;
  char body[256];
  int i;

  it_start(&t, NULL, NULL);
  for (i = 0; i < 1234; i++) {
    snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"page-%04d\",\"labels\":{\"app\":\"paged\"}},"
                                 "\"data\":{\"k\":\"v\"}}", i);
    it_request(&t, t.ctx, K8SHA__CREATE, NS, body, NULL, 0, 0, &r);
    ck_assert_int_eq(r.err, 0);
  }
  memset(&c, 0, sizeof(c));
  c.loop = &t.loop;
  st.version = K8SHA_STATS_VERSION;
  ck_assert_int_eq(k8sha_ctx_stats(t.ctx, &st), 0);
  lists_before = st.requests_list;
  memset(&o, 0, sizeof(o));
  o.collection = NS;
  o.label_selector = "app=paged";
  ck_assert_int_eq(k8sha__informer_new(t.ctx->kube, &o, &cbs, &c, &inf), 0);
  ck_assert_int_eq(k8sha__informer_start(inf), 0);
  it_run_until(&t, &c.synced);
  ck_assert_int_eq(c.added_at_sync, 1234);
  ck_assert_ptr_nonnull(k8sha__informer_get(inf, "page-0000"));
  ck_assert_ptr_nonnull(k8sha__informer_get(inf, "page-1233"));
  /* in pages: three LISTs (500 + 500 + 234), not one response of everything */
  st.version = K8SHA_STATS_VERSION;
  ck_assert_int_eq(k8sha_ctx_stats(t.ctx, &st), 0);
  ck_assert_uint_eq(st.requests_list - lists_before, 3);
  k8sha__informer_free(inf);
  it_stop(&t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("watch");
  TCase *tc = tcase_create("watch");
  tcase_set_timeout(tc, 180);
  it_add(tc, nothing_is_missed_across_expiry_and_restarts, IT_FAULTS);
  it_add(tc, resuming_from_a_compacted_version_relists, IT_ANY);
  it_add(tc, lists_of_many_pages_are_followed, IT_ANY);
  suite_add_tcase(s, tc);
  return it_run_suite(s);
}
