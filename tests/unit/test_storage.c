/* Storage: the file backend (durable write-new, never overwrite, confinement, clear errors) and
 * a host backend that completes from its own thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "storage/storage.h"
#include "testutil.h"

typedef struct res {
  uv_loop_t *loop;
  int done, err;
  char message[600];
  char data[256];
  size_t len;
  size_t n_entries;
  char entries[8][512];
} res;

static void on_res(const k8sha__blob_result *r, void *ud) {
  res *x = ud;
  size_t i;
  x->done = 1;
  x->err = r->err;
  snprintf(x->message, sizeof(x->message), "%s", r->message ? r->message : "");
  x->len = r->len;
  if (r->data && r->len < sizeof(x->data)) {
    memcpy(x->data, r->data, r->len);
    x->data[r->len] = '\0';
  }
  x->n_entries = r->n_entries;
  for (i = 0; i < r->n_entries && i < 8; i++)
    snprintf(x->entries[i], sizeof(x->entries[i]), "%s", r->entries[i]);
  uv_stop(x->loop);
}

static void wait_res(uv_loop_t *loop, res *x) {
  int turns = 0;
  while (!x->done && turns++ < 1000)
    uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_msg(x->done, "no completion");
}

static k8sha_ctx *make_ctx(uv_loop_t *loop, const char *storage_dir) {
  return tu_ctx(loop, "http://127.0.0.1:9", storage_dir); /* storage needs no API server */
}

static void finish(uv_loop_t *loop, k8sha_ctx *ctx) {
  k8sha_ctx_free(ctx);
  while (uv_run(loop, UV_RUN_DEFAULT))
    ;
  ck_assert_int_eq(uv_loop_close(loop), 0);
}

START_TEST(file_backend_write_read_list_remove) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  res r;
  char root[512], uri[700], prefix[700], path[700], tmpuri[700];
  struct stat st;

  snprintf(root, sizeof(root), "file://%s/ha", tu_tmpdir());
  uv_loop_init(&loop);
  ctx = make_ctx(&loop, root);
  snprintf(uri, sizeof(uri), "%s/c1/completedCheckpoint0123456789ab", root);
  snprintf(prefix, sizeof(prefix), "%s/c1/completedCheckpoint", root);

  /* New blob: written, folders created. */
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, uri, "state-1", 7, on_res, &r), 0);
  ck_assert_int_eq(r.done, 0); /* never from inside the call */
  wait_res(&loop, &r);
  ck_assert_msg(r.err == 0, "%s", r.message);
  snprintf(path, sizeof(path), "%s/ha/c1/completedCheckpoint0123456789ab", tu_tmpdir());
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq((int)st.st_size, 7);

  /* Never overwritten. */
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, uri, "state-2", 7, on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_int_eq(r.err, K8SHA_EEXISTS);
  ck_assert_ptr_nonnull(strstr(r.message, "never overwritten"));

  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_read(ctx->storage, uri, on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_str_eq(r.data, "state-1");

  /* Listing finds it (and no temporary file is left behind). */
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_list(ctx->storage, prefix, on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_int_eq(r.err, 0);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_str_eq(r.entries[0], uri);

  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_remove(ctx->storage, uri, on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_int_eq(r.err, 0);
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_remove(ctx->storage, uri, on_res, &r), 0); /* absent: still success */
  wait_res(&loop, &r);
  ck_assert_int_eq(r.err, 0);
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_read(ctx->storage, uri, on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_int_eq(r.err, K8SHA_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(r.message, "completedCheckpoint0123456789ab"));

  /* Outside the storage directory, or escaping it: refused before anything happens. */
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, "file:///etc/passwd", "x", 1, on_res, &r), K8SHA_EINVAL);
  snprintf(tmpuri, sizeof(tmpuri), "%s/c1/../../escape", root);
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, tmpuri, "x", 1, on_res, &r), K8SHA_EINVAL);
  snprintf(tmpuri, sizeof(tmpuri), "%s-sibling/x", root);
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, tmpuri, "x", 1, on_res, &r), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, "s3://bucket/x", "x", 1, on_res, &r), K8SHA_ENOTSUP);

  /* A file where a folder should be: a clear error naming the blob. */
  snprintf(path, sizeof(path), "%s/ha/c1/blocker", tu_tmpdir());
  tu_write("ha/c1/blocker", "i am a file");
  snprintf(tmpuri, sizeof(tmpuri), "%s/c1/blocker/completedCheckpoint1", root);
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, tmpuri, "x", 1, on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_int_eq(r.err, K8SHA_ESTORAGE);
  ck_assert_msg(strstr(r.message, "blocker") && strstr(r.message, "Not a directory"), "%s", r.message);
  finish(&loop, ctx);
}
END_TEST

