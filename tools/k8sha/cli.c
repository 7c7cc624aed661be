#include <jansson.h>
#include <uv.h>

#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* "30s", "500ms", "2m", "30" (seconds), "0" (no bound). */
static int parse_timeout(const char *s, unsigned long *ms) {
  char *end;
  unsigned long v;
  if (!*s || *s < '0' || *s > '9')
    return -1;
  v = strtoul(s, &end, 10);
  if (v > 86400000ul)
    return -1;
  if (*end == '\0' || strcmp(end, "s") == 0)
    *ms = v * 1000;
  else if (strcmp(end, "ms") == 0)
    *ms = v;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
    *ms = v * 60000;
  else
    return -1;
  return 0;
}

/* One per process: the command's own bound. */
static struct {
  uv_timer_t timer;
  uv_loop_t *loop;
  const char *what;
  unsigned long ms;
} bound;

static void on_cli_timeout(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "k8sha: %s: no answer within %lu ms (--timeout); giving up\n", bound.what,
          bound.ms);
  exit(CLI_FAILED);
}

void cli_arm_timeout(uv_loop_t *loop, unsigned long ms, const char *what) {
  if (!ms || bound.loop)
    return;
  bound.loop = loop;
  bound.what = what;
  bound.ms = ms;
  uv_timer_init(loop, &bound.timer);
  uv_timer_start(&bound.timer, on_cli_timeout, ms, 0);
  uv_unref((uv_handle_t *)&bound.timer); /* it never keeps the loop alive by itself */
}

int cli_parse_config_opts(int argc, char **argv, cli_config_opts *o, const char *usage) {
  int i;

  o->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
  o->defs = calloc((size_t)argc + 1, sizeof(*o->defs));
  if (!o->defs) {
    fprintf(stderr, "k8sha: out of memory\n");
    return CLI_INVALID;
  }
  for (i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
      if (i + 1 >= argc)
        goto usage_error;
      o->file = argv[++i];
    } else if (strcmp(arg, "-D") == 0) {
      if (i + 1 >= argc)
        goto usage_error;
      o->defs[o->n_defs++] = argv[++i];
    } else if (strncmp(arg, "-D", 2) == 0) {
      o->defs[o->n_defs++] = arg + 2;
    } else if (strcmp(arg, "--json") == 0) {
      o->json = 1;
    } else if (strcmp(arg, "--timeout") == 0) {
      if (i + 1 >= argc || parse_timeout(argv[++i], &o->timeout_ms) != 0) {
        fprintf(stderr, "k8sha: --timeout needs a duration such as 30s, 500ms, 2m or 0 (none)\n");
        goto usage_error;
      }
      o->timeout_given = 1;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      printf("%s", usage);
      exit(CLI_OK);
    } else {
      fprintf(stderr, "k8sha: unknown argument '%s'\n", arg);
      goto usage_error;
    }
  }
  return 0;
usage_error:
  fprintf(stderr, "%s", usage);
  free(o->defs);
  o->defs = NULL;
  return CLI_INVALID;
}

static const char *default_config_file(char *buf, size_t size) {
  const char *dir = getenv("FLINK_CONF_DIR");
  static const char *const names[] = {"config.yaml", "flink-conf.yaml"};
  size_t i;
  FILE *f;

  if (!dir || !*dir)
    return NULL;
  for (i = 0; i < 2; i++) {
    snprintf(buf, size, "%s/%s", dir, names[i]);
    if ((f = fopen(buf, "r")) != NULL) {
      fclose(f);
      return buf;
    }
  }
  return NULL;
}

int cli_print_errors(const k8sha_config *cfg) {
  size_t i, n = k8sha_config_diag_count(cfg);
  int errors = 0;
  for (i = 0; i < n; i++) {
    const k8sha_diag *d = k8sha_config_diag_at(cfg, i);
    if (d->severity == K8SHA_DIAG_ERROR) {
      fprintf(stderr, "%s\n", d->text);
      errors++;
    }
  }
  return errors;
}

