/* The lock record codec: Flink's, client-go's and the Python client's records read leniently;
 * Flink's written exactly. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "election/record.h"
#include "testutil.h"

START_TEST(reads_flink_records) {
  k8sha__record r;
  const char *why = NULL;
  ck_assert_int_eq(k8sha__record_parse("{\"holderIdentity\":\"6c7c3f1e-8f0a-4cbe-8e31-1b2c3d4e5f60\","
                                       "\"leaseDuration\":15.000000000,\"acquireTime\":"
                                       "\"2020-10-20T04:06:31.431000Z\",\"renewTime\":"
                                       "\"2020-10-20T04:07:01.512000Z\",\"leaderTransitions\":3}",
                                       &r, &why),
                   0);
  ck_assert_str_eq(r.holder, "6c7c3f1e-8f0a-4cbe-8e31-1b2c3d4e5f60");
  ck_assert_uint_eq(r.lease_ms, 15000);
  ck_assert_uint_eq(r.transitions, 3);
  ck_assert_str_eq(r.renew_time, "2020-10-20T04:07:01.512000Z");
}
END_TEST

START_TEST(reads_client_go_and_python_records) {
  k8sha__record r;
  const char *why = NULL;
  /* client-go: integer leaseDurationSeconds, RFC 3339 times */
  ck_assert_int_eq(k8sha__record_parse("{\"holderIdentity\":\"pod-a\",\"leaseDurationSeconds\":15,"
                                       "\"acquireTime\":\"2024-01-01T00:00:00Z\",\"renewTime\":"
                                       "\"2024-01-01T00:00:10Z\",\"leaderTransitions\":7}",
                                       &r, &why),
                   0);
  ck_assert_uint_eq(r.lease_ms, 15000);
  ck_assert_uint_eq(r.transitions, 7);
  /* Python client: string duration, naive local times */
  ck_assert_int_eq(k8sha__record_parse("{\"holderIdentity\":\"py\",\"leaseDuration\":\"17\","
                                       "\"acquireTime\":\"2024-01-01 10:00:00.123456\","
                                       "\"renewTime\":\"2024-01-01 10:00:05.000001\"}",
                                       &r, &why),
                   0);
  ck_assert_uint_eq(r.lease_ms, 17000);
  ck_assert_uint_eq(r.transitions, 0); /* missing */
  /* odd but harmless: decimal string, "s" suffix, null times, null holder */
  ck_assert_int_eq(k8sha__record_parse("{\"holderIdentity\":null,\"leaseDuration\":\"2.5s\","
                                       "\"acquireTime\":null,\"renewTime\":null}", &r, &why), 0);
  ck_assert_str_eq(r.holder, "");
  ck_assert_uint_eq(r.lease_ms, 2500);
  /* a released lock as Flink leaves it */
  ck_assert_int_eq(k8sha__record_parse("{\"holderIdentity\":\"\",\"leaseDuration\":1.000000000}",
                                       &r, &why), 0);
  ck_assert_str_eq(r.holder, "");
  ck_assert_uint_eq(r.lease_ms, 1000);
  /* an unusable duration leaves lease_ms 0: the configured lease applies */
  ck_assert_int_eq(k8sha__record_parse("{\"holderIdentity\":\"x\",\"leaseDuration\":\"soon\"}", &r, &why), 0);
  ck_assert_uint_eq(r.lease_ms, 0);
  /* Flink 2.x (fabric8 7) writes Java's Duration form; this record is from Flink 2.3.0 */
  ck_assert_int_eq(k8sha__record_parse(
                       "{\"holderIdentity\":\"76fa4f28-d884-4a0d-a7f4-b1659f8f81e6\",\"leaseDuration\":"
                       "\"PT3S\",\"acquireTime\":\"2026-12-06T12:26:20.416656Z\",\"renewTime\":"
                       "\"2026-12-06T12:26:21.002676Z\",\"leaderTransitions\":0}",
                       &r, &why), 0);
  ck_assert_uint_eq(r.lease_ms, 3000);
  {
    static const struct { const char *text; uint64_t ms; } iso[] = {
        {"\"PT15S\"", 15000}, {"\"PT0.5S\"", 500}, {"\"PT1M30S\"", 90000}, {"\"PT2H\"", 7200000},
        {"\"PT\"", 0}, {"\"PT5X\"", 0}, {"\"PT30S1M\"", 0}, {"\"PTS\"", 0}, {"\"nan\"", 0},
        {"\"-5\"", 0}, {"\"inf\"", 0}, {"\"1e30\"", 0}};
    size_t i;
    char json[128];
    for (i = 0; i < sizeof(iso) / sizeof(iso[0]); i++) {
      snprintf(json, sizeof(json), "{\"holderIdentity\":\"x\",\"leaseDuration\":%s}", iso[i].text);
      ck_assert_int_eq(k8sha__record_parse(json, &r, &why), 0);
      ck_assert_msg(r.lease_ms == iso[i].ms, "%s: %llu ms", iso[i].text,
                    (unsigned long long)r.lease_ms);
    }
  }
}
END_TEST

