/*
 * custom_backend: a host plugs its own storage in for a URI scheme of its own ("vault" here).
 *
 * The backend keeps blobs in memory and completes each operation from a worker thread, as an
 * object-store client with its own threads would: k8sha_storage_op_complete() is thread-safe, and
 * the library delivers the result on its loop. Then the example stores and recovers two
 * checkpoints through it and prints what the backend was asked to do.
 *
 *   custom_backend -c flink-conf.yaml [-D key=value]...     (storageDir is set to vault://demo/ha)
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <k8sha.h>

#include "example_config.h"

/* ---- the backend: a tiny in-memory blob store with one worker thread per operation ---- */

#define MAX_BLOBS 64

typedef struct vault {
  uv_mutex_t mu;
  char *uri[MAX_BLOBS];
  char *data[MAX_BLOBS];
  size_t len[MAX_BLOBS];
  int writes, reads, removes, lists;
} vault;

typedef struct job {
  vault *v;
  enum { WRITE, READ, REMOVE, LIST } kind;
  char *uri;
  char *data;
  size_t len;
  k8sha_storage_op *op;
} job;

static int find(vault *v, const char *uri) {
  int i;
  for (i = 0; i < MAX_BLOBS; i++)
    if (v->uri[i] && strcmp(v->uri[i], uri) == 0)
      return i;
  return -1;
}

static void *run_job(void *arg) {
  job *j = arg;
  vault *v = j->v;
  int i, status = 0;
  uv_mutex_lock(&v->mu);
  i = find(v, j->uri);
  switch (j->kind) {
  case WRITE: /* blobs are never overwritten */
    if (i >= 0) {
      status = K8SHA_EEXISTS;
    } else {
      for (i = 0; i < MAX_BLOBS && v->uri[i]; i++)
        ;
      if (i == MAX_BLOBS) {
        status = K8SHA_ESTORAGE;
      } else {
        v->uri[i] = j->uri;
        v->data[i] = j->data;
        v->len[i] = j->len;
        j->uri = j->data = NULL; /* now the vault's */
      }
    }
    v->writes++;
    uv_mutex_unlock(&v->mu);
    k8sha_storage_op_complete(j->op, status, status ? "vault: cannot write" : NULL, NULL, 0);
    break;
  case READ:
    v->reads++;
    uv_mutex_unlock(&v->mu);
    if (i < 0)
      k8sha_storage_op_complete(j->op, K8SHA_ENOTFOUND, "vault: no such blob", NULL, 0);
    else /* the data is copied by the library */
      k8sha_storage_op_complete(j->op, 0, NULL, v->data[i], v->len[i]);
    break;
  case REMOVE: /* an absent blob is success */
    if (i >= 0) {
      free(v->uri[i]);
      free(v->data[i]);
      v->uri[i] = v->data[i] = NULL;
    }
    v->removes++;
    uv_mutex_unlock(&v->mu);
    k8sha_storage_op_complete(j->op, 0, NULL, NULL, 0);
    break;
  case LIST:
    for (i = 0; i < MAX_BLOBS; i++)
      if (v->uri[i] && strncmp(v->uri[i], j->uri, strlen(j->uri)) == 0)
        k8sha_storage_op_add_entry(j->op, v->uri[i]);
    v->lists++;
    uv_mutex_unlock(&v->mu);
    k8sha_storage_op_complete(j->op, 0, NULL, NULL, 0);
    break;
  }
  free(j->uri);
  free(j->data);
  free(j);
  return NULL;
}

/* Each call starts the operation and returns; the worker thread completes it later. */
static int start(vault *v, int kind, const char *uri, const void *data, size_t len,
                 k8sha_storage_op *op) {
  pthread_t t;
  job *j = calloc(1, sizeof(*j));
  if (!j)
    return K8SHA_ENOMEM;
  j->v = v;
  j->kind = kind;
  j->uri = strdup(uri);
  j->data = len ? malloc(len) : NULL;
  j->len = len;
  j->op = op;
  if (len)
    memcpy(j->data, data, len);
  if (pthread_create(&t, NULL, run_job, j) != 0) {
    free(j->uri);
    free(j->data);
    free(j);
    return K8SHA_ESTORAGE; /* refused to start: the library reports it, op is never completed */
  }
  pthread_detach(t);
  return 0;
}

