/* The hdfs backend against a scripted WebHDFS (fakeapi servers on the test's loop playing one or
 * two namenodes and a datanode; the backend's transfers run on libuv's thread pool): a write and
 * a read through the namenode's redirect, an HA pair where the first namenode is standby or both
 * are unreachable, transient failures tried again and a lasting one named with its tries, a write
 * whose retry finds the file (ours only with our bytes), a namenode that takes a bodiless CREATE
 * as the write, a missing or truncated file, the answers DELETE and LISTSTATUS_BATCH may give, and
 * URIs naming another file system. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "fakeapi.h"
#include "storage/storage.h"
#include "testutil.h"

#define USER "k8sha-tester"
#define HA_URI "hdfs://ns1/ha/c1/completedCheckpoint0123456789ab"
#define HA_PREFIX "hdfs://ns1/ha/c1/completed"
#define ONE_URI "hdfs://namenode:8020/ha/c1/completedCheckpoint0123456789ab"
#define BLOB_PATH "/webhdfs/v1/ha/c1/completedCheckpoint0123456789ab"
#define FOLDER_PATH "/webhdfs/v1/ha/c1"

#define RE(x, m) "{\"RemoteException\":{\"exception\":\"" x "\",\"javaClassName\":\"" m "." x  \
                 "\",\"message\":\"scripted " x "\"}}"
#define STANDBY RE("StandbyException", "org.apache.hadoop.ipc")
#define NOT_FOUND RE("FileNotFoundException", "java.io")
#define EXISTS RE("FileAlreadyExistsException", "org.apache.hadoop.fs")
#define DENIED RE("AccessControlException", "org.apache.hadoop.security")
#define BAD_OP RE("IllegalArgumentException", "java.lang")

/* One scripted server and what it was asked (the first LOG_MAX requests). */
#define LOG_MAX 16
typedef struct srv {
  fakeapi *api;
  int index; /* 0, 1: namenode nn1, nn2; 2: the datanode */
  int requests, puts, gets;
  char method[LOG_MAX][8];
  char path[LOG_MAX][600];
  char body[LOG_MAX][64];
} srv;

static srv nn[2], dn;

/* What the servers answer. */
static struct script {
  int standby[2];       /* namenode i answers StandbyException */
  int nn_fail_first;    /* the first N namenode requests get nn_fail_status */
  int nn_fail_status;
  const char *nn_fail_body;
  int nn_status;        /* when set, every other namenode request gets it with nn_body */
  const char *nn_body;
  int create_201;       /* the namenode answers CREATE itself (201, no redirect) */
  int no_location;      /* the namenode redirects without saying where */
  const char *pages[2]; /* LISTSTATUS_BATCH without / with startAfter */
  int batch_refused;    /* LISTSTATUS_BATCH: 400 IllegalArgumentException */
  const char *full_listing; /* LISTSTATUS */
  int dn_drop_first;    /* the datanode drops the first N requests unanswered */
  int dn_put_status;    /* 0: 201 */
  const char *dn_put_body;
  const char *file;     /* the file's bytes (NULL: no such file) */
  int truncated;        /* the datanode announces more bytes than it sends */
} sc;

/* The namenode's redirect to the datanode, for the same path and query (as WebHDFS adds to it). */
static void redirect(fake_conn *c, const char *path) {
  char h[1200];
  snprintf(h, sizeof(h), "Location: http://127.0.0.1:%d%s&namenoderpcaddress=ns1\r\n",
           fake_port(dn.api), path);
  fake_reply_headers(c, 307, h, "");
}

static void namenode(srv *s, fake_conn *c, const char *path) {
  if (sc.standby[s->index]) {
    fake_reply(c, 403, STANDBY);
  } else if (nn[0].requests + nn[1].requests <= sc.nn_fail_first) {
    fake_reply(c, sc.nn_fail_status, sc.nn_fail_body ? sc.nn_fail_body : "");
  } else if (sc.nn_status) {
    fake_reply(c, sc.nn_status, sc.nn_body ? sc.nn_body : "");
  } else if (strstr(path, "op=CREATE")) {
    if (sc.create_201)
      fake_reply(c, 201, "{\"created\":true}");
    else if (sc.no_location)
      fake_reply(c, 307, "{\"redirect\":\"somewhere\"}");
    else
      redirect(c, path);
  } else if (strstr(path, "op=OPEN")) {
    redirect(c, path);
  } else if (strstr(path, "op=DELETE")) {
    fake_reply(c, 200, "{\"boolean\":true}");
  } else if (strstr(path, "op=LISTSTATUS_BATCH")) {
    const char *page = sc.pages[strstr(path, "startAfter=") != NULL];
    if (sc.batch_refused)
      fake_reply(c, 400, BAD_OP);
    else
      fake_reply(c, 200, page ? page : "");
  } else if (strstr(path, "op=LISTSTATUS")) {
    fake_reply(c, 200, sc.full_listing ? sc.full_listing : "");
  } else {
    fake_reply(c, 400, BAD_OP);
  }
}

