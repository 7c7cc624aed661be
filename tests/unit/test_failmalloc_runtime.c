/* Allocation failure at every point of the runtime, against an in-process Kubernetes API:
 * context creation; an election's start, grant, publish, renewals and stop; a checkpoint store's
 * open, counter, add and recovery; a job graph store's open, put, get and remove; an informer
 * taking a watch event and listing again; an orphan scan. Allocations fail through the host allocator of the
 * context and through jansson's (which the library's JSON goes through), one at a time: the Nth
 * of a phase in the Nth run, until a run completes without reaching N.
 *
 * Each call must succeed, or fail with K8SHA_ENOMEM (K8SHA_EUNKNOWN_OUTCOME for a write whose
 * answer was lost), returned or reported through its callback or the error callback; nothing may
 * crash or leak (the host allocator counts its blocks; ASan and valgrind see the rest); the object
 * stays usable (the failed step is repeated without the failure and must succeed) and freeable;
 * and no failure may be taken for news from the server (an informer must not report objects
 * deleted that were not, a leader must not step down). One case per phase, run separately by
 * meson (CK_RUN_CASE). */
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ctx_priv.h"
#include "fakekube.h"
#include "kube/informer.h"
#include "testutil.h"

#define JOB_ID "00000000000000000000000000000abc"
#define LEADER_ANNOTATION "control-plane.alpha.kubernetes.io/leader"

static const char *or_empty(const char *s) {
  return s ? s : "";
}

/* ---- failing allocators ---- */

typedef struct counting {
  long fail_at; /* the allocation of the armed phase that fails (1-based); 0: none */
  long calls;   /* armed allocations so far */
  long live;    /* host-allocator blocks not yet freed */
  int armed;
  int hit;      /* the failure happened */
} counting;

static counting C;
static int fake_busy; /* the fake server runs: its own allocations never fail */

/* (a place for a debugger's breakpoint: where the failure is injected) */
__attribute__((noinline)) static void failure_point(void) {
  __asm__ volatile("");
}

static int in_jansson; /* inside jansson's parser or serializer: see below */

static int fail_now(void) {
  if (!C.armed || fake_busy || in_jansson)
    return 0;
  if (++C.calls != C.fail_at)
    return 0;
  C.hit = 1;
  failure_point();
  return 1;
}

/* The host allocator's blocks start HOST_PAD bytes into what malloc gave: a block of the host's
 * released with libc's free(), or one of libc's released through the host allocator, is an
 * invalid pointer to free() and aborts the test (the allocator contract, docs/architecture.md). */
#define HOST_PAD 16

static void *cm_malloc(size_t n, void *ud) {
  char *p;
  (void)ud;
  if (fail_now())
    return NULL;
  p = malloc(n + HOST_PAD);
  if (!p)
    return NULL;
  C.live++;
  return p + HOST_PAD;
}

static void *cm_realloc(void *ptr, size_t n, void *ud) {
  void *p;
  (void)ud;
  if (fail_now())
    return NULL;
  p = realloc(ptr ? (char *)ptr - HOST_PAD : NULL, n + HOST_PAD);
  if (!p)
    return NULL;
  if (!ptr)
    C.live++;
  return (char *)p + HOST_PAD;
}

static void cm_free(void *ptr, void *ud) {
  (void)ud;
  if (!ptr)
    return;
  C.live--;
  free((char *)ptr - HOST_PAD);
}

/* jansson's: plain malloc underneath, since the library frees some jansson results with free(). */
static void *json_fail_malloc(size_t n) {
  return fail_now() ? NULL : malloc(n);
}

/* jansson (2.14) is not safe when an allocation fails inside its parser or its serializer
 * (jansson issue #362): lex_save() ignores a failed growth of its buffer and drops the byte, so a
 * parse returns a damaged document ("resourceVersion" arrived as "resourceVersio") or, the closing
 * quote dropped, decodes a string past its buffer (a heap overflow: a crash under ASan); and
 * json_dumps() can likewise return a document with bytes missing ({"metadata":{":"c1",...}).
 * Nothing a caller can do about either: allocations inside json_loadb, json_loads and json_dumps
 * (wrapped at link time) do not fail here. Every other allocation of jansson's does. */
json_t *__real_json_loadb(const char *buffer, size_t len, size_t flags, json_error_t *error);
json_t *__wrap_json_loadb(const char *buffer, size_t len, size_t flags, json_error_t *error);
json_t *__wrap_json_loadb(const char *buffer, size_t len, size_t flags, json_error_t *error) {
  json_t *j;
  in_jansson++;
  j = __real_json_loadb(buffer, len, flags, error);
  in_jansson--;
  return j;
}

