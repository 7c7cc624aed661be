/* The hdfs backend against a real HDFS (Hadoop's MiniDFSCluster through WebHDFS, started by
 * tests/hdfs/minidfs.sh, whose HADOOP_CONF_DIR names it): a round trip of every byte value, names
 * that need encoding, a name written twice, listings over several LISTSTATUS_BATCH pages (run
 * with --ls-limit 3), and the errors a user meets: a namenode nobody answers on. Under --ha:
 * the namenodes of a nameservice found through fs.defaultFS, a failover between two operations,
 * and no active namenode at all, each named. Under --kerberos: the round trip through SPNEGO as
 * the keytab's principal, and the error without credentials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "k8sha/errors.h"
#include "testutil.h"
#include "tu_blob.h"

static const char *env(const char *name) {
  const char *v = getenv(name);
  ck_assert_msg(v && *v, "%s is not set: run this test through tests/hdfs/minidfs.sh", name);
  return v;
}

/* A context on `loop` whose storage is `dir` (the file system HADOOP_CONF_DIR names), with
 * these extra keys. */
static k8sha_ctx *hdfs_ctx(uv_loop_t *loop, const char *dir, const char *const *extra) {
  k8sha_config *cfg = tu_storage_config(dir, extra);
  int rc = k8sha_config_validate(cfg);
  if (rc)
    tu_dump(cfg);
  ck_assert_int_eq(rc, 0);
  return tu_ctx_from(loop, cfg);
}

/* Runs the cluster's control command (minidfs.sh), asserting it succeeds. */
static void control(const char *command) {
  char line[1200];
  snprintf(line, sizeof(line), "%s %s >/dev/null", env("K8SHA_TEST_HDFS_CONTROL"), command);
  ck_assert_msg(system(line) == 0, "'%s' failed", line);
}

START_TEST(blobs_round_trip_through_webhdfs) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  size_t i, big = 300 * 1024;
  unsigned char *data = malloc(big);
  const char *uri = "hdfs:///round-trip/c1/completedCheckpoint0123456789ab";

  for (i = 0; i < big; i++) /* every byte value, NULs included */
    data[i] = (unsigned char)(i * 7 + i / 256);
  uv_loop_init(&loop);
  ctx = hdfs_ctx(&loop, "hdfs:///round-trip", NULL);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_WRITE, uri, data, big, &r) == 0, "%s", r.message);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_READ, uri, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.len, big);
  ck_assert_int_eq(memcmp(r.data, data, big), 0);

  /* a name written twice: refused, the first bytes kept */
  ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_WRITE, uri, "other", 5, &r), K8SHA_EEXISTS);
  ck_assert_ptr_nonnull(strstr(r.message, "the file exists"));
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_READ, uri, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.len, big);
  ck_assert_int_eq(memcmp(r.data, data, big), 0);

  /* a list names the files of the folder with the prefix, not a deeper folder's */
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_WRITE, "hdfs:///round-trip/c1/completedCheckpoint/x",
                           "d", 1, &r) == 0, "%s", r.message);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_LIST, "hdfs:///round-trip/c1/completedCheckpoint",
                           NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_str_eq(r.entries[0], uri);

  /* the same file through the authority fs.defaultFS names */
  {
    char named[600];
    snprintf(named, sizeof(named), "%s/round-trip/c1/completedCheckpoint0123456789ab",
             env("K8SHA_TEST_HDFS_DEFAULT_FS"));
    ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_READ, named, NULL, 0, &r), K8SHA_OK);
    ck_assert_uint_eq(r.len, big);
  }
  /* and a storage directory naming that authority reads what hdfs:/// names (Flink's pointers
   * keep the storage directory's spelling) */
  {
    uv_loop_t loop2;
    k8sha_ctx *ctx2;
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/round-trip", env("K8SHA_TEST_HDFS_DEFAULT_FS"));
    uv_loop_init(&loop2);
    ctx2 = hdfs_ctx(&loop2, dir, NULL);
    ck_assert_msg(tu_blob_op(&loop2, ctx2, TU_READ, uri, NULL, 0, &r) == 0, "%s", r.message);
    ck_assert_uint_eq(r.len, big);
    tu_ctx_finish(&loop2, ctx2);
  }

  ck_assert_msg(tu_blob_op(&loop, ctx, TU_REMOVE, uri, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_READ, uri, NULL, 0, &r), K8SHA_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(r.message, "no such file"));
  ck_assert_ptr_nonnull(strstr(r.message, "completedCheckpoint0123456789ab"));
  ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_REMOVE, uri, NULL, 0, &r), 0); /* absent: success */
  /* a missing folder lists nothing */
  ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_LIST, "hdfs:///round-trip/none/x", NULL, 0, &r), 0);
  ck_assert_uint_eq(r.n_entries, 0);
  free(r.data);
  free(data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(names_that_need_encoding_arrive_as_written) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  const char *dir = "hdfs:///odd dir+x=1,y;z~%\xc3\xa9";
  char uri[300], prefix[300];

  uv_loop_init(&loop);
  ctx = hdfs_ctx(&loop, dir, NULL);
  snprintf(uri, sizeof(uri), "%s/c1/jobGraph&a=b#c?d", dir);
  snprintf(prefix, sizeof(prefix), "%s/c1/jobGraph&", dir);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_WRITE, uri, "graph", 5, &r) == 0, "%s", r.message);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_READ, uri, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_str_eq(r.data, "graph");
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_LIST, prefix, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_str_eq(r.entries[0], uri);
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

