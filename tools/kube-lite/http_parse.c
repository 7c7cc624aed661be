/*
 * Incremental HTTP/1.1 request parser.  It only understands what Kubernetes
 * clients send: a request line, headers, and a body framed by
 * Content-Length.  A request is parsed only once all of it has arrived, so
 * handlers always see a complete body.  Nothing else is half-supported:
 * a chunked body is a 411 and HTTP/1.0 a 505.
 */
#include "kl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REQUEST_LINE_MAX 16384

typedef struct framing {
  size_t header_len; /* up to and including the blank line */
  bool has_length;
  size_t content_length;
} framing;

static bool header_is(const char *line, size_t n, const char *name, const char **val,
                      size_t *vlen) {
  size_t nl = strlen(name);
  if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
    return false;
  const char *v = line + nl + 1;
  const char *end = line + n;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
    end--;
  *val = v;
  *vlen = (size_t)(end - v);
  return true;
}

static bool token_in(const char *v, size_t n, const char *token) {
  size_t tl = strlen(token);
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == ','))
      i++;
    size_t s = i;
    while (i < n && v[i] != ',')
      i++;
    size_t e = i;
    while (e > s && v[e - 1] == ' ')
      e--;
    if (e - s == tl && strncasecmp(v + s, token, tl) == 0)
      return true;
  }
  return false;
}