static void datanode(fake_conn *c, const char *method) {
  if (dn.requests <= sc.dn_drop_first) {
    fake_drop(c);
  } else if (strcmp(method, "PUT") == 0) {
    fake_reply(c, sc.dn_put_status ? sc.dn_put_status : 201, sc.dn_put_body ? sc.dn_put_body : "");
  } else if (!sc.file) {
    fake_reply(c, 404, NOT_FOUND);
  } else if (sc.truncated) {
    char h[64];
    snprintf(h, sizeof(h), "Content-Length: %zu\r\n", strlen(sc.file) + 10);
    fake_reply_headers(c, 200, h, sc.file);
  } else {
    fake_reply(c, 200, sc.file);
  }
}

static void handler(fakeapi *api, fake_conn *c, const char *method, const char *path, void *ud) {
  srv *s = ud;
  int i = s->requests++;
  (void)api;
  s->puts += strcmp(method, "PUT") == 0;
  s->gets += strcmp(method, "GET") == 0;
  if (i < LOG_MAX) {
    snprintf(s->method[i], sizeof(s->method[i]), "%s", method);
    snprintf(s->path[i], sizeof(s->path[i]), "%s", path);
    snprintf(s->body[i], sizeof(s->body[i]), "%s", fake_body(c));
  }
  if (s == &dn)
    datanode(c, method);
  else
    namenode(s, c, path);
}

typedef struct res {
  uv_loop_t *loop;
  int done, err;
  char message[1200];
  char data[64];
  size_t len, n_entries;
  char entries[8][300];
} res;

static void on_res(const k8sha__blob_result *r, void *ud) {
  res *x = ud;
  size_t i;
  x->done = 1;
  x->err = r->err;
  snprintf(x->message, sizeof(x->message), "%s", r->message ? r->message : "");
  x->len = r->len;
  if (r->data && r->len < sizeof(x->data))
    memcpy(x->data, r->data, r->len);
  x->n_entries = r->n_entries;
  for (i = 0; i < r->n_entries && i < 8; i++)
    snprintf(x->entries[i], sizeof(x->entries[i]), "%s", r->entries[i]);
  uv_stop(x->loop);
}

/* How the namenodes are configured: one (storage directory hdfs://namenode:8020/ha), an HA pair
 * (hdfs://ns1/ha), or the same pair as the default file system (hdfs:///ha). */
typedef enum layout { ONE, PAIR, PAIR_DEFAULT_FS } layout;

typedef struct env {
  uv_loop_t loop;
  k8sha_ctx *ctx;
} env;

static srv *serve(env *e, srv *s, int index, int reachable) {
  memset(s, 0, sizeof(*s));
  s->index = index;
  s->api = fake_start(&e->loop, handler, s);
  if (!reachable)
    fake_stop_listening(s->api); /* (its port refuses connections) */
  return s;
}

