/* A JobManager stand-in for the chaos campaign: contends for leadership, publishes its address
 * while it leads, and checkpoints every job it is given as fast as the stores let it (counter,
 * then add), opening fresh stores in every new term and recovering them first. It never gives up:
 * every failure is printed and retried after a short, jittered pause.
 *
 *   chaos_worker -c CONF [-D k=v]... --identity ID --job JOBID [--job JOBID]... [--seed N]
 *
 * One line per event on stdout, flushed at once, so the harness knows what it was told even when
 * the process is killed with SIGKILL:
 *   started ID | leading TERM SESSION | revoked ERR | error ERR MESSAGE | published TERM ERR
 *   opened JOB TERM ERR [MESSAGE] | recovered JOB TERM N | intact JOB ID | broken JOB ID ERR MESSAGE
 *   adding JOB ID TERM | committed JOB ID TERM | failed JOB ID TERM ERR MESSAGE
 *   counter JOB TERM ERR MESSAGE (a failed get-and-increment)
 * The library's log goes to stderr, each line stamped with CLOCK_MONOTONIC seconds (the
 * harness's clock too): at INFO, or at DEBUG with CHAOS_LOG_DEBUG=1 in the environment.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include <k8sha.h>

#define MAX_JOBS 8

typedef struct worker worker;

typedef enum slot_state { IDLE, OPENING, RECOVERING, COUNTING, ADDING, READY, BROKEN } slot_state;

typedef struct slot {
  worker *w;
  const char *job;
  k8sha_checkpoint_store *s;
  uint64_t term;   /* the term the store was opened in */
  uint64_t id;     /* the checkpoint being added */
  slot_state state;
  uv_timer_t tick; /* every step runs from here: no store is freed inside its own callback */
} slot;

struct worker {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  k8sha_election *e;
  const char *identity;
  int leading;
  uint64_t term;
  slot slots[MAX_JOBS];
  int nslots;
  uv_signal_t sigterm;
  unsigned rng;
};

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static void on_log(k8sha_log_level level, const char *module, const char *message, void *ud) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  struct timespec ts;
  (void)ud;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  fprintf(stderr, "%lld.%06ld %s %s: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000,
          (unsigned)level < 4 ? names[level] : "?", module, message);
  fflush(stderr);
}

static unsigned jitter(worker *w, unsigned lo, unsigned hi) {
  w->rng = w->rng * 1103515245u + 12345u;
  return lo + (w->rng >> 8) % (hi - lo + 1);
}

static void on_tick(uv_timer_t *t);

static void later(slot *sl, unsigned ms) {
  uv_timer_start(&sl->tick, on_tick, ms, 0);
}

/* A failed step: pause 20-200 ms, then go on from the state given. */
static void retry(slot *sl, slot_state state) {
  sl->state = state;
  later(sl, jitter(sl->w, 20, 200));
}

static void on_added(k8sha_checkpoint_store *s, int status, void *ud) {
  slot *sl = ud;
  if (status == 0) {
    out("committed %s %llu %llu", sl->job, (unsigned long long)sl->id,
        (unsigned long long)sl->term);
    sl->state = READY;
    later(sl, jitter(sl->w, 0, 10));
    return;
  }
  out("failed %s %llu %llu %s %s", sl->job, (unsigned long long)sl->id,
      (unsigned long long)sl->term, k8sha_err_name(status), k8sha_checkpoint_store_last_error(s));
  retry(sl, status == K8SHA_ENOTLEADER ? BROKEN : READY);
}

