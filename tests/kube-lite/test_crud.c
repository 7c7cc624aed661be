/* Integration tests: the verbs on ConfigMaps and Leases, selectors,
 * discovery and error statuses. */
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CM "/api/v1/namespaces/flink/configmaps"
#define LEASES "/apis/coordination.k8s.io/v1/namespaces/flink/leases"

static void assert_status(kt_resp *r, long code, const char *reason, const char *message) {
  ck_assert_msg(r->code == code, "want %ld, got %ld: %s", code, r->code, r->body);
  ck_assert_str_eq(kt_str(r->json, "kind"), "Status");
  ck_assert_str_eq(kt_str(r->json, "apiVersion"), "v1");
  ck_assert_str_eq(kt_str(r->json, "status"), "Failure");
  ck_assert_int_eq(kt_int(r->json, "code"), code);
  ck_assert_str_eq(kt_str(r->json, "reason"), reason);
  if (message)
    ck_assert_str_eq(kt_str(r->json, "message"), message);
}

START_TEST(create_get_and_conflicts) {
  kubelite *k = kt_server;
  kt_resp r =
      kt_post(k, CM,
              "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
              "\"labels\":{\"app\":\"x\"},\"annotations\":{\"n\":\"1\"},"
              "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"p\","
              "\"uid\":\"u1\"}],\"finalizers\":[\"f\"]},"
              "\"data\":{\"k\":\"v\"},\"binaryData\":{\"b\":\"AAEC\"},\"immutable\":false}");
  ck_assert_int_eq(r.code, 201);
  ck_assert_str_eq(kt_str(r.json, "kind"), "ConfigMap");
  ck_assert_str_eq(kt_str(r.json, "metadata.namespace"), "flink");
  ck_assert_int_eq((int)strlen(kt_str(r.json, "metadata.uid")), 36);
  ck_assert_int_eq(kt_str(r.json, "metadata.uid")[14], '4');
  ck_assert_int_eq((int)strlen(kt_str(r.json, "metadata.creationTimestamp")), 20);
  ck_assert_str_eq(kt_str(r.json, "metadata.ownerReferences.0.uid"), "u1");
  ck_assert_ptr_null(json_object_get(json_object_get(r.json, "metadata"), "finalizers"));
  ck_assert_str_eq(kt_str(r.json, "binaryData.b"), "AAEC");
  unsigned long long rv1 = kt_rv(r.json);
  char *uid = strdup(kt_str(r.json, "metadata.uid"));
  kt_resp_free(&r);

  r = kt_get(k, CM "/a");
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "data.k"), "v");
  ck_assert_str_eq(kt_str(r.json, "metadata.uid"), uid);
  kt_resp_free(&r);

  r = kt_post(k, CM, "{\"metadata\":{\"name\":\"a\"}}");
  assert_status(&r, 409, "AlreadyExists", "configmaps \"a\" already exists");
  ck_assert_str_eq(kt_str(r.json, "details.name"), "a");
  ck_assert_str_eq(kt_str(r.json, "details.kind"), "configmaps");
  kt_resp_free(&r);

  char body[256];
  snprintf(body, sizeof body,
           "{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"%llu\"},\"data\":{\"k\":\"v2\"}}",
           rv1);
  r = kt_put(k, CM "/a", body);
  ck_assert_int_eq(r.code, 200);
  unsigned long long rv2 = kt_rv(r.json);
  ck_assert_uint_gt(rv2, rv1);
  ck_assert_str_eq(kt_str(r.json, "metadata.uid"), uid);
  kt_resp_free(&r);

  /* The same body again carries a stale resourceVersion now. */
  r = kt_put(k, CM "/a", body);
  assert_status(&r, 409, "Conflict",
                "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; "
                "please apply your changes to the latest version and try again");
  kt_resp_free(&r);

  /* No resourceVersion: unconditional for ConfigMaps. */
  r = kt_put(k, CM "/a", "{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"v3\"}}");
  ck_assert_int_eq(r.code, 200);
  ck_assert_uint_gt(kt_rv(r.json), rv2);
  kt_resp_free(&r);

  /* A write that changes nothing keeps the resourceVersion. */
  r = kt_get(k, CM "/a");
  unsigned long long rv3 = kt_rv(r.json);
  kt_resp_free(&r);
  r = kt_put(k, CM "/a", "{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"v3\"}}");
  ck_assert_int_eq(r.code, 200);
  ck_assert_uint_eq(kt_rv(r.json), rv3);
  kt_resp_free(&r);

  r = kt_put(k, CM "/missing", "{\"metadata\":{\"name\":\"missing\"}}");
  assert_status(&r, 404, "NotFound", "configmaps \"missing\" not found");
  kt_resp_free(&r);
  r = kt_get(k, CM "/missing");
  assert_status(&r, 404, "NotFound", "configmaps \"missing\" not found");
  ck_assert_str_eq(kt_str(r.json, "details.name"), "missing");
  kt_resp_free(&r);

  r = kt_put(k, CM "/a", "{\"metadata\":{\"name\":\"b\"}}");
  assert_status(&r, 400, "BadRequest",
                "the name of the object (b) does not match the name on the URL (a)");
  kt_resp_free(&r);
  r = kt_put(k, CM "/a", "{\"metadata\":{\"name\":\"a\",\"uid\":\"other\"}}");
  ck_assert_int_eq(r.code, 409);
  kt_resp_free(&r);
  r = kt_post(k, CM, "{\"metadata\":{\"name\":\"x\",\"namespace\":\"other\"}}");
  ck_assert_int_eq(r.code, 400);
  kt_resp_free(&r);
  r = kt_post(k, CM, "{\"metadata\":{\"name\":\"x\"},");
  assert_status(&r, 400, "BadRequest", NULL);
  kt_resp_free(&r);
  r = kt_post(k, CM, "{\"metadata\":{\"name\":\"x\"},\"data\":{\"k\":1}}");
  assert_status(&r, 400, "BadRequest", NULL);
  kt_resp_free(&r);
  free(uid);
}
END_TEST

