/* The s3 backend against a scripted S3 (fakeapi on the test's loop; the backend's transfers run
 * on libuv's thread pool): transient failures tried again, a failure that lasts named with the
 * number of tries, a write whose answer was lost and whose retry finds the object (ours when it
 * holds our bytes, else K8SHA_EEXISTS), a truncated blob never taken for the blob, a list answer
 * that is not S3's XML, and a refusal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/ctx_priv.h"
#include "fakeapi.h"
#include "storage/storage.h"
#include "testutil.h"

#define URI "s3://bkt/ha/c1/completedCheckpoint0123456789ab"

/* What the scripted server answers: `fail_first` requests get `fail_status` (0: the connection
 * dropped after the request), the others `ok_status` with `ok_body`. GETs of the object answer
 * `object` (NULL: 404). */
static struct script {
  int fail_first, fail_status;
  const char *fail_body;
  int ok_status;
  const char *ok_body;
  const char *object;
  int truncated; /* GETs announce more bytes than they send */
  int requests, puts, gets;
} sc;

static void handler(fakeapi *api, fake_conn *c, const char *method, const char *path, void *ud) {
  (void)api;
  (void)ud;
  (void)path;
  sc.requests++;
  sc.puts += strcmp(method, "PUT") == 0;
  if (sc.requests <= sc.fail_first) {
    if (sc.fail_status == 0)
      fake_drop(c);
    else
      fake_reply(c, sc.fail_status, sc.fail_body ? sc.fail_body : "");
    return;
  }
  if (strcmp(method, "GET") == 0 && !strchr(path, '?')) {
    sc.gets++;
    if (!sc.object) {
      fake_reply(c, 404, "<Error><Code>NoSuchKey</Code><Message>none</Message></Error>");
    } else if (sc.truncated) {
      char h[64];
      snprintf(h, sizeof(h), "Content-Length: %zu\r\n", strlen(sc.object) + 10);
      fake_reply_headers(c, 200, h, sc.object);
    } else {
      fake_reply(c, 200, sc.object);
    }
    return;
  }
  fake_reply(c, sc.ok_status, sc.ok_body ? sc.ok_body : "");
}

typedef struct res {
  uv_loop_t *loop;
  int done, err;
  char message[1200];
  size_t len, n_entries;
} res;

static void on_res(const k8sha__blob_result *r, void *ud) {
  res *x = ud;
  x->done = 1;
  x->err = r->err;
  snprintf(x->message, sizeof(x->message), "%s", r->message ? r->message : "");
  x->len = r->len;
  x->n_entries = r->n_entries;
  uv_stop(x->loop);
}

typedef struct env {
  uv_loop_t loop;
  fakeapi *api;
  k8sha_ctx *ctx;
} env;

static void start(env *e) {
  k8sha_config *cfg;
  char endpoint[64];
  memset(e, 0, sizeof(*e));
  uv_loop_init(&e->loop);
  e->api = fake_start(&e->loop, handler, NULL);
  snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", fake_port(e->api));
  cfg = tu_s3_config("s3://bkt/ha", endpoint, "AKID", "secret", NULL);
  ck_assert_int_eq(k8sha_config_validate(cfg), 0);
  e->ctx = tu_ctx_from(&e->loop, cfg);
}

static void stop(env *e) {
  k8sha_ctx_free(e->ctx);
  fake_stop(e->api);
  while (uv_run(&e->loop, UV_RUN_DEFAULT))
    ;
  ck_assert_int_eq(uv_loop_close(&e->loop), 0);
}

/* 0 write "state", 1 read, 3 list; waited for. */
static int op(env *e, int kind, res *r) {
  int turns = 0;
  memset(r, 0, sizeof(*r));
  r->loop = &e->loop;
  ck_assert_int_eq(kind == 0   ? k8sha__blob_write(e->ctx->storage, URI, "state", 5, on_res, r)
                   : kind == 1 ? k8sha__blob_read(e->ctx->storage, URI, on_res, r)
                               : k8sha__blob_list(e->ctx->storage, "s3://bkt/ha/c1/completed", on_res, r),
                   0);
  while (!r->done && turns++ < 100000)
    uv_run(&e->loop, UV_RUN_DEFAULT);
  ck_assert_msg(r->done, "no completion");
  return r->err;
}

START_TEST(transient_failures_are_tried_again) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.fail_first = 2;
  sc.fail_status = 503;
  sc.fail_body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
                 "</Error>";
  sc.ok_status = 200;
  start(&e);
  ck_assert_msg(op(&e, 0, &r) == 0, "%s", r.message);
  ck_assert_int_eq(sc.requests, 3);
  stop(&e);
}
END_TEST

