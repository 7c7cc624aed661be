/* The SigV4 signer against AWS's published vectors. Every expected signature, canonical request
 * and request hash below is AWS's, none computed here:
 *  - Amazon S3 API Reference, "Signature Calculations for the Authorization Header: Transferring
 *    Payload in a Single Chunk (AWS Signature Version 4)", section "Examples: Signature
 *    Calculations": GET Object, PUT Object, GET Bucket Lifecycle and Get Bucket (List Objects)
 *    (access key AKIAIOSFODNN7EXAMPLE, 20130524T000000Z, us-east-1, examplebucket). The page
 *    shows each canonical request, the hash ending its StringToSign (the canonical request's
 *    SHA-256), and the signature.
 *  - AWS's Signature Version 4 test suite (the "aws-signing-test-suite/v4" cases published with
 *    AWS's C signing library, aws-c-auth; service "service", host example.amazonaws.com,
 *    20150830T123600Z): the header-signed cases whose canonical path is the raw path encoded
 *    once, as S3 wants (the suite's get-utf8 and get-space-unnormalized paths are raw, so one
 *    encoding is what the suite itself shows).
 * The other expected strings (encodings, trimming, limits) follow from the encoding rules alone,
 * and carry no signature. */
#include <stdio.h>
#include <string.h>

#include "storage/sigv4.h"
#include "testutil.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- helpers ---- */

/* Canonical request and Authorization of `r` (the case `what`), checked against AWS's values.
 * creq_hash (the StringToSign's last line) is skipped when NULL. */
static void expect_signed(const char *what, const k8sha__sigv4_request *r, const char *creq,
                          const char *creq_hash, const char *signed_headers,
                          const char *signature) {
  char got[4096], hash[65], want[1024];
  ck_assert_msg(k8sha__sigv4_canonical_request(r, got, sizeof(got)) == 0, "%s", what);
  ck_assert_msg(strcmp(got, creq) == 0, "%s: canonical request\n%s\nwanted\n%s", what, got, creq);
  if (creq_hash) {
    k8sha__sha256_hex(got, strlen(got), hash);
    ck_assert_str_eq(hash, creq_hash);
  }
  snprintf(want, sizeof(want),
           "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
           "Signature=%s",
           r->access_key, r->amz_date, r->region, r->service, signed_headers, signature);
  ck_assert_msg(k8sha__sigv4_authorization(r, got, sizeof(got)) == 0, "%s", what);
  ck_assert_msg(strcmp(got, want) == 0, "%s: Authorization\n%s\nwanted\n%s", what, got, want);
}

static k8sha__sigv4_request s3_example(const char *method, const char *path) {
  k8sha__sigv4_request r;
  memset(&r, 0, sizeof(r));
  r.method = method;
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = path;
  r.payload_sha256 = EMPTY_SHA256;
  r.region = "us-east-1";
  r.service = "s3";
  r.access_key = "AKIAIOSFODNN7EXAMPLE";
  r.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  r.amz_date = "20130524T000000Z";
  return r;
}

/* ---- hashing ---- */