START_TEST(patch_and_delete) {
  kubelite *k = kt_server;
  unsigned long long rv = kt_make_cm(k, "flink", "p", "app=x");
  kt_resp r =
      kt_patch(k, CM "/p", "application/merge-patch+json",
               "{\"data\":{\"k\":null,\"n\":\"1\"},\"metadata\":{\"labels\":{\"t\":\"y\"}}}");
  ck_assert_int_eq(r.code, 200);
  ck_assert_ptr_null(json_object_get(json_object_get(r.json, "data"), "k"));
  ck_assert_str_eq(kt_str(r.json, "data.n"), "1");
  ck_assert_str_eq(kt_str(r.json, "metadata.labels.app"), "x");
  ck_assert_str_eq(kt_str(r.json, "metadata.labels.t"), "y");
  kt_resp_free(&r);

  char body[160];
  snprintf(body, sizeof body,
           "{\"metadata\":{\"resourceVersion\":\"%llu\"},\"data\":{\"z\":\"1\"}}", rv);
  r = kt_patch(k, CM "/p", "application/merge-patch+json", body);
  ck_assert_int_eq(r.code, 409);
  ck_assert_str_eq(kt_str(r.json, "reason"), "Conflict");
  kt_resp_free(&r);

  r = kt_patch(k, CM "/p", "application/strategic-merge-patch+json", "{\"data\":{\"s\":\"2\"}}");
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "data.s"), "2");
  kt_resp_free(&r);
  r = kt_patch(k, CM "/p", "application/apply-patch+yaml", "{}");
  ck_assert_int_eq(r.code, 415);
  kt_resp_free(&r);
  r = kt_patch(k, CM "/nope", "application/merge-patch+json", "{}");
  ck_assert_int_eq(r.code, 404);
  kt_resp_free(&r);

  r = kt_get(k, CM "/p");
  char *uid = strdup(kt_str(r.json, "metadata.uid"));
  unsigned long long cur = kt_rv(r.json);
  kt_resp_free(&r);

  r = kt_delete(k, CM "/p", "{\"preconditions\":{\"uid\":\"wrong\"}}");
  ck_assert_int_eq(r.code, 409);
  ck_assert_str_eq(kt_str(r.json, "reason"), "Conflict");
  ck_assert_ptr_nonnull(strstr(kt_str(r.json, "message"), "Precondition failed: UID"));
  kt_resp_free(&r);
  snprintf(body, sizeof body, "{\"preconditions\":{\"resourceVersion\":\"%llu\"}}", cur - 1);
  r = kt_delete(k, CM "/p", body);
  ck_assert_int_eq(r.code, 409);
  ck_assert_ptr_nonnull(strstr(kt_str(r.json, "message"), "ResourceVersion in precondition"));
  kt_resp_free(&r);

  snprintf(body, sizeof body,
           "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"preconditions\":{\"uid\":\"%s\","
           "\"resourceVersion\":\"%llu\"}}",
           uid, cur);
  r = kt_delete(k, CM "/p", body);
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "kind"), "Status");
  ck_assert_str_eq(kt_str(r.json, "status"), "Success");
  ck_assert_str_eq(kt_str(r.json, "details.name"), "p");
  ck_assert_str_eq(kt_str(r.json, "details.uid"), uid);
  kt_resp_free(&r);
  r = kt_delete(k, CM "/p", NULL);
  ck_assert_int_eq(r.code, 404);
  kt_resp_free(&r);
  free(uid);
}
END_TEST

