/* The lifetime rule (docs/api-guide.md), object by object: each one freed from inside each of its
 * own callbacks (elections: granted, leader_changed, revoked, error, a publish's done, stopped;
 * retrievers: address and error; watches: an event; a cleanup task's found and done freeing its
 * leader), with nothing called back afterwards and the context then free to go. Run under ASan
 * and valgrind like every integration test: a use after free is a failure there. (The stores'
 * callbacks are in test_store.c: stores_freed_from_their_own_callbacks.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"
#include "k8sha/cleanup.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"
#include "k8sha/watch.h"

#define CLUSTER_PATH "/api/v1/namespaces/flink/configmaps/it-cluster-config-map"
#define JOB "0123456789abcdef0123456789abcdef"

static const char *const timing[] = {
    "high-availability.kubernetes.leader-election.lease-duration", "1000 ms",
    "high-availability.kubernetes.leader-election.renew-deadline", "750 ms",
    "high-availability.kubernetes.leader-election.retry-period", "250 ms", NULL};

/* ---- elections ---- */

enum { AT_GRANTED, AT_CHANGED, AT_REVOKED, AT_ERROR, AT_PUBLISHED, AT_STOPPED, AT_COUNT };
static const char *const at_names[] = {"granted", "leader_changed", "revoked", "error",
                                       "publish done", "stopped"};

typedef struct victim {
  uv_loop_t *loop;
  k8sha_election *e;
  int at;        /* the callback that frees it */
  int freed;     /* it did */
  int after;     /* callbacks that came after the free (must stay 0) */
  int granted;
} victim;

static void free_it(victim *v, k8sha_election *e, int at) {
  if (v->freed) {
    v->after++;
    return;
  }
  if (v->at != at)
    return;
  ck_assert_ptr_eq(e, v->e);
  k8sha_election_free(e);
  v->freed = 1;
  uv_stop(v->loop);
}

static void on_published(k8sha_election *e, int status, void *ud) {
  (void)status;
  free_it(ud, e, AT_PUBLISHED);
}

static void on_v_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  victim *v = ud;
  (void)session;
  (void)term;
  v->granted++;
  free_it(v, e, AT_GRANTED);
  if (!v->freed && v->at == AT_PUBLISHED)
    ck_assert_int_eq(k8sha_election_publish(e, "restserver", "http://jm:8081", on_published, v),
                     0);
  uv_stop(v->loop);
}

static void on_v_revoked(k8sha_election *e, int reason, void *ud) {
  (void)reason;
  free_it(ud, e, AT_REVOKED);
}

static void on_v_changed(k8sha_election *e, const char *identity, void *ud) {
  (void)identity;
  free_it(ud, e, AT_CHANGED);
}

static void on_v_error(k8sha_election *e, int err, const char *message, void *ud) {
  (void)err;
  (void)message;
  free_it(ud, e, AT_ERROR);
}

static void on_v_stopped(k8sha_election *e, int status, void *ud) {
  (void)status;
  free_it(ud, e, AT_STOPPED);
}

/* Somebody else holds the lock now: the leader is revoked. */
static void take_the_lock_away(itest *t, k8sha_ctx *c) {
  it_result r;
  json_t *cm;
  char *body;
  it_request(t, c, K8SHA__GET, CLUSTER_PATH, NULL, NULL, 5000, 1, &r);
  ck_assert_int_eq(r.status, 200);
  cm = json_loads(r.body, 0, NULL);
  ck_assert_ptr_nonnull(cm);
  json_object_set_new(json_object_get(json_object_get(cm, "metadata"), "annotations"),
                      "control-plane.alpha.kubernetes.io/leader",
                      json_string("{\"holderIdentity\":\"intruder\",\"leaseDuration\":15.0,"
                                  "\"acquireTime\":\"2026-01-01T00:00:00.000000Z\","
                                  "\"renewTime\":\"2026-01-01T00:00:00.000000Z\","
                                  "\"leaderTransitions\":99}"));
  body = json_dumps(cm, JSON_COMPACT);
  it_request(t, c, K8SHA__UPDATE, CLUSTER_PATH, body, NULL, 5000, 1, &r);
  free(body);
  json_decref(cm);
  ck_assert_msg(r.status == 200, "%ld %s", r.status, r.message);
}

