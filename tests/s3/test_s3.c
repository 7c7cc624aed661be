/* The s3 backend against an S3 server that checks every request's SigV4 signature (S3Proxy,
 * started by tests/s3/s3proxy.sh, which stores the objects as files under K8SHA_TEST_S3_ROOT):
 * write, read, list (in pages), remove; keys that need encoding; credentials from the
 * configuration and from the environment; and the errors a user meets: a wrong secret, a missing
 * bucket, an endpoint nobody answers on, each named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "storage/storage.h"
#include "testutil.h"
#include "tu_blob.h"

static const char *env(const char *name) {
  const char *v = getenv(name);
  ck_assert_msg(v && *v, "%s is not set: run this test through tests/s3/s3proxy.sh", name);
  return v;
}

/* A context on `loop` whose storage is `dir` (NULL: a folder of the test bucket named `name`),
 * with the server's endpoint and these extra keys; the credentials are the server's unless
 * `no_keys`. */
static k8sha_ctx *s3_ctx(uv_loop_t *loop, const char *dir, const char *name,
                         const char *const *extra, int no_keys) {
  k8sha_config *cfg;
  char storage[600];
  int rc;
  if (!dir) {
    snprintf(storage, sizeof(storage), "s3://%s/%s", env("K8SHA_TEST_S3_BUCKET"), name);
    dir = storage;
  }
  cfg = tu_s3_config(dir, env("K8SHA_TEST_S3_ENDPOINT"),
                     no_keys ? NULL : env("K8SHA_TEST_S3_ACCESS_KEY"),
                     no_keys ? NULL : env("K8SHA_TEST_S3_SECRET_KEY"), extra);
  rc = k8sha_config_validate(cfg);
  if (rc)
    tu_dump(cfg);
  ck_assert_int_eq(rc, 0);
  return tu_ctx_from(loop, cfg);
}

static void never_called(const k8sha__blob_result *r, void *ud) {
  (void)r;
  (void)ud;
  ck_abort_msg("an operation refused at the start completed");
}

/* One operation (0: write `data`, 1: read, 2: remove, 3: list), waited for. */
#define op(loop, ctx, kind, ...) tu_blob_op(loop, ctx, (tu_blob_kind)(kind), __VA_ARGS__)

/* The file in which the server keeps the object of `uri`. */
static const char *object_file(const char *uri, char *out, size_t size) {
  snprintf(out, size, "%s/%s", env("K8SHA_TEST_S3_ROOT"), strstr(uri, "://") + 3);
  return out;
}

