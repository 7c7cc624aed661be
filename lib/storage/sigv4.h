/* Internal: AWS Signature Version 4 for S3 requests (and STS), signed here rather than by curl:
 * Debian 12's libcurl does not canonicalise query strings for CURLOPT_AWS_SIGV4. Pure functions
 * of their arguments (no clock, no I/O, no static state, nothing allocated here), thread-safe.
 *
 * Canonical forms are S3's: the path is percent-encoded once ('/' kept, never a second time);
 * query names and values are encoded ('/' too) and sorted by encoded name, then encoded value;
 * header names are lowercased, values trimmed with inner runs of white space made one space, a
 * repeated name signed once with its values joined by ',' in the order given.
 *
 * Limits (beyond them the functions return -1 and write an empty string):
 *  - at most 64 query parameters, and 64 headers besides Host;
 *  - a canonical request of at most 16 KiB (k8sha__sigv4_authorization hashes it on the stack);
 *  - a secret key of at most 252 bytes; a region/service scope of at most 255 bytes.
 * Every output buffer's size counts the final NUL; on -1 the buffer holds "" (when it has a
 * byte), never a truncated value. */
#ifndef K8SHA_STORAGE_SIGV4_H
#define K8SHA_STORAGE_SIGV4_H

#include <stddef.h>

/* A query parameter or a header, as it is sent: names and values raw (not percent-encoded). */
typedef struct k8sha__sigv4_pair {
  const char *name;  /* required; a header's is a token (no space, ':' or control character) */
  const char *value; /* required for a header; for a query parameter NULL means "" ("?lifecycle") */
} k8sha__sigv4_pair;

typedef struct k8sha__sigv4_request {
  const char *method;   /* "GET", "PUT", "DELETE", "HEAD", "POST" */
  const char
      *host; /* the Host header as sent: "bucket.s3.eu-west-1.amazonaws.com", "127.0.0.1:9000" */
  const char *path;     /* the raw path, starting with '/', not percent-encoded ("/bucket/a b") */
  const k8sha__sigv4_pair *query; /* raw; the signer encodes and sorts them */
  size_t n_query;
  const k8sha__sigv4_pair *headers; /* every header to sign except Host (x-amz-date,
                                       x-amz-content-sha256, x-amz-security-token, range,
                                       if-none-match, content-type, ...): any case, any order;
                                       the request must send exactly these values */
  size_t n_headers;
  const char *payload_sha256; /* lowercase hex of the body's SHA-256, or "UNSIGNED-PAYLOAD" */
  const char *region;         /* "us-east-1" */
  const char *service;        /* "s3", "sts" */
  const char *access_key;
  const char *secret_key;
  const char *amz_date; /* "20130524T000000Z", the x-amz-date header's value */
} k8sha__sigv4_request;

/* Lowercase hex SHA-256 of `len` bytes into out[65]. */
void k8sha__sha256_hex(const void *data, size_t len, char out[65]);

/* Percent-encodes `s` as SigV4 wants (RFC 3986 unreserved kept: A-Z a-z 0-9 - . _ ~; '/' kept
 * when keep_slash). 0, or -1 when it does not fit in out_len (NUL included). */
int k8sha__sigv4_encode(const char *s, int keep_slash, char *out, size_t out_len);

/* The canonical request (for tests and for a "the signature did not match" message). 0, or -1
 * when it does not fit, or when a request field is missing: method, host, path (absolute) and
 * payload_sha256 are required, and no header may be named Host (r->host is the one signed). */
int k8sha__sigv4_canonical_request(const k8sha__sigv4_request *r, char *out, size_t out_len);

/* The Authorization header's value ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=..."). 0, or -1 when it does not fit or a field is missing: those of the canonical
 * request, and region, service, access_key, secret_key and amz_date (exactly
 * "YYYYMMDDTHHMMSSZ"). */
int k8sha__sigv4_authorization(const k8sha__sigv4_request *r, char *out, size_t out_len);

/* The canonical query string of a request (the same encoding and order as signed), for the URL
 * the request is sent to ("" when n is 0). 0, or -1 when it does not fit, when n > 64 or when a
 * name is NULL. */
int k8sha__sigv4_query(const k8sha__sigv4_pair *query, size_t n, char *out, size_t out_len);

#endif
