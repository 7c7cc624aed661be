/* The s3 backend with the credentials a pod is given, against moto (STS, and an S3 that checks
 * every signature and IAM policy) and creds_server.py (the container credentials endpoint and
 * IMDSv2), started by tests/s3/moto.sh: web identity through STS AssumeRoleWithWebIdentity (how
 * EKS pods get credentials), the container endpoint with its authorization token (EKS Pod
 * Identity) and IMDSv2, each fetched once and again before expiry; S3's conditional write
 * refusing to replace an object; and the errors of a source that refuses or is missing. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "storage/storage.h"
#include "testutil.h"

typedef struct res {
  uv_loop_t *loop;
  int done, err;
  char message[1200];
  char data[256];
  size_t len, n_entries;
} res;

static void on_res(const k8sha__blob_result *r, void *ud) {
  res *x = ud;
  x->done = 1;
  x->err = r->err;
  snprintf(x->message, sizeof(x->message), "%s", r->message ? r->message : "");
  x->len = r->len;
  x->data[0] = '\0';
  if (r->data && r->len < sizeof(x->data)) {
    memcpy(x->data, r->data, r->len);
    x->data[r->len] = '\0';
  }
  x->n_entries = r->n_entries;
  uv_stop(x->loop);
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  ck_assert_msg(v && *v, "%s is not set: run this test through tests/s3/moto.sh", name);
  return v;
}

/* No credential source but the ones a test sets. */
static void clear_sources(void) {
  static const char *const vars[] = {
      "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
      "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL_STS",
      "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
      "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
      "AWS_EC2_METADATA_DISABLED"};
  size_t i;
  for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
    unsetenv(vars[i]);
}

/* A context whose blobs go to folder `name` of moto's bucket, with no keys configured: the
 * credentials come from the environment's sources. The validation notes must name `source`. */
static k8sha_ctx *pod_ctx(uv_loop_t *loop, const char *name, const char *source) {
  k8sha_config *cfg;
  char storage[300];
  snprintf(storage, sizeof(storage), "s3://%s/%s", env("K8SHA_TEST_MOTO_BUCKET"), name);
  cfg = tu_s3_config(storage, env("K8SHA_TEST_MOTO_ENDPOINT"), NULL, NULL, NULL);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  tu_assert_diag(cfg, K8SHA_DIAG_NOTE, "high-availability.storageDir", source);
  return tu_ctx_from(loop, cfg);
}

/* One operation (0 write, 1 read, 2 remove, 3 list) on `name`'s blob `blob`, waited for. */
static int op(uv_loop_t *loop, k8sha_ctx *ctx, int kind, const char *name, const char *blob,
              const char *data, res *r) {
  char uri[600];
  int turns = 0;
  snprintf(uri, sizeof(uri), "s3://%s/%s/c1/%s", env("K8SHA_TEST_MOTO_BUCKET"), name, blob);
  memset(r, 0, sizeof(*r));
  r->loop = loop;
  ck_assert_int_eq(kind == 0   ? k8sha__blob_write(ctx->storage, uri, data, strlen(data), on_res, r)
                   : kind == 1 ? k8sha__blob_read(ctx->storage, uri, on_res, r)
                   : kind == 2 ? k8sha__blob_remove(ctx->storage, uri, on_res, r)
                               : k8sha__blob_list(ctx->storage, uri, on_res, r),
                   0);
  while (!r->done && turns++ < 100000)
    uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_msg(r->done, "no completion");
  return r->err;
}

/* Write, read back, list, remove: the round trip every source must carry. */
static void round_trip(uv_loop_t *loop, k8sha_ctx *ctx, const char *name) {
  res r;
  ck_assert_msg(op(loop, ctx, 0, name, "completedCheckpoint0123456789ab", "state", &r) == 0, "%s",
                r.message);
  ck_assert_msg(op(loop, ctx, 1, name, "completedCheckpoint0123456789ab", NULL, &r) == 0, "%s",
                r.message);
  ck_assert_str_eq(r.data, "state");
  ck_assert_msg(op(loop, ctx, 3, name, "completedCheckpoint", NULL, &r) == 0, "%s", r.message);
  ck_assert_uint_eq(r.n_entries, 1);
  ck_assert_msg(op(loop, ctx, 2, name, "completedCheckpoint0123456789ab", NULL, &r) == 0, "%s",
                r.message);
  ck_assert_int_eq(op(loop, ctx, 1, name, "completedCheckpoint0123456789ab", NULL, &r),
                   K8SHA_ENOTFOUND);
}

static size_t collect(char *p, size_t size, size_t n, void *user) {
  size_t len = strlen(user), add = size * n;
  if (len + add < 256) {
    memcpy((char *)user + len, p, add);
    ((char *)user)[len + add] = '\0';
  }
  return add;
}

/* How many credentials creds_server.py handed out from `source` ("container", "imds"). */
static int hits(const char *source) {
  char url[300], body[256] = "";
  CURL *c = curl_easy_init();
  json_t *j;
  int n;
  snprintf(url, sizeof(url), "%s/hits", env("K8SHA_TEST_CREDS_URL"));
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
  curl_easy_cleanup(c);
  j = json_loads(body, 0, NULL);
  ck_assert_ptr_nonnull(j);
  n = (int)json_integer_value(json_object_get(j, source));
  json_decref(j);
  return n;
}