START_TEST(blobs_round_trip_through_a_server_that_checks_signatures) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char uri[700], deeper[700], prefix[700], file[900];
  size_t i, big = 300 * 1024;
  unsigned char *data = malloc(big);
  struct stat st;

  for (i = 0; i < big; i++) /* every byte value, NULs included */
    data[i] = (unsigned char)(i * 7 + i / 256);
  uv_loop_init(&loop);
  ctx = s3_ctx(&loop, NULL, "round-trip", NULL, 0);
  snprintf(uri, sizeof(uri), "s3://%s/round-trip/c1/completedCheckpoint0123456789ab",
           env("K8SHA_TEST_S3_BUCKET"));
  snprintf(deeper, sizeof(deeper), "s3://%s/round-trip/c1/completedCheckpoint/x",
           env("K8SHA_TEST_S3_BUCKET"));
  snprintf(prefix, sizeof(prefix), "s3://%s/round-trip/c1/completedCheckpoint",
           env("K8SHA_TEST_S3_BUCKET"));

  ck_assert_msg(op(&loop, ctx, 0, uri, data, big, &r) == 0, "%s", r.message);
  ck_assert_int_eq(stat(object_file(uri, file, sizeof(file)), &st), 0);
  ck_assert_uint_eq((size_t)st.st_size, big);
  ck_assert_msg(op(&loop, ctx, 1, uri, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.len, big);
  ck_assert_int_eq(memcmp(r.data, data, big), 0);

  /* a list names the blobs of the folder with the prefix, not those of a deeper folder */
  ck_assert_msg(op(&loop, ctx, 0, deeper, "d", 1, &r) == 0, "%s", r.message);
  ck_assert_msg(op(&loop, ctx, 3, prefix, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_str_eq(r.entries[0], uri);

  /* s3a:// and s3p:// name the same objects */
  snprintf(uri, sizeof(uri), "s3a://%s/round-trip/c1/completedCheckpoint0123456789ab",
           env("K8SHA_TEST_S3_BUCKET"));
  ck_assert_msg(op(&loop, ctx, 1, uri, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.len, big);

  ck_assert_msg(op(&loop, ctx, 2, uri, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_int_eq(stat(file, &st), -1);
  ck_assert_int_eq(op(&loop, ctx, 1, uri, NULL, 0, &r), K8SHA_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(r.message, "no such object"));
  ck_assert_ptr_nonnull(strstr(r.message, "completedCheckpoint0123456789ab"));
  ck_assert_int_eq(op(&loop, ctx, 2, uri, NULL, 0, &r), 0); /* absent: success */
  /* not an S3 bucket name, or no key: refused at the call */
  ck_assert_int_eq(k8sha__blob_read(ctx->storage, "s3://Bad_Bucket/x", never_called, &r), K8SHA_EINVAL);
  ck_assert_int_eq(k8sha__blob_read(ctx->storage, "s3://bucket", never_called, &r), K8SHA_EINVAL);
  free(r.data);
  free(data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(keys_that_need_encoding_are_signed_as_sent) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char dir[300], uri[700], prefix[700];

  uv_loop_init(&loop);
  snprintf(dir, sizeof(dir), "s3://%s/odd dir+x=1,y;z~%%é", env("K8SHA_TEST_S3_BUCKET"));
  ctx = s3_ctx(&loop, dir, NULL, NULL, 0);
  snprintf(uri, sizeof(uri), "%s/c1/jobGraph&a=b#c", dir);
  snprintf(prefix, sizeof(prefix), "%s/c1/jobGraph&", dir);
  ck_assert_msg(op(&loop, ctx, 0, uri, "graph", 5, &r) == 0, "%s", r.message);
  ck_assert_msg(op(&loop, ctx, 1, uri, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_str_eq(r.data, "graph");
  ck_assert_msg(op(&loop, ctx, 3, prefix, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_str_eq(r.entries[0], uri);
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(lists_page_through_continuation_tokens) {
  static const char *const pages_of_two[] = {"libk8sha.s3.list-page-size", "2", NULL};
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char uri[700], prefix[700], seen[16] = {0};
  int i;

  uv_loop_init(&loop);
  ctx = s3_ctx(&loop, NULL, "pages", pages_of_two, 0);
  for (i = 0; i < 7; i++) {
    snprintf(uri, sizeof(uri), "s3://%s/pages/c1/completedCheckpoint00000000000%d",
             env("K8SHA_TEST_S3_BUCKET"), i);
    ck_assert_msg(op(&loop, ctx, 0, uri, "x", 1, &r) == 0, "%s", r.message);
  }
  snprintf(prefix, sizeof(prefix), "s3://%s/pages/c1/completedCheckpoint",
           env("K8SHA_TEST_S3_BUCKET"));
  ck_assert_msg(op(&loop, ctx, 3, prefix, NULL, 0, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 7); /* four pages */
  for (i = 0; i < 7; i++) {
    int d = r.entries[i][strlen(r.entries[i]) - 1] - '0';
    ck_assert_int_eq(d >= 0 && d < 7 && !seen[d], 1);
    seen[d] = 1;
  }
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(a_wrong_secret_is_forbidden_naming_bucket_and_key) {
  static const char *const wrong[] = {"s3.access-key", "AKIDLIBK8SHATEST", "s3.secret-key",
                                      "not-the-secret", NULL};
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char uri[700];

  uv_loop_init(&loop);
  ctx = s3_ctx(&loop, NULL, "wrong-secret", wrong, 1);
  snprintf(uri, sizeof(uri), "s3://%s/wrong-secret/c1/completedCheckpoint0123456789ab",
           env("K8SHA_TEST_S3_BUCKET"));
  ck_assert_int_eq(op(&loop, ctx, 0, uri, "x", 1, &r), K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(r.message, "SignatureDoesNotMatch") != NULL, "%s", r.message);
  ck_assert_msg(strstr(r.message, env("K8SHA_TEST_S3_BUCKET")) != NULL, "%s", r.message);
  ck_assert_msg(strstr(r.message, "wrong-secret/c1/completedCheckpoint0123456789ab") != NULL, "%s",
                r.message);
  ck_assert_msg(strstr(r.message, "the configuration (s3.access-key, s3.secret-key)") != NULL,
                "%s", r.message);
  ck_assert_msg(strstr(r.message, "not-the-secret") == NULL, "%s", r.message);
  ck_assert_int_eq(op(&loop, ctx, 1, uri, NULL, 0, &r), K8SHA_EFORBIDDEN);
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(credentials_come_from_the_environment) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char uri[700];

  setenv("AWS_ACCESS_KEY_ID", env("K8SHA_TEST_S3_ACCESS_KEY"), 1);
  setenv("AWS_SECRET_ACCESS_KEY", env("K8SHA_TEST_S3_SECRET_KEY"), 1);
  uv_loop_init(&loop);
  ctx = s3_ctx(&loop, NULL, "from-env", NULL, 1);
  snprintf(uri, sizeof(uri), "s3://%s/from-env/c1/completedCheckpoint0123456789ab",
           env("K8SHA_TEST_S3_BUCKET"));
  ck_assert_msg(op(&loop, ctx, 0, uri, "x", 1, &r) == 0, "%s", r.message);
  tu_ctx_finish(&loop, ctx);

  /* a wrong secret there: the error says where the credentials came from */
  setenv("AWS_SECRET_ACCESS_KEY", "wrong", 1);
  uv_loop_init(&loop);
  ctx = s3_ctx(&loop, NULL, "from-env", NULL, 1);
  ck_assert_int_eq(op(&loop, ctx, 1, uri, NULL, 0, &r), K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(r.message, "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"),
                "%s", r.message);
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(a_missing_bucket_is_named) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};

  uv_loop_init(&loop);
  ctx = s3_ctx(&loop, "s3://no-such-bucket/ha", NULL, NULL, 0);
  ck_assert_int_eq(op(&loop, ctx, 0, "s3://no-such-bucket/ha/c1/completedCheckpoint0123456789ab",
                      "x", 1, &r),
                   K8SHA_ESTORAGE);
  ck_assert_msg(strstr(r.message, "the bucket 'no-such-bucket' does not exist") != NULL, "%s",
                r.message);
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(an_endpoint_nobody_answers_on_is_named) {
  static const char *const closed[] = {"s3.endpoint", "http://127.0.0.1:9", NULL};
  uv_loop_t loop;
  k8sha_ctx *ctx;
  tu_blob_res r = {0};
  char uri[700];

  uv_loop_init(&loop);
  ctx = s3_ctx(&loop, NULL, "closed", closed, 0);
  snprintf(uri, sizeof(uri), "s3://%s/closed/c1/completedCheckpoint0123456789ab",
           env("K8SHA_TEST_S3_BUCKET"));
  ck_assert_int_eq(op(&loop, ctx, 0, uri, "x", 1, &r), K8SHA_ESTORAGE);
  ck_assert_msg(strstr(r.message, "PUT http://127.0.0.1:9: Couldn't connect") != NULL, "%s", r.message);
  ck_assert_msg(strstr(r.message, "after 5 tries") != NULL, "%s", r.message);
  free(r.data);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("s3");
  TCase *tc = tcase_create("s3");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, blobs_round_trip_through_a_server_that_checks_signatures);
  tcase_add_test(tc, keys_that_need_encoding_are_signed_as_sent);
  tcase_add_test(tc, lists_page_through_continuation_tokens);
  tcase_add_test(tc, a_wrong_secret_is_forbidden_naming_bucket_and_key);
  tcase_add_test(tc, credentials_come_from_the_environment);
  tcase_add_test(tc, a_missing_bucket_is_named);
  tcase_add_test(tc, an_endpoint_nobody_answers_on_is_named);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
