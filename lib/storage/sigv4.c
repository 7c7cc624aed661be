/* AWS Signature Version 4. Every output goes to the caller's buffer, every scratch buffer is on
 * the stack with a fixed limit, and nothing is static but constants: any thread may sign at any
 * time. The canonical forms follow S3's rules: the path is percent-encoded once, '/' kept. */
#include "storage/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <string.h>

#define MAX_PAIRS 64           /* query parameters, and headers besides Host */
#define CANONICAL_MAX 16384    /* the canonical request, hashed from the stack */
#define SCOPE_MAX 256          /* "20130524/us-east-1/s3/aws4_request" */
#define SECRET_MAX 256         /* the secret key, "AWS4" prepended */
#define ALGORITHM "AWS4-HMAC-SHA256"

static const char hexdigits[] = "0123456789abcdef";

/* ---- bounded output ---- */

/* An output buffer that remembers overflowing, so that writers need not check every step; room
 * for the final NUL is always kept. */
typedef struct out_buf {
  char *p;
  size_t len, cap;
  int bad;
} out_buf;

static void ob_init(out_buf *b, char *p, size_t cap) {
  b->p = p;
  b->len = 0;
  b->cap = cap;
  b->bad = p == NULL || cap == 0;
}

static void put_n(out_buf *b, const char *s, size_t n) {
  if (b->bad || n >= b->cap - b->len) {
    b->bad = 1;
    return;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void put(out_buf *b, const char *s) {
  put_n(b, s, strlen(s));
}

static void put_c(out_buf *b, char c) {
  put_n(b, &c, 1);
}

/* 0 with the text NUL-terminated; -1 (the buffer left an empty string) when something did not
 * fit, so that a truncated header can never be sent by mistake. */
static int ob_finish(out_buf *b) {
  if (b->bad) {
    if (b->p && b->cap)
      b->p[0] = '\0';
    return -1;
  }
  b->p[b->len] = '\0';
  return 0;
}

static void hex(const unsigned char *in, size_t n, char *out) {
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = hexdigits[in[i] >> 4];
    out[2 * i + 1] = hexdigits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* ---- percent-encoding ---- */

static int unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

/* The encoding of one byte into e[3]: its length. Hex digits are uppercase, as SigV4 requires
 * (the signature's own hex is lowercase). */
static int encode_byte(unsigned char c, int keep_slash, char e[3]) {
  static const char upper[] = "0123456789ABCDEF";
  if (unreserved(c) || (keep_slash && c == '/')) {
    e[0] = (char)c;
    return 1;
  }
  e[0] = '%';
  e[1] = upper[c >> 4];
  e[2] = upper[c & 15];
  return 3;
}

static void put_encoded(out_buf *b, const char *s, int keep_slash) {
  char e[3];
  for (; *s; s++)
    put_n(b, e, (size_t)encode_byte((unsigned char)*s, keep_slash, e));
}

/* The encoding of a string read a byte at a time, to compare two strings by their encodings
 * without storing them: their order is not the raw order ("%E1..." sorts before "A"). */
typedef struct enc_reader {
  const char *s;
  char e[3];
  int n, i;
} enc_reader;

static int enc_next(enc_reader *r) {
  if (r->i == r->n) {
    if (*r->s == '\0')
      return -1;
    r->n = encode_byte((unsigned char)*r->s++, 0, r->e);
    r->i = 0;
  }
  return (unsigned char)r->e[r->i++];
}

static int cmp_encoded(const char *a, const char *b) {
  enc_reader x = {a, {0}, 0, 0}, y = {b, {0}, 0, 0};
  for (;;) {
    int cx = enc_next(&x), cy = enc_next(&y);
    if (cx != cy)
      return cx < cy ? -1 : 1; /* the end (-1) sorts first: "a" before "a-b" */
    if (cx < 0)
      return 0;
  }
}

int k8sha__sigv4_encode(const char *s, int keep_slash, char *out, size_t out_len) {
  out_buf b;
  ob_init(&b, out, out_len);
  if (!s)
    b.bad = 1;
  else
    put_encoded(&b, s, keep_slash);
  return ob_finish(&b);
}

/* ---- the canonical query ---- */

static const char *value_of(const k8sha__sigv4_pair *q) {
  return q->value ? q->value : ""; /* "?lifecycle": a NULL value is an empty one */
}

static int query_less(const k8sha__sigv4_pair *a, const k8sha__sigv4_pair *b) {
  int c = cmp_encoded(a->name, b->name);
  return c < 0 || (c == 0 && cmp_encoded(value_of(a), value_of(b)) < 0);
}

static void put_query(out_buf *b, const k8sha__sigv4_pair *query, size_t n) {
  size_t idx[MAX_PAIRS], i, j;

  if (n > MAX_PAIRS || (n > 0 && !query)) {
    b->bad = 1;
    return;
  }
  for (i = 0; i < n; i++) {
    if (!query[i].name) {
      b->bad = 1;
      return;
    }
    /* insertion sort: at most 64 entries */
    for (j = i; j > 0 && query_less(&query[i], &query[idx[j - 1]]); j--)
      idx[j] = idx[j - 1];
    idx[j] = i;
  }
  for (i = 0; i < n; i++) {
    if (i > 0)
      put_c(b, '&');
    put_encoded(b, query[idx[i]].name, 0);
    put_c(b, '=');
    put_encoded(b, value_of(&query[idx[i]]), 0);
  }
}

int k8sha__sigv4_query(const k8sha__sigv4_pair *query, size_t n, char *out, size_t out_len) {
  out_buf b;
  ob_init(&b, out, out_len);
  put_query(&b, query, n);
  return ob_finish(&b);
}

/* ---- the canonical headers ---- */

/* ASCII only: tolower() would follow the locale, and header names are ASCII tokens. */
static unsigned char lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int cmp_lower(const char *a, const char *b) {
  const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
  while (*x && lower(*x) == lower(*y)) {
    x++;
    y++;
  }
  return (int)lower(*x) - (int)lower(*y);
}

/* A header name must be a non-empty token: a ':' or a space would make the canonical form
 * ambiguous. */
static int valid_name(const char *s) {
  if (!s || !*s)
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s <= ' ' || *s == ':' || *s == 0x7f)
      return 0;
  return 1;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value trimmed, and every inner run of white space written as one space (a folded
 * multi-line value becomes one line, as AWS canonicalises it). */
static void put_trimmed(out_buf *b, const char *s) {
  int gap = 0, any = 0;
  for (; *s; s++) {
    if (is_space(*s)) {
      gap = 1;
      continue;
    }
    if (gap && any)
      put_c(b, ' ');
    put_c(b, *s);
    gap = 0;
    any = 1;
  }
}

/* The headers to sign, Host included, sorted by lowercase name. The sort is stable, so that
 * repeated names keep the caller's order when their values are joined. */
typedef struct sorted_headers {
  k8sha__sigv4_pair h[MAX_PAIRS + 1];
  size_t idx[MAX_PAIRS + 1];
  size_t n;
} sorted_headers;

static int sort_headers(const k8sha__sigv4_request *r, sorted_headers *s) {
  size_t i, j;

  if (r->n_headers > MAX_PAIRS || (r->n_headers > 0 && !r->headers))
    return -1;
  s->h[0].name = "host";
  s->h[0].value = r->host;
  for (i = 0; i < r->n_headers; i++) {
    const k8sha__sigv4_pair *p = &r->headers[i];
    /* Host comes from r->host alone: a second one would be signed but never sent. */
    if (!valid_name(p->name) || !p->value || cmp_lower(p->name, "host") == 0)
      return -1;
    s->h[i + 1] = *p;
  }
  s->n = r->n_headers + 1;
  for (i = 0; i < s->n; i++) {
    for (j = i; j > 0 && cmp_lower(s->h[i].name, s->h[s->idx[j - 1]].name) < 0; j--)
      s->idx[j] = s->idx[j - 1];
    s->idx[j] = i;
  }
  return 0;
}

static void put_lower(out_buf *b, const char *s) {
  for (; *s; s++)
    put_c(b, (char)lower((unsigned char)*s));
}

static const char *name_at(const sorted_headers *s, size_t i) {
  return s->h[s->idx[i]].name;
}

/* "name:value\n" per name; the values of a repeated name joined with ',' on one line. */
static void put_canonical_headers(out_buf *b, const sorted_headers *s) {
  size_t i;
  for (i = 0; i < s->n; i++) {
    if (i > 0 && cmp_lower(name_at(s, i - 1), name_at(s, i)) == 0) {
      put_c(b, ',');
    } else {
      if (i > 0)
        put_c(b, '\n');
      put_lower(b, name_at(s, i));
      put_c(b, ':');
    }
    put_trimmed(b, s->h[s->idx[i]].value);
  }
  put_c(b, '\n');
}

static void put_signed_headers(out_buf *b, const sorted_headers *s) {
  size_t i;
  for (i = 0; i < s->n; i++) {
    if (i > 0 && cmp_lower(name_at(s, i - 1), name_at(s, i)) == 0)
      continue;
    if (i > 0)
      put_c(b, ';');
    put_lower(b, name_at(s, i));
  }
}

/* ---- the request ---- */

/* The fields every signature needs; the host is not empty and the path is absolute. */
static int request_ok(const k8sha__sigv4_request *r) {
  return r && r->method && *r->method && r->host && *r->host && r->path && r->path[0] == '/' &&
         r->payload_sha256 && *r->payload_sha256;
}

int k8sha__sigv4_canonical_request(const k8sha__sigv4_request *r, char *out, size_t out_len) {
  sorted_headers s;
  out_buf b;

  ob_init(&b, out, out_len);
  if (!request_ok(r) || sort_headers(r, &s) != 0) {
    b.bad = 1;
    return ob_finish(&b);
  }
  put(&b, r->method);
  put_c(&b, '\n');
  put_encoded(&b, r->path, 1); /* once: S3 does not encode the path a second time */
  put_c(&b, '\n');
  put_query(&b, r->query, r->n_query);
  put_c(&b, '\n');
  put_canonical_headers(&b, &s);
  put_c(&b, '\n');
  put_signed_headers(&b, &s);
  put_c(&b, '\n');
  put(&b, r->payload_sha256);
  return ob_finish(&b);
}

void k8sha__sha256_hex(const void *data, size_t len, char out[65]) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(data, len, md);
  hex(md, sizeof(md), out);
}

/* HMAC-SHA256 of a string under `key` into md[32]. */
static int hmac(const unsigned char *key, size_t key_len, const char *data,
                unsigned char md[SHA256_DIGEST_LENGTH]) {
  unsigned int md_len = 0;
  if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, strlen(data), md,
            &md_len))
    return -1;
  return md_len == SHA256_DIGEST_LENGTH ? 0 : -1;
}

