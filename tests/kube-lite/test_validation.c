/* Integration tests: 422 Invalid with the apiserver's causes, and the
 * 400/413 answers for bodies that cannot be decoded at all. */
#include "kt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CM "/api/v1/namespaces/flink/configmaps"
#define DNS_MSG                                                                                    \
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "     \
  "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "         \
  "used for validation is "                                                                        \
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define KEY_MSG                                                                                    \
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "             \
  "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"

/* Posts body and checks a 422 whose first cause has this reason/field/message. */
static kt_resp invalid(const char *body, const char *reason, const char *field, const char *msg) {
  kt_resp r = kt_post(kt_server, CM, body);
  ck_assert_msg(r.code == 422, "want 422, got %ld: %s", r.code, r.body);
  ck_assert_str_eq(kt_str(r.json, "kind"), "Status");
  ck_assert_str_eq(kt_str(r.json, "reason"), "Invalid");
  ck_assert_str_eq(kt_str(r.json, "details.kind"), "ConfigMap");
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.reason"), reason);
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.field"), field);
  if (msg)
    ck_assert_str_eq(kt_str(r.json, "details.causes.0.message"), msg);
  return r;
}

START_TEST(names) {
  kt_resp r = invalid("{\"metadata\":{\"name\":\"Bad_Name\"}}", "FieldValueInvalid",
                      "metadata.name", "Invalid value: \"Bad_Name\": " DNS_MSG);
  ck_assert_str_eq(kt_str(r.json, "message"), "ConfigMap \"Bad_Name\" is invalid: metadata.name: "
                                              "Invalid value: \"Bad_Name\": " DNS_MSG);
  ck_assert_str_eq(kt_str(r.json, "details.name"), "Bad_Name");
  kt_resp_free(&r);

  char body[400], name[300];
  memset(name, 'a', 254);
  name[254] = '\0';
  snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s\"}}", name);
  r = invalid(body, "FieldValueInvalid", "metadata.name", NULL);
  ck_assert_ptr_nonnull(
      strstr(kt_str(r.json, "details.causes.0.message"), "must be no more than 253 characters"));
  kt_resp_free(&r);
  name[253] = '\0'; /* 253 is the limit, inclusive */
  snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s\"}}", name);
  r = kt_post(kt_server, CM, body);
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);

  r = invalid("{\"metadata\":{}}", "FieldValueRequired", "metadata.name",
              "Required value: name or generateName is required");
  kt_resp_free(&r);
  r = invalid("{\"metadata\":{\"name\":\"-a\"}}", "FieldValueInvalid", "metadata.name", NULL);
  kt_resp_free(&r);
  r = kt_post(kt_server, CM, "{\"metadata\":{\"name\":\"a.b-c.d\"}}");
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);
}
END_TEST