static void start(env *e, layout l, int reachable) {
  k8sha_config *cfg;
  char a[2][64];
  int i, pair = l != ONE;
  memset(e, 0, sizeof(*e));
  memset(nn, 0, sizeof(nn));
  uv_loop_init(&e->loop);
  serve(e, &dn, 2, 1);
  for (i = 0; i < 1 + pair; i++) {
    serve(e, &nn[i], i, reachable);
    snprintf(a[i], sizeof(a[i]), "127.0.0.1:%d", fake_port(nn[i].api));
  }
  ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
  k8sha_config_set(cfg, "kubernetes.config.file",
                   tu_write("hdfs-kc.yaml", "apiVersion: v1\ncurrent-context: c\n"
                                            "contexts: [{name: c, context: {cluster: k}}]\n"
                                            "clusters: [{name: k, cluster: {server: "
                                            "'http://127.0.0.1:9'}}]\n"));
  k8sha_config_set(cfg, "kubernetes.cluster-id", "c1");
  k8sha_config_set(cfg, "high-availability.type", "kubernetes");
  if (!pair) {
    k8sha_config_set(cfg, "high-availability.storageDir", "hdfs://namenode:8020/ha");
    k8sha_config_set(cfg, "flink.hadoop.dfs.namenode.http-address", a[0]);
  } else {
    k8sha_config_set(cfg, "high-availability.storageDir",
                     l == PAIR ? "hdfs://ns1/ha" : "hdfs:///ha");
    if (l == PAIR_DEFAULT_FS)
      k8sha_config_set(cfg, "flink.hadoop.fs.defaultFS", "hdfs://ns1");
    k8sha_config_set(cfg, "flink.hadoop.dfs.nameservices", "ns1");
    k8sha_config_set(cfg, "flink.hadoop.dfs.ha.namenodes.ns1", "nn1,nn2");
    k8sha_config_set(cfg, "flink.hadoop.dfs.namenode.http-address.ns1.nn1", a[0]);
    k8sha_config_set(cfg, "flink.hadoop.dfs.namenode.http-address.ns1.nn2", a[1]);
  }
  if (k8sha_config_validate(cfg) != 0)
    tu_dump(cfg);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  e->ctx = tu_ctx_from(&e->loop, cfg);
}

static void stop(env *e) {
  fake_stop(dn.api);
  fake_stop(nn[0].api);
  if (nn[1].api)
    fake_stop(nn[1].api);
  tu_ctx_finish(&e->loop, e->ctx);
}

typedef enum kind { WRITE, READ, REMOVE, LIST } kind;

/* Starts the operation on `uri` (a write writes "state") and runs the loop until its callback. */
static int op(env *e, kind k, const char *uri, res *r) {
  int turns = 0;
  memset(r, 0, sizeof(*r));
  r->loop = &e->loop;
  ck_assert_int_eq(k == WRITE    ? k8sha__blob_write(e->ctx->storage, uri, "state", 5, on_res, r)
                   : k == READ   ? k8sha__blob_read(e->ctx->storage, uri, on_res, r)
                   : k == REMOVE ? k8sha__blob_remove(e->ctx->storage, uri, on_res, r)
                                 : k8sha__blob_list(e->ctx->storage, uri, on_res, r),
                   0);
  while (!r->done && turns++ < 100000)
    uv_run(&e->loop, UV_RUN_DEFAULT);
  ck_assert_msg(r->done, "no completion");
  return r->err;
}

#define assert_has(text, needle) \
  ck_assert_msg(strstr((text), (needle)) != NULL, "'%s' is not in '%s'", (needle), (text))

START_TEST(a_write_and_a_read_go_through_the_datanode) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  start(&e, ONE, 1);
  ck_assert_msg(op(&e, WRITE, ONE_URI, &r) == 0, "%s", r.message);
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_str_eq(nn[0].method[0], "PUT");
  ck_assert_str_eq(nn[0].path[0], BLOB_PATH "?op=CREATE&overwrite=false&user.name=" USER);
  ck_assert_str_eq(nn[0].body[0], ""); /* (the bytes go to the datanode only) */
  ck_assert_int_eq(dn.requests, 1);
  ck_assert_str_eq(dn.method[0], "PUT");
  ck_assert_str_eq(dn.path[0], BLOB_PATH "?op=CREATE&overwrite=false&user.name=" USER
                               "&namenoderpcaddress=ns1");
  ck_assert_str_eq(dn.body[0], "state");

  sc.file = "state";
  ck_assert_msg(op(&e, READ, ONE_URI, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.len, 5);
  ck_assert_mem_eq(r.data, "state", 5);
  ck_assert_int_eq(nn[0].requests, 2);
  ck_assert_str_eq(nn[0].method[1], "GET");
  ck_assert_str_eq(nn[0].path[1], BLOB_PATH "?op=OPEN&user.name=" USER);
  ck_assert_int_eq(dn.requests, 2);
  ck_assert_str_eq(dn.method[1], "GET");
  stop(&e);
}
END_TEST

