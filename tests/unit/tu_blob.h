/* The storage tests' blob operations, through the library's internal storage registry (so only
 * for tests linked with the internal archive). */
#ifndef K8SHA_TU_BLOB_H
#define K8SHA_TU_BLOB_H

#include <check.h>
#include <k8sha.h>
#include <stddef.h>
#include <uv.h>

/* One blob operation through the context's storage registry, waited for on `loop`. */
typedef enum tu_blob_kind { TU_WRITE, TU_READ, TU_REMOVE, TU_LIST } tu_blob_kind;
#define TU_BLOB_ENTRIES 16
typedef struct tu_blob_res {
  uv_loop_t *loop;
  int done, err;
  char message[1200];
  char *data; /* read: the bytes, NUL-terminated (freed by the next tu_blob_op or by the caller) */
  size_t len;
  size_t n_entries; /* list: how many; the first TU_BLOB_ENTRIES are kept */
  char entries[TU_BLOB_ENTRIES][512];
} tu_blob_res;
/* Starts the operation (asserting it starts) and runs the loop until it completes; its status. */
int tu_blob_op(uv_loop_t *loop, k8sha_ctx *ctx, tu_blob_kind kind, const char *uri,
               const void *data, size_t len, tu_blob_res *r);

#endif