json_t *__real_json_loads(const char *input, size_t flags, json_error_t *error);
json_t *__wrap_json_loads(const char *input, size_t flags, json_error_t *error);
json_t *__wrap_json_loads(const char *input, size_t flags, json_error_t *error) {
  json_t *j;
  in_jansson++;
  j = __real_json_loads(input, flags, error);
  in_jansson--;
  return j;
}

char *__real_json_dumps(const json_t *json, size_t flags);
char *__wrap_json_dumps(const json_t *json, size_t flags);
char *__wrap_json_dumps(const json_t *json, size_t flags) {
  char *text;
  in_jansson++;
  text = __real_json_dumps(json, flags);
  in_jansson--;
  return text;
}

static const k8sha_allocator failing = {K8SHA_ALLOCATOR_VERSION, cm_malloc, cm_realloc, cm_free,
                                        NULL};

/* ---- the world: a loop, a fake API server, a context ---- */

typedef struct world {
  uv_loop_t loop;
  fakekube *fk;
  k8sha_ctx *ctx;
  k8sha_config *cfg;
  time_t started;
} world;

static void world_open(world *w) {
  char storage[700];
  memset(w, 0, sizeof(*w));
  ck_assert_int_eq(uv_loop_init(&w->loop), 0);
  w->fk = fk_start(&w->loop);
  fk_set_busy_flag(w->fk, &fake_busy);
  snprintf(storage, sizeof(storage), "file://%s/ha", tu_tmpdir());
  ck_assert_int_eq(k8sha_config_new(&w->cfg, NULL), 0);
  ck_assert_int_eq(k8sha_config_set(w->cfg, "kubernetes.config.file",
                                    tu_write("failmalloc-kc.yaml", fk_kubeconfig(w->fk))),
                   0);
  ck_assert_int_eq(k8sha_config_set(w->cfg, "kubernetes.cluster-id", "c1"), 0);
  ck_assert_int_eq(k8sha_config_set(w->cfg, "high-availability.type", "kubernetes"), 0);
  ck_assert_int_eq(k8sha_config_set(w->cfg, "high-availability.storageDir", storage), 0);
  /* Renewals often enough to fall in every phase; a lease long enough for a slow run. */
  ck_assert_int_eq(k8sha_config_set(w->cfg, "high-availability.kubernetes.leader-election."
                                            "lease-duration", "60 s"), 0);
  ck_assert_int_eq(k8sha_config_set(w->cfg, "high-availability.kubernetes.leader-election."
                                            "renew-deadline", "45 s"), 0);
  ck_assert_int_eq(k8sha_config_set(w->cfg, "high-availability.kubernetes.leader-election."
                                            "retry-period", "50 ms"), 0);
  ck_assert_int_eq(k8sha_config_validate(w->cfg), 0);
  ck_assert_int_eq(k8sha_config_resolve_kube(w->cfg), 0);
  w->started = time(NULL);
}

static void log_line(k8sha_log_level level, const char *module, const char *message, void *ud) {
  (void)ud;
  fprintf(stderr, "  [%d %s] %s\n", (int)level, module, message);
}

static int ctx_new(world *w) {
  k8sha_ctx_options o;
  int rc;
  k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION);
  o.loop = &w->loop;
  o.allocator = &failing;
  /* FAILMALLOC_VERBOSE=2 shows the library's log, to see what a failing run did */
  if (getenv("FAILMALLOC_VERBOSE") && atoi(getenv("FAILMALLOC_VERBOSE")) >= 2) {
    o.log = log_line;
    o.log_level = K8SHA_LOG_DEBUG;
  }
  rc = k8sha_ctx_new(&w->ctx, w->cfg, &o);
  if (rc)
    return rc;
  /* Nearly every failure makes an informer wait before it tries again: not 0.8 s each time. */
  k8sha__kube_set_informer_backoff(w->ctx->kube, 20);
  return 0;
}

/* Frees the context, stops the server and runs the loop until every handle has closed. */
static void world_close(world *w) {
  k8sha_ctx_free(w->ctx);
  w->ctx = NULL;
  fk_stop(w->fk);
  k8sha_config_free(w->cfg);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&w->loop), 0);
}

/* Seconds a wait may take before the test gives up on it. */
static time_t patience(void) {
  return getenv("K8SHA_UNDER_VALGRIND") ? 600 : 60;
}

