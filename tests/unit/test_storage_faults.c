/* The file backend when the disk fails: fsync reporting EIO or ENOSPC, write reporting ENOSPC.
 * Each failed blob write is K8SHA_ESTORAGE naming the blob and the system's reason, leaves no
 * blob and no temporary file behind, and leaks no file descriptor.
 *
 * The failures are injected: this program is linked with -Wl,--wrap=fsync,--wrap=write, and the
 * wrappers fail only calls on the backend's temporary blob files under this test's storage
 * directory while an injection is armed; every other call goes to the C library. The program
 * links the internal archive only (not testutil, which brings the shared library): the context,
 * and with it the file backend, must be the archive's, whose calls the wrappers see. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "k8sha.h"
#include "storage/storage.h"

int __real_fsync(int fd);
int __wrap_fsync(int fd);
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

/* Armed by the test on the loop thread before it starts a write; read on libuv's pool thread
 * (queueing the work orders the two). */
static int fsync_errno, write_errno;
static char storage_root[600]; /* the filesystem path of the storage directory */
static int injected;

/* Whether `fd` is one of the backend's temporary blob files (".<blob>.tmp-<pid>-<n>") under the
 * storage directory. */
static int is_blob_tmp(int fd) {
  char link[64], target[1024];
  ssize_t n;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  n = readlink(link, target, sizeof(target) - 1);
  if (n <= 0)
    return 0;
  target[n] = '\0';
  return storage_root[0] && strncmp(target, storage_root, strlen(storage_root)) == 0 &&
         strstr(target, "/.") != NULL && strstr(target, ".tmp-") != NULL;
}

int __wrap_fsync(int fd) {
  int e = __atomic_load_n(&fsync_errno, __ATOMIC_ACQUIRE);
  if (e && is_blob_tmp(fd)) {
    __atomic_add_fetch(&injected, 1, __ATOMIC_RELAXED);
    errno = e;
    return -1;
  }
  return __real_fsync(fd);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n) {
  int e = __atomic_load_n(&write_errno, __ATOMIC_ACQUIRE);
  if (e && is_blob_tmp(fd)) {
    __atomic_add_fetch(&injected, 1, __ATOMIC_RELAXED);
    errno = e;
    return -1;
  }
  return __real_write(fd, buf, n);
}

static char tmpdir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* A context on `loop` whose storage directory is `storage_uri` (no API server is needed). */
static k8sha_ctx *make_ctx(uv_loop_t *loop, const char *storage_uri) {
  k8sha_config *cfg = NULL;
  k8sha_ctx_options o;
  k8sha_ctx *ctx = NULL;
  char kc[300];
  FILE *f;

  snprintf(kc, sizeof(kc), "%s/kubeconfig", tmpdir);
  f = fopen(kc, "w");
  ck_assert_ptr_nonnull(f);
  fputs("apiVersion: v1\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
        "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n",
        f);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  k8sha_config_set(cfg, "kubernetes.config.file", kc);
  k8sha_config_set(cfg, "kubernetes.cluster-id", "c1");
  k8sha_config_set(cfg, "high-availability.type", "kubernetes");
  k8sha_config_set(cfg, "high-availability.storageDir", storage_uri);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  ck_assert_int_eq(k8sha_config_resolve_kube(cfg), 0);
  k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION);
  o.loop = loop;
  ck_assert_int_eq(k8sha_ctx_new(&ctx, cfg, &o), 0);
  k8sha_config_free(cfg);
  return ctx;
}

typedef struct res {
  uv_loop_t *loop;
  int done, err;
  char message[600];
} res;

static void on_res(const k8sha__blob_result *r, void *ud) {
  res *x = ud;
  x->done = 1;
  x->err = r->err;
  snprintf(x->message, sizeof(x->message), "%s", r->message ? r->message : "");
  uv_stop(x->loop);
}

/* Writes a blob and waits for the outcome (bounded in loop turns; the pool always answers). */
static void write_blob(uv_loop_t *loop, k8sha_ctx *ctx, const char *uri, res *x) {
  int turns = 0;
  memset(x, 0, sizeof(*x));
  x->loop = loop;
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, uri, "state", 5, on_res, x), 0);
  while (!x->done && turns++ < 1000)
    uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_msg(x->done, "no completion for %s", uri);
}

