/* S3's and STS's XML answers, read with expat as a grammar. Each document type is a tree of the
 * elements its answer may hold (the tables below); the handlers walk that tree as the elements
 * open and close, so an element the shape does not allow, a missing or repeated one, or text
 * where an element belongs stops the parse with a message naming it. Servers add elements over
 * time, so the containers that grow (ListBucketResult, Contents, Error, the STS result and its
 * Credentials) skip unknown children with their whole subtree; the others refuse them. */
#include "storage/s3xml.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8sha/errors.h"

#define MAX_DEPTH 16    /* the deepest real answer nests 4 */
#define MAX_KEYS 10000  /* S3 answers with at most 1000 keys a page */
#define TOKEN_MAX 4096  /* a NextContinuationToken is some 100 bytes */
#define TEXT_MAX 4096   /* the longest text kept: the token, an STS session token */

enum { GROUP, TEXT, SKIP }; /* a node's kind: children; text only; anything, not looked at */
#define MANY 1u             /* may repeat */
#define REQ 2u              /* required */
#define OPEN 4u             /* GROUP: unknown children are skipped with their subtree */
/* Where the text of a TEXT node goes; 0: checked to be text, not kept. */
enum { F_KEY = 1, F_TRUNCATED, F_TOKEN, F_ENCODING, F_CODE, F_MESSAGE, F_ACCESS, F_SECRET,
       F_SESSION, F_EXPIRATION };

typedef struct node {
  const char *name;
  unsigned char kind, flags, field;
  const struct node *kids; /* GROUP: its children, up to a NULL name (at most 32) */
} node;

#define LEAF(name) {name, TEXT, 0, 0, NULL}
#define END {NULL, 0, 0, 0, NULL}

/* ListObjectsV2 */
static const node owner[] = {LEAF("ID"), LEAF("DisplayName"), END};
static const node contents[] = {
    {"Key", TEXT, REQ, F_KEY, NULL}, LEAF("LastModified"), LEAF("ETag"), LEAF("Size"),
    LEAF("StorageClass"), {"Owner", GROUP, 0, 0, owner}, {"ChecksumAlgorithm", TEXT, MANY, 0, NULL},
    LEAF("ChecksumType"), {"RestoreStatus", SKIP, 0, 0, NULL}, END};
static const node common_prefixes[] = {LEAF("Prefix"), END};
static const node list_result[] = {
    LEAF("Name"), LEAF("Prefix"), LEAF("KeyCount"), LEAF("MaxKeys"), LEAF("Delimiter"),
    {"IsTruncated", TEXT, REQ, F_TRUNCATED, NULL}, LEAF("ContinuationToken"),
    {"NextContinuationToken", TEXT, 0, F_TOKEN, NULL}, LEAF("StartAfter"),
    {"EncodingType", TEXT, 0, F_ENCODING, NULL},
    {"CommonPrefixes", GROUP, MANY, 0, common_prefixes},
    {"Contents", GROUP, MANY | OPEN, 0, contents}, END};
static const node list_doc[] = {{"ListBucketResult", GROUP, OPEN, 0, list_result}, END};

/* S3's <Error>, and STS's <ErrorResponse> around the same <Error> */
static const node error_body[] = {{"Code", TEXT, REQ, F_CODE, NULL},
                                  {"Message", TEXT, 0, F_MESSAGE, NULL}, END};
static const node error_response[] = {{"Error", GROUP, REQ | OPEN, 0, error_body},
                                      LEAF("RequestId"), END};
static const node error_doc[] = {{"Error", GROUP, OPEN, 0, error_body},
                                 {"ErrorResponse", GROUP, 0, 0, error_response}, END};

/* AssumeRoleWithWebIdentity. Credentials is open too: a field STS adds there must not cut
 * every request off its credentials. */
static const node credentials[] = {
    {"AccessKeyId", TEXT, REQ, F_ACCESS, NULL}, {"SecretAccessKey", TEXT, REQ, F_SECRET, NULL},
    {"SessionToken", TEXT, REQ, F_SESSION, NULL}, {"Expiration", TEXT, REQ, F_EXPIRATION, NULL},
    END};