START_TEST(data_keys) {
  kt_resp r = invalid("{\"metadata\":{\"name\":\"k\"},\"data\":{\"bad key\":\"v\"}}",
                      "FieldValueInvalid", "data[bad key]", "Invalid value: \"bad key\": " KEY_MSG);
  kt_resp_free(&r);
  r = invalid("{\"metadata\":{\"name\":\"k\"},\"data\":{\".\":\"v\"}}", "FieldValueInvalid",
              "data[.]", "Invalid value: \".\": must not be '.'");
  kt_resp_free(&r);
  r = invalid("{\"metadata\":{\"name\":\"k\"},\"data\":{\"..\":\"v\"}}", "FieldValueInvalid",
              "data[..]", "Invalid value: \"..\": must not be '..'");
  kt_resp_free(&r);
  r = invalid("{\"metadata\":{\"name\":\"k\"},\"data\":{\"..x\":\"v\"}}", "FieldValueInvalid",
              "data[..x]", "Invalid value: \"..x\": must not start with '..'");
  kt_resp_free(&r);
  r = invalid("{\"metadata\":{\"name\":\"k\"},\"binaryData\":{\"a/b\":\"AA==\"}}",
              "FieldValueInvalid", "binaryData[a/b]", NULL);
  kt_resp_free(&r);
  r = invalid(
      "{\"metadata\":{\"name\":\"k\"},\"data\":{\"d\":\"v\"},\"binaryData\":{\"d\":\"AA==\"}}",
      "FieldValueInvalid", "data[d]",
      "Invalid value: \"d\": duplicate of key present in binaryData");
  ck_assert_int_eq(
      (int)json_array_size(json_object_get(json_object_get(r.json, "details"), "causes")), 1);
  kt_resp_free(&r);
  r = kt_post(kt_server, CM,
              "{\"metadata\":{\"name\":\"k\"},\"data\":{\"-._aZ09\":\"v\",\".a\":\"v\"}}");
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);
  r = kt_post(kt_server, CM,
              "{\"metadata\":{\"name\":\"b64\"},\"binaryData\":{\"x\":\"not base64\"}}");
  ck_assert_int_eq(r.code, 400);
  kt_resp_free(&r);
  r = kt_post(kt_server, CM, "{\"kind\":\"Lease\",\"metadata\":{\"name\":\"wrongkind\"}}");
  ck_assert_int_eq(r.code, 400);
  kt_resp_free(&r);
}
END_TEST

static char *body_with_value(const char *name, size_t n, bool binary) {
  /* binaryData is counted decoded: n bytes need 4*ceil(n/3) base64 chars. */
  size_t enc = binary ? (n + 2) / 3 * 4 : n;
  char *b = malloc(enc + 200);
  ck_assert_ptr_nonnull(b);
  int h = sprintf(b, "{\"metadata\":{\"name\":\"%s\"},\"%s\":{\"v\":\"", name,
                  binary ? "binaryData" : "data");
  memset(b + h, 'A', enc);
  if (binary && n % 3)
    memset(b + h + enc - (3 - n % 3), '=', 3 - n % 3);
  strcpy(b + h + enc, "\"}}");
  return b;
}

START_TEST(size_limit) {
  char *b = body_with_value("big", 1048577, false);
  kt_resp r = invalid(b, "FieldValueTooLong", "[]", "Too long: must have at most 1048576 bytes");
  ck_assert_str_eq(kt_str(r.json, "message"),
                   "ConfigMap \"big\" is invalid: []: Too long: must have at most 1048576 bytes");
  kt_resp_free(&r);
  free(b);
  b = body_with_value("edge", 1048576, false);
  r = kt_post(kt_server, CM, b);
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);
  free(b);
  b = body_with_value("bigbin", 1048577, true);
  r = invalid(b, "FieldValueTooLong", "[]", NULL);
  kt_resp_free(&r);
  free(b);
  b = body_with_value("edgebin", 1048576, true);
  r = kt_post(kt_server, CM, b);
  ck_assert_msg(r.code == 201, "%ld %.200s", r.code, r.body);
  kt_resp_free(&r);
  free(b);
  /* Above the apiserver's 3 MiB request limit the body is refused whole. */
  b = body_with_value("huge", 3 * 1024 * 1024 + 1, false);
  r = kt_post(kt_server, CM, b);
  ck_assert_int_eq(r.code, 413);
  kt_resp_free(&r);
  free(b);
}
END_TEST

