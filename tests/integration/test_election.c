/* Leader election and retrieval against kube-lite: Flink's driver cases (grant, revoke, publish,
 * external modification corrected, lock deleted, retrieval, late retriever) and the cases where
 * libk8sha must do better (clock skew, self-revoke on renew failure, API server down, forbidden
 * verbs, instant handover, one watch per lock). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "election/record.h"
#include "itest.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"
#include "k8sha/watch.h"

#define LOCK "it-cluster-config-map"
#define LOCK_PATH "/api/v1/namespaces/flink/configmaps/" LOCK
#define LEASE_MS 1000
static const char *const timing[] = {
    "high-availability.kubernetes.leader-election.lease-duration", "1000 ms",
    "high-availability.kubernetes.leader-election.renew-deadline", "750 ms",
    "high-availability.kubernetes.leader-election.retry-period", "250 ms",
    NULL};

typedef struct probe {
  uv_loop_t *loop;
  int granted, revoked, revoke_reason, changes, errors, last_error;
  char session[64], holder[128], error_msg[512];
  uint64_t term, granted_at, revoked_at;
  k8sha_ctx *ctx;
} probe;

static void stop_loop(probe *p) {
  uv_stop(p->loop);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  probe *p = ud;
  (void)e;
  p->granted++;
  p->term = term;
  p->granted_at = k8sha__now_ms(&p->ctx->rt);
  snprintf(p->session, sizeof(p->session), "%s", session);
  stop_loop(p);
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  probe *p = ud;
  (void)e;
  p->revoked++;
  p->revoke_reason = reason;
  p->revoked_at = k8sha__now_ms(&p->ctx->rt);
  stop_loop(p);
}

static void on_changed(k8sha_election *e, const char *identity, void *ud) {
  probe *p = ud;
  (void)e;
  p->changes++;
  snprintf(p->holder, sizeof(p->holder), "%s", identity ? identity : "");
  stop_loop(p);
}

static void on_error(k8sha_election *e, int err, const char *message, void *ud) {
  probe *p = ud;
  (void)e;
  p->errors++;
  p->last_error = err;
  snprintf(p->error_msg, sizeof(p->error_msg), "%s", message);
  stop_loop(p);
}

static k8sha_lock_kind g_kind = K8SHA_LOCK_CONFIGMAP; /* the lock the contenders use */

static k8sha_election *contender(k8sha_ctx *ctx, const char *id, probe *p, uv_loop_t *loop) {
  k8sha_election_options o = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  k8sha_election *e = NULL;
  memset(p, 0, sizeof(*p));
  p->loop = loop;
  p->ctx = ctx;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.leader_changed = on_changed;
  cbs.error = on_error;
  cbs.user_data = p;
  o.identity = id;
  o.lock = g_kind;
  ck_assert_int_eq(k8sha_election_new(&e, ctx, &o, &cbs), 0);
  ck_assert_int_eq(k8sha_election_start(e), 0);
  return e;
}

/* Runs the loop until *counter reaches `want` (callbacks stop the loop). */
static void await_count(itest *t, const int *counter, int want) {
  int turns = 0;
  while (*counter < want) {
    ck_assert_msg(turns++ < 100000, "event never came");
    uv_run(&t->loop, UV_RUN_DEFAULT);
  }
}

typedef struct addr_probe {
  uv_loop_t *loop;
  int calls;
  char address[256], session[64];
  char seen[4096]; /* every address reported, one per line */
} addr_probe;

static void on_address(k8sha_retriever *r, const char *address, const char *session, void *ud) {
  addr_probe *a = ud;
  (void)r;
  a->calls++;
  snprintf(a->address, sizeof(a->address), "%s", address ? address : "");
  if (strlen(a->seen) + strlen(a->address) + 2 < sizeof(a->seen))
    strcat(strcat(a->seen, a->address), "\n");
  snprintf(a->session, sizeof(a->session), "%s", session ? session : "");
  uv_stop(a->loop);
}

/* Runs the loop until `want` has been reported at some point (it may have come and gone while
 * the test itself waited for a request of its own). */
static void await_seen(itest *t, addr_probe *a, const char *want) {
  int turns = 0;
  while (!strstr(a->seen, want)) {
    ck_assert_msg(turns++ < 100000, "address '%s' was never reported (saw: %s)", want, a->seen);
    uv_run(&t->loop, UV_RUN_DEFAULT);
  }
}

static void await_address(itest *t, addr_probe *a, const char *want) {
  int turns = 0;
  while (strcmp(a->address, want) != 0) {
    ck_assert_msg(turns++ < 100000, "address never became '%s' (is '%s')", want, a->address);
    uv_run(&t->loop, UV_RUN_DEFAULT);
  }
}

static uv_loop_t *done_loop; /* the loop on_done stops */

static void on_done(k8sha_election *e, int status, void *ud) {
  int *s = ud;
  (void)e;
  *s = status == 0 ? 1 : status;
  uv_stop(done_loop);
}