static const node sts_result[] = {
    {"Credentials", GROUP, REQ | OPEN, 0, credentials}, LEAF("SubjectFromWebIdentityToken"),
    {"AssumedRoleUser", SKIP, 0, 0, NULL}, LEAF("Provider"), LEAF("Audience"),
    LEAF("PackedPolicySize"), LEAF("SourceIdentity"), END};
static const node sts_response[] = {{"AssumeRoleWithWebIdentityResult", GROUP, REQ | OPEN, 0,
                                     sts_result},
                                    {"ResponseMetadata", SKIP, 0, 0, NULL}, END};
static const node sts_doc[] = {{"AssumeRoleWithWebIdentityResponse", GROUP, 0, 0, sts_response},
                               END};

typedef struct frame {
  const node *n; /* NULL inside a skipped subtree */
  uint32_t seen; /* GROUP: which of its children came, one bit each */
} frame;

typedef struct parse {
  XML_Parser xp;
  const char *what, *roots; /* for messages: "S3 list answer", "<ListBucketResult>" */
  node doc;                 /* the document: its children are the allowed roots */
  frame stack[MAX_DEPTH + 1];
  int depth;
  int rc;
  char *why;
  size_t why_len;
  char text[TEXT_MAX + 1]; /* the text of the open TEXT node that is kept */
  size_t text_len;
  int over; /* that text passed its field's limit */
  char at[48];
  /* the list answer */
  k8sha__s3_list_page *page;
  size_t n_contents, cap_keys;
  int url;
  /* the others */
  k8sha__s3_error *err;
  k8sha__sts_credentials *cred;
} parse;

/* Records the first error (ECORRUPT and its message) and stops expat; returns -1. */
__attribute__((format(printf, 2, 3))) static int fail(parse *ps, const char *fmt, ...) {
  va_list ap;
  size_t n;
  if (ps->rc)
    return -1;
  ps->rc = K8SHA_ECORRUPT;
  if (ps->why && ps->why_len) {
    snprintf(ps->why, ps->why_len, "%s: ", ps->what);
    n = strlen(ps->why);
    va_start(ap, fmt);
    vsnprintf(ps->why + n, ps->why_len - n, fmt, ap);
    va_end(ap);
  }
  if (ps->xp)
    XML_StopParser(ps->xp, XML_FALSE);
  return -1;
}

static int no_memory(parse *ps) {
  if (!ps->rc && fail(ps, "out of memory"))
    ps->rc = K8SHA_ENOMEM;
  return -1;
}

/* How a message names the group `n`: the Contents are numbered, being many. */
static const char *contents_at(parse *ps) {
  snprintf(ps->at, sizeof(ps->at), "<Contents> number %zu", ps->n_contents);
  return ps->at;
}

static const char *where(parse *ps, const node *n) {
  if (n->kids == contents)
    return contents_at(ps);
  snprintf(ps->at, sizeof(ps->at), "<%s>", n->name);
  return ps->at;
}

/* How many bytes of a field's text are kept; more sets `over`. The error texts keep one byte
 * beyond their buffer, to cut them at a character's start. */
static size_t limit(parse *ps, int field) {
  switch (field) {
  case F_KEY:
    return 3 * K8SHA__S3_KEY_MAX; /* each byte may come as %XX */
  case F_TRUNCATED:
  case F_ENCODING:
    return 5;
  case F_TOKEN:
    return TOKEN_MAX;
  case F_CODE:
    return sizeof(ps->err->code);
  case F_MESSAGE:
    return sizeof(ps->err->message);
  case F_ACCESS:
    return sizeof(ps->cred->access_key) - 1;
  case F_SECRET:
    return sizeof(ps->cred->secret_key) - 1;
  case F_SESSION:
    return sizeof(ps->cred->session_token) - 1;
  default:
    return sizeof(ps->cred->expiration) - 1;
  }
}