static void run_until_freed(itest *t, victim *v) {
  int turns = 0;
  while (!v->freed) {
    ck_assert_msg(turns++ < 100000, "the %s callback never came", at_names[v->at]);
    uv_run(&t->loop, UV_RUN_DEFAULT);
  }
}

START_TEST(an_election_freed_from_each_of_its_callbacks) {
  int at;
  for (at = 0; at < AT_COUNT; at++) {
    itest t;
    kubelite_options ko;
    k8sha_election_callbacks cbs;
    k8sha_ctx *c;
    victim v;
  
    memset(&ko, 0, sizeof(ko));
    /* (the error case: a user that may read the lock and create it, never update it) */
    ko.tokens = "weak,weak,configmaps:get|list|watch|create\n";
    it_start(&t, &ko, NULL);
    if (at == AT_ERROR) {
      c = it_ctx_with(&t, it_token_kubeconfig(&t, "weak"), timing);
    } else {
      c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
    }
    memset(&v, 0, sizeof(v));
    v.loop = &t.loop;
    v.at = at;
    memset(&cbs, 0, sizeof(cbs));
    cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
    cbs.granted = on_v_granted;
    cbs.revoked = on_v_revoked;
    cbs.leader_changed = on_v_changed;
    cbs.error = on_v_error;
    cbs.user_data = &v;
    ck_assert_int_eq(k8sha_election_new(&v.e, c, NULL, &cbs), 0);
    ck_assert_int_eq(k8sha_election_start(v.e), 0);
    if (at == AT_REVOKED || at == AT_STOPPED) {
      while (!v.granted)
        uv_run(&t.loop, UV_RUN_DEFAULT);
      if (at == AT_REVOKED)
        take_the_lock_away(&t, t.ctx);
      else
        ck_assert_int_eq(k8sha_election_stop(v.e, on_v_stopped, &v), 0);
    }
    run_until_freed(&t, &v);
    /* a while longer: nothing more may come from it (renewals, watch events, the release) */
    {
      int turns;
      for (turns = 0; turns < 50; turns++)
        uv_run(&t.loop, UV_RUN_NOWAIT);
    }
    ck_assert_int_eq(v.after, 0);
    ck_assert_int_eq(k8sha_ctx_free(c), 0);
    it_stop(&t);
  }
}
END_TEST

/* ---- retrievers ---- */

typedef struct follower {
  uv_loop_t *loop;
  k8sha_retriever *r;
  int freed, after;
} follower;

static void follower_free(follower *f, k8sha_retriever *r) {
  if (f->freed) {
    f->after++;
    return;
  }
  ck_assert_ptr_eq(r, f->r);
  k8sha_retriever_free(r);
  f->freed = 1;
  uv_stop(f->loop);
}

static void on_f_address(k8sha_retriever *r, const char *address, const char *session,
                         void *ud) {
  (void)address;
  (void)session;
  follower_free(ud, r);
}

static void on_f_error(k8sha_retriever *r, int err, const char *message, void *ud) {
  (void)err;
  (void)message;
  follower_free(ud, r);
}