START_TEST(sha256_hex_known_values) {
  char h[65];
  k8sha__sha256_hex("", 0, h);
  ck_assert_str_eq(h, EMPTY_SHA256);
  /* the PUT Object example's body and its x-amz-content-sha256 */
  k8sha__sha256_hex("Welcome to Amazon S3.", 21, h);
  ck_assert_str_eq(h, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  /* the test suite's post-x-www-form-urlencoded body */
  k8sha__sha256_hex("Param1=value1", 13, h);
  ck_assert_str_eq(h, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}
END_TEST

/* ---- the S3 page's four examples ----
 * The page writes its Authorization headers without a space after the commas; S3 takes both
 * forms, and the signer writes ", " as the test suite does. Credential, SignedHeaders and
 * Signature are the page's. */

START_TEST(s3_get_object) {
  const k8sha__sigv4_pair h[] = {
      {"Range", "bytes=0-9"},
      {"x-amz-content-sha256", EMPTY_SHA256},
      {"x-amz-date", "20130524T000000Z"},
  };
  k8sha__sigv4_request r = s3_example("GET", "/test.txt");
  r.headers = h;
  r.n_headers = 3;
  expect_signed(__func__, &r,
                "GET\n"
                "/test.txt\n"
                "\n"
                "host:examplebucket.s3.amazonaws.com\n"
                "range:bytes=0-9\n"
                "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                "x-amz-date:20130524T000000Z\n"
                "\n"
                "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
                "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
                "host;range;x-amz-content-sha256;x-amz-date",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}
END_TEST

START_TEST(s3_put_object) {
#define BODY_SHA256 "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
  /* in the request's order, not the canonical one */
  const k8sha__sigv4_pair h[] = {
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"x-amz-date", "20130524T000000Z"},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"x-amz-content-sha256", BODY_SHA256},
  };
  k8sha__sigv4_request r = s3_example("PUT", "/test$file.text");
  r.headers = h;
  r.n_headers = 4;
  r.payload_sha256 = BODY_SHA256;
  expect_signed(__func__, &r,
                "PUT\n"
                "/test%24file.text\n"
                "\n"
                "date:Fri, 24 May 2013 00:00:00 GMT\n"
                "host:examplebucket.s3.amazonaws.com\n"
                "x-amz-content-sha256:" BODY_SHA256 "\n"
                "x-amz-date:20130524T000000Z\n"
                "x-amz-storage-class:REDUCED_REDUNDANCY\n"
                "\n"
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n" BODY_SHA256,
                "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
#undef BODY_SHA256
}
END_TEST

START_TEST(s3_get_bucket_lifecycle) {
  const k8sha__sigv4_pair q[] = {{"lifecycle", ""}};
  const k8sha__sigv4_pair h[] = {
      {"x-amz-date", "20130524T000000Z"},
      {"x-amz-content-sha256", EMPTY_SHA256},
  };
  k8sha__sigv4_request r = s3_example("GET", "/");
  r.query = q;
  r.n_query = 1;
  r.headers = h;
  r.n_headers = 2;
  expect_signed(__func__, &r,
                "GET\n"
                "/\n"
                "lifecycle=\n"
                "host:examplebucket.s3.amazonaws.com\n"
                "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                "x-amz-date:20130524T000000Z\n"
                "\n"
                "host;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
                "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
                "host;x-amz-content-sha256;x-amz-date",
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}
END_TEST

START_TEST(s3_list_objects) {
  /* given out of order: the signer sorts them */
  const k8sha__sigv4_pair q[] = {{"prefix", "J"}, {"max-keys", "2"}};
  const k8sha__sigv4_pair h[] = {
      {"X-Amz-Date", "20130524T000000Z"},
      {"X-Amz-Content-SHA256", EMPTY_SHA256},
  };
  k8sha__sigv4_request r = s3_example("GET", "/");
  char qs[64];
  r.query = q;
  r.n_query = 2;
  r.headers = h;
  r.n_headers = 2;
  expect_signed(__func__, &r,
                "GET\n"
                "/\n"
                "max-keys=2&prefix=J\n"
                "host:examplebucket.s3.amazonaws.com\n"
                "x-amz-content-sha256:" EMPTY_SHA256 "\n"
                "x-amz-date:20130524T000000Z\n"
                "\n"
                "host;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
                "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
                "host;x-amz-content-sha256;x-amz-date",
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  /* the URL's query is the signed one */
  ck_assert_int_eq(k8sha__sigv4_query(q, 2, qs, sizeof(qs)), 0);
  ck_assert_str_eq(qs, "max-keys=2&prefix=J");
}
END_TEST

/* ---- the SigV4 test suite ---- */

#define DATE_2015 {"X-Amz-Date", "20150830T123600Z"}
#define UNRESERVED "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define UTF8_CHAR "\xE1\x88\xB4" /* U+1234 */
#define SUITE_CREQ_TAIL(sh) "\n" sh "\n" EMPTY_SHA256

typedef struct suite_case {
  const char *name, *method, *path;
  k8sha__sigv4_pair query[3];
  size_t n_query;
  k8sha__sigv4_pair headers[5];
  size_t n_headers;
  const char *payload_sha256, *creq, *signed_headers, *signature;
} suite_case;

static const suite_case suite[] = {
    {"get-vanilla", "GET", "/", {{0}}, 0, {DATE_2015}, 1, EMPTY_SHA256,
     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
     SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case", "GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}},
     2, {DATE_2015}, 1, EMPTY_SHA256,
     "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n" SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    /* sorted by the encoded names: "%E1..." before "Param", "Param" before "Param-3" */
    {"get-vanilla-query-order-encoded", "GET", "/",
     {{"Param-3", "Value3"}, {"Param", "Value2"}, {UTF8_CHAR, "Value1"}}, 3, {DATE_2015}, 1,
     EMPTY_SHA256,
     "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n" SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
    {"get-vanilla-utf8-query", "GET", "/", {{UTF8_CHAR, "bar"}}, 1, {DATE_2015}, 1, EMPTY_SHA256,
     "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
     SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-vanilla-query-unreserved", "GET", "/", {{UNRESERVED, UNRESERVED}}, 1, {DATE_2015}, 1,
     EMPTY_SHA256,
     "GET\n/\n" UNRESERVED "=" UNRESERVED "\nhost:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n" SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-unreserved", "GET", "/" UNRESERVED, {{0}}, 0, {DATE_2015}, 1, EMPTY_SHA256,
     "GET\n/" UNRESERVED "\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
     SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8", "GET", "/" UTF8_CHAR, {{0}}, 0, {DATE_2015}, 1, EMPTY_SHA256,
     "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
     SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-space-unnormalized", "GET", "/example space/", {{0}}, 0, {DATE_2015}, 1, EMPTY_SHA256,
     "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
     SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    /* the values as they follow "Name:" on the wire */
    {"get-header-value-trim", "GET", "/", {{0}}, 0,
     {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}, DATE_2015}, 3, EMPTY_SHA256,
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
     "x-amz-date:20150830T123600Z\n" SUITE_CREQ_TAIL("host;my-header1;my-header2;x-amz-date"),
     "host;my-header1;my-header2;x-amz-date",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    /* a repeated name: one line, its values joined in the order sent */
    {"get-header-key-duplicate", "GET", "/", {{0}}, 0,
     {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}, DATE_2015}, 4,
     EMPTY_SHA256,
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
     "x-amz-date:20150830T123600Z\n" SUITE_CREQ_TAIL("host;my-header1;x-amz-date"),
     "host;my-header1;x-amz-date",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-order", "GET", "/", {{0}}, 0,
     {{"My-Header1", "value4"},
      {"My-Header1", "value1"},
      {"My-Header1", "value3"},
      {"My-Header1", "value2"},
      DATE_2015},
     5, EMPTY_SHA256,
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
     "x-amz-date:20150830T123600Z\n" SUITE_CREQ_TAIL("host;my-header1;x-amz-date"),
     "host;my-header1;x-amz-date",
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
    {"get-header-value-multiline", "GET", "/", {{0}}, 0,
     {{"My-Header1", "value1\n  value2\n     value3"}, DATE_2015}, 2, EMPTY_SHA256,
     "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1 value2 value3\n"
     "x-amz-date:20150830T123600Z\n" SUITE_CREQ_TAIL("host;my-header1;x-amz-date"),
     "host;my-header1;x-amz-date",
     "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd"},
    {"get-vanilla-with-session-token", "GET", "/", {{0}}, 0,
     {{"X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"},
      DATE_2015},
     2, EMPTY_SHA256,
     "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
     "x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n"
     SUITE_CREQ_TAIL("host;x-amz-date;x-amz-security-token"),
     "host;x-amz-date;x-amz-security-token",
     "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
    {"post-vanilla-query", "POST", "/", {{"Param1", "value1"}}, 1, {DATE_2015}, 1, EMPTY_SHA256,
     "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
     SUITE_CREQ_TAIL("host;x-amz-date"),
     "host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-header-value-case", "POST", "/", {{0}}, 0, {{"My-Header1", "VALUE1"}, DATE_2015}, 2,
     EMPTY_SHA256,
     "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n"
     SUITE_CREQ_TAIL("host;my-header1;x-amz-date"),
     "host;my-header1;x-amz-date",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
    /* a signed body */
    {"post-x-www-form-urlencoded", "POST", "/", {{0}}, 0,
     {{"Content-Type", "application/x-www-form-urlencoded"},
      {"Content-Length", "13"},
      {"X-Amz-Content-Sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"},
      DATE_2015},
     4, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
     "host:example.amazonaws.com\n"
     "x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n"
     "x-amz-date:20150830T123600Z\n\n"
     "content-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
     "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
     "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
};

static k8sha__sigv4_request suite_request(const suite_case *c) {
  k8sha__sigv4_request r;
  memset(&r, 0, sizeof(r));
  r.method = c->method;
  r.host = "example.amazonaws.com";
  r.path = c->path;
  r.query = c->query;
  r.n_query = c->n_query;
  r.headers = c->headers;
  r.n_headers = c->n_headers;
  r.payload_sha256 = c->payload_sha256;
  r.region = "us-east-1";
  r.service = "service";
  r.access_key = "AKIDEXAMPLE";
  r.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  r.amz_date = "20150830T123600Z";
  return r;
}

START_TEST(test_suite_vector) {
  const suite_case *c = &suite[_i];
  k8sha__sigv4_request r = suite_request(c);
  expect_signed(c->name, &r, c->creq, NULL, c->signed_headers, c->signature);
}
END_TEST

/* ---- encoding, order, trimming ---- */

START_TEST(encode_every_byte) {
  char in[2] = {0, 0}, out[4], want[4];
  int c;
  for (c = 1; c < 256; c++) {
    int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~';
    in[0] = (char)c;
    if (keep)
      snprintf(want, sizeof(want), "%c", c);
    else
      snprintf(want, sizeof(want), "%%%02X", (unsigned)c); /* uppercase hex */
    ck_assert_int_eq(k8sha__sigv4_encode(in, 0, out, sizeof(out)), 0);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(k8sha__sigv4_encode(in, 1, out, sizeof(out)), 0);
    ck_assert_str_eq(out, c == '/' ? "/" : want);
  }
}
END_TEST

START_TEST(query_reserved_characters_and_order) {
  /* A ListObjectsV2 page as the s3 backend sends it: a continuation token with '/', '+', '='
   * (base64), a prefix with '/', a space and a '~' (kept). */
  const k8sha__sigv4_pair q[] = {
      {"prefix", "ha/cluster 1/"},
      {"list-type", "2"},
      {"continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+~"},
      {"max-keys", "1000"},
  };
  const k8sha__sigv4_pair same_name[] = {{"k", "b"}, {"k", "a"}, {"k", ""}, {"k", NULL}};
  const k8sha__sigv4_pair prefixes[] = {{"aa", "1"}, {"a-b", "1"}, {"a", "1"}, {"A", "1"}};
  char out[256];

  ck_assert_int_eq(k8sha__sigv4_query(q, 4, out, sizeof(out)), 0);
  ck_assert_str_eq(out, "continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D%2B~"
                        "&list-type=2&max-keys=1000&prefix=ha%2Fcluster%201%2F");
  /* one name: by value; a NULL value is an empty one */
  ck_assert_int_eq(k8sha__sigv4_query(same_name, 4, out, sizeof(out)), 0);
  ck_assert_str_eq(out, "k=&k=&k=a&k=b");
  /* a name sorts before its extensions; bytes compare unsigned, uppercase first */
  ck_assert_int_eq(k8sha__sigv4_query(prefixes, 4, out, sizeof(out)), 0);
  ck_assert_str_eq(out, "A=1&a=1&a-b=1&aa=1");
  ck_assert_int_eq(k8sha__sigv4_query(NULL, 0, out, sizeof(out)), 0);
  ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(header_values_trimmed) {
  const k8sha__sigv4_pair h[] = {
      {"X-Amz-Meta-Note", "  a   b\t\t c  "},
      {"x-amz-date", "20130524T000000Z"},
      {"X-Amz-Meta-Blank", "   "},
      {"If-None-Match", "*"},
  };
  k8sha__sigv4_request r = s3_example("PUT", "/b/k");
  char out[1024];
  r.host = "  127.0.0.1:9000 ";
  r.headers = h;
  r.n_headers = 4;
  r.payload_sha256 = "UNSIGNED-PAYLOAD";
  ck_assert_int_eq(k8sha__sigv4_canonical_request(&r, out, sizeof(out)), 0);
  ck_assert_str_eq(out, "PUT\n/b/k\n\n"
                        "host:127.0.0.1:9000\n"
                        "if-none-match:*\n"
                        "x-amz-date:20130524T000000Z\n"
                        "x-amz-meta-blank:\n"
                        "x-amz-meta-note:a b c\n"
                        "\n"
                        "host;if-none-match;x-amz-date;x-amz-meta-blank;x-amz-meta-note\n"
                        "UNSIGNED-PAYLOAD");
}
END_TEST

START_TEST(path_space_and_unicode) {
  k8sha__sigv4_request r = s3_example("GET", "/bucket/a b/\xC3\xA9t\xC3\xA9 $&+,:;=@~.txt");
  char out[1024], *line;
  ck_assert_int_eq(k8sha__sigv4_canonical_request(&r, out, sizeof(out)), 0);
  line = strchr(out, '\n') + 1;
  *strchr(line, '\n') = '\0';
  /* encoded once, '/' kept: S3 does not encode the path a second time */
  ck_assert_str_eq(line, "/bucket/a%20b/%C3%A9t%C3%A9%20%24%26%2B%2C%3A%3B%3D%40~.txt");
  ck_assert_int_eq(k8sha__sigv4_encode("/a b/%41", 1, out, sizeof(out)), 0);
  ck_assert_str_eq(out, "/a%20b/%2541"); /* a '%' in a key is a character like any other */
}
END_TEST

/* ---- limits and refusals ---- */

/* fn writes `want` when given strlen(want) + 1 bytes, and for every smaller size returns -1,
 * leaves an empty string (when it has a byte) and writes nothing past the size it was given. */
typedef int (*writer)(const void *arg, char *out, size_t out_len);

static void expect_bounded(writer fn, const void *arg, const char *want) {
  char buf[4096];
  size_t need = strlen(want) + 1, n, i;
  ck_assert_uint_lt(need, sizeof(buf));
  for (n = 0; n < need; n++) {
    memset(buf, 'Z', sizeof(buf));
    ck_assert_msg(fn(arg, n == 0 ? NULL : buf, n) == -1, "size %zu of %zu fits", n, need);
    if (n > 0)
      ck_assert_int_eq(buf[0], '\0');
    for (i = n; i < sizeof(buf) && buf[i] == 'Z'; i++)
      ; /* one assertion per size below: Check records every one it makes */
    ck_assert_msg(i == sizeof(buf), "size %zu: byte %zu written", n, i);
    if (n == 1) { /* size 0 with a buffer too */
      memset(buf, 'Z', sizeof(buf));
      ck_assert_int_eq(fn(arg, buf, 0), -1);
      ck_assert_int_eq(buf[0], 'Z');
    }
  }
  memset(buf, 'Z', sizeof(buf));
  ck_assert_int_eq(fn(arg, buf, need), 0);
  ck_assert_str_eq(buf, want);
  ck_assert_int_eq(buf[need], 'Z');
}

static int w_canonical(const void *arg, char *out, size_t n) {
  return k8sha__sigv4_canonical_request(arg, out, n);
}
static int w_authorization(const void *arg, char *out, size_t n) {
  return k8sha__sigv4_authorization(arg, out, n);
}
static int w_query(const void *arg, char *out, size_t n) {
  const k8sha__sigv4_request *r = arg;
  return k8sha__sigv4_query(r->query, r->n_query, out, n);
}
static int w_encode(const void *arg, char *out, size_t n) {
  return k8sha__sigv4_encode(arg, 1, out, n);
}

START_TEST(buffer_too_small) {
  const k8sha__sigv4_pair q[] = {{"prefix", "J"}, {"max-keys", "2"}};
  const k8sha__sigv4_pair h[] = {
      {"x-amz-date", "20130524T000000Z"},
      {"x-amz-content-sha256", EMPTY_SHA256},
  };
  k8sha__sigv4_request r = s3_example("GET", "/");
  char creq[1024];
  r.query = q;
  r.n_query = 2;
  r.headers = h;
  r.n_headers = 2;
  ck_assert_int_eq(k8sha__sigv4_canonical_request(&r, creq, sizeof(creq)), 0);
  expect_bounded(w_canonical, &r, creq);
  /* the List Objects example's Authorization (signature from the S3 page) */
  expect_bounded(w_authorization, &r,
                 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                 "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                 "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  expect_bounded(w_query, &r, "max-keys=2&prefix=J");
  expect_bounded(w_encode, "/a b/\xC3\xA9", "/a%20b/%C3%A9");
}
END_TEST

START_TEST(missing_or_invalid_fields) {
  const k8sha__sigv4_pair date[] = {{"x-amz-date", "20130524T000000Z"}};
  k8sha__sigv4_request ok = s3_example("GET", "/k"), r;
  char out[2048];

  ck_assert_int_eq(k8sha__sigv4_authorization(&ok, out, sizeof(out)), 0);
  ck_assert_int_eq(k8sha__sigv4_canonical_request(NULL, out, sizeof(out)), -1);
  ck_assert_int_eq(k8sha__sigv4_authorization(NULL, out, sizeof(out)), -1);
  ck_assert_int_eq(k8sha__sigv4_encode(NULL, 0, out, sizeof(out)), -1);

#define REFUSED_BY_BOTH(field, v)                                                              \
  do {                                                                                         \
    r = ok;                                                                                    \
    r.field = v;                                                                               \
    ck_assert_msg(k8sha__sigv4_canonical_request(&r, out, sizeof(out)) == -1, #field);         \
    ck_assert_msg(k8sha__sigv4_authorization(&r, out, sizeof(out)) == -1, #field);             \
    ck_assert_str_eq(out, "");                                                                 \
  } while (0)
#define REFUSED_BY_AUTHORIZATION(field, v)                                                     \
  do {                                                                                         \
    r = ok;                                                                                    \
    r.field = v;                                                                               \
    ck_assert_msg(k8sha__sigv4_canonical_request(&r, out, sizeof(out)) == 0, #field);          \
    ck_assert_msg(k8sha__sigv4_authorization(&r, out, sizeof(out)) == -1, #field);             \
    ck_assert_str_eq(out, "");                                                                 \
  } while (0)

  REFUSED_BY_BOTH(method, NULL);
  REFUSED_BY_BOTH(method, "");
  REFUSED_BY_BOTH(host, NULL);
  REFUSED_BY_BOTH(host, "");
  REFUSED_BY_BOTH(path, NULL);
  REFUSED_BY_BOTH(path, "k"); /* not absolute */
  REFUSED_BY_BOTH(payload_sha256, NULL);
  REFUSED_BY_BOTH(n_headers, 1); /* with headers NULL */
  REFUSED_BY_BOTH(n_query, 1);   /* with query NULL */
  REFUSED_BY_AUTHORIZATION(region, NULL);
  REFUSED_BY_AUTHORIZATION(region, "");
  REFUSED_BY_AUTHORIZATION(service, NULL);
  REFUSED_BY_AUTHORIZATION(access_key, NULL);
  REFUSED_BY_AUTHORIZATION(secret_key, NULL);
  REFUSED_BY_AUTHORIZATION(amz_date, NULL);
  REFUSED_BY_AUTHORIZATION(amz_date, "20130524");         /* not a full x-amz-date */
  REFUSED_BY_AUTHORIZATION(amz_date, "2013-05-24T00:00Z"); /* not the basic format */
  {
    /* longer than the 252 bytes the signer takes */
    static char long_secret[300];
    memset(long_secret, 'k', sizeof(long_secret) - 1);
    REFUSED_BY_AUTHORIZATION(secret_key, long_secret);
  }

  /* headers: NULL or malformed names, NULL values, and Host (it comes from r->host) */
  {
    const k8sha__sigv4_pair bad[][1] = {
        {{NULL, "v"}}, {{"", "v"}},   {{"a b", "v"}}, {{"a:b", "v"}},
        {{"x", NULL}}, {{"Host", "h"}}, {{"host", "h"}},
    };
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      r = ok;
      r.headers = bad[i];
      r.n_headers = 1;
      ck_assert_msg(k8sha__sigv4_canonical_request(&r, out, sizeof(out)) == -1, "header %zu", i);
      ck_assert_msg(k8sha__sigv4_authorization(&r, out, sizeof(out)) == -1, "header %zu", i);
    }
  }
  /* a query parameter without a name */
  {
    const k8sha__sigv4_pair q[] = {{NULL, "v"}};
    r = ok;
    r.query = q;
    r.n_query = 1;
    ck_assert_int_eq(k8sha__sigv4_canonical_request(&r, out, sizeof(out)), -1);
    ck_assert_int_eq(k8sha__sigv4_query(q, 1, out, sizeof(out)), -1);
  }
  r = ok;
  r.headers = date;
  r.n_headers = 1;
  ck_assert_int_eq(k8sha__sigv4_authorization(&r, out, sizeof(out)), 0);
#undef REFUSED_BY_BOTH
#undef REFUSED_BY_AUTHORIZATION
}
END_TEST

START_TEST(at_most_64_headers_and_parameters) {
  k8sha__sigv4_pair many[65];
  char names[65][8];
  k8sha__sigv4_request r = s3_example("GET", "/");
  static char out[16384];
  size_t i;

  for (i = 0; i < 65; i++) {
    snprintf(names[i], sizeof(names[i]), "x-%02zu", i);
    many[i].name = names[i];
    many[i].value = "v";
  }
  r.headers = many;
  r.n_headers = 64;
  ck_assert_int_eq(k8sha__sigv4_authorization(&r, out, sizeof(out)), 0);
  r.n_headers = 65;
  ck_assert_int_eq(k8sha__sigv4_canonical_request(&r, out, sizeof(out)), -1);
  ck_assert_int_eq(k8sha__sigv4_authorization(&r, out, sizeof(out)), -1);
  r.n_headers = 0;
  r.query = many;
  r.n_query = 64;
  ck_assert_int_eq(k8sha__sigv4_authorization(&r, out, sizeof(out)), 0);
  ck_assert_int_eq(k8sha__sigv4_query(many, 64, out, sizeof(out)), 0);
  r.n_query = 65;
  ck_assert_int_eq(k8sha__sigv4_authorization(&r, out, sizeof(out)), -1);
  ck_assert_int_eq(k8sha__sigv4_query(many, 65, out, sizeof(out)), -1);
}
END_TEST

START_TEST(canonical_request_over_16k_refused) {
  /* the signer hashes the canonical request from a 16 KiB stack buffer */
  static char big[9000];
  const k8sha__sigv4_pair h[] = {{"x-amz-meta-a", big}, {"x-amz-meta-b", big}};
  k8sha__sigv4_request r = s3_example("GET", "/");
  static char out[32768];
  memset(big, 'v', sizeof(big) - 1);
  r.headers = h;
  r.n_headers = 1;
  ck_assert_int_eq(k8sha__sigv4_authorization(&r, out, sizeof(out)), 0);
  r.n_headers = 2;
  ck_assert_int_eq(k8sha__sigv4_canonical_request(&r, out, sizeof(out)), 0);
  ck_assert_int_eq(k8sha__sigv4_authorization(&r, out, sizeof(out)), -1);
}
END_TEST

/* ---- threads ---- */

typedef struct signer_job {
  int mismatches;
} signer_job;

static void sign_many(void *arg) {
  signer_job *job = arg;
  int i;
  for (i = 0; i < 300; i++) {
    const suite_case *c = &suite[(size_t)i % (sizeof(suite) / sizeof(suite[0]))];
    k8sha__sigv4_request r = suite_request(c);
    char out[1024];
    if (k8sha__sigv4_authorization(&r, out, sizeof(out)) != 0 || !strstr(out, c->signature))
      job->mismatches++;
  }
}

START_TEST(concurrent_signers_agree) {
  uv_thread_t t[4];
  signer_job jobs[4];
  int i;
  memset(jobs, 0, sizeof(jobs));
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(uv_thread_create(&t[i], sign_many, &jobs[i]), 0);
  for (i = 0; i < 4; i++) {
    ck_assert_int_eq(uv_thread_join(&t[i]), 0);
    ck_assert_int_eq(jobs[i].mismatches, 0);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("sigv4");
  TCase *tc = tcase_create("sigv4");
  tcase_add_test(tc, sha256_hex_known_values);
  tcase_add_test(tc, s3_get_object);
  tcase_add_test(tc, s3_put_object);
  tcase_add_test(tc, s3_get_bucket_lifecycle);
  tcase_add_test(tc, s3_list_objects);
  tcase_add_loop_test(tc, test_suite_vector, 0, (int)(sizeof(suite) / sizeof(suite[0])));
  tcase_add_test(tc, encode_every_byte);
  tcase_add_test(tc, query_reserved_characters_and_order);
  tcase_add_test(tc, header_values_trimmed);
  tcase_add_test(tc, path_space_and_unicode);
  tcase_add_test(tc, buffer_too_small);
  tcase_add_test(tc, missing_or_invalid_fields);
  tcase_add_test(tc, at_most_64_headers_and_parameters);
  tcase_add_test(tc, canonical_request_over_16k_refused);
  tcase_add_test(tc, concurrent_signers_agree);
  suite_add_tcase(s, tc);
  return tu_run(s);
}