/* Copies text into a buffer of `size`, cut where a UTF-8 character starts when it does not fit. */
static void copy_cut(char *dst, size_t size, const char *s, size_t n) {
  if (n >= size)
    for (n = size - 1; n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80; n--)
      ;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

/* The text of a TEXT node that is kept, at its end tag. 0 or -1. */
static int keep(parse *ps, const node *n) {
  const char *t = ps->text;
  size_t len = ps->text_len;
  char *dst;
  k8sha__s3_list_page *p = ps->page;

  switch (n->field) {
  case F_KEY:
    if (ps->over)
      return fail(ps, "%s has a <Key> longer than %d bytes", contents_at(ps),
                  K8SHA__S3_KEY_MAX);
    if (len == 0)
      return fail(ps, "%s has an empty <Key>", contents_at(ps));
    if (p->n_keys == ps->cap_keys) {
      size_t cap = ps->cap_keys ? 2 * ps->cap_keys : 64;
      char **keys = realloc(p->keys, cap * sizeof(*keys));
      if (!keys)
        return no_memory(ps);
      p->keys = keys;
      ps->cap_keys = cap;
    }
    if (!(p->keys[p->n_keys] = malloc(len + 1)))
      return no_memory(ps);
    memcpy(p->keys[p->n_keys++], t, len + 1);
    return 0;
  case F_TRUNCATED:
    if (ps->over || (strcmp(t, "true") != 0 && strcmp(t, "false") != 0))
      return fail(ps, "<IsTruncated> is neither true nor false");
    p->truncated = t[0] == 't';
    return 0;
  case F_TOKEN:
    if (ps->over)
      return fail(ps, "<NextContinuationToken> longer than %d bytes", TOKEN_MAX);
    if (len > 0 && !(p->next_token = malloc(len + 1))) /* empty: as good as none */
      return no_memory(ps);
    if (len > 0)
      memcpy(p->next_token, t, len + 1);
    return 0;
  case F_ENCODING:
    if (ps->over || strcmp(t, "url") != 0)
      return fail(ps, "<EncodingType> is not url, the only encoding known");
    ps->url = 1;
    return 0;
  case F_CODE:
  case F_MESSAGE:
    if (n->field == F_CODE && len == 0)
      return fail(ps, "<Code> is empty");
    dst = n->field == F_CODE ? ps->err->code : ps->err->message;
    copy_cut(dst, limit(ps, n->field), t, len);
    return 0;
  default:
    if (ps->over)
      return fail(ps, "<%s> longer than %zu bytes", n->name, limit(ps, n->field));
    if (len == 0)
      return fail(ps, "<Credentials> has an empty <%s>", n->name);
    dst = n->field == F_ACCESS    ? ps->cred->access_key
          : n->field == F_SECRET  ? ps->cred->secret_key
          : n->field == F_SESSION ? ps->cred->session_token
                                  : ps->cred->expiration;
    memcpy(dst, t, len + 1);
    return 0;
  }
}

/* Which node of the grammar the element opening under `top` is (NULL: one skipped), or -1 when
 * the grammar does not allow it there. */
static int enter(parse *ps, frame *top, const XML_Char *name, const XML_Char **attrs,
                 const node **out) {
  const node *n = NULL;
  int i;

  *out = NULL;
  if (ps->depth == MAX_DEPTH)
    return fail(ps, "elements nested deeper than %d", MAX_DEPTH);
  if (!top->n)
    return 0;
  if (top->n->kind == TEXT)
    return fail(ps, "unexpected <%.64s> in <%s>", name, top->n->name);
  for (i = 0; top->n->kids[i].name && strcmp(top->n->kids[i].name, name) != 0; i++)
    ;
  if (!top->n->kids[i].name) {
    if (ps->depth == 0)
      return fail(ps, "the root element is <%.64s>, not %s", name, ps->roots);
    if (!(top->n->flags & OPEN))
      return fail(ps, "unexpected <%.64s> in %s", name, where(ps, top->n));
    return 0;
  }
  n = &top->n->kids[i];
  if ((top->seen >> i & 1u) && !(n->flags & MANY))
    return fail(ps, "%s has more than one <%s>", where(ps, top->n), name);
  top->seen |= 1u << i;
  if (n->kind == SKIP)
    return 0;
  /* The elements read carry no attribute but a namespace declaration (namespaces are off). */
  for (i = 0; attrs[i]; i += 2)
    if (strcmp(attrs[i], "xmlns") != 0 && strncmp(attrs[i], "xmlns:", 6) != 0)
      return fail(ps, "unexpected attribute %.64s on <%s>", attrs[i], n->name);
  if (n->kids == contents && ++ps->n_contents > MAX_KEYS)
    return fail(ps, "more than %d <Contents>", MAX_KEYS);
  *out = n;
  return 0;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs) {
  parse *ps = ud;
  const node *n;

  if (ps->rc || enter(ps, &ps->stack[ps->depth], name, attrs, &n) != 0)
    return;
  ps->depth++;
  ps->stack[ps->depth].n = n;
  ps->stack[ps->depth].seen = 0;
  ps->text_len = 0;
  ps->text[0] = '\0';
  ps->over = 0;
}

static void XMLCALL on_end(void *ud, const XML_Char *name) {
  parse *ps = ud;
  const node *n = ps->stack[ps->depth].n;
  uint32_t seen = ps->stack[ps->depth].seen;
  int i;

  (void)name; /* expat saw that it matches its start tag */
  if (ps->rc)
    return;
  ps->depth--;
  if (n && n->kind == GROUP) {
    for (i = 0; n->kids[i].name; i++)
      if ((n->kids[i].flags & REQ) && !(seen >> i & 1u)) {
        fail(ps, "%s has no <%s>", where(ps, n), n->kids[i].name);
        return;
      }
  } else if (n && n->field) {
    keep(ps, n);
  }
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
  parse *ps = ud;
  const node *n = ps->stack[ps->depth].n;
  size_t room;
  int i;

  if (ps->rc || !n)
    return;
  if (n->kind == GROUP) {
    for (i = 0; i < len; i++)
      if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
        fail(ps, "text where an element is expected in %s", where(ps, n));
        return;
      }
  } else if (n->field) {
    room = limit(ps, n->field) - ps->text_len;
    if ((size_t)len > room)
      ps->over = 1;
    else
      room = (size_t)len;
    memcpy(ps->text + ps->text_len, s, room);
    ps->text_len += room;
    ps->text[ps->text_len] = '\0';
  }
}