/* Runs the loop until *flag is set. Bounded (a generous wall-clock limit) only so that a test
 * that would wait forever fails instead. */
static void run_until(world *w, const int *flag, const char *what) {
  while (!*flag) {
    ck_assert_msg(time(NULL) - w->started < patience(),
                  "%s: still waiting (failing allocation %ld)", what, C.fail_at);
    uv_run(&w->loop, UV_RUN_ONCE);
  }
}

/* Runs `scenario` failing each armed allocation in turn; the phase makes at least `least`.
 * Under valgrind (K8SHA_UNDER_VALGRIND) about 80 runs, spread evenly over the phase's allocations
 * as a first run without failures counts them; FAILMALLOC_RUNS=N sets that number (0: every
 * allocation), FAILMALLOC_FROM=N starts at allocation N (to look at one failing run), and
 * FAILMALLOC_VERBOSE=1 names each run (2: with the library's log). */
static void every_allocation(const char *name, void (*scenario)(void), long least) {
  long n = getenv("FAILMALLOC_FROM") ? atol(getenv("FAILMALLOC_FROM")) : 1, step = 1, runs = 0;
  long budget = getenv("FAILMALLOC_RUNS")          ? atol(getenv("FAILMALLOC_RUNS"))
                : getenv("K8SHA_UNDER_VALGRIND") ? 80
                                                   : 0;
  if (budget > 0) {
    memset(&C, 0, sizeof(C));
    scenario(); /* (fail_at 0: counts) */
    ck_assert_msg(C.live == 0, "%s: leaked %ld blocks without failures", name, C.live);
    step = C.calls / budget + 1;
  }
  for (;; n += step, runs++) {
    memset(&C, 0, sizeof(C));
    C.fail_at = n;
    if (getenv("FAILMALLOC_VERBOSE"))
      fprintf(stderr, "%s: failing allocation %ld\n", name, n);
    scenario();
    ck_assert_msg(C.live == 0, "%s: failing allocation %ld leaked %ld blocks", name, n, C.live);
    if (!C.hit)
      break;
  }
  printf("%s: %ld runs, one allocation of %ld failing in each (every %ld%s)\n", name, runs,
         C.calls, step, step == 1 ? "" : ", sampled");
  ck_assert_msg(C.calls >= least, "%s: only %ld allocations in the phase", name, C.calls);
}

/* Errors must be allocation failures, or a write whose answer was lost (its outcome unknown). */
static void check_err(int err, const char *what, const char *message) {
  ck_assert_msg(err == K8SHA_ENOMEM || err == K8SHA_EUNKNOWN_OUTCOME,
                "%s: %s (%s) when allocation %ld failed", what, k8sha_err_name(err),
                message ? message : "", C.fail_at);
}

/* ---- context ---- */

static void ctx_scenario(void) {
  world w;
  int rc;
  world_open(&w);
  C.armed = 1;
  rc = ctx_new(&w);
  if (rc) {
    check_err(rc, "k8sha_ctx_new", NULL);
    ck_assert_ptr_null(w.ctx);
  }
  k8sha_ctx_free(w.ctx);
  w.ctx = NULL;
  C.armed = 0;
  world_close(&w);
}

START_TEST(context_creation) {
  every_allocation("context", ctx_scenario, 5);
}
END_TEST

/* ---- election ---- */

typedef struct elect {
  k8sha_election *e;
  int granted, revoked, errors, stopped, stop_status, published, publish_status;
} elect;

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  elect *el = ud;
  (void)e;
  (void)session;
  (void)term;
  el->granted++;
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  elect *el = ud;
  (void)e;
  el->revoked++;
  ck_assert_msg(reason == K8SHA_ECANCELED, "leadership revoked (%s) when allocation %ld failed",
                k8sha_err_name(reason), C.fail_at);
}

static void on_election_error(k8sha_election *e, int err, const char *message, void *ud) {
  elect *el = ud;
  (void)e;
  el->errors++;
  check_err(err, "election error", message);
}

static void on_published(k8sha_election *e, int status, void *ud) {
  elect *el = ud;
  (void)e;
  el->published = 1;
  el->publish_status = status;
}

static void on_stopped(k8sha_election *e, int status, void *ud) {
  elect *el = ud;
  (void)e;
  el->stopped = 1;
  el->stop_status = status;
}

static const char *lock_name(void) {
  return "c1-cluster-config-map";
}