START_TEST(labels_and_annotations) {
  char body[512], v[80];
  memset(v, 'x', 64);
  v[64] = '\0';
  snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"l\",\"labels\":{\"a\":\"%s\"}}}", v);
  kt_resp r = invalid(body, "FieldValueInvalid", "metadata.labels", NULL);
  char want[200];
  snprintf(want, sizeof want, "Invalid value: \"%s\": must be no more than 63 characters", v);
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.message"), want);
  kt_resp_free(&r);
  v[63] = '\0';
  snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"l\",\"labels\":{\"a\":\"%s\"}}}", v);
  r = kt_post(kt_server, CM, body);
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);

  r = invalid("{\"metadata\":{\"name\":\"l2\",\"labels\":{\"a\":\"-x\"}}}", "FieldValueInvalid",
              "metadata.labels",
              "Invalid value: \"-x\": a valid label must be an empty string or consist of "
              "alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
              "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  kt_resp_free(&r);
  r = invalid("{\"metadata\":{\"name\":\"l3\",\"labels\":{\"bad key\":\"x\"}}}",
              "FieldValueInvalid", "metadata.labels",
              "Invalid value: \"bad key\": name part must consist of alphanumeric characters, "
              "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
              "'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
              "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  kt_resp_free(&r);
  r = invalid("{\"metadata\":{\"name\":\"l4\",\"labels\":{\"Bad.Prefix/x\":\"x\"}}}",
              "FieldValueInvalid", "metadata.labels", NULL);
  ck_assert_ptr_nonnull(strstr(kt_str(r.json, "details.causes.0.message"), "prefix part "));
  kt_resp_free(&r);
  r = kt_post(kt_server, CM,
              "{\"metadata\":{\"name\":\"l5\",\"labels\":{\"example.com/x_y\":\"\"}}}");
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);

  /* Several problems are reported together. */
  r = kt_post(kt_server, CM,
              "{\"metadata\":{\"name\":\"UP\",\"labels\":{\"a\":\"-\"}},\"data\":{\"?\":\"\"}}");
  ck_assert_int_eq(r.code, 422);
  ck_assert_int_eq(
      (int)json_array_size(json_object_get(json_object_get(r.json, "details"), "causes")), 3);
  ck_assert_ptr_nonnull(strstr(kt_str(r.json, "message"), "is invalid: [metadata.name: "));
  kt_resp_free(&r);

  size_t n = 262145;
  char *big = malloc(n + 100);
  ck_assert_ptr_nonnull(big);
  int h = sprintf(big, "{\"metadata\":{\"name\":\"ann\",\"annotations\":{\"a\":\"");
  memset(big + h, 'x', n);
  strcpy(big + h + n, "\"}}}");
  r = invalid(big, "FieldValueTooLong", "metadata.annotations",
              "Too long: must have at most 262144 bytes");
  kt_resp_free(&r);
  free(big);
}
END_TEST

START_TEST(immutable) {
  kt_resp r = kt_post(
      kt_server, CM, "{\"metadata\":{\"name\":\"imm\"},\"data\":{\"a\":\"1\"},\"immutable\":true}");
  ck_assert_int_eq(r.code, 201);
  kt_resp_free(&r);
  r = kt_put(kt_server, CM "/imm",
             "{\"metadata\":{\"name\":\"imm\"},\"data\":{\"a\":\"2\"},\"immutable\":true}");
  ck_assert_int_eq(r.code, 422);
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.reason"), "FieldValueForbidden");
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.field"), "data");
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.message"),
                   "Forbidden: field is immutable when `immutable` is set");
  kt_resp_free(&r);
  r = kt_patch(kt_server, CM "/imm", "application/merge-patch+json", "{\"immutable\":false}");
  ck_assert_int_eq(r.code, 422);
  ck_assert_str_eq(kt_str(r.json, "details.causes.0.field"), "immutable");
  kt_resp_free(&r);
  /* Labels stay mutable. */
  r = kt_patch(kt_server, CM "/imm", "application/merge-patch+json",
               "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}");
  ck_assert_int_eq(r.code, 200);
  kt_resp_free(&r);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kube-lite validation");
  TCase *tc = tcase_create("validation");
  tcase_add_checked_fixture(tc, kt_start_default, kt_stop);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, names);
  tcase_add_test(tc, data_keys);
  tcase_add_test(tc, size_limit);
  tcase_add_test(tc, labels_and_annotations);
  tcase_add_test(tc, immutable);
  suite_add_tcase(s, tc);
  return kt_run(s);
}