/* Writes the lock object's record as another contender would (and keeps the rest). */
static void write_record(itest *t, const char *holder, const char *renew_time, uint64_t transitions) {
  it_result r;
  json_t *obj;
  json_error_t je;
  char rec[512], *body;
  it_request(t, t->ctx, K8SHA__GET, LOCK_PATH, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  obj = json_loads(r.body, 0, &je);
  snprintf(rec, sizeof(rec),
           "{\"holderIdentity\":\"%s\",\"leaseDuration\":1.000000000,\"acquireTime\":\"%s\","
           "\"renewTime\":\"%s\",\"leaderTransitions\":%llu}",
           holder, renew_time, renew_time, (unsigned long long)transitions);
  if (!json_object_get(json_object_get(obj, "metadata"), "annotations"))
    json_object_set_new(json_object_get(obj, "metadata"), "annotations", json_object());
  json_object_set_new(json_object_get(json_object_get(obj, "metadata"), "annotations"),
                      K8SHA__LEADER_ANNOTATION, json_string(rec));
  body = json_dumps(obj, JSON_COMPACT);
  it_request(t, t->ctx, K8SHA__UPDATE, LOCK_PATH, body, NULL, 0, 0, &r);
  ck_assert_msg(r.err == 0, "%s", r.message);
  free(body);
  json_decref(obj);
}

/* Writes the restserver entry of the lock as another client with the documented Role could (a
 * read, then a conditional update; read again after a 409). */
static void put_entry(itest *t, k8sha_lock_kind kind, const char *value) {
  /* (with a Lease lock the entries live in the ConfigMap <lease>-addresses) */
  const char *path = kind == K8SHA_LOCK_LEASE
                         ? "/api/v1/namespaces/flink/configmaps/it-cluster-lease-addresses"
                         : LOCK_PATH;
  int attempts = 0;
  it_result res;
  do {
    json_t *obj, *bag;
    char *body;
    ck_assert_int_lt(attempts++, 20); /* a renewal in between gives a 409: read again */
    it_request(t, t->ctx, K8SHA__GET, path, NULL, NULL, 0, 0, &res);
    ck_assert_int_eq(res.err, 0);
    obj = json_loads(res.body, 0, NULL);
    ck_assert_ptr_nonnull(obj);
    bag = json_object_get(obj, "data");
    if (!bag) {
      bag = json_object();
      json_object_set_new(obj, "data", bag);
    }
    json_object_set_new(bag, "org.apache.flink.k8s.leader.restserver", json_string(value));
    body = json_dumps(obj, JSON_COMPACT);
    it_request(t, t->ctx, K8SHA__UPDATE, path, body, NULL, 0, 0, &res);
    free(body);
    json_decref(obj);
  } while (res.err == K8SHA_ECONFLICT);
  ck_assert_int_eq(res.err, 0);
}

/* The Flink driver cases, on either kind of lock. */
static void grant_publish_retrieve_and_release(k8sha_lock_kind kind) {
  itest t;
  probe p1, p2;
  addr_probe a;
  k8sha_ctx *c1, *c2;
  k8sha_election *e1, *e2;
  k8sha_retriever *r = NULL, *late = NULL;
  k8sha_retriever_options ro = K8SHA_RETRIEVER_OPTIONS_INIT;
  addr_probe la;
  int published = 0, stopped = 0;
  uint64_t handover_start;

  g_kind = kind;
  ro.lock = kind;
  it_start(&t, NULL, NULL);
  done_loop = &t.loop;
  c1 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  c2 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  memset(&a, 0, sizeof(a));
  a.loop = &t.loop;
  ck_assert_int_eq(k8sha_retriever_new(&r, c2, &ro, "restserver", on_address, &a), 0);
  e1 = contender(c1, "one", &p1, &t.loop);
  await_count(&t, &p1.granted, 1);
  ck_assert_int_eq(p1.term, 0); /* created the lock */
  ck_assert(k8sha_election_is_leader(e1));
  ck_assert_str_eq(k8sha_election_session(e1), p1.session);

  /* A second contender follows. (Its context's watch may not have delivered the lock yet when
   * it first looks, as with a real API server's watch cache: it may first report no holder,
   * and must then learn "one" without ever leading.) */
  e2 = contender(c2, "two", &p2, &t.loop);
  {
    int turns = 0;
    while (strcmp(p2.holder, "one") != 0) {
      ck_assert_msg(turns++ < 100000, "the follower never saw the leader (sees '%s')", p2.holder);
      uv_run(&t.loop, UV_RUN_DEFAULT);
    }
  }
  ck_assert_int_eq(p2.granted, 0);

  /* A component that would make an invalid ConfigMap key, or an address too long to store,
   * is refused before anything is written (every renewal would fail otherwise). */
  ck_assert_int_eq(k8sha_election_publish(e1, "job/x", "http://one:8081", NULL, NULL), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_election_publish(e1, "rest server", "http://one:8081", NULL, NULL),
                   K8SHA_EINVAL);
  {
    char longer[2000];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    ck_assert_int_eq(k8sha_election_publish(e1, "restserver", longer, NULL, NULL), K8SHA_EINVAL);
    ck_assert_int_eq(k8sha_election_publish(e1, longer + 1000, "http://one:8081", NULL, NULL),
                     K8SHA_EINVAL);
  }
  /* Publish; the retriever (another context) sees it. */
  ck_assert_int_eq(k8sha_election_publish(e1, "restserver", "http://one:8081", on_done, &published), 0);
  while (published == 0)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(published, 1);
  await_address(&t, &a, "http://one:8081");
  ck_assert_str_eq(a.session, p1.session);

  /* A late retriever learns the current leader at once. */
  memset(&la, 0, sizeof(la));
  la.loop = &t.loop;
  ck_assert_int_eq(k8sha_retriever_new(&late, c2, &ro, "restserver", on_address, &la), 0);
  await_address(&t, &la, "http://one:8081");

  /* Someone overwrites the published entry (a read and a conditional update, as any client with
   * the documented Role could): the leader puts it back. */
  {
    put_entry(&t, kind, "x,http://evil:1");
    /* (the overwrite and the leader's repair may both reach the retriever while the test still
     * waits for its own request's answer) */
    await_seen(&t, &a, "http://evil:1");
    await_address(&t, &a, "http://one:8081");
  }

  /* Unpublish: the entry goes (retrievers see no address); written back with the value this
   * leadership had, it is taken out again instead of being restored; published again, it is
   * back. */
  {
    char ours[512];
    int unpublished = 0, republished = 0;
    snprintf(ours, sizeof(ours), "%s,http://one:8081", p1.session);
    ck_assert_int_eq(k8sha_election_unpublish(NULL, "restserver", NULL, NULL), K8SHA_EINVAL);
    ck_assert_int_eq(k8sha_election_unpublish(e2, "restserver", NULL, NULL), K8SHA_ENOTLEADER);
    ck_assert_int_eq(k8sha_election_unpublish(e1, "restserver", on_done, &unpublished), 0);
    while (unpublished == 0)
      uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(unpublished, 1);
    await_address(&t, &a, "");
    a.seen[0] = '\0'; /* (from here on: what the retriever reports after the put) */
    put_entry(&t, kind, ours);
    await_seen(&t, &a, "http://one:8081");
    await_address(&t, &a, "");
    ck_assert_int_eq(
        k8sha_election_publish(e1, "restserver", "http://one:8081", on_done, &republished), 0);
    while (republished == 0)
      uv_run(&t.loop, UV_RUN_DEFAULT);
    await_address(&t, &a, "http://one:8081");
  }

  /* Clean stop: released at once; the follower takes over within a round trip or two. */
  handover_start = k8sha__now_ms(&c1->rt);
  ck_assert_int_eq(k8sha_election_stop(e1, on_done, &stopped), 0);
  ck_assert_int_eq(p1.revoked, 1);
  ck_assert_int_eq(p1.revoke_reason, K8SHA_ECANCELED);
  ck_assert(!k8sha_election_is_leader(e1));
  ck_assert_int_eq(k8sha_election_publish(e1, "restserver", "x", NULL, NULL), K8SHA_ENOTLEADER);
  await_count(&t, &p2.granted, 1);
  while (stopped == 0)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(stopped, 1);
  ck_assert_uint_lt(p2.granted_at - handover_start, LEASE_MS); /* not by expiry */
  ck_assert_int_eq(p2.term, 1);
  /* The old address went with the old term; the new leader has published nothing yet. */
  await_address(&t, &a, "");

  k8sha_retriever_free(r);
  k8sha_retriever_free(late);
  k8sha_election_free(e1);
  k8sha_election_free(e2);
  k8sha_ctx_free(c1);
  k8sha_ctx_free(c2);
  it_stop(&t);
}

START_TEST(configmap_lock_grant_publish_retrieve_and_release) {
  grant_publish_retrieve_and_release(K8SHA_LOCK_CONFIGMAP);
}
END_TEST

START_TEST(lease_lock_grant_publish_retrieve_and_release) {
  grant_publish_retrieve_and_release(K8SHA_LOCK_LEASE);
  g_kind = K8SHA_LOCK_CONFIGMAP;
}
END_TEST

static uint64_t stat_of(k8sha_ctx *c, int which) {
  k8sha_stats st;
  st.version = K8SHA_STATS_VERSION;
  ck_assert_int_eq(k8sha_ctx_stats(c, &st), 0);
  return which == 0 ? st.watch_events : which == 1 ? st.requests : st.requests_update;
}

/* With a Lease lock the published addresses live in the ConfigMap <lease>-addresses, not in the
 * Lease: renewals reach no retriever; a dead leader's addresses stay until the next leader takes
 * over, which takes them out; a clean stop takes its own out. */
START_TEST(lease_lock_addresses_are_quiet_and_go_with_their_term) {
  itest t;
  probe p1, p2;
  addr_probe a;
  k8sha_ctx *c1, *c2, *c3;
  k8sha_election *e1, *e2;
  k8sha_retriever *r = NULL;
  k8sha_retriever_options ro = K8SHA_RETRIEVER_OPTIONS_INIT;
  it_result res;
  json_t *lease, *v;
  const char *key;
  uint64_t events, requests, renewals;
  int published = 0, turns = 0, stopped = 0, calls;

  g_kind = K8SHA_LOCK_LEASE;
  ro.lock = K8SHA_LOCK_LEASE;
  it_start(&t, NULL, NULL);
  done_loop = &t.loop;
  c1 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  c3 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing); /* retrievers only */
  memset(&a, 0, sizeof(a));
  a.loop = &t.loop;
  ck_assert_int_eq(k8sha_retriever_new(&r, c3, &ro, "restserver", on_address, &a), 0);
  e1 = contender(c1, "one", &p1, &t.loop);
  await_count(&t, &p1.granted, 1);
  ck_assert_int_eq(k8sha_election_publish(e1, "restserver", "http://one:8081", on_done, &published), 0);
  while (published == 0)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(published, 1);
  await_address(&t, &a, "http://one:8081");

  /* The Lease holds no entries. */
  it_request(&t, c1, K8SHA__GET,
             "/apis/coordination.k8s.io/v1/namespaces/flink/leases/it-cluster-lease", NULL, NULL,
             0, 0, &res);
  ck_assert_int_eq(res.err, 0);
  lease = json_loads(res.body, 0, NULL);
  ck_assert_ptr_nonnull(lease);
  json_object_foreach(json_object_get(json_object_get(lease, "metadata"), "annotations"), key, v) {
    ck_assert_msg(strncmp(key, K8SHA__LEADER_KEY_PREFIX, strlen(K8SHA__LEADER_KEY_PREFIX)) != 0,
                  "the Lease carries %s", key);
  }
  json_decref(lease);

  /* Three renewals of the Lease: the retrievers' context hears of none of them. */
  events = stat_of(c3, 0);
  requests = stat_of(c3, 1);
  renewals = stat_of(c1, 2);
  calls = a.calls;
  while (stat_of(c1, 2) < renewals + 3) {
    ck_assert_msg(turns++ < 1000000, "the leader stopped renewing");
    uv_run(&t.loop, UV_RUN_ONCE);
  }
  ck_assert_uint_eq(stat_of(c3, 0), events);
  ck_assert_uint_eq(stat_of(c3, 1), requests);
  ck_assert_int_eq(a.calls, calls);

  /* The leader can no longer renew (a crash, as far as the others can tell): it steps down, its
   * address stays; whoever leads next takes it out. */
  c2 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  e2 = contender(c2, "two", &p2, &t.loop);
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"update\"],\"resources\":[\"leases\"],"
                                            "\"code\":503,\"count\":1000000}"), 0);
  await_count(&t, &p1.revoked, 1);
  ck_assert_str_eq(a.address, "http://one:8081");
  ck_assert_int_eq(kubelite_clear_faults(t.kl), 0);
  while (p1.granted + p2.granted < 2)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  ck_assert_uint_gt(p2.granted ? p2.term : p1.term, 0); /* a new term */
  await_address(&t, &a, "");

  /* The new leader publishes; a clean stop with nobody left to take over takes it out. */
  {
    k8sha_election *leader = p2.granted ? e2 : e1, *other = p2.granted ? e1 : e2;
    published = 0;
    k8sha_election_free(other);
    ck_assert_int_eq(k8sha_election_publish(leader, "restserver", "http://next:8081", on_done,
                                            &published), 0);
    while (published == 0)
      uv_run(&t.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(published, 1);
    await_address(&t, &a, "http://next:8081");
    ck_assert_int_eq(k8sha_election_stop(leader, on_done, &stopped), 0);
    while (stopped == 0)
      uv_run(&t.loop, UV_RUN_DEFAULT);
    await_address(&t, &a, "");
    k8sha_election_free(leader);
  }
  k8sha_retriever_free(r);
  k8sha_ctx_free(c1);
  k8sha_ctx_free(c2);
  k8sha_ctx_free(c3);
  it_stop(&t);
  g_kind = K8SHA_LOCK_CONFIGMAP;
}
END_TEST