int cli_load_config(const cli_config_opts *o, k8sha_config **out) {
  char buf[4096];
  const char *file = o->file ? o->file : default_config_file(buf, sizeof(buf));
  k8sha_config *cfg;
  int rc, i;

  rc = k8sha_config_new(&cfg, NULL);
  if (rc) {
    fprintf(stderr, "k8sha: %s\n", k8sha_strerror(rc));
    return CLI_FAILED;
  }
  if (file && (rc = k8sha_config_load_file(cfg, file)) != 0) {
    if (!cli_print_errors(cfg))
      fprintf(stderr, "%s: %s\n", file, k8sha_strerror(rc));
    k8sha_config_free(cfg);
    return CLI_INVALID;
  }
  for (i = 0; i < o->n_defs; i++) {
    char *eq = strchr(o->defs[i], '=');
    char key[1024];
    if (!eq || eq == o->defs[i] || (size_t)(eq - o->defs[i]) >= sizeof(key)) {
      fprintf(stderr, "k8sha: -D expects key=value, not '%s'\n", o->defs[i]);
      k8sha_config_free(cfg);
      return CLI_INVALID;
    }
    memcpy(key, o->defs[i], (size_t)(eq - o->defs[i]));
    key[eq - o->defs[i]] = '\0';
    if ((rc = k8sha_config_set(cfg, key, eq + 1)) != 0) {
      fprintf(stderr, "k8sha: -D %s: %s\n", key, k8sha_strerror(rc));
      k8sha_config_free(cfg);
      return CLI_FAILED;
    }
  }
  *out = cfg;
  return 0;
}

static uint64_t lease_ms = 15000; /* of the configuration cli_open() read last */

int cli_open(const cli_config_opts *o, uv_loop_t *loop, k8sha_ctx **ctx, char *cluster_id,
             size_t size) {
  k8sha_config *cfg = NULL;
  k8sha_ctx_options copts;
  int rc = cli_load_config(o, &cfg);

  if (rc)
    return rc;
  if (k8sha_config_validate(cfg) != 0 || k8sha_config_resolve_kube(cfg) != 0) {
    cli_print_errors(cfg);
    k8sha_config_free(cfg);
    return CLI_INVALID;
  }
  if (cluster_id)
    snprintf(cluster_id, size, "%s", k8sha_config_cluster_id(cfg));
  lease_ms = k8sha_config_lease_duration_ms(cfg);
  uv_loop_init(loop);
  k8sha_ctx_options_init(&copts, K8SHA_CTX_OPTIONS_VERSION);
  copts.loop = loop;
  rc = k8sha_ctx_new(ctx, cfg, &copts);
  k8sha_config_free(cfg);
  if (rc) {
    fprintf(stderr, "k8sha: %s\n", k8sha_strerror(rc));
    uv_loop_close(loop);
    return CLI_FAILED;
  }
  return 0;
}