static int list_names(kubelite *k, const char *query, char *out, size_t n) {
  char path[512];
  snprintf(path, sizeof path, CM "%s", query);
  kt_resp r = kt_get(k, path);
  ck_assert_msg(r.code == 200, "%s -> %ld %s", query, r.code, r.body);
  ck_assert_str_eq(kt_str(r.json, "kind"), "ConfigMapList");
  ck_assert_ptr_nonnull(kt_str(r.json, "metadata.resourceVersion"));
  out[0] = '\0';
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(r.json, "items"), i, it) {
    if (i)
      strncat(out, ",", n - strlen(out) - 1);
    strncat(out, kt_str(it, "metadata.name"), n - strlen(out) - 1);
  }
  int count = (int)json_array_size(json_object_get(r.json, "items"));
  kt_resp_free(&r);
  return count;
}

/* Accept: ...;as=PartialObjectMetadata (what libk8sha asks with its writes): the object's
 * metadata alone, for a get, an update and a patch (conditional on its resourceVersion). */
START_TEST(partial_object_metadata) {
  kubelite *k = kt_server;
  unsigned long long rv = kt_make_cm(k, "flink", "pm", "app=x");
  char body[200];
  kt_accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json";
  snprintf(body, sizeof body,
           "{\"metadata\":{\"resourceVersion\":\"%llu\"},\"data\":{\"n\":\"1\"}}", rv);
  kt_resp r = kt_patch(k, CM "/pm", "application/merge-patch+json", body);
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "kind"), "PartialObjectMetadata");
  ck_assert_str_eq(kt_str(r.json, "apiVersion"), "meta.k8s.io/v1");
  ck_assert_str_eq(kt_str(r.json, "metadata.name"), "pm");
  ck_assert_str_eq(kt_str(r.json, "metadata.labels.app"), "x");
  ck_assert_uint_gt(kt_rv(r.json), rv);
  ck_assert_ptr_null(json_object_get(r.json, "data"));
  kt_resp_free(&r);
  r = kt_get(k, CM "/pm");
  ck_assert_str_eq(kt_str(r.json, "kind"), "PartialObjectMetadata");
  ck_assert_ptr_null(json_object_get(r.json, "data"));
  kt_resp_free(&r);
  /* without it: the whole object, with the patched data */
  kt_accept = NULL;
  r = kt_get(k, CM "/pm");
  ck_assert_str_eq(kt_str(r.json, "kind"), "ConfigMap");
  ck_assert_str_eq(kt_str(r.json, "data.n"), "1");
  kt_resp_free(&r);
}
END_TEST