static int v_write(void *self, const char *uri, const void *data, size_t len,
                   k8sha_storage_op *op) {
  return start(self, WRITE, uri, data, len, op);
}
static int v_read(void *self, const char *uri, k8sha_storage_op *op) {
  return start(self, READ, uri, NULL, 0, op);
}
static int v_remove(void *self, const char *uri, k8sha_storage_op *op) {
  return start(self, REMOVE, uri, NULL, 0, op);
}
static int v_list(void *self, const char *prefix, k8sha_storage_op *op) {
  return start(self, LIST, prefix, NULL, 0, op);
}

/* ---- using it ---- */

typedef struct app {
  uv_loop_t loop;
  k8sha_checkpoint_store *store;
  int added, failed;
} app;

static void fail(app *a, const char *what) {
  printf("%s: %s\n", what, a->store ? k8sha_checkpoint_store_last_error(a->store) : "");
  a->failed = 1;
  uv_stop(&a->loop);
}

static void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
                         size_t n, void *ud) {
  app *a = ud;
  size_t i;
  (void)s;
  if (status)
    return fail(a, "recover");
  for (i = 0; i < n; i++)
    printf("recovered checkpoint %" PRIu64 " from the vault: '%.*s'\n", list[i]->id,
           (int)list[i]->len, list[i]->status ? "" : (const char *)list[i]->data);
  uv_stop(&a->loop);
}

static void on_added(k8sha_checkpoint_store *s, int status, void *ud) {
  app *a = ud;
  if (status)
    return fail(a, "add");
  if (++a->added == 2)
    k8sha_checkpoint_recover(s, on_recovered, a);
  else
    k8sha_checkpoint_add(s, 2, "second", 6, on_added, a);
}

static void on_opened(k8sha_checkpoint_store *s, int status, void *ud) {
  app *a = ud;
  if (status)
    return fail(a, "open");
  k8sha_checkpoint_add(s, 1, "first", 5, on_added, a);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  app *a = ud;
  (void)session;
  (void)term;
  k8sha_checkpoint_store_open(&a->store, e, "0000000000000000000000000000beef", on_opened, a);
}

int main(int argc, char **argv) {
  static const k8sha_storage_backend backend = {
      K8SHA_STORAGE_BACKEND_VERSION, "vault", v_write, v_read, v_remove, v_list, NULL};
  static vault v;
  app a;
  k8sha_ctx *ctx = NULL;
  k8sha_ctx_options co;
  k8sha_election *e = NULL;
  k8sha_election_callbacks cbs;
  k8sha_config *cfg;
  char **rest, *args[64];
  int n_rest, n = 0, i;

  /* storageDir names our scheme; the scheme must be registered in the configuration before it
   * is validated, and the backend in the context before the first blob operation. */
  for (i = 0; i < argc && n < 60; i++)
    args[n++] = argv[i];
  args[n++] = "-D";
  args[n++] = "high-availability.storageDir=vault://demo/ha";
  args[n] = NULL;
  cfg = example_config(n, args, "vault", &n_rest, &rest);
  if (!cfg)
    return 2;
  (void)rest;

  memset(&a, 0, sizeof(a));
  uv_mutex_init(&v.mu);
  uv_loop_init(&a.loop);
  k8sha_ctx_options_init(&co, K8SHA_CTX_OPTIONS_VERSION);
  co.loop = &a.loop;
  if (k8sha_ctx_new(&ctx, cfg, &co) != 0)
    return 1;
  k8sha_config_free(cfg);
  if (k8sha_storage_register(ctx, &backend, &v) != 0)
    return 1;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.user_data = &a;
  if (k8sha_election_new(&e, ctx, NULL, &cbs) != 0 || k8sha_election_start(e) != 0)
    return 1;

  uv_run(&a.loop, UV_RUN_DEFAULT);

  printf("the vault was asked for %d write(s), %d read(s), %d delete(s), %d list(s)\n",
         v.writes, v.reads, v.removes, v.lists);
  k8sha_checkpoint_store_free(a.store);
  k8sha_election_free(e);
  k8sha_ctx_free(ctx);
  while (uv_run(&a.loop, UV_RUN_DEFAULT))
    ;
  uv_loop_close(&a.loop);
  for (i = 0; i < MAX_BLOBS; i++) {
    free(v.uri[i]);
    free(v.data[i]);
  }
  uv_mutex_destroy(&v.mu);
  return a.failed;
}