START_TEST(a_lasting_failure_is_named_with_its_tries) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.fail_first = 1000;
  sc.fail_status = 500;
  sc.fail_body = "<Error><Code>InternalError</Code><Message>x</Message></Error>";
  start(&e);
  ck_assert_int_eq(op(&e, 0, &r), K8SHA_ESTORAGE);
  ck_assert_msg(strstr(r.message, "PutObject " URI ": 500 InternalError (after 5 tries)"), "%s",
                r.message);
  ck_assert_int_eq(sc.requests, 5);
  stop(&e);
}
END_TEST

START_TEST(a_lost_answer_then_the_object_found_is_ours_only_with_our_bytes) {
  env e;
  res r;
  /* the first PUT's answer is lost; the retry is refused (the first one landed): the object
   * holds our bytes, so the write succeeded */
  memset(&sc, 0, sizeof(sc));
  sc.fail_first = 1;
  sc.fail_status = 0;
  sc.ok_status = 412;
  sc.ok_body = "<Error><Code>PreconditionFailed</Code><Message>x</Message></Error>";
  sc.object = "state";
  start(&e);
  ck_assert_msg(op(&e, 0, &r) == 0, "%s", r.message);
  ck_assert_int_eq(sc.puts, 2);
  ck_assert_int_eq(sc.gets, 1);
  stop(&e);

  /* the same, but the object holds other bytes: someone else's, not replaced */
  memset(&sc, 0, sizeof(sc));
  sc.fail_first = 1;
  sc.fail_status = 0;
  sc.ok_status = 412;
  sc.ok_body = "<Error><Code>PreconditionFailed</Code><Message>x</Message></Error>";
  sc.object = "other";
  start(&e);
  ck_assert_int_eq(op(&e, 0, &r), K8SHA_EEXISTS);
  ck_assert_msg(strstr(r.message, "holds other bytes") != NULL, "%s", r.message);
  stop(&e);

  /* no earlier try: a 412 is someone else's object, not read */
  memset(&sc, 0, sizeof(sc));
  sc.ok_status = 412;
  sc.ok_body = "<Error><Code>PreconditionFailed</Code><Message>x</Message></Error>";
  sc.object = "state";
  start(&e);
  ck_assert_int_eq(op(&e, 0, &r), K8SHA_EEXISTS);
  ck_assert_int_eq(sc.gets, 0);
  stop(&e);
}
END_TEST

START_TEST(a_truncated_blob_is_never_the_blob) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.object = "stat";
  sc.truncated = 1;
  start(&e);
  ck_assert_int_eq(op(&e, 1, &r), K8SHA_ESTORAGE);
  ck_assert_uint_eq(r.len, 0);
  ck_assert_msg(strstr(r.message, "GetObject " URI) != NULL, "%s", r.message);
  stop(&e);
}
END_TEST

START_TEST(a_list_answer_that_is_not_s3s_is_named) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.ok_status = 200;
  sc.ok_body = "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>";
  start(&e);
  ck_assert_int_eq(op(&e, 3, &r), K8SHA_ESTORAGE);
  ck_assert_msg(strstr(r.message, "ListObjectsV2") && strstr(r.message, "IsTruncated"), "%s",
                r.message);
  stop(&e);

  memset(&sc, 0, sizeof(sc));
  sc.ok_status = 200;
  sc.ok_body = "<html>a proxy's login page</html>";
  start(&e);
  ck_assert_int_eq(op(&e, 3, &r), K8SHA_ESTORAGE);
  ck_assert_msg(strstr(r.message, "(page 1)") != NULL, "%s", r.message);
  stop(&e);
}
END_TEST

START_TEST(a_refusal_names_bucket_key_and_source) {
  env e;
  res r;
  memset(&sc, 0, sizeof(sc));
  sc.ok_status = 403;
  sc.ok_body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
  start(&e);
  ck_assert_int_eq(op(&e, 0, &r), K8SHA_EFORBIDDEN);
  ck_assert_msg(strstr(r.message, "403 AccessDenied: Access Denied (bucket 'bkt', key "
                                  "'ha/c1/completedCheckpoint0123456789ab'; credentials from the "
                                  "configuration (s3.access-key, s3.secret-key))") != NULL,
                "%s", r.message);
  ck_assert_int_eq(sc.requests, 1); /* not tried again */
  stop(&e);
}
END_TEST

int main(void) {
  Suite *s = suite_create("s3_faults");
  TCase *tc = tcase_create("s3_faults");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, transient_failures_are_tried_again);
  tcase_add_test(tc, a_lasting_failure_is_named_with_its_tries);
  tcase_add_test(tc, a_lost_answer_then_the_object_found_is_ours_only_with_our_bytes);
  tcase_add_test(tc, a_truncated_blob_is_never_the_blob);
  tcase_add_test(tc, a_list_answer_that_is_not_s3s_is_named);
  tcase_add_test(tc, a_refusal_names_bucket_key_and_source);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