/* The date must be "YYYYMMDDTHHMMSSZ": its first 8 characters become the scope's date. */
static int amz_date_ok(const char *d) {
  return d && strlen(d) == 16 && d[8] == 'T' && d[15] == 'Z';
}

/* The signature (lowercase hex into sig[65]) of string_to_sign, under the key derived from the
 * secret for this date, region and service. Two buffers take turns: no HMAC() writes over its
 * own key. */
static int sign(const k8sha__sigv4_request *r, const char *date, const char *string_to_sign,
                char sig[65]) {
  unsigned char secret[SECRET_MAX], a[SHA256_DIGEST_LENGTH], k[SHA256_DIGEST_LENGTH];
  size_t secret_len = strlen(r->secret_key);
  int rc = -1;

  if (secret_len + 4 > sizeof(secret))
    return -1;
  memcpy(secret, "AWS4", 4);
  memcpy(secret + 4, r->secret_key, secret_len);
  if (hmac(secret, secret_len + 4, date, a) == 0 && hmac(a, sizeof(a), r->region, k) == 0 &&
      hmac(k, sizeof(k), r->service, a) == 0 && hmac(a, sizeof(a), "aws4_request", k) == 0 &&
      hmac(k, sizeof(k), string_to_sign, a) == 0) {
    hex(a, sizeof(a), sig);
    rc = 0;
  }
  /* The secret and the keys derived from it do not outlive the call on the stack. */
  OPENSSL_cleanse(secret, sizeof(secret));
  OPENSSL_cleanse(a, sizeof(a));
  OPENSSL_cleanse(k, sizeof(k));
  return rc;
}