/* The holder the lock in the server names ("" when released). */
static void lock_holder(world *w, char *out, size_t n) {
  json_t *obj = fk_get(w->fk, "configmaps", lock_name()), *rec;
  const char *ann;
  int busy = fake_busy;
  out[0] = '\0';
  ann = json_string_value(json_object_get(
      json_object_get(json_object_get(obj, "metadata"), "annotations"), LEADER_ANNOTATION));
  if (!ann)
    return;
  fake_busy = 1;
  rec = json_loads(ann, 0, NULL);
  fake_busy = busy;
  snprintf(out, n, "%s", or_empty(json_string_value(json_object_get(rec, "holderIdentity"))));
  json_decref(rec);
}

static int election_new(world *w, elect *el) {
  k8sha_election_callbacks cbs;
  k8sha_election_options o = K8SHA_ELECTION_OPTIONS_INIT;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.error = on_election_error;
  cbs.user_data = el;
  o.identity = "contender-1";
  memset(el, 0, sizeof(*el));
  return k8sha_election_new(&el->e, w->ctx, &o, &cbs);
}

/* Starts the election and waits until it leads; the start is repeated unarmed if it failed. */
static void election_lead(world *w, elect *el) {
  int rc = k8sha_election_start(el->e);
  if (rc) {
    int armed = C.armed;
    check_err(rc, "k8sha_election_start", NULL);
    C.armed = 0;
    ck_assert_int_eq(k8sha_election_start(el->e), 0);
    C.armed = armed;
  }
  run_until(w, &el->granted, "granted");
  ck_assert_int_eq(el->granted, 1);
  ck_assert_int_eq(k8sha_election_is_leader(el->e), 1);
}

/* Stops the election and waits for the end; a release that was written leaves no holder. */
static void election_stop(world *w, elect *el) {
  char holder[256];
  int rc = k8sha_election_stop(el->e, on_stopped, el);
  if (rc) {
    /* A stop that failed can be asked again, and ends. */
    int armed = C.armed;
    check_err(rc, "k8sha_election_stop", NULL);
    C.armed = 0;
    ck_assert_int_eq(k8sha_election_stop(el->e, on_stopped, el), 0);
    C.armed = armed;
  }
  {
    run_until(w, &el->stopped, "stopped");
    if (el->stop_status)
      check_err(el->stop_status, "stopped", NULL);
    lock_holder(w, holder, sizeof(holder));
    if (el->stop_status == 0)
      ck_assert_msg(holder[0] == '\0', "stopped fine, but the lock still names '%s' (allocation "
                    "%ld failed)", holder, C.fail_at);
  }
  k8sha_election_free(el->e);
  el->e = NULL;
}

/* Waits until the server has seen `n` more writes of the lock. */
static void renewals(world *w, int n) {
  json_t *obj = fk_get(w->fk, "configmaps", lock_name());
  long rv = strtol(or_empty(json_string_value(
                       json_object_get(json_object_get(obj, "metadata"), "resourceVersion"))),
                   NULL, 10);
  long target = rv + n;
  for (;;) {
    obj = fk_get(w->fk, "configmaps", lock_name());
    rv = strtol(or_empty(json_string_value(
                    json_object_get(json_object_get(obj, "metadata"), "resourceVersion"))),
                NULL, 10);
    if (rv >= target)
      break;
    ck_assert_msg(time(NULL) - w->started < patience(), "no renewal (failing allocation %ld)",
                  C.fail_at);
    uv_run(&w->loop, UV_RUN_ONCE);
  }
}

static void on_retrieved(k8sha_retriever *r, const char *address, const char *session,
                         void *ud) {
  int *seen = ud;
  (void)r;
  (void)session;
  *seen = address ? 2 : 1; /* 1: no leader; 2: an address */
}

