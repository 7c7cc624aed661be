/* k8sha config check: the effective HA configuration and Kubernetes access, or what is wrong. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: k8sha config check [-c FILE] [-D key=value]... [--kube] [--json]\n"
    "\n"
    "Reads FILE (default: $FLINK_CONF_DIR/config.yaml or flink-conf.yaml), applies the -D\n"
    "overrides, checks the high-availability keys, and prints the effective values. Exits 2 with\n"
    "FILE:LINE: key: problem when something is wrong. The Kubernetes access (kubeconfig or\n"
    "in-cluster service account) is resolved too and reported on its own line; a machine without\n"
    "it still validates a file (exit 0). --kube: Kubernetes access must resolve as well.\n";

static const char *severity_name(k8sha_diag_severity s) {
  return s == K8SHA_DIAG_ERROR ? "error" : s == K8SHA_DIAG_WARNING ? "warning" : "note";
}

static void format_ms(uint64_t ms, char *buf, size_t size) {
  if (ms % 60000 == 0)
    snprintf(buf, size, "%" PRIu64 " min", ms / 60000);
  else if (ms % 1000 == 0)
    snprintf(buf, size, "%" PRIu64 " s", ms / 1000);
  else
    snprintf(buf, size, "%" PRIu64 " ms", ms);
}

static const char *const auth_names[] = {"token", "token-file", "client-certificate",
                                         "service-account"};

static void auth_text(unsigned int auth, char *buf, size_t size) {
  size_t i, n = 0;
  buf[0] = '\0';
  for (i = 0; i < 4; i++)
    if (auth & (1u << i))
      n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " + " : "", auth_names[i]);
  if (n == 0)
    snprintf(buf, size, "none (anonymous)");
}

/* The diagnostics from `from` on are the Kubernetes access's (resolve runs after validate). */
static void kube_problem(const k8sha_config *cfg, size_t from, char *buf, size_t size) {
  size_t i, n = 0;
  buf[0] = '\0';
  for (i = from; i < k8sha_config_diag_count(cfg) && n < size; i++) {
    const k8sha_diag *d = k8sha_config_diag_at(cfg, i);
    if (d->severity == K8SHA_DIAG_ERROR)
      n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "; " : "", d->text);
  }
}

static void print_text(k8sha_config *cfg, int valid, int resolved, size_t kube_diags) {
  char a[32], b[32], c[32], d[32], e[32], auth[128];
  size_t i;

  if (valid) {
    format_ms(k8sha_config_lease_duration_ms(cfg), a, sizeof(a));
    format_ms(k8sha_config_renew_deadline_ms(cfg), b, sizeof(b));
    format_ms(k8sha_config_effective_renew_deadline_ms(cfg), c, sizeof(c));
    format_ms(k8sha_config_retry_period_ms(cfg), d, sizeof(d));
    format_ms(k8sha_config_request_timeout_ms(cfg), e, sizeof(e));
    printf("high availability: kubernetes\n");
    printf("  cluster id          %s\n", k8sha_config_cluster_id(cfg));
    printf("  HA cluster id       %s\n", k8sha_config_ha_cluster_id(cfg));
    printf("  namespace           %s\n", k8sha_config_namespace(cfg));
    printf("  storage directory   %s\n", k8sha_config_storage_dir(cfg));
    printf("  lease duration      %s\n", a);
    printf("  renew deadline      %s (effective %s)\n", b, c);
    printf("  retry period        %s\n", d);
    printf("  request timeout     %s (lock requests)\n", e);
    printf("  max retries         %u\n", k8sha_config_max_retries(cfg));
    printf("  retained checkpoints %u\n", k8sha_config_num_retained(cfg));
  }
  if (!resolved) {
    char why[1024];
    kube_problem(cfg, kube_diags, why, sizeof(why));
    printf("kubernetes API: not resolved here: %s\n", why);
  } else {
    auth_text(k8sha_config_kube_auth(cfg), auth, sizeof(auth));
    printf("kubernetes API: %s\n", k8sha_config_kube_server(cfg));
    printf("  from                %s\n", k8sha_config_kube_source(cfg));
    printf("  authentication      %s\n", auth);
    printf("  server certificate  %s\n",
           strncmp(k8sha_config_kube_server(cfg), "http://", 7) == 0
               ? "none (plain HTTP)"
           : k8sha_config_kube_insecure(cfg) ? "NOT verified (insecure-skip-tls-verify)"
                                             : "verified");
  }
  for (i = 0; i < k8sha_config_diag_count(cfg); i++) {
    const k8sha_diag *diag = k8sha_config_diag_at(cfg, i);
    if (diag->severity != K8SHA_DIAG_ERROR)
      printf("%s\n", diag->text);
  }
}

/* The errors on stderr: the configuration's, and the Kubernetes access's when it is required. */
static void print_errors(const k8sha_config *cfg, size_t kube_diags, int require_kube) {
  size_t i;
  for (i = 0; i < k8sha_config_diag_count(cfg); i++) {
    const k8sha_diag *d = k8sha_config_diag_at(cfg, i);
    if (d->severity == K8SHA_DIAG_ERROR && (i < kube_diags || require_kube))
      fprintf(stderr, "%s\n", d->text);
  }
}