static void on_counted(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  slot *sl = ud;
  char state[160];
  int rc;
  if (status) {
    out("counter %s %llu %s %s", sl->job, (unsigned long long)sl->term, k8sha_err_name(status),
        k8sha_checkpoint_store_last_error(s));
    retry(sl, status == K8SHA_ENOTLEADER ? BROKEN : READY);
    return;
  }
  sl->id = id;
  /* The state names who wrote it, so a checker can tell writers apart by the bytes too. */
  snprintf(state, sizeof(state), "chaos job %s checkpoint %llu term %llu by %s", sl->job,
           (unsigned long long)id, (unsigned long long)sl->term, sl->w->identity);
  out("adding %s %llu %llu", sl->job, (unsigned long long)id, (unsigned long long)sl->term);
  sl->state = ADDING;
  rc = k8sha_checkpoint_add(s, id, state, strlen(state), on_added, sl);
  if (rc) {
    out("failed %s %llu %llu %s %s", sl->job, (unsigned long long)id,
        (unsigned long long)sl->term, k8sha_err_name(rc), k8sha_checkpoint_store_last_error(s));
    retry(sl, rc == K8SHA_ENOTLEADER ? BROKEN : READY);
  }
}

static void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
                         size_t n, void *ud) {
  slot *sl = ud;
  size_t i;
  if (status) {
    out("recovered %s %llu failed %s %s", sl->job, (unsigned long long)sl->term,
        k8sha_err_name(status), k8sha_checkpoint_store_last_error(s));
    retry(sl, status == K8SHA_ENOTLEADER ? BROKEN : RECOVERING);
    return;
  }
  for (i = 0; i < n; i++) {
    if (list[i]->status)
      out("broken %s %llu %s %s", sl->job, (unsigned long long)list[i]->id,
          k8sha_err_name(list[i]->status), list[i]->message);
    else
      out("intact %s %llu", sl->job, (unsigned long long)list[i]->id);
  }
  out("recovered %s %llu %zu", sl->job, (unsigned long long)sl->term, n);
  sl->state = READY;
  later(sl, 0);
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  slot *sl = ud;
  out("opened %s %llu %s %s", sl->job, (unsigned long long)sl->term, k8sha_err_name(status),
      status ? k8sha_checkpoint_store_last_error(s) : "");
  if (status) {
    retry(sl, BROKEN); /* on error the store can only be freed */
    return;
  }
  sl->state = RECOVERING;
  later(sl, 0);
}

static void on_tick(uv_timer_t *t) {
  slot *sl = t->data;
  worker *w = sl->w;
  int rc = 0;
  /* A store belongs to one term: a new term (or a refusal) means a fresh store. A deposed
   * process that does not know it yet keeps using its old store: fencing must refuse it. */
  if (sl->state == BROKEN || (sl->s && w->leading && sl->term != w->term)) {
    k8sha_checkpoint_store_free(sl->s);
    sl->s = NULL;
    sl->state = IDLE;
  }
  switch (sl->state) {
  case IDLE:
    if (!w->leading)
      return; /* granted() ticks again */
    sl->term = w->term;
    sl->state = OPENING;
    rc = k8sha_checkpoint_store_open(&sl->s, w->e, sl->job, on_opened, sl);
    if (rc) {
      out("opened %s %llu %s (not started)", sl->job, (unsigned long long)sl->term,
          k8sha_err_name(rc));
      sl->s = NULL;
      retry(sl, IDLE);
    }
    return;
  case RECOVERING:
    sl->state = COUNTING;
    rc = k8sha_checkpoint_recover(sl->s, on_recovered, sl);
    break;
  case READY:
    sl->state = COUNTING;
    rc = k8sha_checkpoint_counter_get_and_increment(sl->s, on_counted, sl);
    break;
  default:
    return;
  }
  if (rc) {
    out("counter %s %llu %s %s", sl->job, (unsigned long long)sl->term, k8sha_err_name(rc),
        k8sha_checkpoint_store_last_error(sl->s));
    retry(sl, rc == K8SHA_ENOTLEADER ? BROKEN : READY);
  }
}

static void on_published(k8sha_election *e, int status, void *ud) {
  worker *w = ud;
  (void)e;
  out("published %llu %s", (unsigned long long)w->term, k8sha_err_name(status));
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  worker *w = ud;
  char address[256];
  int i;
  w->leading = 1;
  w->term = term;
  out("leading %llu %s", (unsigned long long)term, session);
  /* The address names the identity and the term: the checker ties every published entry to
   * the lock record of the same version. */
  snprintf(address, sizeof(address), "chaos://%s/%llu", w->identity, (unsigned long long)term);
  if (k8sha_election_publish(e, "dispatcher", address, on_published, w) != 0)
    out("published %llu start-failed", (unsigned long long)term);
  for (i = 0; i < w->nslots; i++)
    if (!uv_is_active((uv_handle_t *)&w->slots[i].tick))
      later(&w->slots[i], 0);
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  worker *w = ud;
  (void)e;
  w->leading = 0;
  out("revoked %s", k8sha_err_name(reason));
}