START_TEST(web_identity_through_sts) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  res r;

  clear_sources();
  setenv("AWS_ROLE_ARN", env("K8SHA_TEST_MOTO_ROLE_ARN"), 1);
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE",
         tu_write("token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln\n"),
         1);
  setenv("AWS_ENDPOINT_URL_STS", env("K8SHA_TEST_MOTO_ENDPOINT"), 1);
  uv_loop_init(&loop);
  ctx = pod_ctx(&loop, "web-identity", "credentials from web identity (AWS_ROLE_ARN, ");
  round_trip(&loop, ctx, "web-identity");

  /* S3 refuses to replace an object (If-None-Match: *): the first bytes stay */
  ck_assert_msg(op(&loop, ctx, 0, "web-identity", "jobGraph0123456789ab", "first", &r) == 0, "%s",
                r.message);
  ck_assert_int_eq(op(&loop, ctx, 0, "web-identity", "jobGraph0123456789ab", "second", &r),
                   K8SHA_EEXISTS);
  ck_assert_msg(strstr(r.message, "the object exists") != NULL, "%s", r.message);
  ck_assert_int_eq(op(&loop, ctx, 1, "web-identity", "jobGraph0123456789ab", NULL, &r), 0);
  ck_assert_str_eq(r.data, "first");
  tu_ctx_finish(&loop, ctx);

  /* the token file gone: named */
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token", 1);
  uv_loop_init(&loop);
  ctx = pod_ctx(&loop, "web-identity", "web identity");
  ck_assert_int_eq(op(&loop, ctx, 1, "web-identity", "jobGraph0123456789ab", NULL, &r),
                   K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(r.message, "the web identity token file /nonexistent/token cannot be read"),
                "%s", r.message);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

START_TEST(container_credentials_fetched_again_before_expiry) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  res r;
  char uri[300];
  int before, i;

  clear_sources();
  /* an hour's credentials: fetched once for every operation */
  snprintf(uri, sizeof(uri), "%s/container/3600", env("K8SHA_TEST_CREDS_URL"));
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-secret", 1);
  before = hits("container");
  uv_loop_init(&loop);
  ctx = pod_ctx(&loop, "container", "credentials from the container credentials endpoint");
  round_trip(&loop, ctx, "container");
  ck_assert_int_eq(hits("container") - before, 1);
  tu_ctx_finish(&loop, ctx);

  /* credentials that lapse within the refresh margin: fetched again for every operation; the
   * token from a file (EKS Pod Identity) */
  snprintf(uri, sizeof(uri), "%s/container/120", env("K8SHA_TEST_CREDS_URL"));
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
  unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tu_write("pod-token", "container-secret\n"), 1);
  before = hits("container");
  uv_loop_init(&loop);
  ctx = pod_ctx(&loop, "container", "container credentials endpoint");
  for (i = 0; i < 3; i++)
    ck_assert_msg(op(&loop, ctx, 3, "container", "completedCheckpoint", NULL, &r) == 0, "%s",
                  r.message);
  ck_assert_int_eq(hits("container") - before, 3);
  tu_ctx_finish(&loop, ctx);

  /* a wrong authorization token: the endpoint refuses, and the error says which source */
  unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
  uv_loop_init(&loop);
  ctx = pod_ctx(&loop, "container", "container credentials endpoint");
  ck_assert_int_eq(op(&loop, ctx, 3, "container", "completedCheckpoint", NULL, &r),
                   K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(r.message, "the container credentials endpoint") &&
                    strstr(r.message, "refused: 403"),
                "%s", r.message);
  tu_ctx_finish(&loop, ctx);

  /* plain http elsewhere than the host itself is refused when the configuration is read */
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
  {
    k8sha_config *cfg = NULL;
    ck_assert_int_eq(k8sha_config_new(&cfg, NULL), 0);
    k8sha_config_set(cfg, "kubernetes.cluster-id", "c1");
    k8sha_config_set(cfg, "high-availability.type", "kubernetes");
    k8sha_config_set(cfg, "high-availability.storageDir", "s3://bucket/ha");
    ck_assert_int_eq(k8sha_config_validate(cfg), K8SHA_ECONFIG);
    tu_assert_diag(cfg, K8SHA_DIAG_ERROR, NULL, "is neither https nor a loopback");
    k8sha_config_free(cfg);
  }
}
END_TEST

START_TEST(imds_v2_as_the_last_source) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  int before;

  clear_sources();
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", env("K8SHA_TEST_CREDS_URL"), 1);
  before = hits("imds");
  uv_loop_init(&loop);
  ctx = pod_ctx(&loop, "imds", "credentials from IMDSv2 at http://127.0.0.1:");
  round_trip(&loop, ctx, "imds");
  ck_assert_int_eq(hits("imds") - before, 1);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

/* The server checks what it is sent: keys it never issued are refused, named. */
START_TEST(keys_the_server_never_issued_are_refused) {
  uv_loop_t loop;
  k8sha_ctx *ctx;
  res r;

  clear_sources();
  setenv("AWS_ACCESS_KEY_ID", "AKIANEVERISSUED00000", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret-it-knows", 1);
  uv_loop_init(&loop);
  ctx = pod_ctx(&loop, "never", "credentials from the environment");
  ck_assert_int_eq(op(&loop, ctx, 0, "never", "jobGraph0123456789ab", "x", &r), K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(r.message, "403 InvalidAccessKeyId") != NULL, "%s", r.message);
  tu_ctx_finish(&loop, ctx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("s3-pods");
  TCase *tc = tcase_create("s3-pods");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, web_identity_through_sts);
  tcase_add_test(tc, container_credentials_fetched_again_before_expiry);
  tcase_add_test(tc, imds_v2_as_the_last_source);
  tcase_add_test(tc, keys_the_server_never_issued_are_refused);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
