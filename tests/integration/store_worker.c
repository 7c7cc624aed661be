/* A JobManager stand-in for the process tests: leads, opens one job's checkpoint store, and
 * either adds checkpoints as fast as it can (--auto) or follows commands on stdin. One line per
 * result on stdout, flushed at once, so a test can kill it at any point and know what it was
 * told.
 *
 *   store_worker -c CONF [-D k=v]... --identity ID --job JOBID [--auto]
 *   stdin commands: "add ID", "recover", "quit"
 *   output: "leading TERM", "revoked ERR", "opened ERR", "committed ID", "failed ID ERR MESSAGE",
 *           "checkpoint ID OK|ERR", "recovered N", "bye"
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <k8sha.h>

typedef struct worker {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  k8sha_election *e;
  k8sha_checkpoint_store *s;
  const char *job;
  int automatic, leading, quitting;
  uint64_t pending_id;
  uv_pipe_t in;
  char line[256];
  size_t len;
} worker;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static void next_auto(worker *w);

static void on_added(k8sha_checkpoint_store *s, int status, void *ud) {
  worker *w = ud;
  if (status == 0)
    out("committed %llu", (unsigned long long)w->pending_id);
  else
    out("failed %llu %s %s", (unsigned long long)w->pending_id, k8sha_err_name(status),
        k8sha_checkpoint_store_last_error(s));
  if (w->automatic && status == 0)
    next_auto(w);
}

static void on_counted(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  worker *w = ud;
  char state[64];
  if (status) {
    out("failed counter %s %s", k8sha_err_name(status), k8sha_checkpoint_store_last_error(s));
    return;
  }
  w->pending_id = id;
  snprintf(state, sizeof(state), "state of checkpoint %llu", (unsigned long long)id);
  if (k8sha_checkpoint_add(s, id, state, strlen(state), on_added, w) != 0)
    out("failed %llu start", (unsigned long long)id);
}

/* Like a JobManager: take the next id from the counter, then add that checkpoint. */
static void next_auto(worker *w) {
  if (k8sha_checkpoint_counter_get_and_increment(w->s, on_counted, w) != 0)
    out("failed counter start");
}

static void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
                         size_t n, void *ud) {
  size_t i;
  (void)ud;
  if (status) {
    out("failed recover %s %s", k8sha_err_name(status), k8sha_checkpoint_store_last_error(s));
    return;
  }
  for (i = 0; i < n; i++)
    out("checkpoint %llu %s%s%s", (unsigned long long)list[i]->id,
        list[i]->status ? k8sha_err_name(list[i]->status) : "OK", list[i]->status ? " " : "",
        list[i]->status ? list[i]->message : "");
  out("recovered %zu", n);
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  worker *w = ud;
  out("opened %s %s", k8sha_err_name(status), status ? k8sha_checkpoint_store_last_error(s) : "");
  if (status == 0 && w->automatic)
    next_auto(w);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  worker *w = ud;
  (void)session;
  w->leading = 1;
  out("leading %llu", (unsigned long long)term);
  if (k8sha_checkpoint_store_open(&w->s, e, w->job, on_opened, w) != 0)
    out("opened failed-to-start");
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  worker *w = ud;
  (void)e;
  w->leading = 0;
  out("revoked %s", k8sha_err_name(reason));
  /* keep the store: a resumed, deposed process must be refused by fencing, not by us */
}

static void on_counter_set(k8sha_checkpoint_store *s, int status, void *ud) {
  (void)ud;
  if (status)
    out("failed counter %s %s", k8sha_err_name(status), k8sha_checkpoint_store_last_error(s));
  else
    out("counter set");
}

static void command(worker *w, const char *cmd) {
  unsigned long long id;
  if (sscanf(cmd, "counter %llu", &id) == 1) {
    if (!w->s || k8sha_checkpoint_counter_set(w->s, id, on_counter_set, w) != 0)
      out("failed counter (not started)");
  } else if (sscanf(cmd, "add %llu", &id) == 1) {
    char state[64];
    int rc;
    snprintf(state, sizeof(state), "state of checkpoint %llu", id);
    w->pending_id = id;
    rc = w->s ? k8sha_checkpoint_add(w->s, id, state, strlen(state), on_added, w)
              : K8SHA_ENOTLEADER;
    if (rc)
      out("failed %llu %s (not started)", id, k8sha_err_name(rc));
  } else if (strcmp(cmd, "recover") == 0) {
    if (!w->s || k8sha_checkpoint_recover(w->s, on_recovered, w) != 0)
      out("failed recover (not started)");
  } else if (strcmp(cmd, "quit") == 0) {
    w->quitting = 1;
    uv_stop(&w->loop);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char mem[1024];
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(mem, sizeof(mem));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  worker *w = s->data;
  ssize_t i;
  if (n < 0) {
    w->quitting = 1;
    uv_stop(&w->loop);
    return;
  }
  for (i = 0; i < n; i++) {
    if (buf->base[i] == '\n') {
      w->line[w->len] = '\0';
      command(w, w->line);
      w->len = 0;
    } else if (w->len + 1 < sizeof(w->line)) {
      w->line[w->len++] = buf->base[i];
    }
  }
}

int main(int argc, char **argv) {
  worker w;
  k8sha_config *cfg = NULL;
  k8sha_ctx_options co;
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  int i;

  memset(&w, 0, sizeof(w));
  if (k8sha_config_new(&cfg, NULL) != 0)
    return 1;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
      if (k8sha_config_load_file(cfg, argv[++i]) != 0) {
        fprintf(stderr, "store_worker: %s\n", k8sha_config_last_error(cfg));
        return 2;
      }
    } else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc) {
      char *kv = argv[++i], *eq = strchr(kv, '=');
      if (!eq)
        return 2;
      *eq = '\0';
      k8sha_config_set(cfg, kv, eq + 1);
    } else if (strcmp(argv[i], "--identity") == 0 && i + 1 < argc) {
      eo.identity = argv[++i];
    } else if (strcmp(argv[i], "--job") == 0 && i + 1 < argc) {
      w.job = argv[++i];
    } else if (strcmp(argv[i], "--auto") == 0) {
      w.automatic = 1;
    } else {
      fprintf(stderr, "store_worker: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (!w.job || k8sha_config_validate(cfg) != 0 || k8sha_config_resolve_kube(cfg) != 0) {
    fprintf(stderr, "store_worker: %s\n", w.job ? k8sha_config_last_error(cfg) : "--job missing");
    return 2;
  }
  uv_loop_init(&w.loop);
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = &w.loop;
  if (k8sha_ctx_new(&w.ctx, cfg, &co) != 0)
    return 1;
  k8sha_config_free(cfg);
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.user_data = &w;
  if (k8sha_election_new(&w.e, w.ctx, &eo, &cbs) != 0 || k8sha_election_start(w.e) != 0)
    return 1;
  uv_pipe_init(&w.loop, &w.in, 0);
  uv_pipe_open(&w.in, 0);
  w.in.data = &w;
  uv_read_start((uv_stream_t *)&w.in, on_alloc, on_read);
  while (!w.quitting)
    uv_run(&w.loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&w.in, NULL);
  k8sha_checkpoint_store_free(w.s);
  k8sha_election_free(w.e);
  k8sha_ctx_free(w.ctx);
  while (uv_run(&w.loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&w.loop);
  out("bye");
  return 0;
}