START_TEST(a_standby_namenode_is_passed_over_and_then_skipped) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.standby[0] = 1;
  sc.file = "state";
  start(&e, PAIR, 1);
  ck_assert_msg(op(&e, WRITE, HA_URI, &r) == 0, "%s", r.message);
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_int_eq(nn[1].requests, 1);
  ck_assert_int_eq(dn.requests, 1);
  ck_assert_str_eq(dn.body[0], "state");
  ck_assert_int_eq(dn.gets, 0); /* (the datanode took it: nothing to read back) */

  /* the next operation goes to nn2 first */
  ck_assert_msg(op(&e, READ, HA_URI, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.len, 5);
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_int_eq(nn[1].requests, 2);
  ck_assert_msg(op(&e, REMOVE, HA_URI, &r) == 0, "%s", r.message);
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_int_eq(nn[1].requests, 3);
  stop(&e);
}
END_TEST

START_TEST(unreachable_namenodes_are_named_after_five_tries) {
  env e;
  res r;
  char url[64];
  memset(&sc, 0, sizeof(sc));
  start(&e, PAIR, 0);
  ck_assert_int_eq(op(&e, WRITE, HA_URI, &r), K8SHA_ESTORAGE);
  assert_has(r.message, "CREATE " HA_URI);
  assert_has(r.message, "no namenode answered as the active one after 5 tries");
  snprintf(url, sizeof(url), "nn1 http://127.0.0.1:%d", fake_port(nn[0].api));
  assert_has(r.message, url);
  snprintf(url, sizeof(url), "nn2 http://127.0.0.1:%d", fake_port(nn[1].api));
  assert_has(r.message, url);
  ck_assert_int_eq(nn[0].requests + nn[1].requests + dn.requests, 0);
  stop(&e);
}
END_TEST

START_TEST(server_errors_are_tried_again_and_a_lasting_one_named) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.nn_fail_first = 2;
  sc.nn_fail_status = 500;
  sc.nn_fail_body = "<html>Internal Server Error</html>";
  start(&e, ONE, 1);
  ck_assert_msg(op(&e, WRITE, ONE_URI, &r) == 0, "%s", r.message);
  ck_assert_int_eq(nn[0].requests, 3);
  ck_assert_int_eq(dn.requests, 1);
  ck_assert_str_eq(dn.body[0], "state");
  stop(&e);

  memset(&sc, 0, sizeof(sc));
  sc.nn_fail_first = 1000;
  sc.nn_fail_status = 500;
  sc.nn_fail_body = "<html>Internal Server Error</html>";
  start(&e, ONE, 1);
  ck_assert_int_eq(op(&e, WRITE, ONE_URI, &r), K8SHA_ESTORAGE);
  assert_has(r.message, "CREATE " ONE_URI ": failed after 5 tries");
  assert_has(r.message, "a server error (500)");
  ck_assert_int_eq(nn[0].requests, 5);
  ck_assert_int_eq(dn.requests, 0);
  stop(&e);
}
END_TEST

START_TEST(an_existing_file_is_ours_only_when_an_earlier_try_wrote_our_bytes) {
  env e;
  res r;
  /* the first try is refused: someone else's file, not read */
  memset(&sc, 0, sizeof(sc));
  sc.dn_put_status = 403;
  sc.dn_put_body = EXISTS;
  sc.file = "state";
  start(&e, ONE, 1);
  ck_assert_int_eq(op(&e, WRITE, ONE_URI, &r), K8SHA_EEXISTS);
  assert_has(r.message, "CREATE " ONE_URI ": the file exists");
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_int_eq(dn.requests, 1);
  ck_assert_int_eq(dn.gets, 0);
  stop(&e);

  /* HttpFS says it with a 500: the same answer, not a server error to try again */
  memset(&sc, 0, sizeof(sc));
  sc.dn_put_status = 500;
  sc.dn_put_body = EXISTS;
  sc.file = "state";
  start(&e, ONE, 1);
  ck_assert_int_eq(op(&e, WRITE, ONE_URI, &r), K8SHA_EEXISTS);
  assert_has(r.message, "CREATE " ONE_URI ": the file exists");
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_int_eq(dn.requests, 1);
  stop(&e);

  /* the first try's answer is lost, the retry is refused: the file holds our bytes */
  memset(&sc, 0, sizeof(sc));
  sc.dn_drop_first = 1;
  sc.dn_put_status = 403;
  sc.dn_put_body = EXISTS;
  sc.file = "state";
  start(&e, ONE, 1);
  ck_assert_msg(op(&e, WRITE, ONE_URI, &r) == 0, "%s", r.message);
  ck_assert_int_eq(dn.puts, 2);
  ck_assert_int_eq(dn.gets, 1);
  ck_assert_int_eq(nn[0].requests, 3); /* CREATE, CREATE, OPEN */
  assert_has(nn[0].path[2], "op=OPEN");
  stop(&e);

  /* the same, but the file holds other bytes */
  memset(&sc, 0, sizeof(sc));
  sc.dn_drop_first = 1;
  sc.dn_put_status = 403;
  sc.dn_put_body = EXISTS;
  sc.file = "other";
  start(&e, ONE, 1);
  ck_assert_int_eq(op(&e, WRITE, ONE_URI, &r), K8SHA_EEXISTS);
  assert_has(r.message, "CREATE " ONE_URI ": the file exists (and holds other bytes)");
  ck_assert_int_eq(dn.puts, 2);
  ck_assert_int_eq(dn.gets, 1);
  stop(&e);
}
END_TEST