START_TEST(external_takeover_and_deletion_revoke) {
  itest t;
  probe p;
  k8sha_ctx *c;
  k8sha_election *e;
  it_result r;

  it_start(&t, NULL, NULL);
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  e = contender(c, "me", &p, &t.loop);
  await_count(&t, &p.granted, 1);
  /* Another process writes itself in: we are revoked, not fighting back. */
  write_record(&t, "intruder", "2020-01-01T00:00:00.000000Z", 5);
  await_count(&t, &p.revoked, 1);
  ck_assert_int_eq(p.revoke_reason, K8SHA_ENOTLEADER);
  ck_assert(!k8sha_election_is_leader(e));
  /* The intruder never renews: we take over after its lease, with a higher term. */
  await_count(&t, &p.granted, 2);
  ck_assert_int_eq(p.term, 6);
  /* The lock is deleted under us: reported, and we step down. */
  it_request(&t, t.ctx, K8SHA__DELETE, LOCK_PATH, NULL, NULL, 0, 0, &r);
  ck_assert_int_eq(r.err, 0);
  await_count(&t, &p.revoked, 2);
  ck_assert_int_eq(p.revoke_reason, K8SHA_ENOTFOUND);
  ck_assert_int_ge(p.errors, 1);
  ck_assert_ptr_nonnull(strstr(p.error_msg, "deleted"));
  /* And it is re-created by the next acquisition, with a term that does not go back. */
  await_count(&t, &p.granted, 3);
  ck_assert_int_eq(p.term, 7);
  k8sha_election_free(e);
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

START_TEST(expiry_is_judged_on_the_local_clock) {
  itest t;
  probe p;
  k8sha_ctx *c;
  k8sha_election *e;
  uint64_t written;

  it_start(&t, NULL, NULL);
  /* A lock held by a contender whose wall clock is an hour ahead: the record looks fresh for an
   * hour to anyone who compares wall clocks. */
  {
    it_result r;
    it_request(&t, t.ctx, K8SHA__CREATE, "/api/v1/namespaces/flink/configmaps",
               "{\"metadata\":{\"name\":\"" LOCK "\",\"annotations\":{}}}", NULL, 0, 0, &r);
    ck_assert_int_eq(r.err, 0);
  }
  write_record(&t, "skewed", "2099-01-01T00:00:00.000000Z", 3);
  written = k8sha__now_ms(&t.ctx->rt);
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  e = contender(c, "me", &p, &t.loop);
  await_count(&t, &p.granted, 1);
  /* Neither stolen early nor missed: one lease after we first saw the record. */
  ck_assert_uint_ge(p.granted_at - written, LEASE_MS);
  ck_assert_uint_lt(p.granted_at - written, LEASE_MS + 2000);
  ck_assert_int_eq(p.term, 4);
  k8sha_election_free(e);

  /* A record an hour in the past is not taken at once either: it is new to us. */
  write_record(&t, "behind", "1999-01-01T00:00:00.000000Z", 10);
  written = k8sha__now_ms(&t.ctx->rt);
  e = contender(c, "me2", &p, &t.loop);
  await_count(&t, &p.granted, 1);
  ck_assert_uint_ge(p.granted_at - written, LEASE_MS);
  k8sha_election_free(e);
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

START_TEST(failing_renewals_step_down_before_the_lease_ends) {
  itest t;
  probe p, q;
  k8sha_ctx *c, *c2;
  k8sha_election *e, *e2;
  uint64_t fault_at;

  it_start(&t, NULL, NULL);
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  e = contender(c, "leader", &p, &t.loop);
  await_count(&t, &p.granted, 1);
  /* Every write to the lock fails from now on. */
  fault_at = k8sha__now_ms(&c->rt);
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"update\"],\"code\":503,\"count\":1000000}"), 0);
  await_count(&t, &p.revoked, 1);
  ck_assert_int_eq(p.revoke_reason, K8SHA_ETIMEDOUT);
  /* Stepped down within the effective renew deadline (750 ms) of its last good renew, which was
   * at most one retry period (250 ms) before the faults began: well before the 1 s lease. */
  ck_assert_uint_le(p.revoked_at - fault_at, 750 + 50);
  ck_assert_int_ge(p.errors, 1);
  ck_assert_int_eq(kubelite_clear_faults(t.kl), 0);

  /* The API server is unreachable for longer than the renew deadline. */
  await_count(&t, &p.granted, 2);
  c2 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  e2 = contender(c2, "other", &q, &t.loop);
  ck_assert_int_eq(kubelite_refuse_connections(t.kl, 2.0), 0);
  await_count(&t, &p.revoked, 2);
  ck_assert_int_eq(p.revoke_reason, K8SHA_ETIMEDOUT);
  ck_assert_int_eq(kubelite_wait_listening(t.kl, 0), 0);
  /* Afterwards exactly one of them leads again, with a newer term. */
  while (p.granted + q.granted < 3)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(k8sha_election_is_leader(e) + k8sha_election_is_leader(e2), 1);
  ck_assert_uint_gt(q.granted ? q.term : p.term, 1);
  k8sha_election_free(e);
  k8sha_election_free(e2);
  k8sha_ctx_free(c);
  k8sha_ctx_free(c2);
  it_stop(&t);
}
END_TEST

