/* The readers of S3's and STS's XML answers: real answers (the shapes of AWS's documented
 * examples), what servers add, every refusal with its message, hostile XML, and allocation
 * failures. Each input is handed over in a buffer of its exact length, with no NUL after it, so
 * that valgrind sees any read past `len`. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8sha/errors.h"
#include "storage/s3_creds.h"
#include "storage/s3xml.h"
#include "testutil.h"

/* Allocation failures: while fail_at is set, the fail_at-th malloc or realloc of the process
 * fails. Defined here, they take the place of libc's for expat and the library too; not under a
 * sanitizer, whose allocator they would bypass. Valgrind puts its own in their place: the test
 * then sees no failure (injection_works() says so). */
static long fail_at, n_allocs;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define INJECT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                     \
    __has_feature(memory_sanitizer)
#define INJECT 0
#endif
#endif
#ifndef INJECT
extern void *__libc_malloc(size_t n);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n) {
  if (fail_at && ++n_allocs == fail_at)
    return NULL;
  return __libc_malloc(n);
}

void *realloc(void *p, size_t n) {
  if (fail_at && ++n_allocs == fail_at)
    return NULL;
  return __libc_realloc(p, n);
}
#endif

static int injection_works(void) {
  void *(*volatile call)(size_t) = malloc; /* not inlined: the call others make */
  void *p;
  n_allocs = 0;
  fail_at = 1;
  p = call(16);
  fail_at = 0;
  free(p);
  return p == NULL;
}

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"
#define HEAD XML_DECL "<ListBucketResult xmlns=\"" S3_NS "\">"
#define TAIL "</ListBucketResult>"
#define NOT_TRUNCATED "<IsTruncated>false</IsTruncated>"
/* A <Contents> as S3 writes it. */
#define CONTENTS(key)                                                                          \
  "<Contents><Key>" key "</Key><LastModified>2024-10-12T17:50:30.000Z</LastModified>"           \
  "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"               \
  "<StorageClass>STANDARD</StorageClass></Contents>"
#define LIST(body) HEAD "<Name>flink-ha</Name><Prefix>recovery/</Prefix><KeyCount>1</KeyCount>" \
  "<MaxKeys>1000</MaxKeys>" body TAIL

/* ListObjectsV2's first example: a page of keys, with the elements S3 writes around them. */
static const char page_doc[] =
    XML_DECL "<ListBucketResult xmlns=\"" S3_NS "\">\n"
    "  <Name>flink-ha</Name>\n  <Prefix>recovery/cluster1337/</Prefix>\n  <KeyCount>3</KeyCount>\n"
    "  <MaxKeys>1000</MaxKeys>\n  <IsTruncated>false</IsTruncated>\n"
    "  <Contents>\n    <Key>recovery/cluster1337/completedCheckpoint3f2a9c0b71de</Key>\n"
    "    <LastModified>2024-10-12T17:50:30.000Z</LastModified>\n"
    "    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
    "    <ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>\n"
    "    <ChecksumType>FULL_OBJECT</ChecksumType>\n"
    "    <Size>434234</Size>\n    <StorageClass>STANDARD</StorageClass>\n  </Contents>\n"
    "  <Contents>\n    <Key>recovery/cluster1337/submittedJobGraph0a1b2c3d4e5f</Key>\n"
    "    <LastModified>2024-10-12T17:51:02.000Z</LastModified>\n"
    "    <ETag>\"0b4b2e1f6c1e7e4e5a2e3c8f9d0a1b2c\"</ETag>\n    <Size>20831</Size>\n"
    "    <Owner>\n      <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>\n"
    "      <DisplayName>flink</DisplayName>\n    </Owner>\n"
    "    <StorageClass>STANDARD</StorageClass>\n  </Contents>\n"
    "  <Contents>\n    <Key>recovery/cluster1337/blob/job_0a1b/blob_p-7c4b &amp; co</Key>\n"
    "    <LastModified>2024-10-13T08:00:00.000Z</LastModified>\n"
    "    <ETag>\"7d2c1b0a99887766554433221100ffee-3\"</ETag>\n    <Size>15728640</Size>\n"
    "    <StorageClass>GLACIER</StorageClass>\n"
    "    <RestoreStatus>\n      <IsRestoreInProgress>false</IsRestoreInProgress>\n"
    "      <RestoreExpiryDate>2024-10-20T00:00:00.000Z</RestoreExpiryDate>\n"
    "    </RestoreStatus>\n  </Contents>\n"
    "</ListBucketResult>";