START_TEST(a_create_not_redirected_to_a_datanode_is_an_error) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.create_201 = 1;
  start(&e, ONE, 1);
  ck_assert_int_eq(op(&e, WRITE, ONE_URI, &r), K8SHA_ESTORAGE);
  assert_has(r.message, "CREATE " ONE_URI ": the namenode http://127.0.0.1:");
  assert_has(r.message, "answered 201 instead of redirecting the write to a datanode");
  ck_assert_int_eq(nn[0].requests, 1); /* not tried again */
  ck_assert_int_eq(dn.requests, 0);
  stop(&e);

  /* a redirect that names no datanode */
  memset(&sc, 0, sizeof(sc));
  sc.no_location = 1;
  start(&e, ONE, 1);
  ck_assert_int_eq(op(&e, WRITE, ONE_URI, &r), K8SHA_ESTORAGE);
  assert_has(r.message, "CREATE " ONE_URI ": the namenode http://127.0.0.1:");
  assert_has(r.message, "redirected without a Location");
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_int_eq(dn.requests, 0);
  stop(&e);
}
END_TEST

START_TEST(a_missing_or_truncated_file_is_never_the_blob) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.nn_status = 404;
  sc.nn_body = NOT_FOUND;
  start(&e, ONE, 1);
  ck_assert_int_eq(op(&e, READ, ONE_URI, &r), K8SHA_ENOTFOUND);
  assert_has(r.message, "OPEN " ONE_URI ": no such file");
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_int_eq(dn.requests, 0);
  stop(&e);

  memset(&sc, 0, sizeof(sc));
  sc.file = "stat";
  sc.truncated = 1;
  start(&e, ONE, 1);
  ck_assert_int_eq(op(&e, READ, ONE_URI, &r), K8SHA_ESTORAGE);
  ck_assert_uint_eq(r.len, 0);
  assert_has(r.message, "OPEN " ONE_URI);
  assert_has(r.message, "(the datanode the namenode chose)");
  ck_assert_int_eq(nn[0].requests, 5); /* (a datanode's failure is tried again) */
  ck_assert_int_eq(dn.requests, 5);
  stop(&e);
}
END_TEST

START_TEST(delete_answers) {
  env e;
  res r;
  /* nothing was there: success */
  memset(&sc, 0, sizeof(sc));
  sc.nn_status = 200;
  sc.nn_body = "{\"boolean\":false}";
  start(&e, ONE, 1);
  ck_assert_msg(op(&e, REMOVE, ONE_URI, &r) == 0, "%s", r.message);
  ck_assert_int_eq(nn[0].requests, 1);
  ck_assert_str_eq(nn[0].method[0], "DELETE");
  ck_assert_str_eq(nn[0].path[0], BLOB_PATH "?op=DELETE&recursive=false&user.name=" USER);

  /* absent: success */
  sc.nn_status = 404;
  sc.nn_body = NOT_FOUND;
  ck_assert_msg(op(&e, REMOVE, ONE_URI, &r) == 0, "%s", r.message);

  /* an answer that says neither */
  sc.nn_status = 200;
  sc.nn_body = "{\"deleted\":\"yes\"}";
  ck_assert_int_eq(op(&e, REMOVE, ONE_URI, &r), K8SHA_ESTORAGE);
  assert_has(r.message, "DELETE " ONE_URI ": the answer is not {\"boolean\": ...}: "
                        "{\"deleted\":\"yes\"}");

  /* refused: the user is named */
  sc.nn_status = 403;
  sc.nn_body = DENIED;
  ck_assert_int_eq(op(&e, REMOVE, ONE_URI, &r), K8SHA_EFORBIDDEN);
  assert_has(r.message, "DELETE " ONE_URI ": 403 AccessControlException: scripted "
                        "AccessControlException (as " USER ", simple authentication)");
  ck_assert_int_eq(nn[0].requests, 4);

  /* a secured namenode asked without Kerberos: what to set */
  sc.nn_status = 401;
  sc.nn_body = "<html>Authentication required</html>";
  ck_assert_int_eq(op(&e, REMOVE, ONE_URI, &r), K8SHA_EFORBIDDEN);
  assert_has(r.message, "DELETE " ONE_URI ": 401: the namenode wants Kerberos (SPNEGO), but "
                        "hadoop.security.authentication is simple here");
  ck_assert_int_eq(nn[0].requests, 5); /* (not tried again) */
  ck_assert_int_eq(dn.requests, 0);
  stop(&e);
}
END_TEST