static void election_scenario(void) {
  k8sha_retriever *r = NULL;
  k8sha_retriever_options ro = K8SHA_RETRIEVER_OPTIONS_INIT;
  int retrieved = 0;
  world w;
  elect el;
  int rc;
  world_open(&w);
  ck_assert_int_eq(ctx_new(&w), 0);
  /* A retriever watches the lock first: the election then starts on a lock already watched. */
  ro.lock_name = lock_name();
  ck_assert_int_eq(k8sha_retriever_new(&r, w.ctx, &ro, "resourcemanager", on_retrieved,
                                       &retrieved), 0);
  run_until(&w, &retrieved, "retriever's first look");
  C.armed = 1;
  rc = election_new(&w, &el);
  if (rc) {
    check_err(rc, "k8sha_election_new", NULL);
    ck_assert_ptr_null(el.e);
  } else {
    election_lead(&w, &el);
    rc = k8sha_election_publish(el.e, "resourcemanager", "akka://rm@10.0.0.1:6123", on_published,
                                &el);
    if (rc) {
      check_err(rc, "k8sha_election_publish", NULL);
      C.armed = 0;
      rc = k8sha_election_publish(el.e, "resourcemanager", "akka://rm@10.0.0.1:6123",
                                  on_published, &el);
      ck_assert_int_eq(rc, 0);
      C.armed = 1;
    }
    run_until(&w, &el.published, "published");
    ck_assert_int_eq(el.publish_status, 0);
    renewals(&w, 1);
    ck_assert_int_eq(k8sha_election_is_leader(el.e), 1);
    election_stop(&w, &el);
    ck_assert_int_eq(el.granted, 1);
  }
  C.armed = 0;
  k8sha_retriever_free(r);
  world_close(&w);
}

START_TEST(election_lifecycle) {
  every_allocation("election", election_scenario, 100);
}
END_TEST

/* ---- checkpoint store ---- */

typedef struct cstate {
  int done, status;
  uint64_t value;
  size_t n;
  int listed_ok;
} cstate;

static void on_cp_done(k8sha_checkpoint_store *s, int status, void *ud) {
  cstate *st = ud;
  (void)s;
  st->done = 1;
  st->status = status;
}

static void on_counted(k8sha_checkpoint_store *s, int status, uint64_t value, void *ud) {
  cstate *st = ud;
  (void)s;
  st->done = 1;
  st->status = status;
  st->value = value;
}

static void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
                         size_t n, void *ud) {
  cstate *st = ud;
  size_t i;
  (void)s;
  st->done = 1;
  st->status = status;
  st->n = n;
  st->listed_ok = 1;
  for (i = 0; i < n; i++) {
    if (list[i]->status) {
      st->listed_ok = 0;
      check_err(list[i]->status, "recovered checkpoint", list[i]->message);
      ck_assert_msg(list[i]->message != NULL, "checkpoint %llu failed without a message",
                    (unsigned long long)list[i]->id);
    } else {
      ck_assert_uint_eq(list[i]->len, 5);
      ck_assert_int_eq(memcmp(list[i]->data, "state", 5), 0);
    }
  }
}

/* Runs one store step: `start` returns the call's result; on failure (returned or through the
 * callback) the step is repeated unarmed and must succeed. */
#define STEP(w, st, what, call)                                                      \
  do {                                                                               \
    int rc_, armed_ = C.armed;                                                       \
    memset(&(st), 0, sizeof(st));                                                    \
    rc_ = (call);                                                                    \
    if (rc_ == 0) {                                                                  \
      run_until((w), &(st).done, what);                                              \
      rc_ = (st).status;                                                             \
    }                                                                                \
    if (rc_) {                                                                       \
      check_err(rc_, what, NULL);                                                    \
      C.armed = 0;                                                                   \
      memset(&(st), 0, sizeof(st));                                                  \
      ck_assert_int_eq((call), 0);                                                   \
      run_until((w), &(st).done, what);                                              \
      ck_assert_msg((st).status == 0, "%s, repeated: %s", what,                      \
                    k8sha_err_name((st).status));                                    \
      C.armed = armed_;                                                              \
    }                                                                                \
  } while (0)