/* ---- a host backend completing from its own thread ---- */

typedef struct mem_job {
  k8sha_storage_op *op;
  int kind;
  char data[64];
} mem_job;

static void mem_thread(void *arg) {
  mem_job *j = arg;
  if (j->kind == 0)
    k8sha_storage_op_complete(j->op, 0, NULL, NULL, 0);
  else if (j->kind == 1)
    k8sha_storage_op_complete(j->op, 0, NULL, "from-thread", 11);
  else {
    k8sha_storage_op_add_entry(j->op, "mem://a/1");
    k8sha_storage_op_add_entry(j->op, "mem://a/2");
    k8sha_storage_op_complete(j->op, 0, NULL, NULL, 0);
  }
  free(j);
}

static int spawn(k8sha_storage_op *op, int kind) {
  uv_thread_t t;
  mem_job *j = calloc(1, sizeof(*j));
  j->op = op;
  j->kind = kind;
  if (uv_thread_create(&t, mem_thread, j) != 0)
    return K8SHA_ESTORAGE;
  /* Not joined: the completion is what the test waits for; the thread ends right after it. */
  pthread_detach(t);
  return 0;
}

static int m_write(void *self, const char *uri, const void *d, size_t n, k8sha_storage_op *op) {
  (void)self; (void)uri; (void)d; (void)n;
  return spawn(op, 0);
}
static int m_read(void *self, const char *uri, k8sha_storage_op *op) {
  (void)self; (void)uri;
  return spawn(op, 1);
}
static int m_remove(void *self, const char *uri, k8sha_storage_op *op) {
  (void)self; (void)uri;
  return spawn(op, 0);
}
static int m_list(void *self, const char *prefix, k8sha_storage_op *op) {
  (void)self; (void)prefix;
  return spawn(op, 2);
}
static int destroyed;
static void m_destroy(void *self) {
  (void)self;
  destroyed++;
}

START_TEST(host_backend_completes_from_another_thread) {
  k8sha_storage_backend vt = {K8SHA_STORAGE_BACKEND_VERSION, "mem", m_write, m_read, m_remove,
                              m_list, m_destroy};
  k8sha_storage_backend bad = vt;
  uv_loop_t loop;
  k8sha_ctx *ctx;
  res r;

  uv_loop_init(&loop);
  ctx = make_ctx(&loop, "s3://bucket/ha");
  bad.version = 2;
  ck_assert_int_eq(k8sha_storage_register(ctx, &bad, NULL), K8SHA_EINVAL);
  bad = vt;
  bad.scheme = "9bad";
  ck_assert_int_eq(k8sha_storage_register(ctx, &bad, NULL), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha_storage_register(ctx, &vt, NULL), 0);
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_write(ctx->storage, "mem://a/1", "x", 1, on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_int_eq(r.err, 0);
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_read(ctx->storage, "MEM://a/1", on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_str_eq(r.data, "from-thread");
  memset(&r, 0, sizeof(r));
  r.loop = &loop;
  ck_assert_int_eq(k8sha__blob_list(ctx->storage, "mem://a/", on_res, &r), 0);
  wait_res(&loop, &r);
  ck_assert_uint_eq(r.n_entries, 2);
  ck_assert_str_eq(r.entries[1], "mem://a/2");
  finish(&loop, ctx);
  ck_assert_int_eq(destroyed, 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("storage");
  TCase *tc = tcase_create("storage");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, file_backend_write_read_list_remove);
  tcase_add_test(tc, host_backend_completes_from_another_thread);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
