#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

int cli_parse_config_opts(int argc, char **argv, cli_config_opts *o, const char *usage) {
  int i;

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
  k8sha_ctx_free(ctx);
  while (uv_run(loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(loop);
}