void cli_close(k8sha_ctx *ctx, uv_loop_t *loop) {
  if (bound.loop == loop) {
    uv_close((uv_handle_t *)&bound.timer, NULL);
    bound.loop = NULL;
  }
  k8sha_ctx_free(ctx);
  while (uv_run(loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(loop);
}

/* ---- reading the HA ConfigMaps once ---- */

typedef struct snap {
  json_t *objs;
  int done, err;
  char message[512];
} snap;

static void on_snap_event(k8sha_watch *w, const k8sha_watch_event *ev, void *ud) {
  snap *s = ud;
  (void)w;
  if (ev->type == K8SHA_WATCH_ADDED || ev->type == K8SHA_WATCH_MODIFIED) {
    json_t *obj = json_loads(ev->object_json, 0, NULL);
    if (obj)
      json_object_set_new(s->objs, ev->name, obj);
  } else if (ev->type == K8SHA_WATCH_DELETED) {
    json_object_del(s->objs, ev->name);
  } else if (ev->type == K8SHA_WATCH_SYNCED) {
    s->done = 1;
  } else if (ev->type == K8SHA_WATCH_ERROR) {
    /* One read is all a command needs: report the first failure instead of retrying. */
    s->done = 1;
    s->err = ev->err;
    snprintf(s->message, sizeof(s->message), "%s", ev->message);
  }
}

int cli_snapshot(const cli_config_opts *o, char *cluster_id, size_t size, json_t **objs,
                 char *message, size_t msize) {
  k8sha_ctx *ctx = NULL;
  k8sha_watch *w = NULL;
  uv_loop_t loop;
  snap s;
  int rc = cli_open(o, &loop, &ctx, cluster_id, size);
  if (rc)
    return rc;
  cli_arm_timeout(&loop, o->timeout_ms, "reading the HA ConfigMaps");
  memset(&s, 0, sizeof(s));
  s.objs = json_object();
  rc = k8sha_watch_new(&w, ctx, NULL, on_snap_event, &s);
  while (rc == 0 && !s.done && uv_run(&loop, UV_RUN_ONCE))
    ;
  k8sha_watch_free(w);
  cli_close(ctx, &loop);
  if (rc || s.err) {
    snprintf(message, msize, "%s", rc ? k8sha_strerror(rc) : s.message);
    fprintf(stderr, "k8sha: reading the HA ConfigMaps failed: %s\n", message);
    json_decref(s.objs);
    return CLI_FAILED;
  }
  *objs = s.objs;
  return 0;
}

/* ---- taking the lock for a maintenance command ---- */

typedef struct taker {
  uv_loop_t *loop;
  uv_timer_t timer; /* lives as long as the loop may close it: the taker is static */
  int granted, stopped, timed_out;
  char holder[256];
} taker;

static void on_take_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  taker *t = ud;
  (void)e;
  (void)session;
  (void)term;
  t->granted = 1;
  uv_stop(t->loop);
}

static void on_take_changed(k8sha_election *e, const char *identity, void *ud) {
  taker *t = ud;
  (void)e;
  snprintf(t->holder, sizeof(t->holder), "%s", identity ? identity : "");
}

static void on_take_timeout(uv_timer_t *h) {
  taker *t = h->data;
  t->timed_out = 1;
  uv_stop(t->loop);
}

int cli_take_lock(k8sha_ctx *ctx, uv_loop_t *loop, const char *identity, k8sha_election **out,
                  char *message, size_t size) {
  static taker t; /* static: the timer's memory must outlive its closing */
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  k8sha_election *e = NULL;
  uv_timer_t *timer = &t.timer;
  int rc;

  memset(&t, 0, sizeof(t));
  t.loop = loop;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_take_granted;
  cbs.leader_changed = on_take_changed;
  cbs.user_data = &t;
  eo.identity = identity;
  rc = k8sha_election_new(&e, ctx, &eo, &cbs);
  if (rc == 0)
    rc = k8sha_election_start(e);
  if (rc) {
    snprintf(message, size, "cannot join the election: %s", k8sha_strerror(rc));
    k8sha_election_free(e);
    return CLI_FAILED;
  }
  /* A dead holder's lease expires one lease duration after we first see it unchanged; a live
   * one keeps renewing. Give up a little after that. */
  uv_timer_init(loop, timer);
  timer->data = &t;
  uv_timer_start(timer, on_take_timeout, lease_ms + 3000, 0);
  while (!t.granted && !t.timed_out)
    uv_run(loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)timer, NULL);
  if (!t.granted) {
    snprintf(message, size,
             "the lock is held by %s, which keeps renewing it: a leader is running (stop the "
             "cluster first, or let that leader clean up)",
             t.holder[0] ? t.holder : "another process");
    k8sha_election_free(e);
    return CLI_FAILED;
  }
  *out = e;
  return 0;
}

static void on_take_stopped(k8sha_election *e, int status, void *ud) {
  taker *t = ud;
  (void)e;
  (void)status;
  t->stopped = 1;
  uv_stop(t->loop);
}

void cli_release_lock(k8sha_election *e, uv_loop_t *loop) {
  taker t;
  memset(&t, 0, sizeof(t));
  t.loop = loop;
  if (k8sha_election_stop(e, on_take_stopped, &t) == 0)
    while (!t.stopped)
      uv_run(loop, UV_RUN_DEFAULT);
  k8sha_election_free(e);
}