START_TEST(a_retriever_freed_from_each_of_its_callbacks) {
  int blind;
  for (blind = 0; blind < 2; blind++) {
    itest t;
    kubelite_options ko;
    k8sha_retriever_options ro = K8SHA_RETRIEVER_OPTIONS_INIT;
    k8sha_ctx *c;
    follower f;
      int turns = 0;

    memset(&ko, 0, sizeof(ko));
    ko.tokens = "blind,blind,configmaps:get\n";
    it_start(&t, &ko, NULL);
    if (blind) { /* its error callback: it may not list the lock */
      c = it_ctx_with(&t, it_token_kubeconfig(&t, "blind"), timing);
    } else { /* its address callback: the first report (no leader) */
      c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
    }
    memset(&f, 0, sizeof(f));
    f.loop = &t.loop;
    ro.error = on_f_error;
    ck_assert_int_eq(k8sha_retriever_new(&f.r, c, &ro, "restserver", on_f_address, &f), 0);
    while (!f.freed) {
      ck_assert_msg(turns++ < 100000, "the retriever never called back");
      uv_run(&t.loop, UV_RUN_DEFAULT);
    }
    for (turns = 0; turns < 50; turns++)
      uv_run(&t.loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(f.after, 0);
    ck_assert_int_eq(k8sha_ctx_free(c), 0);
    it_stop(&t);
  }
}
END_TEST

/* ---- watches ---- */

typedef struct watcher {
  uv_loop_t *loop;
  k8sha_watch *w;
  k8sha_watch_event_type at;
  int freed, after;
} watcher;

static void on_w_event(k8sha_watch *w, const k8sha_watch_event *ev, void *ud) {
  watcher *x = ud;
  if (x->freed) {
    x->after++;
    return;
  }
  if (ev->type != x->at)
    return;
  ck_assert_ptr_eq(w, x->w);
  k8sha_watch_free(w);
  x->freed = 1;
  uv_stop(x->loop);
}

START_TEST(a_watch_freed_from_its_callback) {
  static const k8sha_watch_event_type ats[] = {K8SHA_WATCH_SYNCED, K8SHA_WATCH_ADDED};
  size_t i;
  for (i = 0; i < sizeof(ats) / sizeof(ats[0]); i++) {
    itest t;
    watcher x;
    it_result r;
    int turns = 0;

    it_start(&t, NULL, NULL);
    memset(&x, 0, sizeof(x));
    x.loop = &t.loop;
    x.at = ats[i];
    ck_assert_int_eq(k8sha_watch_new(&x.w, t.ctx, "app=lifetimes", on_w_event, &x), 0);
    if (x.at == K8SHA_WATCH_ADDED) {
      it_request(&t, t.ctx, K8SHA__CREATE, "/api/v1/namespaces/flink/configmaps",
                 "{\"metadata\":{\"name\":\"a\",\"labels\":{\"app\":\"lifetimes\"}},"
                 "\"data\":{\"k\":\"v\"}}",
                 NULL, 5000, 1, &r);
      ck_assert_int_eq(r.err, 0);
    }
    while (!x.freed) {
      ck_assert_msg(turns++ < 100000, "the watch never called back");
      uv_run(&t.loop, UV_RUN_DEFAULT);
    }
    it_request(&t, t.ctx, K8SHA__CREATE, "/api/v1/namespaces/flink/configmaps",
               "{\"metadata\":{\"name\":\"b\",\"labels\":{\"app\":\"lifetimes\"}}}", NULL, 5000, 1,
               &r);
    for (turns = 0; turns < 50; turns++)
      uv_run(&t.loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(x.after, 0);
    ck_assert_int_eq(k8sha_ctx_free(t.ctx), 0); /* (refused if the watch were still counted) */
    t.ctx = NULL;
    it_stop(&t);
  }
}
END_TEST

/* ---- a cleanup task whose leader is freed from its callbacks ---- */

typedef struct cleaner {
  uv_loop_t *loop;
  k8sha_election *leader;
  int free_in_found, done, status, found;
} cleaner;

static void on_c_found(k8sha_found_kind kind, const char *name, void *ud) {
  cleaner *c = ud;
  (void)kind;
  (void)name;
  c->found++;
  if (c->free_in_found && c->leader) {
    k8sha_election_free(c->leader);
    c->leader = NULL;
  }
}

static void on_c_done(int status, const char *message, void *ud) {
  cleaner *c = ud;
  (void)message;
  c->done++;
  c->status = status;
  if (c->leader) {
    k8sha_election_free(c->leader);
    c->leader = NULL;
  }
  uv_stop(c->loop);
}

static void on_c_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  (void)e;
  (void)session;
  (void)term;
  *(int *)ud = 1;
}

START_TEST(a_cleanup_task_whose_leader_is_freed_from_its_callbacks) {
  int in_found;
  for (in_found = 0; in_found < 2; in_found++) {
    itest t;
    k8sha_election_callbacks cbs;
    cleaner cl;
    it_result r;
    int granted = 0, turns = 0;

    it_start(&t, NULL, NULL);
    /* a job ConfigMap with a checkpoint entry to report */
    it_request(&t, t.ctx, K8SHA__CREATE, "/api/v1/namespaces/flink/configmaps",
               "{\"metadata\":{\"name\":\"it-" JOB "-config-map\",\"labels\":{\"app\":\"it\","
               "\"configmap-type\":\"high-availability\"}},\"data\":{\"counter\":\"2\"}}",
               NULL, 5000, 1, &r);
    ck_assert_int_eq(r.err, 0);
    memset(&cl, 0, sizeof(cl));
    cl.loop = &t.loop;
    cl.free_in_found = in_found;
    memset(&cbs, 0, sizeof(cbs));
    cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
    cbs.granted = on_c_granted;
    cbs.user_data = &granted;
    ck_assert_int_eq(k8sha_election_new(&cl.leader, t.ctx, NULL, &cbs), 0);
    ck_assert_int_eq(k8sha_election_start(cl.leader), 0);
    while (!granted)
      uv_run(&t.loop, UV_RUN_ONCE);
    ck_assert_int_eq(k8sha_cleanup_job(t.ctx, cl.leader, JOB, 0, on_c_found, on_c_done, &cl), 0);
    while (!cl.done) {
      ck_assert_msg(turns++ < 100000, "the cleanup never ended");
      uv_run(&t.loop, UV_RUN_DEFAULT);
    }
    ck_assert_int_eq(cl.done, 1);
    if (in_found) /* its leader went from under it: it stopped */
      ck_assert_int_eq(cl.status, K8SHA_ECANCELED);
    ck_assert_ptr_null(cl.leader);
    it_stop(&t);
  }
}
END_TEST

/* ---- the context freed right after its election, on the library's own loop ---- */

typedef struct bg {
  k8sha_election *e;
  k8sha_waiter *leading;
} bg;

static void on_bg_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  (void)e;
  (void)session;
  (void)term;
  k8sha_waiter_signal(((bg *)ud)->leading, 0);
}