START_TEST(selectors) {
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "a", "app=x");
  kt_make_cm(k, "flink", "b", "app=y");
  kt_make_cm(k, "flink", "c", NULL);
  kt_make_cm(k, "other", "d", "app=x");
  char names[256];
  list_names(k, "", names, sizeof names);
  ck_assert_str_eq(names, "a,b,c");
  list_names(k, "?labelSelector=app%3Dx", names, sizeof names);
  ck_assert_str_eq(names, "a");
  list_names(k, "?labelSelector=app%3D%3Dy", names, sizeof names);
  ck_assert_str_eq(names, "b");
  list_names(k, "?labelSelector=app!%3Dx", names, sizeof names);
  ck_assert_str_eq(names, "b,c");
  list_names(k, "?labelSelector=app+in+(x,+y)", names, sizeof names);
  ck_assert_str_eq(names, "a,b");
  list_names(k, "?labelSelector=app%20notin%20(x)", names, sizeof names);
  ck_assert_str_eq(names, "b,c");
  list_names(k, "?labelSelector=app", names, sizeof names);
  ck_assert_str_eq(names, "a,b");
  list_names(k, "?labelSelector=!app", names, sizeof names);
  ck_assert_str_eq(names, "c");
  list_names(k, "?labelSelector=app,app!%3Dy", names, sizeof names);
  ck_assert_str_eq(names, "a");
  list_names(k, "?fieldSelector=metadata.name%3Db", names, sizeof names);
  ck_assert_str_eq(names, "b");
  list_names(k, "?fieldSelector=metadata.namespace%3Dflink,metadata.name!%3Db", names,
             sizeof names);
  ck_assert_str_eq(names, "a,c");
  list_names(k, "?limit=2", names, sizeof names);
  ck_assert_str_eq(names, "a,b");

  kt_resp r = kt_get(k, CM "?labelSelector=app+in+(x");
  ck_assert_int_eq(r.code, 400);
  kt_resp_free(&r);
  r = kt_get(k, CM "?fieldSelector=spec.x%3D1");
  ck_assert_int_eq(r.code, 400);
  ck_assert_str_eq(kt_str(r.json, "message"), "field label not supported: spec.x");
  kt_resp_free(&r);

  /* Pagination hands out a continue token until the list is exhausted. */
  r = kt_get(k, CM "?limit=2");
  const char *cont = kt_str(r.json, "metadata.continue");
  ck_assert_ptr_nonnull(cont);
  ck_assert_int_eq(kt_int(r.json, "metadata.remainingItemCount"), 1);
  char path[512];
  snprintf(path, sizeof path, "?limit=2&continue=%s", cont);
  kt_resp_free(&r);
  char *esc = curl_easy_escape(NULL, path + strlen("?limit=2&continue="), 0);
  snprintf(path, sizeof path, "?limit=2&continue=%s", esc);
  curl_free(esc);
  list_names(k, path, names, sizeof names);
  ck_assert_str_eq(names, "c");

  r = kt_get(k, "/api/v1/configmaps");
  ck_assert_int_eq(r.code, 200);
  ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), 4);
  kt_resp_free(&r);

  r = kt_delete(k, CM "?labelSelector=app", NULL);
  ck_assert_int_eq(r.code, 200);
  ck_assert_str_eq(kt_str(r.json, "kind"), "ConfigMapList");
  ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), 2);
  kt_resp_free(&r);
  list_names(k, "", names, sizeof names);
  ck_assert_str_eq(names, "c");
}
END_TEST

START_TEST(leases) {
  kubelite *k = kt_server;
  kt_resp r = kt_post(k, LEASES,
                      "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
                      "\"metadata\":{\"name\":\"leader\"},\"spec\":{\"holderIdentity\":\"a\","
                      "\"leaseDurationSeconds\":15,\"acquireTime\":\"2024-01-02T03:04:05Z\","
                      "\"renewTime\":\"2024-01-02T03:04:05.123456789+01:00\","
                      "\"leaseTransitions\":2}}");
  ck_assert_msg(r.code == 201, "%s", r.body);
  ck_assert_str_eq(kt_str(r.json, "kind"), "Lease");
  ck_assert_str_eq(kt_str(r.json, "apiVersion"), "coordination.k8s.io/v1");
  ck_assert_str_eq(kt_str(r.json, "spec.holderIdentity"), "a");
  ck_assert_int_eq(kt_int(r.json, "spec.leaseDurationSeconds"), 15);
  ck_assert_str_eq(kt_str(r.json, "spec.acquireTime"), "2024-01-02T03:04:05.000000Z");
  ck_assert_str_eq(kt_str(r.json, "spec.renewTime"), "2024-01-02T02:04:05.123456Z");
  ck_assert_int_eq(kt_int(r.json, "spec.leaseTransitions"), 2);
  unsigned long long rv = kt_rv(r.json);
  kt_resp_free(&r);

  /* The Lease strategy refuses unconditional updates... */
  r = kt_put(k, LEASES "/leader", "{\"metadata\":{\"name\":\"leader\"},\"spec\":{}}");
  ck_assert_int_eq(r.code, 422);
  ck_assert_str_eq(kt_str(r.json, "message"),
                   "leases.coordination.k8s.io \"leader\" is invalid: metadata.resourceVersion: "
                   "Invalid value: 0x0: must be specified for an update");
  kt_resp_free(&r);
  char body[256];
  snprintf(body, sizeof body,
           "{\"metadata\":{\"name\":\"leader\",\"resourceVersion\":\"%llu\"},"
           "\"spec\":{\"holderIdentity\":\"b\"}}",
           rv);
  r = kt_put(k, LEASES "/leader", body);
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
  r = kt_put(k, LEASES "/leader", body);
  ck_assert_int_eq(r.code, 409);
  ck_assert_str_eq(kt_str(r.json, "message"),
                   "Operation cannot be fulfilled on leases.coordination.k8s.io \"leader\": the "
                   "object has been modified; please apply your changes to the latest version "
                   "and try again");
  ck_assert_str_eq(kt_str(r.json, "details.group"), "coordination.k8s.io");
  ck_assert_str_eq(kt_str(r.json, "details.kind"), "leases");
  kt_resp_free(&r);
  /* ...and allows create on update. */
  r = kt_put(k, LEASES "/fresh", "{\"metadata\":{\"name\":\"fresh\"},\"spec\":{}}");
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);
  r = kt_get(k, LEASES "/nope");
  ck_assert_str_eq(kt_str(r.json, "message"), "leases.coordination.k8s.io \"nope\" not found");
  kt_resp_free(&r);
  r = kt_get(k, LEASES);
  ck_assert_str_eq(kt_str(r.json, "kind"), "LeaseList");
  ck_assert_int_eq((int)json_array_size(json_object_get(r.json, "items")), 2);
  kt_resp_free(&r);
  r = kt_post(k, LEASES, "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"leaseDurationSeconds\":0}}");
  ck_assert_int_eq(r.code, 422);
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.field"), "spec.leaseDurationSeconds");
  kt_resp_free(&r);
}
END_TEST

