/* The store tests' fixture (kube-lite, a context with storage, a leader) and helpers, shared by
 * test_store.c, test_fencing.c and test_cleanup.c. The storage is file storage in kube-lite's
 * scratch folder, or s3:// under tests/s3/s3proxy.sh, or hdfs:// under tests/hdfs/minidfs.sh:
 * the tests see and touch blobs only through the blob_* helpers, which work on all three. */
#ifndef K8SHA_STOREFIX_H
#define K8SHA_STOREFIX_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"
#include "k8sha/checkpoint.h"
#include "k8sha/cleanup.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"
#include "k8sha/jobgraph.h"
#include "k8sha/storage.h"
#include "k8sha/watch.h"
#include "election/elector.h"
#include "election/fenced.h"
#include "store/handles.h"

#define JOB "0123456789abcdef0123456789abcdef"
#define JOB_CM "it-" JOB "-config-map"
#define JOB_PATH "/api/v1/namespaces/flink/configmaps/" JOB_CM
#define CLUSTER_PATH "/api/v1/namespaces/flink/configmaps/it-cluster-config-map"

typedef struct fixture {
  itest t;
  k8sha_ctx *ctx;
  k8sha_election *e;
  int granted, revoked, reason;
  uint64_t term;
  char blobs[1100]; /* the URI of the blob folder: <storageDir>/it */
  char storage_dir[1024];
  const char *storage_kv[12]; /* the storage's configuration keys and values, NULL-terminated:
                                 another context of the test uses the same storage with them */
} fixture;

typedef struct res {
  uv_loop_t *loop;
  int done, err;
  uint64_t value;
  char msg[1024];
  size_t n;
  uint64_t ids[16];
  int status[16];
  char data[16][64];
} res;

typedef struct hfix {
  k8sha__fcm *fcm;
  k8sha__hstore *h;
} hfix;

typedef struct membackend {
  int fail_remove, fail_write;
  int hold_write;          /* a write is visible at once but completes only when the test says */
  k8sha_storage_op *held;
  int hold_read;           /* a read is answered only when the test says */
  k8sha_storage_op *held_read;
  int blobs, removes;
  char uris[32][256];
  char data[32][64];
  size_t len[32];
} membackend;

typedef struct found_log {
  uv_loop_t *loop;
  int done, err;
  char msg[1024];
  char seen[8192];
  int count;
} found_log;

extern const char *const keep3_short_lease[];

void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud);
void on_revoked(k8sha_election *e, int reason, void *ud);
void lead(fixture *f, k8sha_lock_kind kind);
void await_term_above(fixture *f, uint64_t term);
void setup_with(fixture *f, const char *storage_dir, const char *const *extra,
                       k8sha_lock_kind kind);
void setup(fixture *f);
void teardown(fixture *f);

/* ---- blobs, on any test storage ----
 * A blob is named by its URI as the library writes it: a path, file:// or Flink's file:
 * (the local file), s3://<bucket>/<key> (the file <key> under $K8SHA_TEST_S3_ROOT/<bucket>,
 * where S3Proxy keeps it), or hdfs://[<authority>]/<path> (reached through WebHDFS at
 * $K8SHA_TEST_HDFS_WEBHDFS as $HADOOP_USER_NAME). Blobs in f's folder are f->blobs/<name>;
 * names starting with '.' are not blobs. Unexpected failures fail the test. */

/* "file", "s3" or "hdfs": the scheme of the default storage. */
const char *storage_scheme(void);
/* The number of blobs in f's folder (0 when the folder does not exist). */
int blob_count(const fixture *f);
/* The URI of the only blob of f's folder whose name starts with `prefix` (fails unless there is
 * exactly one). */
void only_blob(const fixture *f, const char *prefix, char *out, size_t size);
/* The URI of a blob of f's folder other than `not_this` (fails when there is none). */
void other_blob(const fixture *f, const char *not_this, char *out, size_t size);
/* A blob's bytes (NUL-terminated, *len of them; the caller frees), or NULL when it is missing. */
char *blob_read(const char *uri, size_t *len);
/* Creates or replaces a blob (with its parent folders). */
void blob_write(const char *uri, const void *data, size_t len);
/* Overwrites the first strlen(bytes) bytes of a blob, keeping its size: damage. */
void blob_damage(const char *uri, const char *bytes);
/* Deletes a blob: 1, or 0 when it was missing. */
int blob_delete(const char *uri);
/* A blob's size, or -1 when it is missing. */
long long blob_size(const char *uri);
int blob_exists(const char *uri);

json_t *get_cm(fixture *f, const char *path);
const char *data_of(json_t *cm, const char *key);
void put_cm(fixture *f, const char *path, json_t *cm);
void blocking_put(fixture *f, const char *path, json_t *cm);
void res_init(fixture *f, res *r);
void finish_res(res *r, int err, const char *msg);
void on_cp(k8sha_checkpoint_store *s, int status, void *ud);
void on_count(k8sha_checkpoint_store *s, int status, uint64_t value, void *ud);
void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
                         size_t n, void *ud);
void on_h(int err, const char *message, void *ud);
void on_hget(int err, const char *message, const void *data, size_t len, int is_pointer,
                    void *ud);
k8sha_checkpoint_store *open_store(fixture *f);
int cp_add(fixture *f, k8sha_checkpoint_store *s, uint64_t id, const char *state,
                  res *r);
void recover(fixture *f, k8sha_checkpoint_store *s, res *r);
void h_open(fixture *f, hfix *h);
void h_close(hfix *h);
int h_add(fixture *f, hfix *h, const char *key, const char *v, res *r);
int h_get(fixture *f, hfix *h, const char *key, res *r);
int h_remove(fixture *f, hfix *h, const char *key, res *r);
int mem_find(membackend *m, const char *uri);
int mem_write(void *self, const char *uri, const void *data, size_t len,
                     k8sha_storage_op *op);
int mem_read(void *self, const char *uri, k8sha_storage_op *op);
int mem_remove(void *self, const char *uri, k8sha_storage_op *op);
int mem_list(void *self, const char *prefix, k8sha_storage_op *op);
void setup_mem_with(fixture *f, membackend *m, const char *const *extra,
                           k8sha_lock_kind kind);
void setup_mem(fixture *f, membackend *m, const char *const *extra);
void on_jg(k8sha_jobgraph_store *s, int status, void *ud);
void on_jg_got(k8sha_jobgraph_store *s, int status, const void *graph, size_t len,
                      void *ud);
void on_found(k8sha_found_kind kind, const char *name, void *ud);
void on_cleaned(int status, const char *message, void *ud);
void log_init(fixture *f, found_log *l);

#endif