/* AssumeRoleWithWebIdentity's documented example, as an EKS service account gets it. */
static const char sts_doc[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>system:serviceaccount:flink:flink-jobmanager"
    "</SubjectFromWebIdentityToken>\n"
    "    <Audience>sts.amazonaws.com</Audience>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/FlinkHaRole/flink-session</Arn>\n"
    "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:flink-session</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <Expiration>2024-10-24T23:00:23Z</Expiration>\n"
    "      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <SourceIdentity>SourceIdentityValue</SourceIdentity>\n"
    "    <Provider>oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    "</Provider>\n"
    "    <PackedPolicySize>6</PackedPolicySize>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata>\n    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>";

static const char sts_error_doc[] =
    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidIdentityToken</Code>\n"
    "    <Message>No OpenIDConnect provider found in your account for "
    "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE</Message>\n"
    "  </Error>\n  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
    "</ErrorResponse>";

/* A copy of n bytes in a block of exactly that size (not NUL-terminated). */
static char *exact(const char *s, size_t n) {
  char *b = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(b);
  memcpy(b, s, n);
  return b;
}

static int list_n(const char *xml, size_t n, k8sha__s3_list_page *p, char *why, size_t why_len) {
  char *b = exact(xml, n);
  int rc;
  memset(p, 0x5a, sizeof(*p));
  why[0] = '\0';
  rc = k8sha__s3_parse_list(b, n, p, why, why_len);
  free(b);
  return rc;
}

static int list(const char *xml, k8sha__s3_list_page *p, char *why) {
  return list_n(xml, strlen(xml), p, why, 256);
}

static int sts(const char *xml, k8sha__sts_credentials *c, char *why) {
  char *b = exact(xml, strlen(xml));
  int rc;
  memset(c, 0x5a, sizeof(*c));
  why[0] = '\0';
  rc = k8sha__sts_parse_credentials(b, strlen(xml), c, why, 256);
  free(b);
  return rc;
}

static int error_doc(const char *xml, k8sha__s3_error *e) {
  char *b = exact(xml, strlen(xml));
  int rc;
  memset(e, 0x5a, sizeof(*e));
  rc = k8sha__s3_parse_error(b, strlen(xml), e);
  free(b);
  return rc;
}

static void assert_empty_page(const k8sha__s3_list_page *p) {
  ck_assert_ptr_null(p->keys);
  ck_assert_uint_eq(p->n_keys, 0);
  ck_assert_int_eq(p->truncated, 0);
  ck_assert_ptr_null(p->next_token);
}

#define expect_list_corrupt(xml, needle)                                                       \
  do {                                                                                         \
    k8sha__s3_list_page p_;                                                                    \
    char why_[256];                                                                            \
    ck_assert_int_eq(list((xml), &p_, why_), K8SHA_ECORRUPT);                                  \
    ck_assert_msg(strstr(why_, (needle)) != NULL, "expected '%s' in '%s'", (needle), why_);    \
    assert_empty_page(&p_);                                                                    \
  } while (0)

#define expect_sts_corrupt(xml, needle)                                                        \
  do {                                                                                         \
    k8sha__sts_credentials c_;                                                                 \
    char why_[256];                                                                            \
    ck_assert_int_eq(sts((xml), &c_, why_), K8SHA_ECORRUPT);                                   \
    ck_assert_msg(strstr(why_, (needle)) != NULL, "expected '%s' in '%s'", (needle), why_);    \
    ck_assert_str_eq(c_.access_key, "");                                                       \
    ck_assert_str_eq(c_.session_token, "");                                                    \
  } while (0)

/* A growing string for the large documents. */
typedef struct sbuf {
  char *s;
  size_t len, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static void add(sbuf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  ck_assert_int_ge(n, 0);
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = 2 * (b->len + (size_t)n + 1);
    b->s = realloc(b->s, b->cap);
    ck_assert_ptr_nonnull(b->s);
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* A list page whose one key is `n` times `unit`, with EncodingType url when `url`. */
static char *page_with_key(const char *unit, size_t n, int url) {
  sbuf b = {NULL, 0, 0};
  size_t i;
  add(&b, "%s<IsTruncated>false</IsTruncated>%s<Contents><Key>", HEAD,
      url ? "<EncodingType>url</EncodingType>" : "");
  for (i = 0; i < n; i++)
    add(&b, "%s", unit);
  add(&b, "</Key><Size>1</Size></Contents>%s", TAIL);
  return b.s;
}

START_TEST(page_of_keys) {
  k8sha__s3_list_page p;
  char why[256];
  ck_assert_int_eq(list(page_doc, &p, why), 0);
  ck_assert_uint_eq(p.n_keys, 3);
  ck_assert_str_eq(p.keys[0], "recovery/cluster1337/completedCheckpoint3f2a9c0b71de");
  ck_assert_str_eq(p.keys[1], "recovery/cluster1337/submittedJobGraph0a1b2c3d4e5f");
  ck_assert_str_eq(p.keys[2], "recovery/cluster1337/blob/job_0a1b/blob_p-7c4b & co");
  ck_assert_int_eq(p.truncated, 0);
  ck_assert_ptr_null(p.next_token);
  k8sha__s3_list_page_clear(&p);
  assert_empty_page(&p);
  k8sha__s3_list_page_clear(&p); /* twice is harmless */
}
END_TEST

START_TEST(empty_bucket) {
  k8sha__s3_list_page p;
  char why[256];
  ck_assert_int_eq(list(HEAD "<Name>flink-ha</Name><Prefix>recovery/cluster1337/</Prefix>"
                             "<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
                             "<IsTruncated>false</IsTruncated>" TAIL,
                        &p, why),
                   0);
  assert_empty_page(&p);
  /* the shortest form a server may write */
  ck_assert_int_eq(list("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
                        &p, why),
                   0);
  assert_empty_page(&p);
}
END_TEST

START_TEST(truncated_with_token) {
  k8sha__s3_list_page p;
  char why[256];
  static const char doc[] =
      HEAD "<Name>flink-ha</Name><Prefix>recovery/</Prefix>"
           "<ContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</ContinuationToken>"
           "<NextContinuationToken>1/5yG2tVSr+I6Yo2ij/sgbvFXRGJPTuJuUK5KgBhBtLEvUJWUHv4TjQ=="
           "</NextContinuationToken><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
           "<StartAfter>recovery/a</StartAfter><IsTruncated>true</IsTruncated>"
           CONTENTS("recovery/c1/completedCheckpoint000000000001")
           CONTENTS("recovery/c1/completedCheckpoint000000000002") TAIL;
  ck_assert_int_eq(list(doc, &p, why), 0);
  ck_assert_int_eq(p.truncated, 1);
  ck_assert_str_eq(p.next_token, "1/5yG2tVSr+I6Yo2ij/sgbvFXRGJPTuJuUK5KgBhBtLEvUJWUHv4TjQ==");
  ck_assert_uint_eq(p.n_keys, 2);
  ck_assert_str_eq(p.keys[1], "recovery/c1/completedCheckpoint000000000002");
  k8sha__s3_list_page_clear(&p);
  /* the token of a last page is of no use: not kept */
  ck_assert_int_eq(list(LIST("<NextContinuationToken>abc</NextContinuationToken>" NOT_TRUNCATED),
                        &p, why),
                   0);
  ck_assert_ptr_null(p.next_token);
}
END_TEST

START_TEST(url_encoded_keys) {
  k8sha__s3_list_page p;
  char why[256];
  /* The encoding AWS applies (measured): a space as '+', a '+' as %2B; EncodingType may come
   * after the keys. */
  static const char doc[] =
      LIST("<Delimiter>/</Delimiter>" NOT_TRUNCATED CONTENTS("a+b.txt") CONTENTS("a%2Bb.txt")
           CONTENTS("100%25.csv") CONTENTS("%ED%95%9C%EA%B8%80/x.txt")
           CONTENTS("line%0Abreak%09tab%2f")
           "<CommonPrefixes><Prefix>run+books/</Prefix></CommonPrefixes>"
           "<EncodingType>url</EncodingType>");
  ck_assert_int_eq(list(doc, &p, why), 0);
  ck_assert_uint_eq(p.n_keys, 5);
  ck_assert_str_eq(p.keys[0], "a b.txt");
  ck_assert_str_eq(p.keys[1], "a+b.txt");
  ck_assert_str_eq(p.keys[2], "100%.csv");
  ck_assert_str_eq(p.keys[3], "\xED\x95\x9C\xEA\xB8\x80/x.txt");
  ck_assert_str_eq(p.keys[4], "line\nbreak\ttab/");
  k8sha__s3_list_page_clear(&p);
  /* without EncodingType the same text is the key itself */
  ck_assert_int_eq(list(LIST(NOT_TRUNCATED CONTENTS("a+b%2B.txt")), &p, why), 0);
  ck_assert_str_eq(p.keys[0], "a+b%2B.txt");
  k8sha__s3_list_page_clear(&p);

#define URL(key) LIST("<EncodingType>url</EncodingType>" NOT_TRUNCATED CONTENTS("ok") CONTENTS(key))
  expect_list_corrupt(URL("a%G1"), "<Contents> number 2 has a <Key> that is not URL-encoded");
  expect_list_corrupt(URL("a%4"), "not URL-encoded");
  expect_list_corrupt(URL("a%"), "not URL-encoded");
  expect_list_corrupt(URL("a%00b"), "not URL-encoded"); /* a NUL would cut the key */
  expect_list_corrupt(URL("a%FFb"), "<Contents> number 2 has a <Key> that is not UTF-8");
  expect_list_corrupt(URL("%C0%AF"), "not UTF-8");       /* overlong '/' */
  expect_list_corrupt(URL("%ED%A0%80"), "not UTF-8");    /* a surrogate */
  expect_list_corrupt(LIST("<EncodingType>base64</EncodingType>" NOT_TRUNCATED),
                      "<EncodingType> is not url");
#undef URL
}
END_TEST

START_TEST(namespaces) {
  k8sha__s3_list_page p;
  char why[256];
  /* S3's namespace, none (some S3-compatible servers), AWS's older spelling without the '/' */
  static const char *const roots[] = {
      "<ListBucketResult xmlns=\"" S3_NS "\">", "<ListBucketResult>",
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01\">",
      "<ListBucketResult\n  xmlns='" S3_NS "'\n"
      "  xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'>"};
  size_t i;
  char doc[512];
  for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
    snprintf(doc, sizeof(doc), "%s" NOT_TRUNCATED CONTENTS("k") TAIL, roots[i]);
    ck_assert_msg(list(doc, &p, why) == 0, "%s: %s", roots[i], why);
    ck_assert_str_eq(p.keys[0], "k");
    k8sha__s3_list_page_clear(&p);
  }
  /* namespaces are off: a prefixed name is another name */
  expect_list_corrupt("<s3:ListBucketResult xmlns:s3=\"" S3_NS "\"><s3:IsTruncated>false"
                      "</s3:IsTruncated></s3:ListBucketResult>",
                      "the root element is <s3:ListBucketResult>, not <ListBucketResult>");
  expect_list_corrupt(HEAD "<IsTruncated>false</IsTruncated><Contents><Key a=\"1\">k</Key>"
                           "</Contents>" TAIL,
                      "unexpected attribute a on <Key>");
}
END_TEST

START_TEST(unknown_elements_skipped) {
  k8sha__s3_list_page p;
  char why[256];
  ck_assert_int_eq(
      list(XML_DECL "<!-- a comment --><?pi ignored?>"
                    "<ListBucketResult xmlns=\"" S3_NS "\">"
                    "<RequestCharged>requester</RequestCharged><Future attr=\"x\"><Nested>"
                    "<Deeper>text <b>bold</b></Deeper><Key>not a key</Key>"
                    "</Nested></Future>" NOT_TRUNCATED
                    "<Contents><Key><![CDATA[a<b>&c]]></Key><UserMetadata><X-Amz-Meta-Job>wc"
                    "</X-Amz-Meta-Job></UserMetadata><Owner><ID>id</ID></Owner>"
                    "<TransitionDate>2024-01-01</TransitionDate><Contents><Key>x</Key></Contents>"
                    "<RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress><Future/>"
                    "</RestoreStatus><ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
                    "<ChecksumAlgorithm>SHA256</ChecksumAlgorithm></Contents>"
                    "<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"
                    "<CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes>" TAIL,
           &p, why),
      0);
  ck_assert_uint_eq(p.n_keys, 1);
  ck_assert_str_eq(p.keys[0], "a<b>&c");
  k8sha__s3_list_page_clear(&p);
}
END_TEST

START_TEST(list_refusals) {
  k8sha__s3_list_page p;
  char why[256];
  expect_list_corrupt(LIST(NOT_TRUNCATED CONTENTS("a") CONTENTS("b")
                               "<Contents><Size>1</Size></Contents>"),
                      "S3 list answer: <Contents> number 3 has no <Key>");
  expect_list_corrupt(LIST(NOT_TRUNCATED "<Contents><Key>a</Key><Key>b</Key></Contents>"),
                      "<Contents> number 1 has more than one <Key>");
  expect_list_corrupt(LIST(NOT_TRUNCATED CONTENTS("a") "<Contents><Key></Key></Contents>"),
                      "<Contents> number 2 has an empty <Key>");
  expect_list_corrupt(LIST(NOT_TRUNCATED CONTENTS("a")) "<ListBucketResult/>",
                      "junk after document element");
  expect_list_corrupt(XML_DECL "<Error><Code>AccessDenied</Code></Error>",
                      "the root element is <Error>, not <ListBucketResult>");
  expect_list_corrupt(LIST("<IsTruncated>yes</IsTruncated>"), "<IsTruncated> is neither");
  expect_list_corrupt(LIST("<IsTruncated>True</IsTruncated>"), "<IsTruncated> is neither");
  expect_list_corrupt(LIST("<IsTruncated>falsehood</IsTruncated>"), "<IsTruncated> is neither");
  expect_list_corrupt(LIST("<IsTruncated></IsTruncated>"), "<IsTruncated> is neither");
  expect_list_corrupt(LIST(CONTENTS("a")), "<ListBucketResult> has no <IsTruncated>");
  expect_list_corrupt(LIST(NOT_TRUNCATED NOT_TRUNCATED),
                      "<ListBucketResult> has more than one <IsTruncated>");
  expect_list_corrupt(LIST("<IsTruncated>true</IsTruncated>" CONTENTS("a")),
                      "truncated page without <NextContinuationToken>");
  expect_list_corrupt(LIST("<IsTruncated>true</IsTruncated><NextContinuationToken>"
                           "</NextContinuationToken>"),
                      "truncated page without <NextContinuationToken>");
  expect_list_corrupt(LIST("stray" NOT_TRUNCATED),
                      "text where an element is expected in <ListBucketResult>");
  expect_list_corrupt(LIST(NOT_TRUNCATED CONTENTS("a") "<Contents> <Key>b</Key>x</Contents>"),
                      "text where an element is expected in <Contents> number 2");
  expect_list_corrupt(LIST(NOT_TRUNCATED "<Contents><Key>a<b/>c</Key></Contents>"),
                      "unexpected <b> in <Key>");
  expect_list_corrupt(LIST(NOT_TRUNCATED "<Contents><Key>a</Key><Owner><Email>x</Email></Owner>"
                                         "</Contents>"),
                      "unexpected <Email> in <Owner>");
  expect_list_corrupt(LIST(NOT_TRUNCATED "<CommonPrefixes><Key>a</Key></CommonPrefixes>"),
                      "unexpected <Key> in <CommonPrefixes>");
  /* whitespace between elements is fine, also inside Contents */
  ck_assert_int_eq(
      list(LIST("\n\t " NOT_TRUNCATED "<Contents>\r\n<Key>a</Key> </Contents>"), &p, why), 0);
  k8sha__s3_list_page_clear(&p);
}
END_TEST

START_TEST(depth_and_count_limits) {
  k8sha__s3_list_page p;
  char why[256];
  sbuf b = {NULL, 0, 0};
  int i;
  /* 16 levels deep (ListBucketResult and 15 unknown ones): fine; 17: refused */
  add(&b, "%s%s", HEAD, NOT_TRUNCATED);
  for (i = 0; i < 15; i++)
    add(&b, "<F%d>", i);
  for (i = 14; i >= 0; i--)
    add(&b, "</F%d>", i);
  add(&b, "%s", TAIL);
  ck_assert_int_eq(list(b.s, &p, why), 0);
  b.len = 0;
  add(&b, "%s%s", HEAD, NOT_TRUNCATED);
  for (i = 0; i < 16; i++)
    add(&b, "<F%d>", i);
  for (i = 15; i >= 0; i--)
    add(&b, "</F%d>", i);
  add(&b, "%s", TAIL);
  expect_list_corrupt(b.s, "elements nested deeper than 16");
  /* 10000 keys on a page: read; 10001: refused */
  b.len = 0;
  add(&b, "%s%s", HEAD, NOT_TRUNCATED);
  for (i = 0; i < 10000; i++)
    add(&b, "<Contents><Key>k%05d</Key></Contents>", i);
  add(&b, "%s", TAIL);
  ck_assert_int_eq(list(b.s, &p, why), 0);
  ck_assert_uint_eq(p.n_keys, 10000);
  ck_assert_str_eq(p.keys[9999], "k09999");
  k8sha__s3_list_page_clear(&p);
  b.len -= strlen(TAIL);
  add(&b, "<Contents><Key>one-more</Key></Contents>%s", TAIL);
  expect_list_corrupt(b.s, "more than 10000 <Contents>");
  free(b.s);
}
END_TEST

START_TEST(key_length_limit) {
  k8sha__s3_list_page p;
  char why[256], *doc;
  /* K8SHA__S3_KEY_MAX bytes: read; one more: refused; the same in 2-byte characters */
  doc = page_with_key("k", K8SHA__S3_KEY_MAX, 0);
  ck_assert_int_eq(list(doc, &p, why), 0);
  ck_assert_uint_eq(strlen(p.keys[0]), K8SHA__S3_KEY_MAX);
  k8sha__s3_list_page_clear(&p);
  free(doc);
  doc = page_with_key("k", K8SHA__S3_KEY_MAX + 1, 0);
  expect_list_corrupt(doc, "<Contents> number 1 has a <Key> longer than 1024 bytes");
  free(doc);
  doc = page_with_key("\xC3\xA9", K8SHA__S3_KEY_MAX / 2, 0);
  ck_assert_int_eq(list(doc, &p, why), 0);
  ck_assert_uint_eq(strlen(p.keys[0]), K8SHA__S3_KEY_MAX);
  k8sha__s3_list_page_clear(&p);
  free(doc);
  /* URL-encoded: the limit is on the key, not on its encoding */
  doc = page_with_key("%2F", K8SHA__S3_KEY_MAX, 1);
  ck_assert_int_eq(list(doc, &p, why), 0);
  ck_assert_uint_eq(strlen(p.keys[0]), K8SHA__S3_KEY_MAX);
  ck_assert_int_eq(p.keys[0][K8SHA__S3_KEY_MAX - 1], '/');
  k8sha__s3_list_page_clear(&p);
  free(doc);
  doc = page_with_key("%2F", K8SHA__S3_KEY_MAX + 1, 1);
  expect_list_corrupt(doc, "longer than 1024 bytes");
  free(doc);
  doc = page_with_key("k", 2 * K8SHA__S3_KEY_MAX, 1);
  expect_list_corrupt(doc, "longer than 1024 bytes");
  free(doc);
}
END_TEST

START_TEST(hostile_xml) {
  k8sha__s3_error e;
  static const char laughs[] =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE ListBucketResult [\n <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
      " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
      "]>\n<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&lol4;</Key>"
      "</Contents></ListBucketResult>";
  static const char xxe[] =
      "<?xml version=\"1.0\"?><!DOCTYPE Error [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
      "<Error><Code>&xxe;</Code></Error>";
  static const char public_dtd[] =
      "<!DOCTYPE AssumeRoleWithWebIdentityResponse SYSTEM \"http://example.com/sts.dtd\">"
      "<AssumeRoleWithWebIdentityResponse/>";
  expect_list_corrupt(laughs, "S3 list answer: DOCTYPE not allowed");
  expect_list_corrupt(xxe, "DOCTYPE not allowed");
  expect_sts_corrupt(public_dtd, "STS answer: DOCTYPE not allowed");
  ck_assert_int_eq(error_doc(xxe, &e), K8SHA_ECORRUPT);
  ck_assert_str_eq(e.code, "");
  /* an entity no DTD declared */
  expect_list_corrupt(LIST(NOT_TRUNCATED CONTENTS("&xxe;")), "undefined entity");
  /* character references are XML's own: fine, but NUL is not a character */
  expect_list_corrupt(LIST(NOT_TRUNCATED CONTENTS("a&#0;b")), "not well-formed XML");
}
END_TEST

START_TEST(cut_short_and_not_xml) {
  k8sha__s3_list_page p;
  k8sha__sts_credentials c;
  k8sha__s3_error e;
  char why[256];
  size_t n;
  /* every prefix of an answer is refused (and read within its length: valgrind watches) */
  for (n = 0; n < sizeof(page_doc) - 1; n++) {
    ck_assert_msg(list_n(page_doc, n, &p, why, sizeof(why)) == K8SHA_ECORRUPT, "%zu bytes", n);
    assert_empty_page(&p);
    ck_assert_msg(strstr(why, "S3 list answer: ") == why, "%s", why);
  }
  ck_assert_int_eq(list_n(page_doc, sizeof(page_doc) - 1, &p, why, sizeof(why)), 0);
  k8sha__s3_list_page_clear(&p);
  for (n = 0; n < sizeof(sts_doc) - 1; n += 7) {
    char *b = exact(sts_doc, n);
    ck_assert_int_eq(k8sha__sts_parse_credentials(b, n, &c, why, sizeof(why)), K8SHA_ECORRUPT);
    free(b);
  }
  expect_list_corrupt(XML_DECL "<ListBucketResult><IsTruncated>false</IsTruncated>",
                      "not well-formed XML: no element found");
  expect_list_corrupt("", "not well-formed XML");
  expect_list_corrupt("{\"Contents\": [{\"Key\": \"a\"}]}", "not well-formed XML");
  expect_list_corrupt("HTTP/1.1 503 Slow Down\r\n\r\n", "not well-formed XML");
  expect_list_corrupt("<html><body>Bad Gateway</body></html>", "the root element is <html>");
  ck_assert_int_eq(error_doc("<html>503</html>", &e), K8SHA_ECORRUPT);
  ck_assert_int_eq(error_doc("", &e), K8SHA_ECORRUPT);
  {
    static const char binary[] = {'<', 'E', 'r', 'r', 'o', 'r', '>', 0, (char)0xff, '<', '/'};
    char *b = exact(binary, sizeof(binary));
    ck_assert_int_eq(k8sha__s3_parse_error(b, sizeof(binary), &e), K8SHA_ECORRUPT);
    ck_assert_int_eq(k8sha__s3_parse_list(b, sizeof(binary), &p, why, sizeof(why)), K8SHA_ECORRUPT);
    free(b);
  }
  /* a NULL or tiny `why` is fine */
  ck_assert_int_eq(k8sha__s3_parse_list("x", 1, &p, NULL, 0), K8SHA_ECORRUPT);
  ck_assert_int_eq(k8sha__s3_parse_list("x", 1, &p, why, 4), K8SHA_ECORRUPT);
  ck_assert_str_eq(why, "S3 ");
}
END_TEST

START_TEST(error_answers) {
  k8sha__s3_error e;
  sbuf b = {NULL, 0, 0};
  int i;
  /* the documented sample, and what S3 adds to it */
  ck_assert_int_eq(error_doc(XML_DECL "<Error>\n  <Code>NoSuchKey</Code>\n"
                             "  <Message>The resource you requested does not exist</Message>\n"
                             "  <Resource>/mybucket/myfoto.jpg</Resource>\n"
                             "  <RequestId>4442587FB7D0A2F9</RequestId>\n</Error>",
                             &e),
                   0);
  ck_assert_str_eq(e.code, "NoSuchKey");
  ck_assert_str_eq(e.message, "The resource you requested does not exist");
  ck_assert_int_eq(
      error_doc("<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist"
                "</Message><BucketName>flink-ha</BucketName><Key>a/b</Key>"
                "<RequestId>4442587FB7D0A2F9</RequestId>"
                "<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>"
                "<Details><Nested>x</Nested></Details></Error>",
                &e),
      0);
  ck_assert_str_eq(e.code, "NoSuchBucket");
  ck_assert_int_eq(error_doc("<Error><Code>SlowDown</Code></Error>", &e), 0);
  ck_assert_str_eq(e.message, "");
  /* STS's error document */
  ck_assert_int_eq(error_doc(sts_error_doc, &e), 0);
  ck_assert_str_eq(e.code, "InvalidIdentityToken");
  ck_assert_ptr_nonnull(strstr(e.message, "No OpenIDConnect provider found"));
  /* a long message is cut where a character starts */
  add(&b, "<Error><Code>InternalError</Code><Message>");
  for (i = 0; i < 200; i++)
    add(&b, "\xC3\xA9");
  add(&b, "</Message></Error>");
  ck_assert_int_eq(error_doc(b.s, &e), 0);
  ck_assert_uint_eq(strlen(e.message), 254);
  ck_assert_str_eq(e.message + 252, "\xC3\xA9");
  free(b.s);
  /* refused: no Code, an empty one, two, the wrong root, STS's shape broken */
  ck_assert_int_eq(error_doc("<Error><Message>m</Message></Error>", &e), K8SHA_ECORRUPT);
  ck_assert_str_eq(e.code, "");
  ck_assert_str_eq(e.message, "");
  ck_assert_int_eq(error_doc("<Error><Code></Code></Error>", &e), K8SHA_ECORRUPT);
  ck_assert_int_eq(error_doc("<Error><Code>A</Code><Code>B</Code></Error>", &e), K8SHA_ECORRUPT);
  ck_assert_int_eq(error_doc(page_doc, &e), K8SHA_ECORRUPT);
  ck_assert_int_eq(error_doc("<ErrorResponse><RequestId>r</RequestId></ErrorResponse>", &e),
                   K8SHA_ECORRUPT);
  ck_assert_int_eq(error_doc("<ErrorResponse><Error><Code>X</Code></Error><Other/></ErrorResponse>",
                             &e),
                   K8SHA_ECORRUPT);
  ck_assert_int_eq(error_doc("<Error>text<Code>X</Code></Error>", &e), K8SHA_ECORRUPT);
}
END_TEST

START_TEST(sts_credentials) {
  k8sha__sts_credentials c;
  char why[256];
  sbuf b = {NULL, 0, 0};
  int i;
  ck_assert_int_eq(sts(sts_doc, &c, why), 0);
  ck_assert_str_eq(c.access_key, "ASgeIAIOSFODNN7EXAMPLE");
  ck_assert_str_eq(c.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  ck_assert_str_eq(c.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
  ck_assert_str_eq(c.expiration, "2024-10-24T23:00:23Z");

#define STS(creds, extra)                                                                      \
  "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>" creds    \
  "</Credentials>" extra "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
#define AK "<AccessKeyId>AK</AccessKeyId>"
#define SK "<SecretAccessKey>SK</SecretAccessKey>"
#define TOK "<SessionToken>TOK</SessionToken>"
#define EXP "<Expiration>2024-10-24T23:00:23Z</Expiration>"
  /* a field STS may add to the result or the credentials is skipped */
  ck_assert_int_eq(sts(STS(AK SK TOK EXP "<AccountId>123456789012</AccountId>",
                           "<NewThing><Deep>x</Deep></NewThing>"),
                       &c, why),
                   0);
  ck_assert_str_eq(c.session_token, "TOK");
  expect_sts_corrupt(STS(AK SK EXP, ""), "STS answer: <Credentials> has no <SessionToken>");
  expect_sts_corrupt(STS(SK TOK EXP, ""), "<Credentials> has no <AccessKeyId>");
  expect_sts_corrupt(STS(AK SK TOK, ""), "<Credentials> has no <Expiration>");
  expect_sts_corrupt(STS(AK "<SecretAccessKey/>" TOK EXP, ""),
                     "<Credentials> has an empty <SecretAccessKey>");
  expect_sts_corrupt(STS(AK SK TOK EXP AK, ""), "<Credentials> has more than one <AccessKeyId>");
  expect_sts_corrupt("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                     "<Provider>p</Provider></AssumeRoleWithWebIdentityResult>"
                     "</AssumeRoleWithWebIdentityResponse>",
                     "<AssumeRoleWithWebIdentityResult> has no <Credentials>");
  expect_sts_corrupt("<AssumeRoleWithWebIdentityResponse><ResponseMetadata/>"
                     "</AssumeRoleWithWebIdentityResponse>",
                     "<AssumeRoleWithWebIdentityResponse> has no "
                     "<AssumeRoleWithWebIdentityResult>");
  expect_sts_corrupt("<AssumeRoleWithWebIdentityResponse><Other/>"
                     "</AssumeRoleWithWebIdentityResponse>",
                     "unexpected <Other> in <AssumeRoleWithWebIdentityResponse>");
  expect_sts_corrupt(sts_error_doc,
                     "the root element is <ErrorResponse>, not "
                     "<AssumeRoleWithWebIdentityResponse>");
  expect_sts_corrupt(page_doc, "the root element is <ListBucketResult>");
  /* the session token fills its buffer at most */
  for (i = 0; i < 2; i++) {
    size_t len = sizeof(c.session_token) - 1 + (size_t)i, j;
    b.len = 0;
    add(&b, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
            AK SK EXP "<SessionToken>");
    for (j = 0; j < len; j++)
      add(&b, "%c", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[j % 26]);
    add(&b, "</SessionToken></Credentials></AssumeRoleWithWebIdentityResult>"
            "</AssumeRoleWithWebIdentityResponse>");
    if (i == 0) {
      ck_assert_int_eq(sts(b.s, &c, why), 0);
      ck_assert_uint_eq(strlen(c.session_token), len);
    } else {
      expect_sts_corrupt(b.s, "<SessionToken> longer than 4095 bytes");
    }
  }
  free(b.s);
#undef STS
}
END_TEST

/* Every allocation failing in turn: K8SHA_ENOMEM and nothing left (valgrind sees the leaks), or
 * success once the allocations run out. */
START_TEST(allocation_failures) {
  k8sha__s3_list_page p;
  k8sha__s3_error e;
  k8sha__sts_credentials c;
  char why[256], *doc = exact(page_doc, sizeof(page_doc) - 1);
  long n;
  int rc, done = 0, nomem = 0;
  for (n = 1; !done && n < 1000; n++) {
    n_allocs = 0;
    fail_at = n;
    rc = k8sha__s3_parse_list(doc, sizeof(page_doc) - 1, &p, why, sizeof(why));
    fail_at = 0;
    ck_assert_msg(rc == 0 || rc == K8SHA_ENOMEM, "allocation %ld: %d %s", n, rc, why);
    if (rc == 0) {
      ck_assert_uint_eq(p.n_keys, 3);
      k8sha__s3_list_page_clear(&p);
      done = n_allocs < n;
    } else {
      assert_empty_page(&p);
      nomem++;
    }
  }
  ck_assert_int_eq(done, 1);
  if (injection_works())
    ck_assert_int_gt(nomem, 5); /* expat's and the keys' allocations */
  free(doc);
  doc = exact(sts_doc, sizeof(sts_doc) - 1);
  for (done = 0, n = 1; !done && n < 1000; n++) {
    n_allocs = 0;
    fail_at = n;
    rc = k8sha__sts_parse_credentials(doc, sizeof(sts_doc) - 1, &c, why, sizeof(why));
    fail_at = 0;
    ck_assert_msg(rc == 0 || rc == K8SHA_ENOMEM, "allocation %ld: %d %s", n, rc, why);
    done = rc == 0 && n_allocs < n;
  }
  ck_assert_int_eq(done, 1);
  free(doc);
  doc = exact(sts_error_doc, sizeof(sts_error_doc) - 1);
  for (done = 0, n = 1; !done && n < 1000; n++) {
    n_allocs = 0;
    fail_at = n;
    rc = k8sha__s3_parse_error(doc, sizeof(sts_error_doc) - 1, &e);
    fail_at = 0;
    ck_assert_int_eq(rc == 0 || rc == K8SHA_ENOMEM, 1);
    ck_assert_int_eq(rc == 0, e.code[0] != '\0');
    done = rc == 0 && n_allocs < n;
  }
  ck_assert_int_eq(done, 1);
  free(doc);
}
END_TEST

/* The expiry times STS and the metadata services write. */
START_TEST(expiration_times) {
  ck_assert_int_eq((long)k8sha__s3_parse_time("1970-01-01T00:00:00Z"), 0);
  ck_assert_int_eq((long)k8sha__s3_parse_time("2026-12-07T08:35:29Z"), 1796632529L);
  ck_assert_int_eq((long)k8sha__s3_parse_time("2026-12-07T08:35:29.507661Z"), 1796632529L);
  ck_assert_int_eq((long)k8sha__s3_parse_time("2026-12-07T08:35:29+00:00"), 1796632529L);
  ck_assert_int_eq((long)k8sha__s3_parse_time("2026-12-07T08:35:29"), -1);
  ck_assert_int_eq((long)k8sha__s3_parse_time("2026-12-07 08:35:29Z"), -1);
  ck_assert_int_eq((long)k8sha__s3_parse_time("2026-13-07T08:35:29Z"), -1);
  ck_assert_int_eq((long)k8sha__s3_parse_time("2026-12-07T08:35:29Zjunk"), -1);
  ck_assert_int_eq((long)k8sha__s3_parse_time(""), -1);
  ck_assert_int_eq((long)k8sha__s3_parse_time(NULL), -1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("s3xml");
  TCase *tc = tcase_create("s3xml");
  tcase_add_test(tc, page_of_keys);
  tcase_add_test(tc, empty_bucket);
  tcase_add_test(tc, truncated_with_token);
  tcase_add_test(tc, url_encoded_keys);
  tcase_add_test(tc, namespaces);
  tcase_add_test(tc, unknown_elements_skipped);
  tcase_add_test(tc, list_refusals);
  tcase_add_test(tc, depth_and_count_limits);
  tcase_add_test(tc, key_length_limit);
  tcase_add_test(tc, hostile_xml);
  tcase_add_test(tc, cut_short_and_not_xml);
  tcase_add_test(tc, error_answers);
  tcase_add_test(tc, sts_credentials);
  tcase_add_test(tc, allocation_failures);
  tcase_add_test(tc, expiration_times);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