START_TEST(discovery_and_misc) {
  kubelite *k = kt_server;
  static const char *const ok[] = {"/version",
                                   "/api",
                                   "/api/v1",
                                   "/apis",
                                   "/apis/coordination.k8s.io/v1",
                                   "/healthz",
                                   "/api/v1/namespaces/flink"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    kt_resp r = kt_get(k, ok[i]);
    ck_assert_msg(r.code == 200, "%s -> %ld", ok[i], r.code);
    kt_resp_free(&r);
  }
  kt_resp r = kt_get(k, "/api/v1/namespaces/flink");
  ck_assert_str_eq(kt_str(r.json, "kind"), "Namespace");
  ck_assert_str_eq(kt_str(r.json, "status.phase"), "Active");
  kt_resp_free(&r);
  r = kt_get(k, "/openapi/v3");
  ck_assert_int_eq(r.code, 404);
  kt_resp_free(&r);
  r = kt_get(k, "/api/v1/namespaces/Bad_NS/configmaps/x");
  ck_assert_int_eq(r.code, 404);
  kt_resp_free(&r);
  r = kt_req(k, "PUT", CM, "{}", NULL, NULL);
  ck_assert_int_eq(r.code, 405);
  ck_assert_str_eq(kt_str(r.json, "reason"), "MethodNotAllowed");
  kt_resp_free(&r);
  r = kt_req(k, "POST", CM "/x", "{}", NULL, NULL);
  ck_assert_int_eq(r.code, 405);
  kt_resp_free(&r);
}
END_TEST

START_TEST(nul_in_the_request_head_is_400) {
  /* A NUL where the grammar allows none: refused, and the server serves on. */
  kubelite *k = kt_server;
  static const char req[] = "GET " CM "/a\0b HTTP/1.1\r\nHost: x\r\n\r\n";
  char *buf = kt_raw_bytes(k, req, sizeof req - 1);
  ck_assert_msg(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "%s", buf);
  free(buf);
  kt_resp r = kt_get(k, CM);
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
}
END_TEST

START_TEST(pipelined_keepalive) {
  /* Two requests in one write, on one connection: both answered, in order. */
  kubelite *k = kt_server;
  kt_make_cm(k, "flink", "pipe", NULL);
  static const char *const req[] = {"GET " CM "/pipe HTTP/1.1\r\nHost: x\r\n\r\n"
                                    "GET " CM
                                    "/none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};
  char *buf = kt_raw(k, req, 1, 0);
  char *first = strstr(buf, "HTTP/1.1 200 OK");
  char *second = strstr(buf, "HTTP/1.1 404 Not Found");
  ck_assert_ptr_nonnull(first);
  ck_assert_ptr_nonnull(second);
  ck_assert(first < second);
  free(buf);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube-lite crud");
  TCase *tc = tcase_create("crud");
  tcase_add_checked_fixture(tc, kt_start_default, kt_stop);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, create_get_and_conflicts);
  tcase_add_test(tc, patch_and_delete);
  tcase_add_test(tc, partial_object_metadata);
  tcase_add_test(tc, selectors);
  tcase_add_test(tc, leases);
  tcase_add_test(tc, discovery_and_misc);
  tcase_add_test(tc, pipelined_keepalive);
  tcase_add_test(tc, nul_in_the_request_head_is_400);
  suite_add_tcase(s, tc);
  return kt_run(s);
}
