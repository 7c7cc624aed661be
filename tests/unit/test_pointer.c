/* The compact pointer codec: round trip, size, and every kind of damage detected. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/base64.h"
#include "k8sha/errors.h"
#include "k8sha/storage.h"
#include "store/pointer.h"
#include "testutil.h"

START_TEST(crc32c_known_values) {
  /* RFC 3720 test vectors */
  unsigned char zeros[32], ones[32];
  memset(zeros, 0, sizeof(zeros));
  memset(ones, 0xff, sizeof(ones));
  ck_assert_uint_eq(k8sha__crc32c(0, zeros, 32), 0x8A9136AAu);
  ck_assert_uint_eq(k8sha__crc32c(0, ones, 32), 0x62A8AB43u);
  ck_assert_uint_eq(k8sha__crc32c(0, "123456789", 9), 0xE3069283u);
  /* incremental == whole */
  ck_assert_uint_eq(k8sha__crc32c(k8sha__crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);
}
END_TEST

START_TEST(round_trip_and_size) {
  const k8sha_allocator *a = k8sha__default_allocator();
  k8sha__pointer p, q;
  const char *why = NULL;
  char *text = NULL;
  memset(&p, 0, sizeof(p));
  strcpy(p.uri, "s3://flink/recovery/cluster1337/completedCheckpoint3f2a9c0b71de");
  p.size = 123456789012ull;
  p.crc = 0xdeadbeef;
  ck_assert_int_eq(k8sha__pointer_encode(a, &p, &text), 0);
  /* Compact: well under Flink's ~1 KB Java-serialized handle. */
  ck_assert_uint_lt(strlen(text), 140);
  ck_assert_int_eq(k8sha__pointer_decode(a, text, &q, &why), 0);
  ck_assert_str_eq(q.uri, p.uri);
  ck_assert_uint_eq(q.size, p.size);
  ck_assert_uint_eq(q.crc, p.crc);
  k8sha__free(a, text);
  p.uri[0] = '\0';
  ck_assert_int_eq(k8sha__pointer_encode(a, &p, &text), K8SHA_EINVAL);
}
END_TEST

static void expect_corrupt(const char *text, const char *reason) {
  const k8sha_allocator *a = k8sha__default_allocator();
  k8sha__pointer q;
  const char *why = NULL;
  memset(&q, 0x5a, sizeof(q));
  ck_assert_int_eq(k8sha__pointer_decode(a, text, &q, &why), K8SHA_ECORRUPT);
  ck_assert_msg(why && strstr(why, reason), "'%s': got '%s'", text, why ? why : "(null)");
  ck_assert_uint_eq((unsigned char)q.uri[0], 0x5a); /* untouched */
}

START_TEST(damage_is_detected) {
  const k8sha_allocator *a = k8sha__default_allocator();
  k8sha__pointer p;
  unsigned char *raw = NULL;
  size_t len = 0, i;
  char *text = NULL, *bad = NULL;
  memset(&p, 0, sizeof(p));
  strcpy(p.uri, "file:///ha/c/completedCheckpoint000000000001");
  p.size = 42;
  ck_assert_int_eq(k8sha__pointer_encode(a, &p, &text), 0);
  ck_assert_int_eq(k8sha__base64_decode(a, text, strlen(text), &raw, &len), 0);
  /* every single flipped byte is caught */
  for (i = 0; i < len; i++) {
    raw[i] ^= 0x01;
    ck_assert_int_eq(k8sha__base64_encode(a, raw, len, &bad), 0);
    {
      k8sha__pointer q;
      const char *why = NULL;
      ck_assert_msg(k8sha__pointer_decode(a, bad, &q, &why) == K8SHA_ECORRUPT, "byte %zu", i);
    }
    k8sha__free(a, bad);
    raw[i] ^= 0x01;
  }
  /* truncated */
  ck_assert_int_eq(k8sha__base64_encode(a, raw, len - 5, &bad), 0);
  expect_corrupt(bad, "length");
  k8sha__free(a, bad);
  raw[3] = 9; /* another version */
  ck_assert_int_eq(k8sha__base64_encode(a, raw, len, &bad), 0);
  expect_corrupt(bad, "version");
  k8sha__free(a, bad);
  expect_corrupt("!!!", "not base64");
  expect_corrupt("rO0ABXNyAA==", "not a libk8sha pointer"); /* a Java serialization header */
  expect_corrupt("", "not a libk8sha pointer");
  k8sha__free(a, raw);
  k8sha__free(a, text);
}
END_TEST