/* Reads only the headers that decide where the request ends. */
static int scan_framing(const char *data, size_t len, framing *f) {
  const char *end = memmem(data, len, "\r\n\r\n", 4);
  if (!end) {
    if (len > REQUEST_HEADER_MAX_BYTES)
      return 431;
    const char *eol = memchr(data, '\n', len);
    if (!eol && len > REQUEST_LINE_MAX)
      return 414;
    return KL_PARSE_MORE;
  }
  f->header_len = (size_t)(end - data) + 4;
  if (f->header_len > REQUEST_HEADER_MAX_BYTES)
    return 431;
  /* No field of HTTP/1.1's grammar holds a NUL, and the head is tokenised as C strings. */
  if (memchr(data, '\0', f->header_len))
    return 400;
  const char *p = memchr(data, '\n', f->header_len);
  if ((size_t)(p - data) > REQUEST_LINE_MAX)
    return 414;
  p++;
  while (p < end) {
    const char *eol = memchr(p, '\r', (size_t)(end + 2 - p));
    size_t n = (size_t)(eol - p);
    const char *v;
    size_t vl;
    if (header_is(p, n, "content-length", &v, &vl)) {
      if (vl == 0 || vl > 19)
        return 400;
      size_t cl = 0;
      for (size_t i = 0; i < vl; i++) {
        if (!isdigit((unsigned char)v[i]))
          return 400;
        cl = cl * 10 + (size_t)(v[i] - '0');
      }
      if (f->has_length && cl != f->content_length)
        return 400;
      f->has_length = true;
      f->content_length = cl;
    } else if (header_is(p, n, "transfer-encoding", &v, &vl)) {
      /* Every client kube-lite serves sends Content-Length. */
      if (token_in(v, vl, "chunked"))
        return 411;
      if (!token_in(v, vl, "identity"))
        return 501;
    }
    p = eol + 2;
  }
  if (f->has_length && f->content_length > REQUEST_BODY_MAX_BYTES)
    return 413;
  return KL_PARSE_OK;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

static void url_decode(char *s, bool plus_is_space) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (*p == '%' && hexval((unsigned char)p[1]) >= 0 && hexval((unsigned char)p[2]) >= 0) {
      *o++ = (char)(hexval((unsigned char)p[1]) * 16 + hexval((unsigned char)p[2]));
      p += 2;
    } else if (*p == '+' && plus_is_space) {
      *o++ = ' ';
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
}

static void parse_query(kl_req *r, char *q) {
  while (q && *q) {
    char *amp = strchr(q, '&');
    if (amp)
      *amp = '\0';
    if (*q && r->nparams < REQUEST_PARAMS_MAX) {
      char *eq = strchr(q, '=');
      char *val = q + strlen(q);
      if (eq) {
        *eq = '\0';
        val = eq + 1;
      }
      url_decode(q, true);
      url_decode(val, true);
      r->params[r->nparams].key = q;
      r->params[r->nparams].val = val;
      r->nparams++;
    }
    q = amp ? amp + 1 : NULL;
  }
}

/* Tokenises the copied header block in place. */
static int parse_head(kl_req *r, char *h) {
  char *eol = strstr(h, "\r\n");
  *eol = '\0';
  char *sp1 = strchr(h, ' ');
  if (!sp1 || sp1 == h)
    return 400; /* (a method is one token or more: never empty) */
  *sp1 = '\0';
  char *target = sp1 + 1;
  char *sp2 = strchr(target, ' ');
  if (!sp2)
    return 400;
  *sp2 = '\0';
  if (strcmp(sp2 + 1, "HTTP/1.1") != 0)
    return 505;
  for (const char *m = h; *m; m++)
    if (!isupper((unsigned char)*m))
      return 400;
  r->method = h;
  if (target[0] != '/')
    return 400;
  r->target = kl_strdup(target); /* as sent, for a proxy's upstream request */
  char *q = strchr(target, '?');
  if (q)
    *q++ = '\0';
  r->path = target;
  url_decode(r->path, false);
  parse_query(r, q);

  bool conn_close = false;
  char *line = eol + 2;
  while (*line) {
    char *e = strstr(line, "\r\n");
    if (!e)
      break;
    *e = '\0';
    size_t n = (size_t)(e - line);
    const char *v;
    size_t vl;
    if (header_is(line, n, "authorization", &v, &vl)) {
      ((char *)v)[vl] = '\0';
      r->authorization = (char *)v;
    } else if (header_is(line, n, "content-type", &v, &vl)) {
      ((char *)v)[vl] = '\0';
      r->content_type = (char *)v;
    } else if (header_is(line, n, "accept", &v, &vl)) {
      ((char *)v)[vl] = '\0';
      r->accept = (char *)v;
    } else if (header_is(line, n, "connection", &v, &vl)) {
      conn_close = token_in(v, vl, "close");
    }
    line = e + 2;
  }
  r->keep_alive = !conn_close;
  return 0;
}

int kl_http_parse(const char *data, size_t len, kl_req **out, size_t *consumed) {
  /* Stray line breaks between pipelined requests are allowed by RFC 9112. */
  size_t skip = 0;
  while (skip < len && (data[skip] == '\r' || data[skip] == '\n'))
    skip++;
  data += skip;
  len -= skip;

  framing f = {0};
  int rc = scan_framing(data, len, &f);
  if (rc != KL_PARSE_OK) {
    if (rc == KL_PARSE_MORE)
      *consumed = skip;
    return rc;
  }
  /* (an Expect: 100-continue gets no interim answer: clients send the body anyway) */
  size_t body_len = f.content_length;
  if (len - f.header_len < body_len) {
    *consumed = skip;
    return KL_PARSE_MORE;
  }

  kl_req *r = kl_xcalloc(1, sizeof *r);
  r->raw = kl_xmalloc(f.header_len + body_len + 2);
  memcpy(r->raw, data, f.header_len);
  r->raw[f.header_len] = '\0';
  r->body = r->raw + f.header_len + 1;
  if (body_len)
    memcpy(r->body, data + f.header_len, body_len);
  r->body[body_len] = '\0';
  r->body_len = body_len;
  rc = parse_head(r, r->raw);
  if (rc) {
    kl_req_free(r);
    return rc;
  }
  *consumed = skip + f.header_len + body_len;
  *out = r;
  return KL_PARSE_OK;
}

const char *kl_req_param(const kl_req *r, const char *key) {
  for (int i = 0; i < r->nparams; i++)
    if (strcmp(r->params[i].key, key) == 0)
      return r->params[i].val;
  return NULL;
}

bool kl_req_param_true(const kl_req *r, const char *key) {
  static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
  const char *v = kl_req_param(r, key);
  for (size_t i = 0; v && i < sizeof yes / sizeof *yes; i++)
    if (strcmp(v, yes[i]) == 0)
      return true;
  return false;
}

void kl_req_free(kl_req *r) {
  if (!r)
    return;
  free(r->raw);
  free(r->target);
  free(r);
}

const char *kl_http_reason(int code) {
  switch (code) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 202:
    return "Accepted";
  case 204:
    return "No Content";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 406:
    return "Not Acceptable";
  case 409:
    return "Conflict";
  case 410:
    return "Gone";
  case 411:
    return "Length Required";
  case 413:
    return "Request Entity Too Large";
  case 414:
    return "URI Too Long";
  case 415:
    return "Unsupported Media Type";
  case 422:
    return "Unprocessable Entity";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}