/* A server on which one user may get, list, watch and create ConfigMaps but not update them, and
 * a context of that user: kube-lite with a token rule, or the real server's user bound to the
 * documented Role without update (K8SHA_TEST_NOUPDATE_KUBECONFIG, see tests/realkube). */
static k8sha_ctx *start_without_update(itest *t) {
  kubelite_options ko;
  const char *external = getenv("K8SHA_TEST_NOUPDATE_KUBECONFIG");
  if (kubelite_external_mode()) {
    ck_assert_msg(external && *external, "K8SHA_TEST_NOUPDATE_KUBECONFIG is needed here");
    it_start(t, NULL, NULL);
    return it_ctx_with(t, external, timing);
  }
  memset(&ko, 0, sizeof(ko));
  ko.tokens = "ro,viewer,configmaps:get|list|watch|create\n";
  it_start(t, &ko, NULL);
  return it_ctx_with(t, it_token_kubeconfig(t, "ro"), timing);
}

/* A contender that may create the lock but not update it never leads. With the lock present
 * (someone else created it), taking it needs update; without it, the contender creates it, and
 * the renewal it makes before leading on a lock it has just created is refused. It keeps trying,
 * and keeps failing the same way. */
static void never_leads_without_update(int lock_present) {
  itest t;
  probe p;
  k8sha_ctx *c;
  k8sha_election *e;
  it_result r;

  c = start_without_update(&t);
  if (lock_present) {
    it_request(&t, t.ctx, K8SHA__CREATE, "/api/v1/namespaces/flink/configmaps",
               "{\"metadata\":{\"name\":\"" LOCK "\"}}", NULL, 0, 0, &r);
    ck_assert_int_eq(r.err, 0);
  }
  e = contender(c, "weak", &p, &t.loop);
  await_count(&t, &p.errors, 1);
  ck_assert_int_eq(p.last_error, K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(p.error_msg, "cannot update resource \"configmaps\"") != NULL, "%s",
                p.error_msg);
  if (!lock_present) {
    ck_assert_msg(strstr(p.error_msg, "created the lock") != NULL, "%s", p.error_msg);
    /* it did create the lock, naming itself */
    it_request(&t, t.ctx, K8SHA__GET, LOCK_PATH, NULL, NULL, 0, 0, &r);
    ck_assert_int_eq(r.err, 0);
    ck_assert_ptr_nonnull(strstr(r.body, "holderIdentity\\\":\\\"weak"));
  }
  await_count(&t, &p.errors, 2);
  ck_assert_int_eq(p.granted, 0);
  ck_assert(!k8sha_election_is_leader(e));
  k8sha_election_free(e);
  k8sha_ctx_free(c);
  it_stop(&t);
}

START_TEST(forbidden_update_is_reported_and_never_leads) { never_leads_without_update(1); }
END_TEST

START_TEST(create_without_update_never_leads) { never_leads_without_update(0); }
END_TEST

START_TEST(contenders_in_one_process_share_one_watch) {
  itest t;
  probe p[3];
  k8sha_ctx *c;
  k8sha_election *e[3];
  int i, leaders = 0;
  k8sha_stats st;

  it_start(&t, NULL, NULL);
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  e[0] = contender(c, "a", &p[0], &t.loop);
  e[1] = contender(c, "b", &p[1], &t.loop);
  e[2] = contender(c, "c", &p[2], &t.loop);
  while (p[0].granted + p[1].granted + p[2].granted < 1)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  for (i = 0; i < 3; i++)
    leaders += k8sha_election_is_leader(e[i]);
  ck_assert_int_eq(leaders, 1);
  st.version = K8SHA_STATS_VERSION;
  k8sha_ctx_stats(c, &st);
  ck_assert_uint_eq(st.requests_watch, 1);
  ck_assert_uint_eq(st.requests_list, 1);
  for (i = 0; i < 3; i++)
    k8sha_election_free(e[i]);
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

static void free_on_stop(k8sha_election *e, int status, void *ud) {
  int *s = ud;
  *s = status == 0 ? 1 : status;
  k8sha_election_free(e); /* the normal shutdown pattern */
  uv_stop(done_loop);
}

static k8sha_election *freed_in_granted;
static void free_when_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  probe *p = ud;
  (void)session;
  (void)term;
  p->granted++;
  k8sha_election_free(e);
  freed_in_granted = e;
  uv_stop(p->loop);
}