/* No DTD: it is where entities are declared (billion laughs, external files), and no answer
 * has one. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  fail(ud, "DOCTYPE not allowed");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation) {
  (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid, (void)pubid;
  (void)notation;
  fail(ud, "entity declaration not allowed");
}

static int XMLCALL on_external(XML_Parser xp, const XML_Char *context, const XML_Char *base,
                               const XML_Char *sysid, const XML_Char *pubid) {
  (void)context, (void)base, (void)sysid, (void)pubid;
  fail(XML_GetUserData(xp), "external entity not allowed");
  return XML_STATUS_ERROR; /* never loaded */
}

/* Runs the grammar of `roots` over the bytes; ps->rc and ps->why tell how it went. */
static void run(parse *ps, const node *roots, const char *desc, const char *xml, size_t len) {
  ps->doc.name = "document";
  ps->doc.kind = GROUP;
  ps->doc.kids = roots;
  ps->roots = desc;
  ps->stack[0].n = &ps->doc;
  if (len > INT_MAX) {
    fail(ps, "%zu bytes is too large an answer", len);
    return;
  }
  if (!(ps->xp = XML_ParserCreate(NULL))) {
    no_memory(ps);
    return;
  }
  XML_SetUserData(ps->xp, ps);
  XML_SetElementHandler(ps->xp, on_start, on_end);
  XML_SetCharacterDataHandler(ps->xp, on_text);
  XML_SetStartDoctypeDeclHandler(ps->xp, on_doctype);
  XML_SetEntityDeclHandler(ps->xp, on_entity);
  XML_SetExternalEntityRefHandler(ps->xp, on_external);
  XML_SetParamEntityParsing(ps->xp, XML_PARAM_ENTITY_PARSING_NEVER);
  if (XML_Parse(ps->xp, xml ? xml : "", (int)len, XML_TRUE) == XML_STATUS_ERROR && !ps->rc) {
    enum XML_Error e = XML_GetErrorCode(ps->xp);
    if (e == XML_ERROR_NO_MEMORY)
      no_memory(ps);
    else
      fail(ps, "not well-formed XML: %s (line %lu, column %lu)", XML_ErrorString(e),
           (unsigned long)XML_GetCurrentLineNumber(ps->xp),
           (unsigned long)XML_GetCurrentColumnNumber(ps->xp));
  }
  XML_ParserFree(ps->xp);
  ps->xp = NULL;
}

