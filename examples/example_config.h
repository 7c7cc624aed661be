/*
 * The configuration step every example shares: build a k8sha_config from a Flink configuration
 * file (-c FILE) and overrides (-D key=value), validate it, and read the kubeconfig it names.
 * A real program does the same with its own command line.
 */
#ifndef EXAMPLE_CONFIG_H
#define EXAMPLE_CONFIG_H

#include <stdio.h>
#include <string.h>

#include <k8sha.h>

/* Returns a validated configuration, or NULL after printing every problem found. `scheme`
 * (may be NULL) is a storage scheme the host backs itself, accepted in storageDir. Arguments
 * other than -c/-D are left for the caller: *rest_argc/rest_argv (argv[0] dropped). */
static k8sha_config *example_config(int argc, char **argv, const char *scheme, int *rest_argc,
                                    char ***rest_argv) {
  k8sha_config *cfg = NULL;
  int i, n = 0;
  if (k8sha_config_new(&cfg, NULL) != 0)
    return NULL;
  if (scheme && k8sha_config_add_storage_scheme(cfg, scheme) != 0)
    goto invalid;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
      if (k8sha_config_load_file(cfg, argv[++i]) != 0)
        goto invalid;
    } else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc) {
      char key[256];
      const char *eq = strchr(argv[++i], '=');
      if (!eq || (size_t)(eq - argv[i]) >= sizeof(key)) {
        fprintf(stderr, "-D wants key=value, got '%s'\n", argv[i]);
        k8sha_config_free(cfg);
        return NULL;
      }
      memcpy(key, argv[i], (size_t)(eq - argv[i]));
      key[eq - argv[i]] = '\0';
      k8sha_config_set(cfg, key, eq + 1);
    } else {
      argv[n++] = argv[i]; /* not ours: keep it for the caller */
    }
  }
  *rest_argc = n;
  *rest_argv = argv;
  /* Validation records every problem (with file and line), not just the first. */
  if (k8sha_config_validate(cfg) != 0 || k8sha_config_resolve_kube(cfg) != 0)
    goto invalid;
  return cfg;
invalid:
  for (i = 0; (size_t)i < k8sha_config_diag_count(cfg); i++)
    if (k8sha_config_diag_at(cfg, (size_t)i)->severity == K8SHA_DIAG_ERROR)
      fprintf(stderr, "%s\n", k8sha_config_diag_at(cfg, (size_t)i)->text);
  fprintf(stderr, "%s\n", k8sha_config_last_error(cfg));
  k8sha_config_free(cfg);
  return NULL;
}

#endif
