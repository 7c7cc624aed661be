/* Blob operations for the storage tests (tu_blob.h). */
#include "tu_blob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx_priv.h"
#include "storage/storage.h"

static void on_blob(const k8sha__blob_result *r, void *ud) {
  tu_blob_res *x = ud;
  size_t i;
  x->done = 1;
  x->err = r->err;
  snprintf(x->message, sizeof(x->message), "%s", r->message ? r->message : "");
  x->len = r->len;
  free(x->data);
  x->data = NULL;
  if (r->data) {
    x->data = malloc(r->len + 1);
    ck_assert_ptr_nonnull(x->data);
    memcpy(x->data, r->data, r->len);
    x->data[r->len] = '\0';
  }
  x->n_entries = r->n_entries;
  for (i = 0; i < r->n_entries && i < TU_BLOB_ENTRIES; i++)
    snprintf(x->entries[i], sizeof(x->entries[i]), "%s", r->entries[i]);
  uv_stop(x->loop);
}

int tu_blob_op(uv_loop_t *loop, k8sha_ctx *ctx, tu_blob_kind kind, const char *uri,
               const void *data, size_t len, tu_blob_res *r) {
  int turns = 0;
  free(r->data);
  memset(r, 0, sizeof(*r));
  r->loop = loop;
  ck_assert_int_eq(kind == TU_WRITE   ? k8sha__blob_write(ctx->storage, uri, data, len, on_blob, r)
                   : kind == TU_READ  ? k8sha__blob_read(ctx->storage, uri, on_blob, r)
                   : kind == TU_REMOVE ? k8sha__blob_remove(ctx->storage, uri, on_blob, r)
                                       : k8sha__blob_list(ctx->storage, uri, on_blob, r),
                   0);
  while (!r->done && turns++ < 100000)
    uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_msg(r->done, "no completion");
  return r->err;
}