static int hex(char c) {
  return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* EncodingType url, in place: %XX, and '+' for a space (S3 writes "a b" as a+b, "a+b" as
 * a%2Bb). 0, or -1 on a broken escape or a NUL byte. */
static int url_decode(char *s) {
  size_t i, o = 0;
  for (i = 0; s[i]; i++) {
    if (s[i] == '%') {
      int hi = hex(s[i + 1]), lo = hi < 0 ? -1 : hex(s[i + 2]);
      if (lo < 0 || (hi | lo) == 0)
        return -1;
      s[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      s[o++] = s[i] == '+' ? ' ' : s[i];
    }
  }
  s[o] = '\0';
  return 0;
}

/* 1 when s is UTF-8 (shortest forms, no surrogates), as S3 keys are. */
static int utf8_ok(const unsigned char *s) {
  while (*s) {
    unsigned c = *s, n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0, k;
    uint32_t cp = c & (0x7Fu >> n);
    if (!n || c > 0xF4)
      return 0;
    for (k = 1; k < n; k++) {
      if ((s[k] & 0xC0) != 0x80)
        return 0;
      cp = cp << 6 | (s[k] & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    s += n;
  }
  return 1;
}

void k8sha__s3_list_page_clear(k8sha__s3_list_page *p) {
  size_t i;
  for (i = 0; i < p->n_keys; i++)
    free(p->keys[i]);
  free(p->keys);
  free(p->next_token);
  memset(p, 0, sizeof(*p));
}

int k8sha__s3_parse_list(const char *xml, size_t len, k8sha__s3_list_page *out, char *why,
                         size_t why_len) {
  parse ps;
  size_t i;

  memset(&ps, 0, sizeof(ps));
  memset(out, 0, sizeof(*out));
  ps.what = "S3 list answer";
  ps.why = why;
  ps.why_len = why_len;
  ps.page = out;
  run(&ps, list_doc, "<ListBucketResult>", xml, len);
  if (!ps.rc && out->truncated && !out->next_token)
    fail(&ps, "truncated page without <NextContinuationToken>");
  if (!ps.rc && !out->truncated) {
    free(out->next_token); /* kept only where it is used: on a truncated page */
    out->next_token = NULL;
  }
  /* Keys are checked here, EncodingType being allowed after the Contents. Each Contents holds
   * one key, so key i is the Contents number i + 1. */
  for (i = 0; !ps.rc && i < out->n_keys; i++) {
    ps.n_contents = i + 1;
    if (ps.url && url_decode(out->keys[i]) != 0)
      fail(&ps, "%s has a <Key> that is not URL-encoded", contents_at(&ps));
    else if (strlen(out->keys[i]) > K8SHA__S3_KEY_MAX)
      fail(&ps, "%s has a <Key> longer than %d bytes", contents_at(&ps), K8SHA__S3_KEY_MAX);
    else if (!utf8_ok((const unsigned char *)out->keys[i]))
      fail(&ps, "%s has a <Key> that is not UTF-8", contents_at(&ps));
  }
  if (ps.rc)
    k8sha__s3_list_page_clear(out);
  return ps.rc;
}

int k8sha__s3_parse_error(const char *xml, size_t len, k8sha__s3_error *out) {
  parse ps;
  char why[8];

  memset(&ps, 0, sizeof(ps));
  memset(out, 0, sizeof(*out));
  ps.what = "S3 error answer";
  ps.why = why;
  ps.why_len = sizeof(why);
  ps.err = out;
  run(&ps, error_doc, "<Error> or <ErrorResponse>", xml, len);
  if (ps.rc)
    memset(out, 0, sizeof(*out));
  return ps.rc;
}

int k8sha__sts_parse_credentials(const char *xml, size_t len, k8sha__sts_credentials *out,
                                 char *why, size_t why_len) {
  parse ps;

  memset(&ps, 0, sizeof(ps));
  memset(out, 0, sizeof(*out));
  ps.what = "STS answer";
  ps.why = why;
  ps.why_len = why_len;
  ps.cred = out;
  run(&ps, sts_doc, "<AssumeRoleWithWebIdentityResponse>", xml, len);
  explicit_bzero(ps.text, sizeof(ps.text)); /* it held the secret key or the token */
  if (ps.rc)
    explicit_bzero(out, sizeof(*out));
  return ps.rc;
}