static int bg_start(k8sha_ctx *ctx, void *ud) {
  bg *b = ud;
  k8sha_election_callbacks cbs;
  k8sha_election_options o = K8SHA_ELECTION_OPTIONS_INIT;
  int rc;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_bg_granted;
  cbs.user_data = b;
  o.identity = "background";
  rc = k8sha_election_new(&b->e, ctx, &o, &cbs);
  return rc ? rc : k8sha_election_start(b->e);
}

static int bg_leave(k8sha_ctx *ctx, void *ud) {
  bg *b = ud;
  (void)ctx;
  ck_assert_int_eq(k8sha_election_stop(b->e, NULL, NULL), 0);
  k8sha_election_free(b->e);
  return 0;
}

static void on_next_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  (void)e;
  (void)session;
  (void)term;
  *(int *)ud = 1;
}

/* A host on the library's loop that stops, frees its election and at once its context: the
 * release still goes out before the context closes, so the next contender takes over in
 * milliseconds rather than after the (here one-minute) lease. */
typedef struct task_end {
  uv_loop_t *loop;
  int done, status;
} task_end;

static void on_task_end(int status, const char *message, void *ud) {
  task_end *e = ud;
  (void)message;
  e->done = 1;
  e->status = status;
  uv_stop(e->loop);
}

/* A running cleanup task or orphan scan keeps its context: freeing the context is refused
 * (K8SHA_EBUSY, nothing freed) until the task has ended; then it goes. (Before, the context went
 * and a task waiting on storage was left behind, never to end.) */
START_TEST(a_running_task_keeps_its_context) {
  int scan;
  for (scan = 0; scan <= 1; scan++) {
    itest t;
    task_end e;
    int turns = 0;

    it_start(&t, NULL, NULL);
    memset(&e, 0, sizeof(e));
    e.loop = &t.loop;
    if (scan)
      ck_assert_int_eq(k8sha_orphans_scan(t.ctx, NULL, NULL, on_task_end, &e), 0);
    else
      ck_assert_int_eq(k8sha_cleanup_cluster(t.ctx, K8SHA_CLEANUP_DRY_RUN, NULL, on_task_end, &e),
                       0);
    ck_assert_int_eq(k8sha_ctx_free(t.ctx), K8SHA_EBUSY);
    ck_assert_ptr_nonnull(strstr(k8sha_last_error(), "cleanup tasks"));
    while (!e.done) {
      ck_assert_msg(turns++ < 100000, "the task never ended");
      uv_run(&t.loop, UV_RUN_DEFAULT);
    }
    ck_assert_int_eq(e.status, 0);
    ck_assert_int_eq(k8sha_ctx_free(t.ctx), 0);
    t.ctx = NULL;
    it_stop(&t);
  }
}
END_TEST

