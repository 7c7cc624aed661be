/* The store tests' fixture (kube-lite, a context with file storage in its temp dir, a leader)
 * and helpers, shared by test_store.c, test_fencing.c and test_cleanup.c. */
#ifndef K8SHA_STOREFIX_H
#define K8SHA_STOREFIX_H

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
#include "store/fenced.h"
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
  char blobs[1100]; /* <storageDir>/it */
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
/* 1 when the tests run against the S3 server of tests/s3/s3proxy.sh (the default storage). */
int storage_is_s3(void);
/* The file that holds a blob: the path of a file:// URI, or the S3 server's file of an object. */
const char *blob_file(const char *uri, char *out, size_t size);
void teardown(fixture *f);
int blob_count(const fixture *f);
void only_blob(const fixture *f, const char *kind, char *out, size_t size);
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