START_TEST(freeing_from_inside_callbacks) {
  itest t;
  probe p, q;
  k8sha_ctx *c;
  k8sha_election *e;
  int stopped = 0;

  it_start(&t, NULL, NULL);
  done_loop = &t.loop;
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  /* Free in the stopped callback of a release. */
  e = contender(c, "one", &p, &t.loop);
  await_count(&t, &p.granted, 1);
  ck_assert_int_eq(k8sha_election_stop(e, free_on_stop, &stopped), 0);
  while (stopped == 0)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(stopped, 1);
  /* Free in the granted callback. */
  {
    k8sha_election_options o = K8SHA_ELECTION_OPTIONS_INIT;
    k8sha_election_callbacks cbs;
    memset(&q, 0, sizeof(q));
    q.loop = &t.loop;
    q.ctx = c;
    memset(&cbs, 0, sizeof(cbs));
    cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
    cbs.granted = free_when_granted;
    cbs.user_data = &q;
    o.identity = "two";
    ck_assert_int_eq(k8sha_election_new(&e, c, &o, &cbs), 0);
    ck_assert_int_eq(k8sha_election_start(e), 0);
    await_count(&t, &q.granted, 1);
    ck_assert_ptr_eq(freed_in_granted, e);
  }
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

START_TEST(a_lone_contender_recovers_after_a_late_renew) {
  itest t;
  probe p;
  k8sha_ctx *c;
  k8sha_election *e;

  it_start(&t, NULL, NULL);
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  e = contender(c, "alone", &p, &t.loop);
  await_count(&t, &p.granted, 1);
  /* Every renew hangs past the request timeout, then fails: the leader steps down at its renew
   * deadline, mostly with a write still under way, and must come back by itself once the server
   * is healthy. (One slow renew alone is not enough: the renew after it may land in time, and
   * then leading on is right.) */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"update\"],\"latencyMs\":1500,\"code\":503}"), 0);
  await_count(&t, &p.revoked, 1);
  ck_assert_int_eq(p.revoke_reason, K8SHA_ETIMEDOUT);
  ck_assert_int_eq(kubelite_clear_faults(t.kl), 0);
  await_count(&t, &p.granted, 2);
  ck_assert(k8sha_election_is_leader(e));
  ck_assert_int_eq(p.term, 1);
  k8sha_election_free(e);
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

/* Runs the loop until the context's watches have delivered `events` in all and the server's
 * resourceVersion has reached `rv`. */
static void await_watched(itest *t, k8sha_ctx *c, uint64_t events, uint64_t rv) {
  k8sha_stats st;
  for (;;) {
    memset(&st, 0, sizeof(st));
    st.version = K8SHA_STATS_VERSION;
    ck_assert_int_eq(k8sha_ctx_stats(c, &st), 0);
    if (st.watch_events >= events && kubelite_resource_version(t->kl) >= rv)
      return;
    uv_run(&t->loop, UV_RUN_ONCE);
  }
}

/* A leader's watch that was down while another contender held the lock resumes, after the leader
 * has taken the lock back, from where it stopped: it replays the other contender's records. They
 * are history, older than the leader's own write, and must not depose it (they did: the leader
 * stepped down with K8SHA_ENOTLEADER while holding the lock). */
START_TEST(a_watch_replaying_older_records_deposes_nobody) {
  kubelite_options ko;
  itest t;
  probe p;
  k8sha_ctx *c;
  k8sha_election *e;
  k8sha_stats st;
  uint64_t rv, first_term;
  int i;

  memset(&ko, 0, sizeof(ko));
  ko.tokens = "alice-token,alice,*:*\n";
  it_start(&t, &ko, NULL);
  c = it_ctx_with(&t, it_token_kubeconfig(&t, "alice-token"), timing);
  e = contender(c, "alice", &p, &t.loop);
  await_count(&t, &p.granted, 1);

  /* alice's watch ends and cannot come back; she still reads and writes the lock */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"users\":[\"alice\"],\"verbs\":[\"watch\"],"
                                            "\"code\":503}"), 0);
  ck_assert_int_ge(kubelite_end_watches(t.kl), 1);
  /* another contender takes the lock and renews it: alice's next renew meets a 409, she reads
   * the lock and steps down */
  for (i = 0; i < 4; i++) {
    char when[64];
    snprintf(when, sizeof(when), "2026-01-01T00:00:0%d.000000Z", i);
    write_record(&t, "other", when, p.term + 1);
  }
  await_count(&t, &p.revoked, 1);
  /* the other contender stops renewing; alice takes the lock again after its lease */
  first_term = p.term;
  await_count(&t, &p.granted, 2);
  ck_assert_uint_gt(p.term, first_term + 1);

  /* alice's watch comes back from its old resourceVersion: the other contender's four records,
   * then alice's own, are delivered again */
  memset(&st, 0, sizeof(st));
  st.version = K8SHA_STATS_VERSION;
  ck_assert_int_eq(k8sha_ctx_stats(c, &st), 0);
  rv = kubelite_resource_version(t.kl);
  ck_assert_int_eq(kubelite_clear_faults(t.kl), 0);
  /* the replay (at least the four), then two more renewals of alice's after it */
  await_watched(&t, c, st.watch_events + 4, rv + 2);
  ck_assert_int_eq(p.revoked, 1);
  ck_assert(k8sha_election_is_leader(e));
  k8sha_election_free(e);
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

/* Runs the loop until *counter reaches `want`, for at most `bound_ms` on the loop's clock (a
 * failure bound: callbacks stop the loop, the bound only catches an event that never comes). */
typedef struct bound {
  uv_timer_t timer;
  int hit;
} bound;

static void on_bound(uv_timer_t *h) {
  ((bound *)h->data)->hit = 1;
  uv_stop(h->loop);
}

static void free_bound(uv_handle_t *h) {
  free(h->data);
}

static void await_count_within(itest *t, const int *counter, int want, uint64_t bound_ms,
                               const char *what) {
  bound *b = calloc(1, sizeof(*b));
  ck_assert_ptr_nonnull(b);
  uv_timer_init(&t->loop, &b->timer);
  b->timer.data = b;
  uv_timer_start(&b->timer, on_bound, bound_ms, 0);
  while (*counter < want && !b->hit)
    uv_run(&t->loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&b->timer, free_bound);
  ck_assert_msg(*counter >= want, "%s: not within %llu ms", what, (unsigned long long)bound_ms);
}

/* What the election's error callback had heard when it first ran. */
typedef struct first_error {
  probe p;
  int errors, err;
  uint64_t at, lists, granted_before;
  char message[512];
  /* the first error that is a request's outcome (not an attempt the client repeats) */
  int outcomes, outcome_err;
  uint64_t outcome_at;
  char outcome_message[512];
} first_error;

static void on_first_error(k8sha_election *e, int err, const char *message, void *ud) {
  first_error *f = ud;
  k8sha_stats st;
  on_error(e, err, message, &f->p);
  if (!strstr(message, "trying again") && f->outcomes++ == 0) {
    f->outcome_err = err;
    f->outcome_at = k8sha__now_ms(&f->p.ctx->rt);
    snprintf(f->outcome_message, sizeof(f->outcome_message), "%s", message);
  }
  if (f->errors++ > 0)
    return;
  f->err = err;
  f->at = k8sha__now_ms(&f->p.ctx->rt);
  f->granted_before = (uint64_t)f->p.granted;
  snprintf(f->message, sizeof(f->message), "%s", message);
  st.version = K8SHA_STATS_VERSION;
  k8sha_ctx_stats(f->p.ctx, &st);
  f->lists = st.requests_list;
}