START_TEST(freeing_the_context_lets_a_release_land_first) {
  /* (renewals every 20 s: within the test, the release is the only write of the lock) */
  static const char *const long_lease[] = {
      "high-availability.kubernetes.leader-election.lease-duration", "60 s",
      "high-availability.kubernetes.leader-election.renew-deadline", "50 s",
      "high-availability.kubernetes.leader-election.retry-period", "20 s", NULL};
  itest t;
  k8sha_config *cfg = NULL;
  k8sha_ctx *lib_ctx = NULL, *c;
  k8sha_election_callbacks cbs;
  k8sha_election *next = NULL;
  bg b;
  int status = 0, granted = 0;
  size_t i;
  uint64_t freed_at;

  it_start(&t, NULL, NULL);
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  k8sha_config_set(cfg, "kubernetes.config.file", kubelite_kubeconfig(t.kl));
  k8sha_config_set(cfg, "kubernetes.cluster-id", "it");
  k8sha_config_set(cfg, "kubernetes.namespace", "flink");
  k8sha_config_set(cfg, "high-availability.type", "kubernetes");
  k8sha_config_set(cfg, "high-availability.storageDir", "/tmp/ha");
  for (i = 0; long_lease[i]; i += 2)
    k8sha_config_set(cfg, long_lease[i], long_lease[i + 1]);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), 0);
  ck_assert_int_eq(k8sha_ctx_new(&lib_ctx, cfg, NULL), 0); /* the library's own loop thread */
  k8sha_config_free(cfg);
  memset(&b, 0, sizeof(b));
  ck_assert_int_eq(k8sha_waiter_new(&b.leading), 0);
  ck_assert_int_eq(k8sha_ctx_call(lib_ctx, bg_start, &b), 0);
  ck_assert_int_eq(k8sha_waiter_wait(b.leading, 60000, &status), 0);
  k8sha_waiter_free(b.leading);

  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), long_lease);
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_next_granted;
  cbs.user_data = &granted;
  ck_assert_int_eq(k8sha_election_new(&next, c, NULL, &cbs), 0);
  ck_assert_int_eq(k8sha_election_start(next), 0);

  /* The release's first attempt is answered 409 after a pause: it lands only if the election
   * may read the lock again and retry, after the context was freed. */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"update\",\"patch\"],\"resources\":[\"configmaps\"],"
                                            "\"name\":\"it-cluster-config-map\",\"latencyMs\":300,"
                                            "\"code\":409,\"count\":1}"),
                   0);
  ck_assert_int_eq(k8sha_ctx_call(lib_ctx, bg_leave, &b), 0);
  ck_assert_int_eq(k8sha_ctx_free(lib_ctx), 0); /* right away */
  freed_at = k8sha__now_ms(&c->rt);
  while (!granted)
    uv_run(&t.loop, UV_RUN_ONCE);
  ck_assert_msg(k8sha__now_ms(&c->rt) - freed_at < 30000, "the next contender waited %llu ms",
                (unsigned long long)(k8sha__now_ms(&c->rt) - freed_at));
  k8sha_election_free(next);
  ck_assert_int_eq(k8sha_ctx_free(c), 0);
  it_stop(&t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("lifetimes");
  TCase *tc = tcase_create("lifetimes");
  tcase_set_timeout(tc, 240);
  it_add(tc, an_election_freed_from_each_of_its_callbacks, IT_KUBELITE);
  it_add(tc, a_retriever_freed_from_each_of_its_callbacks, IT_KUBELITE);
  it_add(tc, a_watch_freed_from_its_callback, IT_ANY);
  it_add(tc, a_cleanup_task_whose_leader_is_freed_from_its_callbacks, IT_ANY);
  it_add(tc, a_running_task_keeps_its_context, IT_ANY);
  it_add(tc, freeing_the_context_lets_a_release_land_first, IT_FAULTS);
  suite_add_tcase(s, tc);
  return it_run_suite(s);
}