static void checkpoint_scenario(void) {
  world w;
  elect el;
  k8sha_checkpoint_store *s = NULL;
  cstate st;
  int rc;

  world_open(&w);
  ck_assert_int_eq(ctx_new(&w), 0);
  ck_assert_int_eq(election_new(&w, &el), 0);
  election_lead(&w, &el);
  C.armed = 1;
  memset(&st, 0, sizeof(st));
  rc = k8sha_checkpoint_store_open(&s, el.e, JOB_ID, on_cp_done, &st);
  if (rc == 0) {
    run_until(&w, &st.done, "opened");
    rc = st.status;
    if (rc) {
      check_err(rc, "opened", k8sha_checkpoint_store_last_error(s));
      k8sha_checkpoint_store_free(s);
    }
  } else {
    check_err(rc, "k8sha_checkpoint_store_open", NULL);
  }
  if (rc) {
    /* The failed store went; a new one opens. */
    C.armed = 0;
    memset(&st, 0, sizeof(st));
    ck_assert_int_eq(k8sha_checkpoint_store_open(&s, el.e, JOB_ID, on_cp_done, &st), 0);
    run_until(&w, &st.done, "opened again");
    ck_assert_int_eq(st.status, 0);
    C.armed = 1;
  }
  STEP(&w, st, "counter", k8sha_checkpoint_counter_get_and_increment(s, on_counted, &st));
  STEP(&w, st, "add", k8sha_checkpoint_add(s, 1, "state", 5, on_cp_done, &st));
  memset(&st, 0, sizeof(st));
  rc = k8sha_checkpoint_recover(s, on_recovered, &st);
  if (rc == 0) {
    run_until(&w, &st.done, "recovered");
    rc = st.status;
  }
  if (rc)
    check_err(rc, "recover", NULL);
  if (rc || !st.listed_ok) {
    C.armed = 0;
    memset(&st, 0, sizeof(st));
    ck_assert_int_eq(k8sha_checkpoint_recover(s, on_recovered, &st), 0);
    run_until(&w, &st.done, "recovered again");
    ck_assert_int_eq(st.status, 0);
    ck_assert_int_eq(st.listed_ok, 1);
  }
  ck_assert_uint_eq(st.n, 1);
  C.armed = 1;
  k8sha_checkpoint_store_free(s);
  C.armed = 0;
  ck_assert_int_eq(el.revoked, 0);
  election_stop(&w, &el);
  world_close(&w);
}

START_TEST(checkpoint_store) {
  every_allocation("checkpoint store", checkpoint_scenario, 100);
}
END_TEST

/* ---- orphan scan ---- */

typedef struct ostate {
  int done, status;
  int orphans, stray_seen;
  char message[512];
} ostate;

#define STRAY "completedCheckpoint00000000abcd"

static void on_o_found(k8sha_found_kind kind, const char *name, void *ud) {
  ostate *st = ud;
  if (kind != K8SHA_FOUND_ORPHAN_BLOB)
    return;
  /* The checkpoint's blob is referenced: reporting it as an orphan is the defect. */
  ck_assert_msg(strstr(name, STRAY) != NULL,
                "the scan took %s for an orphan when allocation %ld failed", name, C.fail_at);
  st->orphans++;
  st->stray_seen = 1;
}

static void on_o_done(int status, const char *message, void *ud) {
  ostate *st = ud;
  st->done = 1;
  st->status = status;
  snprintf(st->message, sizeof(st->message), "%s", or_empty(message));
}

/* Removes the blobs in the cluster's folder: each run starts with none, so the scan's work is
 * the same in every run. */
static void empty_blob_folder(void) {
  char dir[700], path[1200];
  DIR *d;
  struct dirent *de;
  snprintf(dir, sizeof(dir), "%s/ha/c1", tu_tmpdir());
  if (!(d = opendir(dir)))
    return;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    ck_assert_int_eq(unlink(path), 0);
  }
  closedir(d);
}

/* The scan without a leader (it reports, deletes nothing) reads every pointer, then names the
 * blobs no pointer references: a reference it fails to record must end it, never make a
 * referenced blob an orphan. */
static void orphans_scenario(void) {
  world w;
  elect el;
  k8sha_checkpoint_store *s = NULL;
  cstate cs;
  ostate st;
  char stray[800];
  FILE *f;
  int rc;

  empty_blob_folder();
  world_open(&w);
  ck_assert_int_eq(ctx_new(&w), 0);
  ck_assert_int_eq(election_new(&w, &el), 0);
  election_lead(&w, &el);
  memset(&cs, 0, sizeof(cs));
  ck_assert_int_eq(k8sha_checkpoint_store_open(&s, el.e, JOB_ID, on_cp_done, &cs), 0);
  run_until(&w, &cs.done, "opened");
  ck_assert_int_eq(cs.status, 0);
  memset(&cs, 0, sizeof(cs));
  ck_assert_int_eq(k8sha_checkpoint_add(s, 1, "state", 5, on_cp_done, &cs), 0);
  run_until(&w, &cs.done, "added");
  ck_assert_int_eq(cs.status, 0);
  snprintf(stray, sizeof(stray), "%s/ha/c1/" STRAY, tu_tmpdir());
  ck_assert_ptr_nonnull(f = fopen(stray, "w"));
  fputs("left by a crash between blob and pointer", f);
  fclose(f);

  C.armed = 1;
  memset(&st, 0, sizeof(st));
  rc = k8sha_orphans_scan(w.ctx, NULL, on_o_found, on_o_done, &st);
  if (rc == 0) {
    run_until(&w, &st.done, "scanned");
    rc = st.status;
  }
  C.armed = 0;
  if (rc)
    ck_assert_msg(rc == K8SHA_ENOMEM, "scan: %s (%s) when allocation %ld failed",
                  k8sha_err_name(rc), st.message, C.fail_at);
  else
    ck_assert_msg(st.orphans == 1 && st.stray_seen, "scan: %d orphans when allocation %ld failed",
                  st.orphans, C.fail_at);
  k8sha_checkpoint_store_free(s);
  election_stop(&w, &el);
  world_close(&w);
  empty_blob_folder();
}