static void relay_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  on_granted(e, session, term, &((first_error *)ud)->p);
}

static k8sha_election *watched_contender(k8sha_ctx *ctx, const char *id, first_error *f,
                                         uv_loop_t *loop) {
  k8sha_election_options o = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  k8sha_election *e = NULL;
  memset(f, 0, sizeof(*f));
  f->p.loop = loop;
  f->p.ctx = ctx;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = relay_granted;
  cbs.error = on_first_error;
  cbs.user_data = f;
  o.identity = id;
  o.lock = g_kind;
  ck_assert_int_eq(k8sha_election_new(&e, ctx, &o, &cbs), 0);
  return e;
}

/* The lock's LIST meets a server that holds it for 5 s. Its first attempt times out (after the
 * client's timeout, here 400 ms): the election's error callback hears K8SHA_ETIMEDOUT then, after
 * one LIST, not once every attempt has failed; the second attempt succeeds and the contender
 * leads. Then every LIST times out: the list as a whole fails within its documented deadline
 * (5 attempts x the timeout, backoff included), and the contender leads once the server answers
 * again. */
START_TEST(a_list_timeout_reaches_the_error_callback_at_once) {
  itest t;
  first_error f;
  k8sha_ctx *c, *c2;
  k8sha_election *e, *e2;
  uint64_t start;

  it_start(&t, NULL, NULL);
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  k8sha__kube_set_default_timeout(c->kube, 400);
  ck_assert_int_ge(
      kubelite_add_fault(t.kl, "{\"verbs\":[\"list\"],\"latencyMs\":5000,\"count\":1}"), 0);
  e = watched_contender(c, "slow-list", &f, &t.loop);
  start = k8sha__now_ms(&c->rt);
  ck_assert_int_eq(k8sha_election_start(e), 0);
  await_count_within(&t, &f.errors, 1, 4500, "the error callback after the LIST's first timeout");
  ck_assert_msg(f.err == K8SHA_ETIMEDOUT, "%s: %s", k8sha_err_name(f.err), f.message);
  ck_assert_uint_eq(f.lists, 1);
  ck_assert_uint_eq(f.granted_before, 0);
  ck_assert_uint_ge(f.at - start, 400);
  ck_assert_uint_lt(f.at - start, 5000); /* the client's timeout, not the server's answer */
  ck_assert_msg(strstr(f.message, "attempt 1 of 5") != NULL, "%s", f.message);
  await_count_within(&t, &f.p.granted, 1, 10000, "leading after the LIST's second attempt");
  k8sha_election_free(e);
  k8sha_ctx_free(c);

  /* Every LIST times out now: each attempt the client repeats is told as it times out, then the
   * LIST fails (the last attempt, cut to what is left of the deadline, is the outcome) within
   * its deadline of 5 x 400 ms, backoff included. */
  ck_assert_int_ge(kubelite_add_fault(t.kl, "{\"verbs\":[\"list\"],\"latencyMs\":60000}"), 0);
  c2 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  k8sha__kube_set_default_timeout(c2->kube, 400);
  e2 = watched_contender(c2, "no-list", &f, &t.loop);
  start = k8sha__now_ms(&c2->rt);
  ck_assert_int_eq(k8sha_election_start(e2), 0);
  await_count_within(&t, &f.outcomes, 1, 20000, "a failed LIST");
  ck_assert_msg(f.outcome_err == K8SHA_ETIMEDOUT, "%s: %s", k8sha_err_name(f.outcome_err),
                f.outcome_message);
  ck_assert_msg(strstr(f.outcome_message, "list of") && strstr(f.outcome_message, "failed"), "%s",
                f.outcome_message);
  ck_assert_int_ge(f.errors, 2); /* the first attempt's timeout was told before */
  ck_assert_msg(f.outcome_at - start <= 5 * 400 + 1000, "the LIST failed after %llu ms",
                (unsigned long long)(f.outcome_at - start));
  ck_assert_int_eq(kubelite_clear_faults(t.kl), 0);
  await_count_within(&t, &f.p.granted, 1, 30000, "leading once the server answers");
  k8sha_election_free(e2);
  k8sha_ctx_free(c2);
  it_stop(&t);
}
END_TEST

/* A contender loses the race to create the lock (409) and reads the lock; that read times out
 * (the lock's requests have renew-deadline / 3 = 250 ms; the server would answer after 2 s). The
 * error callback hears it, and the contender still leads afterwards. */