int k8sha__sigv4_authorization(const k8sha__sigv4_request *r, char *out, size_t out_len) {
  char creq[CANONICAL_MAX], scope[SCOPE_MAX], sts[SCOPE_MAX + 128], date[9], hash[65], sig[65];
  sorted_headers s;
  out_buf b;

  ob_init(&b, out, out_len);
  if (!r || !r->region || !*r->region || !r->service || !*r->service || !r->access_key ||
      !r->secret_key || !amz_date_ok(r->amz_date) ||
      k8sha__sigv4_canonical_request(r, creq, sizeof(creq)) != 0 || sort_headers(r, &s) != 0) {
    b.bad = 1;
    return ob_finish(&b);
  }
  memcpy(date, r->amz_date, 8);
  date[8] = '\0';

  {
    out_buf sb;
    ob_init(&sb, scope, sizeof(scope));
    put(&sb, date);
    put_c(&sb, '/');
    put(&sb, r->region);
    put_c(&sb, '/');
    put(&sb, r->service);
    put(&sb, "/aws4_request");
    if (ob_finish(&sb) != 0) {
      b.bad = 1;
      return ob_finish(&b);
    }
  }
  k8sha__sha256_hex(creq, strlen(creq), hash);
  {
    out_buf tb;
    ob_init(&tb, sts, sizeof(sts));
    put(&tb, ALGORITHM "\n");
    put(&tb, r->amz_date);
    put_c(&tb, '\n');
    put(&tb, scope);
    put_c(&tb, '\n');
    put(&tb, hash);
    if (ob_finish(&tb) != 0 || sign(r, date, sts, sig) != 0) {
      b.bad = 1;
      return ob_finish(&b);
    }
  }

  put(&b, ALGORITHM " Credential=");
  put(&b, r->access_key);
  put_c(&b, '/');
  put(&b, scope);
  put(&b, ", SignedHeaders=");
  put_signed_headers(&b, &s);
  put(&b, ", Signature=");
  put(&b, sig);
  return ob_finish(&b);
}