static json_t *json_str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

static void print_json(k8sha_config *cfg, int valid, int resolved, size_t kube_diags,
                       int require_kube) {
  json_t *root = json_object(), *diags = json_array();
  size_t i;

  /* "valid": what the exit code says (the file; and the Kubernetes access with --kube) */
  json_object_set_new(root, "valid", json_boolean(valid && (resolved || !require_kube)));
  if (valid) {
    json_t *ha = json_object();
    json_object_set_new(ha, "cluster_id", json_string(k8sha_config_cluster_id(cfg)));
    json_object_set_new(ha, "ha_cluster_id", json_string(k8sha_config_ha_cluster_id(cfg)));
    json_object_set_new(ha, "namespace", json_string(k8sha_config_namespace(cfg)));
    json_object_set_new(ha, "storage_dir", json_string(k8sha_config_storage_dir(cfg)));
    json_object_set_new(ha, "lease_duration_ms",
                        json_integer((json_int_t)k8sha_config_lease_duration_ms(cfg)));
    json_object_set_new(ha, "renew_deadline_ms",
                        json_integer((json_int_t)k8sha_config_renew_deadline_ms(cfg)));
    json_object_set_new(ha, "effective_renew_deadline_ms",
                        json_integer((json_int_t)k8sha_config_effective_renew_deadline_ms(cfg)));
    json_object_set_new(ha, "retry_period_ms",
                        json_integer((json_int_t)k8sha_config_retry_period_ms(cfg)));
    json_object_set_new(ha, "request_timeout_ms",
                        json_integer((json_int_t)k8sha_config_request_timeout_ms(cfg)));
    json_object_set_new(ha, "max_retries", json_integer(k8sha_config_max_retries(cfg)));
    json_object_set_new(ha, "num_retained", json_integer(k8sha_config_num_retained(cfg)));
    json_object_set_new(root, "high_availability", ha);
  }
  if (resolved) {
    json_t *kube = json_object(), *auth = json_array();
    unsigned int flags = k8sha_config_kube_auth(cfg);
    for (i = 0; i < 4; i++)
      if (flags & (1u << i))
        json_array_append_new(auth, json_string(auth_names[i]));
    json_object_set_new(kube, "server", json_string(k8sha_config_kube_server(cfg)));
    json_object_set_new(kube, "source", json_string(k8sha_config_kube_source(cfg)));
    json_object_set_new(kube, "auth", auth);
    json_object_set_new(kube, "insecure", json_boolean(k8sha_config_kube_insecure(cfg)));
    json_object_set_new(kube, "resolved", json_true());
    json_object_set_new(root, "kubernetes", kube);
  } else {
    char why[1024];
    kube_problem(cfg, kube_diags, why, sizeof(why));
    json_object_set_new(root, "kubernetes",
                        json_pack("{s:b,s:s}", "resolved", 0, "error", why));
  }
  for (i = 0; i < k8sha_config_diag_count(cfg); i++) {
    const k8sha_diag *d = k8sha_config_diag_at(cfg, i);
    json_array_append_new(diags, json_pack("{s:s,s:o,s:i,s:o,s:s,s:s}", "severity",
                                           severity_name(d->severity), "file",
                                           json_str_or_null(d->file), "line", (int)d->line, "key",
                                           json_str_or_null(d->key), "message", d->message,
                                           "text", d->text));
  }
  json_object_set_new(root, "diagnostics", diags);
  json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  fputc('\n', stdout);
  json_decref(root);
}

int cmd_config_check(int argc, char **argv) {
  cli_config_opts o = {0};
  k8sha_config *cfg = NULL;
  int rc, valid, resolved, require_kube = 0, i, n = 0;
  size_t kube_diags;
  char **args = calloc((size_t)argc + 1, sizeof(*args));

  if (!args) {
    fprintf(stderr, "k8sha: out of memory\n");
    return CLI_FAILED;
  }
  for (i = 0; i < argc; i++) { /* --kube is this command's own; the rest are the common ones */
    if (strcmp(argv[i], "--kube") == 0)
      require_kube = 1;
    else
      args[n++] = argv[i];
  }
  rc = cli_parse_config_opts(n, args, &o, usage);
  if (rc == 0 && (rc = cli_load_config(&o, &cfg)) != 0)
    free(o.defs);
  if (rc != 0) {
    free(args);
    return rc;
  }
  /* Both steps run even when the first fails, so one run shows every problem. */
  valid = k8sha_config_validate(cfg) == 0;
  kube_diags = k8sha_config_diag_count(cfg);
  resolved = k8sha_config_resolve_kube(cfg) == 0;
  if (o.json)
    print_json(cfg, valid, resolved, kube_diags, require_kube);
  else if (valid)
    print_text(cfg, valid, resolved, kube_diags);
  if (!o.json)
    print_errors(cfg, kube_diags, require_kube);
  k8sha_config_free(cfg);
  free(o.defs);
  free(args);
  return valid && (resolved || !require_kube) ? CLI_OK : CLI_INVALID;
}
