/* Internal: the XML documents S3 answers with, read through expat as a grammar: an element
 * where the document's shape does not allow it, a DOCTYPE or entity declaration, or text beyond
 * the limits is an error naming what was wrong, never a guess. Thread-safe (runs on libuv's
 * thread pool: memory from malloc). */
#ifndef K8SHA_STORAGE_S3XML_H
#define K8SHA_STORAGE_S3XML_H

#include <stddef.h>

#define K8SHA__S3_KEY_MAX 1024 /* S3's limit on a key, in bytes of UTF-8 */

/* One page of ListObjectsV2 (<ListBucketResult>): the keys of its <Contents>, in order. */
typedef struct k8sha__s3_list_page {
  char **keys;      /* malloc'd strings: 1 to K8SHA__S3_KEY_MAX bytes of UTF-8, decoded when the
                     * page says <EncodingType>url</EncodingType> */
  size_t n_keys;    /* at most 10000 (S3 sends up to 1000) */
  int truncated;    /* <IsTruncated>true</IsTruncated> (the element is required) */
  char *next_token; /* <NextContinuationToken>, malloc'd; set exactly when truncated (a truncated
                     * page without one is refused), NULL otherwise */
} k8sha__s3_list_page;

/* Reads a ListObjectsV2 answer. 0; K8SHA_ECORRUPT with `why` naming what was not understood
 * (truncated page without a token, a key beyond the limit, an unexpected element, not XML);
 * or K8SHA_ENOMEM. On failure *out holds nothing. Children of <ListBucketResult> and <Contents>
 * unknown here are skipped with their subtree (S3 adds some over time). */
int k8sha__s3_parse_list(const char *xml, size_t len, k8sha__s3_list_page *out, char *why,
                         size_t why_len);
void k8sha__s3_list_page_clear(k8sha__s3_list_page *p);

/* S3's <Error> document: its <Code> and <Message> (truncated to fit, NUL-terminated). */
typedef struct k8sha__s3_error {
  char code[64];
  char message[256];
} k8sha__s3_error;

/* Reads an error answer. 0 when it is an <Error> document with a non-empty <Code>, S3's or STS's
 * (<ErrorResponse><Error>...</Error></ErrorResponse>); K8SHA_ECORRUPT otherwise, or
 * K8SHA_ENOMEM (`out` then empty strings). */
int k8sha__s3_parse_error(const char *xml, size_t len, k8sha__s3_error *out);

/* STS AssumeRoleWithWebIdentity's answer: the <Credentials> of its result. */
typedef struct k8sha__sts_credentials {
  char access_key[128];
  char secret_key[256];
  char session_token[4096];
  char expiration[64]; /* ISO 8601, as STS writes it: "2026-12-07T12:00:00Z" */
} k8sha__sts_credentials;

/* Reads an AssumeRoleWithWebIdentityResponse: all four fields required, none longer than its
 * buffer. 0, K8SHA_ECORRUPT with `why`, or K8SHA_ENOMEM; on failure `out` is zeroed. */
int k8sha__sts_parse_credentials(const char *xml, size_t len, k8sha__sts_credentials *out,
                                 char *why, size_t why_len);

#endif
