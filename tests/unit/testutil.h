/* Helpers shared by the unit tests. */
#ifndef K8SHA_TESTUTIL_H
#define K8SHA_TESTUTIL_H

#include <check.h>
#include <k8sha.h>
#include <stddef.h>
#include <uv.h>

/* A fresh temporary directory for this process (removed at exit). */
const char *tu_tmpdir(void);
/* Writes `text` to tu_tmpdir()/name and returns the full path (static storage per call slot). */
char *tu_write(const char *name, const char *text);
/* 1 when some diagnostic of `sev` mentions `key` (or any key when NULL) and contains `needle`. */
int tu_has_diag(const k8sha_config *cfg, k8sha_diag_severity sev, const char *key,
                const char *needle);
/* Number of diagnostics of severity `sev`. */
size_t tu_count(const k8sha_config *cfg, k8sha_diag_severity sev);
/* Dumps every diagnostic to stderr (to explain a failing assertion). */
void tu_dump(const k8sha_config *cfg);
/* A context on `loop` for cluster c1 reaching the API at `server` (no credentials), with the
 * storage directory `storage_dir`. */
k8sha_ctx *tu_ctx(uv_loop_t *loop, const char *server, const char *storage_dir);
/* A configuration for cluster c1 (API server at an unused port: storage needs none) whose blobs
 * go to `storage_dir`, with the `extra` key/value pairs (NULL-terminated; may be NULL). Not
 * validated: the caller checks what validation says. tu_s3_config() adds the keys of the
 * S3-compatible `endpoint`, path-style, and `access` and `secret` when not NULL. */
k8sha_config *tu_storage_config(const char *storage_dir, const char *const *extra);
/* The same with the s3 keys of an S3-compatible `endpoint`. */
k8sha_config *tu_s3_config(const char *storage_dir, const char *endpoint, const char *access,
                           const char *secret, const char *const *extra);
/* A context on `loop` from a validated configuration (its Kubernetes access is resolved here);
 * frees the configuration. */
k8sha_ctx *tu_ctx_from(uv_loop_t *loop, k8sha_config *cfg);
/* Frees the context, lets the loop finish what it closes, and closes the loop. */
void tu_ctx_finish(uv_loop_t *loop, k8sha_ctx *ctx);
/* Runs the suite, returns the process exit status. */
int tu_run(Suite *s);

/* Asserts a diagnostic exists, and shows all of them when it does not. */
#define tu_assert_diag(cfg, sev, key, needle)                                                  \
  do {                                                                                         \
    if (!tu_has_diag((cfg), (sev), (key), (needle)))                                           \
      tu_dump(cfg);                                                                            \
    ck_assert_msg(tu_has_diag((cfg), (sev), (key), (needle)), "no diagnostic for %s with '%s'", \
                  (key) ? (key) : "(any key)", (needle));                                      \
  } while (0)

#endif