#define STATUS(name, type) "{\"pathSuffix\":\"" name "\",\"type\":\"" type "\",\"length\":5}"

START_TEST(a_listing_goes_page_by_page_and_keeps_the_authority) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.pages[0] = "{\"DirectoryListing\":{\"partialListing\":{\"FileStatuses\":{\"FileStatus\":["
                STATUS("completedCheckpoint01", "FILE") "," STATUS("completedCheckpoint02", "FILE")
                "," STATUS("completedCheckpointDir", "DIRECTORY") "]}},\"remainingEntries\":1}}";
  sc.pages[1] = "{\"DirectoryListing\":{\"partialListing\":{\"FileStatuses\":{\"FileStatus\":["
                STATUS("completedCheckpointZ", "FILE") "," STATUS("jobgraph-x", "FILE")
                "]}},\"remainingEntries\":0}}";
  start(&e, PAIR, 1);
  ck_assert_msg(op(&e, LIST, HA_PREFIX, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 3);
  ck_assert_str_eq(r.entries[0], "hdfs://ns1/ha/c1/completedCheckpoint01");
  ck_assert_str_eq(r.entries[1], "hdfs://ns1/ha/c1/completedCheckpoint02");
  ck_assert_str_eq(r.entries[2], "hdfs://ns1/ha/c1/completedCheckpointZ");
  ck_assert_int_eq(nn[0].requests, 2);
  ck_assert_str_eq(nn[0].path[0], FOLDER_PATH "?op=LISTSTATUS_BATCH&user.name=" USER);
  ck_assert_str_eq(nn[0].path[1], FOLDER_PATH "?op=LISTSTATUS_BATCH&startAfter="
                                  "completedCheckpointDir&user.name=" USER);

  /* no folder: no blobs */
  sc.nn_status = 404;
  sc.nn_body = NOT_FOUND;
  ck_assert_msg(op(&e, LIST, HA_PREFIX, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 0);
  stop(&e);
}
END_TEST

START_TEST(a_listing_that_is_not_webhdfss_is_named) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.nn_status = 200;
  sc.nn_body = "<html>a proxy's login page</html>";
  start(&e, PAIR, 1);
  ck_assert_int_eq(op(&e, LIST, HA_PREFIX, &r), K8SHA_ESTORAGE);
  assert_has(r.message, "LISTSTATUS_BATCH " HA_PREFIX ": the answer is not a DirectoryListing "
                        "with FileStatuses and remainingEntries: <html>a proxy's login page");

  sc.nn_body = "{\"DirectoryListing\":{\"partialListing\":{\"FileStatuses\":{\"FileStatus\":"
               "{}}},\"remainingEntries\":0}}";
  ck_assert_int_eq(op(&e, LIST, HA_PREFIX, &r), K8SHA_ESTORAGE);
  assert_has(r.message, "the answer is not a DirectoryListing");
  assert_has(r.message, "\"FileStatus\":{}");

  sc.nn_body = "{\"DirectoryListing\":{\"partialListing\":{\"FileStatuses\":{\"FileStatus\":["
               "{\"type\":\"FILE\"}]}},\"remainingEntries\":0}}";
  ck_assert_int_eq(op(&e, LIST, HA_PREFIX, &r), K8SHA_ESTORAGE);
  assert_has(r.message, "LISTSTATUS_BATCH " HA_PREFIX ": entry 1 has no usable pathSuffix");
  ck_assert_int_eq(nn[0].requests, 3); /* (none tried again) */
  stop(&e);
}
END_TEST