START_TEST(a_timed_out_lock_read_reaches_the_error_callback) {
  itest t;
  first_error f;
  k8sha_ctx *c;
  k8sha_election *e;

  it_start(&t, NULL, NULL);
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  ck_assert_int_ge(
      kubelite_add_fault(t.kl, "{\"verbs\":[\"create\"],\"code\":409,\"count\":1}"), 0);
  ck_assert_int_ge(
      kubelite_add_fault(t.kl, "{\"verbs\":[\"get\"],\"latencyMs\":2000,\"count\":1}"), 0);
  e = watched_contender(c, "lost-race", &f, &t.loop);
  ck_assert_int_eq(k8sha_election_start(e), 0);
  await_count_within(&t, &f.errors, 1, 10000, "the error callback after the lock read's timeout");
  ck_assert_msg(f.err == K8SHA_ETIMEDOUT, "%s: %s", k8sha_err_name(f.err), f.message);
  ck_assert_msg(strstr(f.message, "reading the lock") != NULL, "%s", f.message);
  await_count_within(&t, &f.p.granted, 1, 10000, "leading after the lost race");
  k8sha_election_free(e);
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

/* Two live contenders with one identity (a restarted pod whose old instance still runs): the
 * second must see a record it did not write as someone else's, never take it, and the first
 * must keep leading. Watched over ten of the leader's renewals (events, not time); then a clean
 * stop of the first hands over to the second as to anyone. */
typedef struct renewals {
  uv_loop_t *loop;
  int modified;
} renewals;

static void on_lock_event(k8sha_watch *w, const k8sha_watch_event *ev, void *ud) {
  renewals *rn = ud;
  (void)w;
  if (ev->type == K8SHA_WATCH_MODIFIED && ev->name && strcmp(ev->name, LOCK) == 0) {
    rn->modified++;
    uv_stop(rn->loop);
  }
}

START_TEST(one_identity_in_two_processes_never_leads_twice) {
  itest t;
  probe pa, pb;
  k8sha_ctx *ca, *cb;
  k8sha_election *a, *b;
  k8sha_watch *w = NULL;
  renewals rn;
  int stopped = 0, start;

  it_start(&t, NULL, NULL);
  ca = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  cb = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  a = contender(ca, "jm-same", &pa, &t.loop);
  await_count(&t, &pa.granted, 1);
  memset(&rn, 0, sizeof(rn));
  rn.loop = &t.loop;
  ck_assert_int_eq(k8sha_watch_new(&w, cb, NULL, on_lock_event, &rn), 0);
  b = contender(cb, "jm-same", &pb, &t.loop);
  start = rn.modified;
  while (rn.modified < start + 10) {
    ck_assert_int_eq(pb.granted, 0);
    ck_assert_int_eq(pa.revoked, 0);
    uv_run(&t.loop, UV_RUN_ONCE);
  }
  ck_assert_int_eq(pb.granted, 0);
  ck_assert_int_eq(pa.revoked, 0);
  ck_assert(k8sha_election_is_leader(a));
  ck_assert(!k8sha_election_is_leader(b));
  ck_assert_uint_le(rn.modified - start, 12); /* renewals only: no fight over the lock */
  /* a clean stop hands over */
  done_loop = &t.loop;
  ck_assert_int_eq(k8sha_election_stop(a, on_done, &stopped), 0);
  await_count(&t, &pb.granted, 1);
  ck_assert_int_eq(pb.term, pa.term + 1);
  while (!stopped)
    uv_run(&t.loop, UV_RUN_DEFAULT);
  k8sha_watch_free(w);
  k8sha_election_free(a);
  k8sha_election_free(b);
  k8sha_ctx_free(ca);
  k8sha_ctx_free(cb);
  it_stop(&t);
}
END_TEST

/* A host that stops its election from a retriever callback the moment it sees its own address:
 * the address can arrive through the answer to the publish write itself, whose completion then
 * cancels that very write. (Which path delivers it first varies: repeated; without the fix
 * about half of the rounds hit it under valgrind.) */
typedef struct stopper {
  uv_loop_t *loop;
  k8sha_election *e;
  int stopping, stopped;
} stopper;

static void on_stopper_stopped(k8sha_election *e, int status, void *ud) {
  stopper *st = ud;
  (void)e;
  (void)status;
  st->stopped = 1;
  uv_stop(st->loop);
}

static void on_stopper_address(k8sha_retriever *r, const char *address, const char *session,
                               void *ud) {
  stopper *st = ud;
  (void)r;
  (void)session;
  if (address && !st->stopping) {
    st->stopping = 1;
    ck_assert_int_eq(k8sha_election_stop(st->e, on_stopper_stopped, st), 0);
  }
}

static void on_stopper_granted(k8sha_election *e, const char *session, uint64_t term,
                               void *ud) {
  (void)session;
  (void)term;
  (void)ud;
  k8sha_election_publish(e, "restserver", "http://jm:8081", NULL, NULL);
}

START_TEST(stopping_from_a_retriever_callback) {
  itest t;
  int round;
  it_start(&t, NULL, NULL);
  for (round = 0; round < 40; round++) {
    char cid[32];
    const char *kv[] = {"kubernetes.cluster-id", cid, NULL};
    k8sha_election_callbacks cbs;
    k8sha_retriever *r = NULL;
    stopper st;
    k8sha_ctx *ctx;
    snprintf(cid, sizeof(cid), "stop%d", round);
    ctx = it_ctx_with(&t, kubelite_kubeconfig(t.kl), kv);
    memset(&st, 0, sizeof(st));
    st.loop = &t.loop;
    memset(&cbs, 0, sizeof(cbs));
    cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
    cbs.granted = on_stopper_granted;
    cbs.user_data = &st;
    ck_assert_int_eq(k8sha_election_new(&st.e, ctx, NULL, &cbs), 0);
    ck_assert_int_eq(k8sha_retriever_new(&r, ctx, NULL, "restserver",
                                         on_stopper_address, &st), 0);
    ck_assert_int_eq(k8sha_election_start(st.e), 0);
    it_run_until(&t, &st.stopped);
    k8sha_retriever_free(r);
    k8sha_election_free(st.e);
    k8sha_ctx_free(ctx);
  }
  it_stop(&t);
}
END_TEST

/* A host that frees its election (and, in some rounds, the retriever too) from a retriever
 * callback on the same lock: the lock's subscribers are being told of a change while one of
 * them goes, down to the last one (which frees the lock). Both subscription orders. */
typedef struct freer {
  uv_loop_t *loop;
  k8sha_election *e;
  k8sha_retriever *r;
  int free_retriever, done;
} freer;

static void on_freer_address(k8sha_retriever *r, const char *address, const char *session,
                             void *ud) {
  freer *fr = ud;
  (void)session;
  if (!address || fr->done)
    return;
  ck_assert_ptr_eq(r, fr->r);
  k8sha_election_free(fr->e);
  fr->e = NULL;
  if (fr->free_retriever) {
    k8sha_retriever_free(r);
    fr->r = NULL;
  }
  fr->done = 1;
  uv_stop(fr->loop);
}

static void on_freer_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  (void)session;
  (void)term;
  (void)ud;
  ck_assert_int_eq(k8sha_election_publish(e, "restserver", "http://jm:8081", NULL, NULL), 0);
}

START_TEST(freeing_the_election_from_a_retriever_callback) {
  itest t;
  int round;
  it_start(&t, NULL, NULL);
  for (round = 0; round < 4; round++) {
    char cid[32];
    const char *kv[] = {"kubernetes.cluster-id", cid, NULL};
    k8sha_election_callbacks cbs;
    freer fr;
    k8sha_ctx *ctx;
    int retriever_first = round & 1;
    snprintf(cid, sizeof(cid), "free%d", round);
    ctx = it_ctx_with(&t, kubelite_kubeconfig(t.kl), kv);
    memset(&fr, 0, sizeof(fr));
    fr.loop = &t.loop;
    fr.free_retriever = round >= 2;
    memset(&cbs, 0, sizeof(cbs));
    cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
    cbs.granted = on_freer_granted;
    if (retriever_first)
      ck_assert_int_eq(k8sha_retriever_new(&fr.r, ctx, NULL, "restserver",
                                           on_freer_address, &fr), 0);
    ck_assert_int_eq(k8sha_election_new(&fr.e, ctx, NULL, &cbs), 0);
    ck_assert_int_eq(k8sha_election_start(fr.e), 0); /* (it subscribes to the lock here) */
    if (!retriever_first)
      ck_assert_int_eq(k8sha_retriever_new(&fr.r, ctx, NULL, "restserver",
                                           on_freer_address, &fr), 0);
    it_run_until(&t, &fr.done);
    ck_assert_ptr_null(fr.e);
    k8sha_retriever_free(fr.r);
    k8sha_ctx_free(ctx);
  }
  it_stop(&t);
}
END_TEST

/* A retriever whose user may not list or watch ConfigMaps used to wait in silence forever: its
 * error callback now says why it sees nothing. */
typedef struct blind {
  uv_loop_t *loop;
  int errors, last;
  char msg[1024];
} blind;

static void on_blind_address(k8sha_retriever *r, const char *address, const char *session,
                             void *ud) {
  (void)r;
  (void)address;
  (void)session;
  (void)ud;
  ck_abort_msg("a retriever that cannot read the lock reported an address");
}

static void on_blind_error(k8sha_retriever *r, int err, const char *message, void *ud) {
  blind *b = ud;
  (void)r;
  if (b->errors++ == 0) {
    b->last = err;
    snprintf(b->msg, sizeof(b->msg), "%s", message ? message : "");
  }
  uv_stop(b->loop);
}