START_TEST(orphan_scan) {
  every_allocation("orphan scan", orphans_scenario, 20);
}
END_TEST

/* ---- job graph store ---- */

typedef struct gstate {
  int done, status;
  char got[16];
} gstate;

static void on_g_done(k8sha_jobgraph_store *s, int status, void *ud) {
  gstate *st = ud;
  (void)s;
  st->done = 1;
  st->status = status;
}

static void on_g_got(k8sha_jobgraph_store *s, int status, const void *graph, size_t len,
                     void *ud) {
  gstate *st = ud;
  (void)s;
  st->done = 1;
  st->status = status;
  if (status == 0)
    snprintf(st->got, sizeof(st->got), "%.*s", (int)len, (const char *)graph);
}

static void jobgraph_scenario(void) {
  world w;
  elect el;
  k8sha_jobgraph_store *s = NULL;
  gstate st;
  char **ids = NULL;
  size_t n = 0;
  int rc;

  world_open(&w);
  ck_assert_int_eq(ctx_new(&w), 0);
  ck_assert_int_eq(election_new(&w, &el), 0);
  election_lead(&w, &el);
  C.armed = 1;
  memset(&st, 0, sizeof(st));
  rc = k8sha_jobgraph_store_open(&s, el.e, on_g_done, &st);
  if (rc == 0) {
    run_until(&w, &st.done, "opened");
    rc = st.status;
    if (rc) {
      check_err(rc, "opened", k8sha_jobgraph_store_last_error(s));
      k8sha_jobgraph_store_free(s);
    }
  } else {
    check_err(rc, "k8sha_jobgraph_store_open", NULL);
  }
  if (rc) {
    C.armed = 0;
    memset(&st, 0, sizeof(st));
    ck_assert_int_eq(k8sha_jobgraph_store_open(&s, el.e, on_g_done, &st), 0);
    run_until(&w, &st.done, "opened again");
    ck_assert_int_eq(st.status, 0);
    C.armed = 1;
  }
  STEP(&w, st, "put", k8sha_jobgraph_put(s, JOB_ID, "graph", 5, on_g_done, &st));
  STEP(&w, st, "get", k8sha_jobgraph_get(s, JOB_ID, on_g_got, &st));
  ck_assert_str_eq(st.got, "graph");
  rc = k8sha_jobgraph_ids(s, &ids, &n);
  if (rc) {
    check_err(rc, "k8sha_jobgraph_ids", NULL);
  } else {
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ids[0], JOB_ID);
    k8sha_jobgraph_ids_free(s, ids, n);
  }
  STEP(&w, st, "remove", k8sha_jobgraph_remove(s, JOB_ID, on_g_done, &st));
  k8sha_jobgraph_store_free(s);
  C.armed = 0;
  ck_assert_int_eq(el.revoked, 0);
  election_stop(&w, &el);
  world_close(&w);
}

START_TEST(jobgraph_store) {
  every_allocation("job graph store", jobgraph_scenario, 100);
}
END_TEST

/* ---- informer ---- */

typedef struct istate {
  int synced, deleted, errors;
  char deleted_name[64];
  char added[8][16]; /* the names the informer said it added (each once) */
  int n_added;
} istate;