/* minidfs.sh --ls-limit 3: 8 files and a folder are listed over several batches. */
START_TEST(lists_page_through_batches) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char uri[300], seen[8] = {0};
  int i;

  uv_loop_init(&loop);
  ctx = hdfs_ctx(&loop, "hdfs:///pages", NULL);
  for (i = 0; i < 8; i++) {
    snprintf(uri, sizeof(uri), "hdfs:///pages/c1/completedCheckpoint00000000000%d", i);
    ck_assert_msg(tu_blob_op(&loop, ctx, TU_WRITE, uri, "x", 1, &r) == 0, "%s", r.message);
  }
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_WRITE, "hdfs:///pages/c1/completedCheckpoint0/in", "x",
                           1, &r) == 0, "%s", r.message);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_WRITE, "hdfs:///pages/c1/jobGraph-x", "x", 1, &r) == 0,
                "%s", r.message);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_LIST, "hdfs:///pages/c1/completedCheckpoint", NULL, 0,
                           &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 8);
  for (i = 0; i < 8; i++) {
    int d = r.entries[i][strlen(r.entries[i]) - 1] - '0';
    ck_assert_int_eq(d >= 0 && d < 8 && !seen[d], 1);
    seen[d] = 1;
  }
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(a_namenode_nobody_answers_on_is_named) {
  static const char *const closed[] = {"flink.hadoop.dfs.namenode.http-address", "127.0.0.1:9",
                                       NULL};
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};

  uv_loop_init(&loop);
  ctx = hdfs_ctx(&loop, "hdfs://127.0.0.1:8020/ha", closed);
  ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_WRITE, "hdfs://127.0.0.1:8020/ha/c1/x", "x", 1, &r),
                   K8SHA_ESTORAGE);
  ck_assert_msg(strstr(r.message, "CREATE hdfs://127.0.0.1:8020/ha/c1/x: no namenode answered "
                                  "as the active one after 5 tries (http://127.0.0.1:9:"),
                "%s", r.message);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

/* --ha: the nameservice from fs.defaultFS; the active namenode changes between operations. */
START_TEST(a_failover_is_followed) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  const char *a = "hdfs:///failover/c1/completedCheckpoint00000000000a";
  const char *b = "hdfs:///failover/c1/completedCheckpoint00000000000b";

  uv_loop_init(&loop);
  ctx = hdfs_ctx(&loop, "hdfs:///failover", NULL);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_WRITE, a, "before", 6, &r) == 0, "%s", r.message);
  control("failover"); /* the other namenode is active now, the first a standby */
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_READ, a, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_str_eq(r.data, "before");
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_WRITE, b, "after", 5, &r) == 0, "%s", r.message);
  control("failover"); /* and back */
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_LIST, "hdfs:///failover/c1/completedCheckpoint", NULL,
                           0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 2);
  ck_assert_msg(tu_blob_op(&loop, ctx, TU_REMOVE, b, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_READ, b, NULL, 0, &r), K8SHA_ENOTFOUND);
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

