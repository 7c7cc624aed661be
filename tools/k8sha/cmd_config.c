/* k8sha config check: the effective HA configuration and Kubernetes access, or what is wrong. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: k8sha config check [-c FILE] [-D key=value]... [--json]\n"
    "\n"
    "Reads FILE (default: $FLINK_CONF_DIR/config.yaml or flink-conf.yaml), applies the -D\n"
    "overrides, checks the high-availability keys, resolves the Kubernetes endpoint, and prints\n"
    "the effective values. Exits 2 with FILE:LINE: key: problem when something is wrong.\n";

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

static void print_text(k8sha_config *cfg, int valid, int resolved) {
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
  if (resolved) {
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

static json_t *json_str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

static void print_json(k8sha_config *cfg, int valid, int resolved) {
  json_t *root = json_object(), *diags = json_array();
  size_t i;

  json_object_set_new(root, "valid", json_boolean(valid && resolved));
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
    json_object_set_new(root, "kubernetes", kube);
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
  int rc, valid, resolved;

  if ((rc = cli_parse_config_opts(argc, argv, &o, usage)) != 0)
    return rc;
  if ((rc = cli_load_config(&o, &cfg)) != 0) {
    free(o.defs);
    return rc;
  }
  /* Both steps run even when the first fails, so one run shows every problem. */
  valid = k8sha_config_validate(cfg) == 0;
  resolved = k8sha_config_resolve_kube(cfg) == 0;
  if (o.json)
    print_json(cfg, valid, resolved);
  else if (valid && resolved)
    print_text(cfg, valid, resolved);
  if (!o.json)
    cli_print_errors(cfg);
  k8sha_config_free(cfg);
  free(o.defs);
  return valid && resolved ? CLI_OK : CLI_INVALID;
}
