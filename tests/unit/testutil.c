#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];
static pid_t owner;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void cleanup(void) {
  /* Check forks children that inherit the atexit handler; only the creator removes. */
  if (tmpdir[0] && getpid() == owner)
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_tmpdir(void) {
  if (!tmpdir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/k8sha-unit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir))
      abort();
    owner = getpid();
    atexit(cleanup);
  }
  return tmpdir;
}

char *tu_write(const char *name, const char *text) {
  static char paths[16][512];
  static int slot;
  char *path = paths[slot++ % 16];
  FILE *f;

  snprintf(path, 512, "%s/%s", tu_tmpdir(), name);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
  return path;
}

int tu_has_diag(const k8sha_config *cfg, k8sha_diag_severity sev, const char *key,
                const char *needle) {
  size_t i;
  for (i = 0; i < k8sha_config_diag_count(cfg); i++) {
    const k8sha_diag *d = k8sha_config_diag_at(cfg, i);
    if (d->severity != sev)
      continue;
    if (key && (!d->key || strcmp(d->key, key) != 0))
      continue;
    if (strstr(d->text, needle))
      return 1;
  }
  return 0;
}

size_t tu_count(const k8sha_config *cfg, k8sha_diag_severity sev) {
  size_t i, n = 0;
  for (i = 0; i < k8sha_config_diag_count(cfg); i++)
    n += k8sha_config_diag_at(cfg, i)->severity == sev;
  return n;
}

void tu_dump(const k8sha_config *cfg) {
  size_t i;
  for (i = 0; i < k8sha_config_diag_count(cfg); i++)
    fprintf(stderr, "  diag[%zu]: %s\n", i, k8sha_config_diag_at(cfg, i)->text);
}

int tu_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  int failed;
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