/* Open descriptors of this process. */
static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *de;
  int n = 0;
  ck_assert_ptr_nonnull(d);
  while ((de = readdir(d)) != NULL)
    if (de->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

/* Files in the folder `dir` whose names contain `part`. */
static int count_files(const char *dir, const char *part) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;
  if (!d)
    return 0;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
        strstr(de->d_name, part))
      n++;
  closedir(d);
  return n;
}

/* `n` blob writes meeting errno `e` in fsync (or in write when `in_write`): each fails with
 * K8SHA_ESTORAGE naming the blob and strerror(e); nothing is left behind, not a descriptor. */
static void failing_writes(uv_loop_t *loop, k8sha_ctx *ctx, const char *root, int e, int in_write,
                           int n, const char *tag) {
  char uri[800], path[800], folder[700];
  int i, before, after;
  res x;

  snprintf(folder, sizeof(folder), "%s/%s", storage_root, tag);
  before = count_fds();
  __atomic_store_n(&injected, 0, __ATOMIC_RELAXED);
  __atomic_store_n(in_write ? &write_errno : &fsync_errno, e, __ATOMIC_RELEASE);
  for (i = 0; i < n; i++) {
    snprintf(uri, sizeof(uri), "%s/%s/completedCheckpoint%04d", root, tag, i);
    snprintf(path, sizeof(path), "%s/completedCheckpoint%04d", folder, i);
    write_blob(loop, ctx, uri, &x);
    ck_assert_msg(x.err == K8SHA_ESTORAGE, "%s: %s (%s)", uri, k8sha_err_name(x.err), x.message);
    ck_assert_msg(strstr(x.message, path) != NULL, "the message does not name %s: %s", path,
                  x.message);
    ck_assert_msg(strstr(x.message, strerror(e)) != NULL, "the message does not say '%s': %s",
                  strerror(e), x.message);
    ck_assert_msg(access(path, F_OK) != 0, "%s exists after a failed write", path);
  }
  __atomic_store_n(in_write ? &write_errno : &fsync_errno, 0, __ATOMIC_RELEASE);
  after = count_fds();
  ck_assert_int_eq(__atomic_load_n(&injected, __ATOMIC_RELAXED), n); /* the faults did happen */
  ck_assert_msg(after == before,
                "%d blob writes failing with %s in %s: %d descriptors before, %d after", n,
                strerror(e), in_write ? "write" : "fsync", before, after);
  ck_assert_int_eq(count_files(folder, ".tmp-"), 0);
  ck_assert_int_eq(count_files(folder, "completedCheckpoint"), 0);
}

START_TEST(failed_fsync_and_write_leak_nothing) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  char root[700], uri[800];
  res x;

  snprintf(storage_root, sizeof(storage_root), "%s/ha-faults", tmpdir);
  snprintf(root, sizeof(root), "file://%s", storage_root);
  uv_loop_init(&loop);
  ctx = make_ctx(&loop, root);

  /* A good write first: the pool threads and the folders exist before anything is counted. */
  snprintf(uri, sizeof(uri), "%s/warm/completedCheckpoint0", root);
  write_blob(&loop, ctx, uri, &x);
  ck_assert_msg(x.err == 0, "%s", x.message);

  failing_writes(&loop, ctx, root, EIO, 0, 32, "fsync-eio");
  failing_writes(&loop, ctx, root, ENOSPC, 0, 8, "fsync-enospc");
  failing_writes(&loop, ctx, root, ENOSPC, 1, 8, "write-enospc");

  /* The disk is back: writing works again. */
  snprintf(uri, sizeof(uri), "%s/fsync-eio/completedCheckpoint0000", root);
  write_blob(&loop, ctx, uri, &x);
  ck_assert_msg(x.err == 0, "%s", x.message);

  k8sha_ctx_free(ctx);
  while (uv_run(&loop, UV_RUN_DEFAULT))
    ;
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  storage_root[0] = '\0';
}
END_TEST

int main(void) {
  Suite *s = suite_create("storage_faults");
  TCase *tc = tcase_create("storage_faults");
  SRunner *sr;
  const char *base = getenv("TMPDIR");
  int failed;

  snprintf(tmpdir, sizeof(tmpdir), "%s/k8sha-unit-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpdir))
    return EXIT_FAILURE;
  tcase_add_test(tc, failed_fsync_and_write_leak_nothing);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
