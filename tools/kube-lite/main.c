/*
 * k8sha-kube-lite: command line, start-up order and shutdown.
 *
 * Readiness is announced only once the socket listens: first the CA and
 * kubeconfig files (renamed into place, so their existence means ready),
 * then one "kube-lite listening on URL" line on stdout.
 */
#include "kl.h"

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_PORT 8080

static void usage(FILE *f) {
  fputs("usage: k8sha-kube-lite [options]\n"
        "A small local Kubernetes API server (ConfigMaps, Leases) for development and tests.\n"
        "\n"
        "  --host ADDR              listen address (default 127.0.0.1)\n"
        "  --port N                 listen port; 0 picks a free one (default 8080)\n"
        "  --tls                    serve HTTPS with a generated CA and certificate\n"
        "  --write-ca PATH          write the CA certificate (PEM) once listening\n"
        "  --write-kubeconfig PATH  write a kubeconfig for this server once listening\n"
        "  --namespace NS           namespace of the kubeconfig context (default default)\n"
        "  --token-file FILE        enable bearer tokens: lines of token,user,rules\n"
        "  --admin-token TOKEN      token with every right, used in the kubeconfig\n"
        "                           (default " DEFAULT_ADMIN_TOKEN ")\n"
        "  --data-dir DIR           keep objects across restarts in DIR\n"
        "  --history N              watch events kept for resuming (default 10000)\n"
        "  --bookmark-interval S    seconds between watch bookmarks; 0 disables (default 60)\n"
        "  --seed N                 seed of the fault injector (default 1)\n"
        "  --latency-ms N           add N ms to every request\n"
        "  --fault JSON             add a fault rule (see docs/kube-lite.md); repeatable\n"
        "  --control-port N         serve the control endpoint on its own port too (0: a free\n"
        "                           one); it stays up while the API port refuses connections\n"
        "  --upstream URL           proxy mode: forward every API request to the server at URL\n"
        "                           (with the client's credentials), faults applied on the way\n"
        "  --upstream-ca FILE       CA certificate (PEM) of the --upstream server\n"
        "  -v, --verbose            log every request on stderr\n"
        "  -h, --help               show this help\n",
        f);
}

static bool parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || !(v >= lo && v <= hi))
    return false;
  *out = v;
  return true;
}

/* Written to an unpredictable temporary name created exclusively with mode 0600 (mkstemp: the
 * kubeconfig holds the admin token; a file or link planted at the name is never written
 * through), then renamed into place. */
static bool write_atomically(const char *path, const char *data) {
  kl_buf tmp = {0};
  kl_buf_printf(&tmp, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp.data);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  bool ok = f != NULL;
  if (fd >= 0 && !f)
    close(fd);
  if (f) {
    ok = fputs(data, f) >= 0;
    ok = fclose(f) == 0 && ok;
  }
  ok = ok && rename(tmp.data, path) == 0;
  if (!ok) {
    kl_log("cannot write %s", path);
    unlink(tmp.data);
  }
  kl_buf_free(&tmp);
  return ok;
}

static char *kubeconfig_text(kl_server *srv) {
  kl_buf b = {0};
  kl_buf_printf(&b,
                "apiVersion: v1\n"
                "kind: Config\n"
                "clusters:\n"
                "- name: kube-lite\n"
                "  cluster:\n"
                "    server: %s\n",
                srv->url);
  if (srv->tls) {
    const char *pem = kl_tls_ca_pem(srv->tls);
    char *b64 = kl_base64_encode(pem, strlen(pem));
    kl_buf_printf(&b, "    certificate-authority-data: %s\n", b64);
    free(b64);
  }
  kl_buf_puts(&b, "users:\n- name: kube-lite-admin\n  user:");
  if (srv->auth)
    kl_buf_printf(&b, "\n    token: %s\n", kl_auth_admin_token(srv->auth));
  else
    kl_buf_puts(&b, " {}\n");
  kl_buf_printf(&b,
                "contexts:\n"
                "- name: kube-lite\n"
                "  context:\n"
                "    cluster: kube-lite\n"
                "    user: kube-lite-admin\n"
                "    namespace: %s\n"
                "current-context: kube-lite\n"
                "preferences: {}\n",
                srv->cfg.context_namespace);
  return kl_buf_steal(&b);
}