/* k8sha_pointer_describe() into *info, freeing what it held before. */
static int describe(const char *value, k8sha_pointer_info **info) {
  k8sha_pointer_info_free(*info);
  *info = NULL;
  return k8sha_pointer_describe(value, info);
}

START_TEST(describe_values) {
  const k8sha_allocator *a = k8sha__default_allocator();
  k8sha__pointer p;
  k8sha_pointer_info *info = NULL;
  char *text, *marked, *host;
  /* a Java-serialized handle keeps its path as a plain string among binary bytes */
  static const unsigned char java[] = {0xac, 0xed, 0x00, 0x05, 0x74, 0x00, 0x2a, 's', '3', ':',
                                       '/', '/', 'b', '/', 'h', 'a', '/', 'c', 'o', 'm', 'p',
                                       'l', 'e', 't', 'e', 'd', 'C', 'h', 'e', 'c', 'k', 'p',
                                       'o', 'i', 'n', 't', 0x00, 0x01};

  memset(&p, 0, sizeof(p));
  snprintf(p.uri, sizeof(p.uri), "file:///ha/c1/completedCheckpoint0123456789ab");
  p.size = 42;
  p.crc = 0xdeadbeef;
  ck_assert_int_eq(k8sha__pointer_encode(a, &p, &text), 0);
  ck_assert_int_eq(describe(text, &info), 0);
  ck_assert_int_eq(info->compact, 1);
  ck_assert_int_eq(info->marked, 0);
  ck_assert_str_eq(info->uri, p.uri);
  ck_assert_uint_eq(info->size, 42);
  ck_assert_uint_eq(info->crc32c, 0xdeadbeef);

  marked = malloc(strlen(text) + 16);
  sprintf(marked, "deleting:%s", text);
  ck_assert_int_eq(describe(marked, &info), 0);
  ck_assert_int_eq(info->marked, 1);
  ck_assert_str_eq(info->uri, p.uri);
  marked[20] = marked[20] == 'A' ? 'B' : 'A'; /* damaged: refused, never a wrong blob */
  ck_assert_int_eq(describe(marked, &info), K8SHA_ECORRUPT);

  /* Java serialization that is not one of Flink's handles (a bare string, cut short) is
   * refused, never scanned for something that looks like a path. */
  ck_assert_int_eq(k8sha__base64_encode(a, java, sizeof(java), &host), 0);
  ck_assert_int_eq(describe(host, &info), K8SHA_ECORRUPT);
  ck_assert_msg(strstr(info->error, "Java serialization stream: truncated") != NULL, "%s", info->error);
  ck_assert_str_eq(info->uri, "");
  k8sha__free(a, host);
  /* Bytes in a form of the host's own: opaque, no blob. */
  ck_assert_int_eq(k8sha__base64_encode(a, (const unsigned char *)"host-bytes", 10, &host), 0);
  ck_assert_int_eq(describe(host, &info), 0);
  ck_assert_int_eq(info->format, K8SHA_POINTER_OPAQUE);
  ck_assert_int_eq(info->compact, 0);
  ck_assert_str_eq(info->uri, "");
  ck_assert_uint_eq(info->pointer_len, 10);

  ck_assert_int_eq(describe("not base64!", &info), K8SHA_ECORRUPT);
  ck_assert_int_eq(describe(NULL, &info), K8SHA_EINVAL);
  k8sha__free(a, text);
  k8sha__free(a, host);
  free(marked);
  k8sha_pointer_info_free(info); /* (NULL after the last call) */
}
END_TEST

int main(void) {
Suite *s = suite_create("pointer");
  TCase *tc = tcase_create("pointer");
  tcase_add_test(tc, crc32c_known_values);
  tcase_add_test(tc, round_trip_and_size);
  tcase_add_test(tc, damage_is_detected);
  tcase_add_test(tc, describe_values);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