START_TEST(retriever_reports_what_keeps_it_blind) {
  itest t;
  kubelite_options ko;
  k8sha_retriever_options ro = K8SHA_RETRIEVER_OPTIONS_INIT;
  k8sha_retriever *r = NULL;
  k8sha_ctx *c;
  blind b;
  int turns = 0;

  memset(&ko, 0, sizeof(ko));
  ko.tokens = "blind,blind,configmaps:get\n";
  it_start(&t, &ko, NULL);
  c = it_ctx_with(&t, it_token_kubeconfig(&t, "blind"), timing);
  memset(&b, 0, sizeof(b));
  b.loop = &t.loop;
  ro.error = on_blind_error;
  ck_assert_int_eq(k8sha_retriever_new(&r, c, &ro, "restserver", on_blind_address, &b), 0);
  while (!b.errors) {
    ck_assert_msg(turns++ < 100000, "the retriever never said why it sees nothing");
    uv_run(&t.loop, UV_RUN_DEFAULT);
  }
  ck_assert_int_eq(b.last, K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(b.msg, "list") != NULL, "%s", b.msg);
  k8sha_retriever_free(r);
  k8sha_ctx_free(c);
  it_stop(&t);
}
END_TEST

/* k8sha_election_stop(e, NULL, NULL) and k8sha_election_free(e) right after it: the release
 * being written keeps going, so the follower takes over in milliseconds, not after the (here
 * one-minute) lease. Freeing the context while such a release is still under way cancels it. */
START_TEST(a_release_outlives_the_free_of_its_election) {
  static const char *const long_lease[] = {
      "high-availability.kubernetes.leader-election.lease-duration", "60 s",
      "high-availability.kubernetes.leader-election.renew-deadline", "50 s",
      "high-availability.kubernetes.leader-election.retry-period", "250 ms", NULL};
  itest t;
  probe p1, p2;
  k8sha_ctx *c1, *c2;
  k8sha_election *e1, *e2;
  uint64_t freed_at;

  g_kind = K8SHA_LOCK_CONFIGMAP;
  it_start(&t, NULL, NULL);
  c1 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), long_lease);
  c2 = it_ctx_with(&t, kubelite_kubeconfig(t.kl), long_lease);
  e1 = contender(c1, "one", &p1, &t.loop);
  await_count(&t, &p1.granted, 1);
  e2 = contender(c2, "two", &p2, &t.loop);
  while (strcmp(p2.holder, "one") != 0)
    await_count(&t, &p2.changes, p2.changes + 1);
  ck_assert_int_eq(k8sha_election_stop(e1, NULL, NULL), 0);
  k8sha_election_free(e1);
  freed_at = k8sha__now_ms(&c2->rt);
  await_count(&t, &p2.granted, 1);
  ck_assert_msg(p2.granted_at - freed_at < 30000,
                "the follower waited %llu ms: the release did not land",
                (unsigned long long)(p2.granted_at - freed_at));
  ck_assert_int_eq(k8sha_ctx_free(c1), 0); /* (nothing of the host's is left in it) */
  /* the same, with the context freed before the release is answered */
  ck_assert_int_eq(k8sha_election_stop(e2, NULL, NULL), 0);
  k8sha_election_free(e2);
  ck_assert_int_eq(k8sha_ctx_free(c2), 0);
  it_stop(&t);
}
END_TEST

/* A publish cut short by a stop: its callback gets a failure and, from
 * k8sha_election_last_error(), what became of the entry. */
typedef struct pub_probe {
  int done, status;
  char msg[768];
} pub_probe;

static void on_pub_done(k8sha_election *e, int status, void *ud) {
  pub_probe *p = ud;
  p->done = 1;
  p->status = status;
  snprintf(p->msg, sizeof(p->msg), "%s", k8sha_election_last_error(e));
}

static void failed_publish_says_why(k8sha_lock_kind kind) {
  itest t;
  probe p;
  pub_probe pp;
  k8sha_ctx *c;
  k8sha_election *e;
  int turns = 0;

  g_kind = kind;
  it_start(&t, NULL, NULL);
  c = it_ctx_with(&t, kubelite_kubeconfig(t.kl), timing);
  e = contender(c, "one", &p, &t.loop);
  await_count(&t, &p.granted, 1);
  memset(&pp, 0, sizeof(pp));
  ck_assert_str_eq(k8sha_election_last_error(e), "");
  ck_assert_int_eq(k8sha_election_publish(e, "restserver", "http://one:8081", on_pub_done, &pp),
                   0);
  ck_assert_int_eq(k8sha_election_stop(e, NULL, NULL), 0);
  while (!pp.done) {
    ck_assert_msg(turns++ < 100000, "the publish never completed");
    uv_run(&t.loop, UV_RUN_ONCE);
  }
  ck_assert_int_ne(pp.status, 0);
  ck_assert_msg(strncmp(pp.msg, "publish: ", 9) == 0 && strlen(pp.msg) > 20, "%s", pp.msg);
  k8sha_election_free(e);
  k8sha_ctx_free(c);
  it_stop(&t);
  g_kind = K8SHA_LOCK_CONFIGMAP;
}

START_TEST(a_failed_publish_says_why) {
  failed_publish_says_why(K8SHA_LOCK_CONFIGMAP);
}
END_TEST

/* (with a Lease lock the entry goes to the addresses ConfigMap, through its claim) */
START_TEST(a_failed_publish_says_why_lease) {
  failed_publish_says_why(K8SHA_LOCK_LEASE);
}
END_TEST

int main(void) {
  Suite *s = suite_create("election");
  TCase *tc = tcase_create("election");
  tcase_set_timeout(tc, 120);
  it_add(tc, configmap_lock_grant_publish_retrieve_and_release, IT_ANY);
  it_add(tc, lease_lock_grant_publish_retrieve_and_release, IT_ANY);
  it_add(tc, lease_lock_addresses_are_quiet_and_go_with_their_term, IT_FAULTS);
  it_add(tc, external_takeover_and_deletion_revoke, IT_ANY);
  it_add(tc, expiry_is_judged_on_the_local_clock, IT_ANY);
  it_add(tc, failing_renewals_step_down_before_the_lease_ends, IT_FAULTS);
  it_add(tc, forbidden_update_is_reported_and_never_leads, IT_ANY);
  it_add(tc, create_without_update_never_leads, IT_ANY);
  it_add(tc, contenders_in_one_process_share_one_watch, IT_ANY);
  it_add(tc, freeing_from_inside_callbacks, IT_ANY);
  it_add(tc, a_lone_contender_recovers_after_a_late_renew, IT_FAULTS);
  it_add(tc, a_watch_replaying_older_records_deposes_nobody, IT_KUBELITE);
  it_add(tc, a_list_timeout_reaches_the_error_callback_at_once, IT_FAULTS);
  it_add(tc, a_timed_out_lock_read_reaches_the_error_callback, IT_FAULTS);
  it_add(tc, stopping_from_a_retriever_callback, IT_ANY);
  it_add(tc, freeing_the_election_from_a_retriever_callback, IT_ANY);
  it_add(tc, retriever_reports_what_keeps_it_blind, IT_KUBELITE);
  it_add(tc, a_release_outlives_the_free_of_its_election, IT_ANY);
  it_add(tc, a_failed_publish_says_why, IT_ANY);
  it_add(tc, a_failed_publish_says_why_lease, IT_ANY);
  it_add(tc, one_identity_in_two_processes_never_leads_twice, IT_ANY);
  suite_add_tcase(s, tc);
  return it_run_suite(s);
}