static void on_error(k8sha_election *e, int err, const char *message, void *ud) {
  (void)e;
  (void)ud;
  out("error %s %s", k8sha_err_name(err), message ? message : "");
}

static void on_stopped(k8sha_election *e, int status, void *ud) {
  worker *w = ud;
  (void)e;
  out("stopped %s", k8sha_err_name(status));
  uv_stop(&w->loop);
}

/* SIGTERM: a clean stop, releasing the lock. */
static void on_sigterm(uv_signal_t *s, int signum) {
  worker *w = s->data;
  (void)signum;
  uv_signal_stop(s);
  if (k8sha_election_stop(w->e, on_stopped, w) != 0)
    uv_stop(&w->loop);
}

int main(int argc, char **argv) {
  static worker w;
  k8sha_config *cfg = NULL;
  k8sha_ctx_options co;
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  int i;

  w.rng = 1;
  if (k8sha_config_new(&cfg, NULL) != 0)
    return 1;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
      if (k8sha_config_load_file(cfg, argv[++i]) != 0) {
        fprintf(stderr, "chaos_worker: %s\n", k8sha_config_last_error(cfg));
        return 2;
      }
    } else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc) {
      char *kv = argv[++i], *eq = strchr(kv, '=');
      if (!eq)
        return 2;
      *eq = '\0';
      k8sha_config_set(cfg, kv, eq + 1);
    } else if (strcmp(argv[i], "--identity") == 0 && i + 1 < argc) {
      eo.identity = w.identity = argv[++i];
    } else if (strcmp(argv[i], "--job") == 0 && i + 1 < argc && w.nslots < MAX_JOBS) {
      w.slots[w.nslots++].job = argv[++i];
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      w.rng = (unsigned)strtoul(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "chaos_worker: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (!w.identity || k8sha_config_validate(cfg) != 0 || k8sha_config_resolve_kube(cfg) != 0) {
    fprintf(stderr, "chaos_worker: %s\n",
            w.identity ? k8sha_config_last_error(cfg) : "--identity missing");
    return 2;
  }
  uv_loop_init(&w.loop);
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = &w.loop;
  co.log = on_log;
  co.log_level = getenv("CHAOS_LOG_DEBUG") ? K8SHA_LOG_DEBUG : K8SHA_LOG_INFO;
  if (k8sha_ctx_new(&w.ctx, cfg, &co) != 0)
    return 1;
  k8sha_config_free(cfg);
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.error = on_error;
  cbs.user_data = &w;
  if (k8sha_election_new(&w.e, w.ctx, &eo, &cbs) != 0)
    return 1;
  for (i = 0; i < w.nslots; i++) {
    w.slots[i].w = &w;
    uv_timer_init(&w.loop, &w.slots[i].tick);
    w.slots[i].tick.data = &w.slots[i];
  }
  uv_signal_init(&w.loop, &w.sigterm);
  w.sigterm.data = &w;
  uv_signal_start(&w.sigterm, on_sigterm, SIGTERM);
  out("started %s", w.identity); /* from here on SIGTERM is a clean stop */
  if (k8sha_election_start(w.e) != 0)
    return 1;
  uv_run(&w.loop, UV_RUN_DEFAULT);
  for (i = 0; i < w.nslots; i++) {
    k8sha_checkpoint_store_free(w.slots[i].s);
    uv_close((uv_handle_t *)&w.slots[i].tick, NULL);
  }
  uv_close((uv_handle_t *)&w.sigterm, NULL);
  k8sha_election_free(w.e);
  k8sha_ctx_free(w.ctx);
  while (uv_run(&w.loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&w.loop);
  out("bye");
  return 0;
}