int kl_announce(kl_server *srv) {
  if (!srv->announced) {
    srv->announced = true;
    if (srv->cfg.ca_path && srv->tls &&
        !write_atomically(srv->cfg.ca_path, kl_tls_ca_pem(srv->tls)))
      return -1;
    if (srv->cfg.kubeconfig_path) {
      char *kc = kubeconfig_text(srv);
      bool ok = write_atomically(srv->cfg.kubeconfig_path, kc);
      free(kc);
      if (!ok)
        return -1;
    }
  }
  if (srv->control_listener)
    printf("kube-lite listening on %s control %s\n", srv->url, srv->control_url);
  else
    printf("kube-lite listening on %s\n", srv->url);
  fflush(stdout);
  return 0;
}

static void on_signal(uv_signal_t *h, int signum) {
  /* Said out loud so that a server stopped from outside is not mistaken
   * for one that crashed or hung. */
  kl_log("received %s, shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  kl_server_stop(h->data);
}

static int add_fault(kl_server *srv, const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  char *err = NULL;
  int id = j ? kl_faults_add(srv->faults, j, &err) : -1;
  json_decref(j);
  if (id < 0) {
    kl_log("--fault %s: %s", text, err ? err : e.text);
    free(err);
    return -1;
  }
  return 0;
}

enum {
  OPT_HOST = 256,
  OPT_PORT,
  OPT_TLS,
  OPT_CA,
  OPT_KUBECONFIG,
  OPT_NAMESPACE,
  OPT_TOKENS,
  OPT_ADMIN,
  OPT_DATA,
  OPT_HISTORY,
  OPT_BOOKMARK,
  OPT_SEED,
  OPT_LATENCY,
  OPT_FAULT,
  OPT_CONTROL_PORT,
  OPT_UPSTREAM,
  OPT_UPSTREAM_CA,
};

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"host", required_argument, NULL, OPT_HOST},
      {"port", required_argument, NULL, OPT_PORT},
      {"tls", no_argument, NULL, OPT_TLS},
      {"write-ca", required_argument, NULL, OPT_CA},
      {"write-kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
      {"namespace", required_argument, NULL, OPT_NAMESPACE},
      {"token-file", required_argument, NULL, OPT_TOKENS},
      {"admin-token", required_argument, NULL, OPT_ADMIN},
      {"data-dir", required_argument, NULL, OPT_DATA},
      {"history", required_argument, NULL, OPT_HISTORY},
      {"bookmark-interval", required_argument, NULL, OPT_BOOKMARK},
      {"seed", required_argument, NULL, OPT_SEED},
      {"latency-ms", required_argument, NULL, OPT_LATENCY},
      {"fault", required_argument, NULL, OPT_FAULT},
      {"control-port", required_argument, NULL, OPT_CONTROL_PORT},
      {"upstream", required_argument, NULL, OPT_UPSTREAM},
      {"upstream-ca", required_argument, NULL, OPT_UPSTREAM_CA},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  kl_server srv_storage = {0};
  kl_server *srv = &srv_storage;
  kl_config *cfg = &srv->cfg;
  cfg->host = "127.0.0.1";
  cfg->port = DEFAULT_PORT;
  cfg->admin_token = DEFAULT_ADMIN_TOKEN;
  cfg->context_namespace = "default";
  cfg->history = DEFAULT_HISTORY;
  cfg->bookmark_ms = DEFAULT_BOOKMARK_MS;
  cfg->seed = 1;
  cfg->control_port = -1;
  const char **faults = kl_xcalloc((size_t)argc + 1, sizeof *faults);
  size_t nfaults = 0;
  uint64_t latency = 0;
  int c;
  double v;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    bool ok = true;
    switch (c) {
    case OPT_HOST:
      cfg->host = optarg;
      break;
    case OPT_PORT:
      ok = parse_num(optarg, 0, 65535, &v) && v == floor(v);
      cfg->port = (int)v;
      break;
    case OPT_TLS:
      cfg->tls = true;
      break;
    case OPT_CA:
      cfg->ca_path = optarg;
      break;
    case OPT_KUBECONFIG:
      cfg->kubeconfig_path = optarg;
      break;
    case OPT_NAMESPACE:
      cfg->context_namespace = optarg;
      ok = kl_is_dns1123_label(optarg);
      break;
    case OPT_TOKENS:
      cfg->token_file = optarg;
      break;
    case OPT_ADMIN:
      cfg->admin_token = optarg;
      ok = *optarg != '\0';
      break;
    case OPT_DATA:
      cfg->data_dir = optarg;
      break;
    case OPT_HISTORY:
      ok = parse_num(optarg, 0, 1e8, &v) && v == floor(v);
      cfg->history = (size_t)v;
      break;
    case OPT_BOOKMARK:
      ok = parse_num(optarg, 0, 86400, &v);
      cfg->bookmark_ms = (uint64_t)llround(v * 1000.0);
      break;
    case OPT_SEED:
      ok = kl_parse_u64(optarg, &cfg->seed);
      break;
    case OPT_LATENCY:
      ok = kl_parse_u64(optarg, &latency);
      break;
    case OPT_FAULT:
      faults[nfaults++] = optarg;
      break;
    case OPT_CONTROL_PORT:
      ok = parse_num(optarg, 0, 65535, &v) && v == floor(v);
      cfg->control_port = (int)v;
      break;
    case OPT_UPSTREAM:
      cfg->upstream = optarg;
      break;
    case OPT_UPSTREAM_CA:
      cfg->upstream_ca = optarg;
      break;
    case 'v':
      cfg->verbose = true;
      break;
    case 'h':
      usage(stdout);
      free(faults);
      return 0;
    default:
      usage(stderr);
      free(faults);
      return 2;
    }
    if (!ok) {
      kl_log("invalid value for %s: %s", argv[optind - 1], optarg);
      free(faults);
      return 2;
    }
  }
  if (optind < argc) {
    kl_log("unexpected argument: %s", argv[optind]);
    free(faults);
    return 2;
  }
  /* A proxy stores nothing and checks no token: the upstream server does both. */
  const char *clash = !cfg->upstream    ? NULL
                      : cfg->token_file ? "--token-file"
                      : cfg->data_dir   ? "--data-dir"
                                        : NULL;
  if (clash || (cfg->upstream_ca && !cfg->upstream)) {
    kl_log(clash ? "--upstream and %s do not go together: the upstream server keeps the data "
                   "and checks the credentials"
                 : "--upstream-ca needs --upstream%s",
           clash ? clash : "");
    free(faults);
    return 2;
  }

  /* Peers that vanish must not kill the server through SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  /* Files left by an earlier run would announce readiness too early. */
  if (cfg->kubeconfig_path)
    unlink(cfg->kubeconfig_path);
  if (cfg->ca_path)
    unlink(cfg->ca_path);

  int rc = 1;
  uv_loop_t loop;
  uv_loop_init(&loop);
  srv->loop = &loop;
  srv->start_time = time(NULL);
  srv->port = cfg->port;
  srv->store = kl_store_new(cfg->history);
  srv->faults = kl_faults_new(cfg->seed);
  uv_timer_init(&loop, &srv->reopen_timer);
  uv_timer_init(&loop, &srv->bookmark_timer);
  uv_signal_init(&loop, &srv->sig_term);
  uv_signal_init(&loop, &srv->sig_int);
  srv->sig_term.data = srv->sig_int.data = srv;
  char *err = NULL;
  for (size_t i = 0; i < nfaults; i++)
    if (add_fault(srv, faults[i]) != 0)
      goto out;
  if (latency > 0) {
    json_t *r = json_pack("{s:I}", "latencyMs", (json_int_t)latency);
    kl_faults_add(srv->faults, r, &err);
    json_decref(r);
  }
  if (cfg->token_file && !(srv->auth = kl_auth_load(cfg->token_file, cfg->admin_token, &err)))
    goto out;
  if (cfg->data_dir && !(srv->journal = kl_journal_open(srv, cfg->data_dir, &err)))
    goto out;
  if (cfg->tls && !(srv->tls = kl_tls_new(cfg->data_dir, &err)))
    goto out;
  if (cfg->upstream && !(srv->proxy = kl_proxy_new(srv, cfg->upstream, cfg->upstream_ca, &err)))
    goto out;
  if (kl_server_listen(srv) != 0)
    goto out;
  if ((cfg->control_port >= 0 || cfg->upstream) &&
      kl_server_listen_control(srv, cfg->control_port < 0 ? 0 : cfg->control_port) != 0)
    goto out;
  uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
  uv_signal_start(&srv->sig_int, on_signal, SIGINT);
  kl_watch_reset_bookmark_timer(srv);
  if (kl_announce(srv) != 0) {
    kl_server_stop(srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    goto out;
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  rc = 0;
out:
  if (err) {
    kl_log("%s", err);
    free(err);
  }
  if (!srv->stopping)
    kl_server_stop(srv);
  uv_run(&loop, UV_RUN_DEFAULT);
  kl_journal_close(srv->journal);
  kl_tls_free(srv->tls);
  kl_auth_free(srv->auth);
  kl_faults_free(srv->faults);
  kl_store_free(srv->store);
  if (uv_loop_close(&loop) != 0)
    kl_log("some handles were still open at exit");
  free(faults);
  return rc;
}