START_TEST(a_server_without_batches_is_listed_once_whole) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.batch_refused = 1;
  sc.full_listing = "{\"FileStatuses\":{\"FileStatus\":[" STATUS("completedCheckpoint01", "FILE")
                    "," STATUS("other", "FILE") "]}}";
  start(&e, PAIR, 1);
  ck_assert_msg(op(&e, LIST, HA_PREFIX, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_str_eq(r.entries[0], "hdfs://ns1/ha/c1/completedCheckpoint01");
  ck_assert_int_eq(nn[0].requests, 2);
  ck_assert_str_eq(nn[0].path[0], FOLDER_PATH "?op=LISTSTATUS_BATCH&user.name=" USER);
  ck_assert_str_eq(nn[0].path[1], FOLDER_PATH "?op=LISTSTATUS&user.name=" USER);
  stop(&e);
}
END_TEST

static void noop(const k8sha__blob_result *r, void *ud) {
  (void)r;
  (void)ud;
  ck_abort_msg("a refused operation completed");
}

START_TEST(another_file_system_is_refused_at_the_start) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  start(&e, PAIR, 1);
  ck_assert_int_eq(k8sha__blob_write(e.ctx->storage, "hdfs://other:8020/x", "state", 5, noop, NULL),
                   K8SHA_EINVAL);
  ck_assert_int_eq(k8sha__blob_read(e.ctx->storage, "hdfs://other:8020/x", noop, NULL), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha__blob_list(e.ctx->storage, "hdfs://ns2/ha/c1/", noop, NULL), K8SHA_EINVAL);
  /* the storage directory named its file system: hdfs:/// (the default one) is not it */
  ck_assert_int_eq(k8sha__blob_read(e.ctx->storage, "hdfs:///x", noop, NULL), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha__blob_remove(e.ctx->storage, "hdfs:///ha/c1/x", noop, NULL), K8SHA_EINVAL);
  ck_assert_int_eq(nn[0].requests + nn[1].requests + dn.requests, 0);
  stop(&e);

  /* the storage directory wrote hdfs:///: both spellings name it, and a listing keeps the
   * prefix's */
  memset(&sc, 0, sizeof(sc));
  sc.pages[0] = "{\"DirectoryListing\":{\"partialListing\":{\"FileStatuses\":{\"FileStatus\":["
                STATUS("completedCheckpoint01", "FILE") "]}},\"remainingEntries\":0}}";
  start(&e, PAIR_DEFAULT_FS, 1);
  ck_assert_int_eq(k8sha__blob_read(e.ctx->storage, "hdfs://other:8020/x", noop, NULL), K8SHA_EINVAL);
  ck_assert_msg(op(&e, LIST, "hdfs:///ha/c1/completed", &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_str_eq(r.entries[0], "hdfs:///ha/c1/completedCheckpoint01");
  ck_assert_msg(op(&e, LIST, HA_PREFIX, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_str_eq(r.entries[0], "hdfs://ns1/ha/c1/completedCheckpoint01");
  ck_assert_int_eq(nn[0].requests, 2);
  stop(&e);
}
END_TEST

int main(void) {
  Suite *s = suite_create("hdfs_faults");
  TCase *tc = tcase_create("hdfs_faults");
  /* Known settings: no Hadoop configuration files, a known user. */
  unsetenv("HADOOP_CONF_DIR");
  unsetenv("HADOOP_HOME");
  setenv("HADOOP_USER_NAME", USER, 1);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, a_write_and_a_read_go_through_the_datanode);
  tcase_add_test(tc, a_standby_namenode_is_passed_over_and_then_skipped);
  tcase_add_test(tc, unreachable_namenodes_are_named_after_five_tries);
  tcase_add_test(tc, server_errors_are_tried_again_and_a_lasting_one_named);
  tcase_add_test(tc, an_existing_file_is_ours_only_when_an_earlier_try_wrote_our_bytes);
  tcase_add_test(tc, a_create_not_redirected_to_a_datanode_is_an_error);
  tcase_add_test(tc, a_missing_or_truncated_file_is_never_the_blob);
  tcase_add_test(tc, delete_answers);
  tcase_add_test(tc, a_listing_goes_page_by_page_and_keeps_the_authority);
  tcase_add_test(tc, a_listing_that_is_not_webhdfss_is_named);
  tcase_add_test(tc, a_server_without_batches_is_listed_once_whole);
  tcase_add_test(tc, another_file_system_is_refused_at_the_start);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
