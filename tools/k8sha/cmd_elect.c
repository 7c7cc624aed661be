/* k8sha elect: joins the election, prints one line per event, releases the lock on SIGTERM or
 * SIGINT and exits 0. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <uv.h>

#include "cli.h"

static const char usage[] =
    "usage: k8sha elect --identity ID --address ADDR [--component NAME]... [--timestamps]\n"
    "                   [--lease-lock]\n"
    "                   [-c FILE] [-D key=value]...\n"
    "\n"
    "Joins the leader election of the cluster and prints one line per event:\n"
    "  granted <session> <term>      this process leads\n"
    "  published <component> <session>\n"
    "  revoked <reason>              it no longer does\n"
    "  leader <identity> <address>   who leads (\"-\" for nobody / unknown)\n"
    "As leader it publishes ADDR for each component (default: restserver). SIGTERM or SIGINT\n"
    "releases the lock and exits 0. --timestamps prefixes lines with the wall clock in ms.\n"
    "--lease-lock uses a coordination.k8s.io Lease <cluster-id>-cluster-lease instead of Flink's\n"
    "ConfigMap lock.\n";

typedef struct elect_state {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  k8sha_election *e;
  k8sha_retriever *r;
  uv_signal_t sigint, sigterm;
  const char *address;
  const char **components;
  int n_components;
  int timestamps;
  char holder[256];
  char leader_address[512];
  char printed[800]; /* the last "leader" line, to print changes only */
  int exiting;
} elect_state;

static void out(elect_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(elect_state *st, const char *fmt, ...) {
  va_list ap;
  if (st->timestamps) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("%lld ", (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000);
  }
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

static void on_published(k8sha_election *e, int status, void *ud) {
  elect_state *st = ud;
  if (status == 0)
    out(st, "published %s %s", st->components[0], k8sha_election_session(e) ? k8sha_election_session(e) : "-");
  else
    out(st, "publish-failed %s", k8sha_err_name(status));
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  elect_state *st = ud;
  int i;
  out(st, "granted %s %llu", session, (unsigned long long)term);
  for (i = 0; i < st->n_components; i++) {
    /* Report once, for the whole set: they go out in writes that carry every entry. */
    int rc = k8sha_election_publish(e, st->components[i], st->address,
                                    i == st->n_components - 1 ? on_published : NULL, st);
    if (rc)
      out(st, "publish-failed %s", k8sha_err_name(rc));
  }
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  (void)e;
  out(ud, "revoked %s", k8sha_err_name(reason));
}

static void print_leader(elect_state *st) {
  char line[800];
  snprintf(line, sizeof(line), "leader %s %s", st->holder[0] ? st->holder : "-",
           st->leader_address[0] ? st->leader_address : "-");
  if (strcmp(line, st->printed) == 0)
    return;
  snprintf(st->printed, sizeof(st->printed), "%s", line);
  out(st, "%s", line);
}

static void on_leader_changed(k8sha_election *e, const char *identity, void *ud) {
  elect_state *st = ud;
  (void)e;
  snprintf(st->holder, sizeof(st->holder), "%s", identity ? identity : "");
  /* A new holder has published nothing yet (its takeover clears the old entries): do not pair
   * it with the previous leader's address. */
  st->leader_address[0] = '\0';
  print_leader(st);
}

static void on_error(k8sha_election *e, int err, const char *message, void *ud) {
  (void)e;
  (void)ud;
  fprintf(stderr, "k8sha elect: %s: %s\n", k8sha_err_name(err), message);
}

static void on_address(k8sha_retriever *r, const char *address, const char *session, void *ud) {
  elect_state *st = ud;
  (void)r;
  (void)session;
  snprintf(st->leader_address, sizeof(st->leader_address), "%s", address ? address : "");
  print_leader(st);
}

static void finish(elect_state *st) {
  k8sha_retriever_free(st->r);
  st->r = NULL;
  k8sha_election_free(st->e);
  st->e = NULL;
  uv_close((uv_handle_t *)&st->sigint, NULL);
  uv_close((uv_handle_t *)&st->sigterm, NULL);
}

static void on_stopped(k8sha_election *e, int status, void *ud) {
  elect_state *st = ud;
  (void)e;
  if (status)
    fprintf(stderr, "k8sha elect: releasing the lock failed: %s\n", k8sha_strerror(status));
  out(st, "stopped");
  /* Not from inside the election's own callback: free on the next turn. */
  uv_stop(&st->loop);
}

static void on_signal(uv_signal_t *h, int signum) {
  elect_state *st = h->data;
  (void)signum;
  if (st->exiting)
    return;
  st->exiting = 1;
  if (k8sha_election_stop(st->e, on_stopped, st) != 0)
    uv_stop(&st->loop);
}

int cmd_elect(int argc, char **argv) {
  static const char *default_component[] = {"restserver"};
  cli_config_opts o = {0};
  k8sha_election_options eo = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_retriever_options ro = K8SHA_RETRIEVER_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  elect_state st;
  char **rest;
  int n_rest = 0, i, rc;

  memset(&st, 0, sizeof(st));
  rest = calloc((size_t)argc + 1, sizeof(*rest));
  st.components = calloc((size_t)argc + 1, sizeof(*st.components));
  if (!rest || !st.components)
    return CLI_FAILED;
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--identity") == 0 && i + 1 < argc)
      eo.identity = argv[++i];
    else if (strcmp(argv[i], "--address") == 0 && i + 1 < argc)
      st.address = argv[++i];
    else if (strcmp(argv[i], "--component") == 0 && i + 1 < argc)
      st.components[st.n_components++] = argv[++i];
    else if (strcmp(argv[i], "--timestamps") == 0)
      st.timestamps = 1;
    else if (strcmp(argv[i], "--lease-lock") == 0)
      eo.lock = K8SHA_LOCK_LEASE;
    else
      rest[n_rest++] = argv[i];
  }
  if (!st.address) {
    fprintf(stderr, "%s", usage);
    free(rest);
    return CLI_INVALID;
  }
  if (st.n_components == 0) {
    st.components[0] = default_component[0];
    st.n_components = 1;
  }
  rc = cli_parse_config_opts(n_rest, rest, &o, usage);
  free(rest);
  if (rc == 0)
    rc = cli_open(&o, &st.loop, &st.ctx, NULL, 0);
  free(o.defs);
  if (rc) {
    free(st.components);
    return rc;
  }
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.leader_changed = on_leader_changed;
  cbs.error = on_error;
  cbs.user_data = &st;
  rc = k8sha_election_new(&st.e, st.ctx, &eo, &cbs);
  ro.lock = eo.lock;
  if (rc == 0)
    rc = k8sha_retriever_new(&st.r, st.ctx, &ro, st.components[0], on_address, &st);
  if (rc == 0)
    rc = k8sha_election_start(st.e);
  if (rc) {
    fprintf(stderr, "k8sha elect: %s\n", k8sha_strerror(rc));
    k8sha_retriever_free(st.r);
    k8sha_election_free(st.e);
    cli_close(st.ctx, &st.loop);
    free(st.components);
    return CLI_FAILED;
  }
  uv_signal_init(&st.loop, &st.sigint);
  uv_signal_init(&st.loop, &st.sigterm);
  st.sigint.data = st.sigterm.data = &st;
  uv_signal_start(&st.sigint, on_signal, SIGINT);
  uv_signal_start(&st.sigterm, on_signal, SIGTERM);
  uv_run(&st.loop, UV_RUN_DEFAULT);
  finish(&st);
  cli_close(st.ctx, &st.loop);
  free(st.components);
  return CLI_OK;
}