/* --ha: the active namenode stopped, the other a standby: nobody can serve, and the message
 * says what each namenode said. */
START_TEST(no_active_namenode_is_named) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char active[64] = "", line[1200];
  FILE *p;

  uv_loop_init(&loop);
  ctx = hdfs_ctx(&loop, "hdfs:///none-active", NULL);
  snprintf(line, sizeof(line), "%s status", env("K8SHA_TEST_HDFS_CONTROL"));
  ck_assert_ptr_nonnull(p = popen(line, "r"));
  while (fgets(line, sizeof(line), p)) { /* `nn ID STATE` each */
    char id[64], state[32];
    if (sscanf(line, "nn %63s %31s", id, state) == 2 && strcmp(state, "active") == 0)
      snprintf(active, sizeof(active), "%s", id);
  }
  pclose(p);
  ck_assert_msg(active[0], "the control command named no active namenode");
  snprintf(line, sizeof(line), "stop-nn %s", active);
  control(line);
  ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_WRITE, "hdfs:///none-active/x", "x", 1, &r),
                   K8SHA_ESTORAGE);
  /* The stopped one does not answer. The standby says so, or (its check comes later for a
   * CREATE) redirects the write to the datanode, which finds no active namenode to take it. */
  ck_assert_msg(strstr(r.message, "CREATE hdfs:///none-active/x: ") &&
                    strstr(r.message, " after 5 tries ("), "%s", r.message);
  ck_assert_msg(strstr(r.message, "Couldn't connect to server"), "%s", r.message);
  ck_assert_msg(strstr(r.message, ": standby") || strstr(r.message, "ConnectException"), "%s",
                r.message);
  snprintf(line, sizeof(line), "restart-nn %s", active);
  control(line);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

/* --kerberos: with no keytab and an empty credential cache, the namenode's 401 is named with
 * what the process lacks. */
START_TEST(without_kerberos_credentials_the_namenode_refuses) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char cache[600];

  snprintf(cache, sizeof(cache), "FILE:%s/empty-ccache", tu_tmpdir());
  unsetenv("KRB5_CLIENT_KTNAME");
  setenv("KRB5CCNAME", cache, 1);
  uv_loop_init(&loop);
  ctx = hdfs_ctx(&loop, "hdfs:///no-ticket", NULL);
  ck_assert_int_eq(tu_blob_op(&loop, ctx, TU_WRITE, "hdfs:///no-ticket/x", "x", 1, &r),
                   K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(r.message, "CREATE hdfs:///no-ticket/x: 401: the namenode did not accept "
                                  "this process's Kerberos credentials"), "%s", r.message);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("hdfs");
  TCase *tc = tcase_create("webhdfs");
  tcase_set_timeout(tc, 300);
  if (getenv("K8SHA_TEST_HDFS_KERBEROS")) {
    tcase_add_test(tc, blobs_round_trip_through_webhdfs);
    tcase_add_test(tc, without_kerberos_credentials_the_namenode_refuses);
  } else if (getenv("K8SHA_TEST_HDFS_NAMENODES")) {
    tcase_add_test(tc, a_failover_is_followed);
    tcase_add_test(tc, no_active_namenode_is_named);
  } else {
    tcase_add_test(tc, blobs_round_trip_through_webhdfs);
    tcase_add_test(tc, names_that_need_encoding_arrive_as_written);
    tcase_add_test(tc, lists_page_through_batches);
    tcase_add_test(tc, a_namenode_nobody_answers_on_is_named);
  }
  suite_add_tcase(s, tc);
  return tu_run(s);
}