START_TEST(refuses_what_is_not_a_record) {
  k8sha__record r;
  const char *why = NULL;
  strcpy(r.holder, "untouched");
  ck_assert_int_eq(k8sha__record_parse("not json", &r, &why), -1);
  ck_assert_ptr_nonnull(why);
  ck_assert_str_eq(r.holder, "untouched");
  ck_assert_int_eq(k8sha__record_parse("[1,2]", &r, &why), -1);
  ck_assert_int_eq(k8sha__record_parse("{\"holderIdentity\":42}", &r, &why), -1);
  ck_assert_str_eq(why, "holderIdentity is not a string");
}
END_TEST

START_TEST(writes_flink_records) {
  k8sha__record r, back;
  const char *why;
  char *text;
  memset(&r, 0, sizeof(r));
  strcpy(r.holder, "jm-\"1\"");
  r.lease_ms = 15000;
  r.transitions = 4;
  k8sha__format_micro_time(UINT64_C(1603166791431000), r.acquire_time, sizeof(r.acquire_time));
  strcpy(r.renew_time, r.acquire_time);
  ck_assert_str_eq(r.acquire_time, "2020-10-20T04:06:31.431000Z");
  text = k8sha__record_format(k8sha__default_allocator(), &r);
  ck_assert_str_eq(text, "{\"holderIdentity\":\"jm-\\\"1\\\"\",\"leaseDuration\":15.000000000,"
                         "\"acquireTime\":\"2020-10-20T04:06:31.431000Z\",\"renewTime\":"
                         "\"2020-10-20T04:06:31.431000Z\",\"leaderTransitions\":4}");
  ck_assert_int_eq(k8sha__record_parse(text, &back, &why), 0);
  ck_assert_str_eq(back.holder, r.holder);
  ck_assert_uint_eq(back.lease_ms, 15000);
  free(text);
  r.lease_ms = 1500;
  text = k8sha__record_format(k8sha__default_allocator(), &r);
  ck_assert_ptr_nonnull(strstr(text, "\"leaseDuration\":1.500000000"));
  free(text);
  /* the longest identity an election takes (127 bytes), all control characters: each escapes
   * to six bytes; the record must still be whole and read back the same */
  memset(r.holder, 0x01, 127);
  r.holder[127] = '\0';
  text = k8sha__record_format(k8sha__default_allocator(), &r);
  ck_assert_ptr_nonnull(text);
  ck_assert_int_eq(k8sha__record_parse(text, &back, &why), 0);
  ck_assert_str_eq(back.holder, r.holder);
  ck_assert_uint_eq(back.transitions, 4);
  free(text);
}
END_TEST

int main(void) {
  Suite *s = suite_create("record");
  TCase *tc = tcase_create("record");
  tcase_add_test(tc, reads_flink_records);
  tcase_add_test(tc, reads_client_go_and_python_records);
  tcase_add_test(tc, refuses_what_is_not_a_record);
  tcase_add_test(tc, writes_flink_records);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