static void on_inf_change(k8sha__change change, json_t *obj, json_t *old, void *ud) {
  istate *st = ud;
  (void)old;
  if (change == K8SHA__ADDED) {
    const char *name = or_empty(
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")));
    int i;
    for (i = 0; i < st->n_added && strcmp(st->added[i], name) != 0; i++)
      ;
    if (i == st->n_added && i < 8)
      snprintf(st->added[st->n_added++], sizeof(st->added[0]), "%s", name);
  }
  if (change == K8SHA__DELETED) {
    st->deleted++;
    json_t *meta = json_object_get(obj, "metadata");
    snprintf(st->deleted_name, sizeof(st->deleted_name), "%s",
             or_empty(json_string_value(json_object_get(meta, "name"))));
  }
}

static void on_inf_synced(void *ud) {
  istate *st = ud;
  st->synced++;
}

static void on_inf_error(int err, const char *message, void *ud) {
  istate *st = ud;
  st->errors++;
  check_err(err, "informer error", message); /* (the 410 the test sends is not an error) */
}

static void cm(fakekube *fk, const char *name, const char *value) {
  char json[256];
  snprintf(json, sizeof(json), "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"v\":\"%s\"}}", name,
           value);
  fk_apply(fk, "configmaps", json);
}

/* Whether the informer's cache holds exactly the server's ConfigMaps, at their versions (the
 * objects it reported added, none deleted, are those four). */
static int cache_current(world *w, k8sha__informer *inf, const istate *st) {
  static const char *const names[] = {"a", "b", "c", "d"};
  size_t i;
  if (st->n_added != 4)
    return 0;
  for (i = 0; i < 4; i++) {
    json_t *mine = k8sha__informer_get(inf, names[i]);
    json_t *theirs = fk_get(w->fk, "configmaps", names[i]);
    const char *a = json_string_value(
        json_object_get(json_object_get(mine, "metadata"), "resourceVersion"));
    const char *b = json_string_value(
        json_object_get(json_object_get(theirs, "metadata"), "resourceVersion"));
    if (!a || !b || strcmp(a, b) != 0)
      return 0;
  }
  return 1;
}

/* Runs until the informer has synced `synced` times and its cache is current. With `expire`,
 * every watch it opens meanwhile is ended with 410 Expired (a failure may end a watch before the
 * 410 reached it, and the next watch then resumes without listing). */
static void wait_current(world *w, k8sha__informer *inf, istate *st, int synced, int expire,
                         const char *what) {
  while (!(st->synced >= synced && cache_current(w, inf, st))) {
    if (expire && st->synced < synced && fk_watches(w->fk) > 0)
      fk_expire_watches(w->fk);
    ck_assert_msg(st->deleted == 0, "%s: '%s' reported deleted, which it was not (allocation %ld "
                  "failed)", what, st->deleted_name, C.fail_at);
    ck_assert_msg(time(NULL) - w->started < patience(),
                  "%s: the cache never caught up (allocation %ld failed)", what, C.fail_at);
    uv_run(&w->loop, UV_RUN_ONCE);
  }
  ck_assert_int_eq(st->deleted, 0);
}

static void informer_scenario(void) {
  k8sha__informer_cbs cbs = {on_inf_change, on_inf_synced, on_inf_error};
  k8sha__informer_opts o;
  k8sha__informer *inf = NULL;
  istate st;
  world w;

  world_open(&w);
  ck_assert_int_eq(ctx_new(&w), 0);
  cm(w.fk, "a", "1");
  cm(w.fk, "b", "1");
  cm(w.fk, "c", "1");
  memset(&st, 0, sizeof(st));
  memset(&o, 0, sizeof(o));
  o.collection = "/api/v1/namespaces/default/configmaps";
  ck_assert_int_eq(k8sha__informer_new(w.ctx->kube, &o, &cbs, &st, &inf), 0);
  ck_assert_int_eq(k8sha__informer_start(inf), 0);
  run_until(&w, &st.synced, "synced");
  C.armed = 1;
  /* events: one object changes, one appears */
  cm(w.fk, "a", "2");
  cm(w.fk, "d", "1");
  wait_current(&w, inf, &st, 1, 0, "after the events");
  /* the watch expires: a list again, over a full cache */
  wait_current(&w, inf, &st, 2, 1, "after listing again");
  k8sha__informer_free(inf);
  C.armed = 0;
  world_close(&w);
}

START_TEST(informer_events_and_relist) {
  every_allocation("informer", informer_scenario, 15);
}
END_TEST

int main(void) {
  Suite *s = suite_create("failmalloc_runtime");
  TCase *tc;
  /* The fake server writes events to watches the client may have just closed. */
  signal(SIGPIPE, SIG_IGN);
  /* Before any JSON exists: every jansson allocation goes through the failing hook. */
  json_set_alloc_funcs(json_fail_malloc, free);
#define CASE(name, test)                  \
  tc = tcase_create(name);                \
  tcase_set_timeout(tc, 600);             \
  tcase_add_test(tc, test);               \
  suite_add_tcase(s, tc)
  CASE("context", context_creation);
  CASE("election", election_lifecycle);
  CASE("checkpoint", checkpoint_store);
  CASE("jobgraph", jobgraph_store);
  CASE("informer", informer_events_and_relist);
  CASE("orphans", orphan_scan);
  return tu_run(s);
}
