/*
 * Incremental HTTP/1.1 request parser.  It only understands what Kubernetes
 * clients send: a request line, headers, and a body framed by
 * Content-Length or chunked transfer coding.  A request is parsed only once
 * all of it has arrived, so handlers always see a complete body.
 */
#include "kl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REQUEST_LINE_MAX 16384

typedef struct framing {
    size_t header_len; /* up to and including the blank line */
    bool chunked;
    bool has_length;
    size_t content_length;
    bool expect_continue;
} framing;

static bool header_is(const char *line, size_t n, const char *name, const char **val,
                      size_t *vlen)
{
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

static bool token_in(const char *v, size_t n, const char *token)
{
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
static int scan_framing(const char *data, size_t len, framing *f)
{
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
            if (token_in(v, vl, "chunked"))
                f->chunked = true;
            else if (!token_in(v, vl, "identity"))
                return 501;
        } else if (header_is(p, n, "expect", &v, &vl)) {
            if (vl == 12 && strncasecmp(v, "100-continue", 12) == 0)
                f->expect_continue = true;
        }
        p = eol + 2;
    }
    if (f->chunked)
        f->has_length = false;
    if (f->has_length && f->content_length > REQUEST_BODY_MAX_BYTES)
        return 413;
    return KL_PARSE_OK;
}

/* Walks a chunked body; returns bytes consumed (including trailers) once
 * complete, 0 when more is needed, or (size_t)-1 when malformed. */
static size_t scan_chunked(const char *p, size_t len, size_t *payload, int *err)
{
    size_t off = 0, total = 0;
    *err = 0;
    for (;;) {
        const char *eol = memmem(p + off, len - off, "\r\n", 2);
        if (!eol)
            return 0;
        size_t sz = 0;
        const char *q = p + off;
        int nd = 0;
        while (q < eol && isxdigit((unsigned char)*q)) {
            int c = tolower((unsigned char)*q);
            sz = sz * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
            if (++nd > 8) {
                *err = 400;
                return (size_t)-1;
            }
            q++;
        }
        if (nd == 0 || (q < eol && *q != ';')) {
            *err = 400;
            return (size_t)-1;
        }
        off = (size_t)(eol - p) + 2;
        if (sz == 0) {
            /* Trailers end with an empty line. */
            for (;;) {
                const char *t = memmem(p + off, len - off, "\r\n", 2);
                if (!t)
                    return 0;
                size_t tl = (size_t)(t - (p + off));
                off += tl + 2;
                if (tl == 0) {
                    *payload = total;
                    return off;
                }
            }
        }
        total += sz;
        if (total > REQUEST_BODY_MAX_BYTES) {
            *err = 413;
            return (size_t)-1;
        }
        if (len - off < sz + 2)
            return 0;
        if (p[off + sz] != '\r' || p[off + sz + 1] != '\n') {
            *err = 400;
            return (size_t)-1;
        }
        off += sz + 2;
    }
}

static void dechunk(const char *p, char *out)
{
    size_t off = 0;
    for (;;) {
        size_t sz = strtoul(p + off, NULL, 16);
        off = (size_t)((const char *)strstr(p + off, "\r\n") - p) + 2;
        if (sz == 0)
            return;
        memcpy(out, p + off, sz);
        out += sz;
        off += sz + 2;
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static void url_decode(char *s, bool plus_is_space)
{
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

static void parse_query(kl_req *r, char *q)
{
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
static int parse_head(kl_req *r, char *h)
{
    char *eol = strstr(h, "\r\n");
    *eol = '\0';
    char *sp1 = strchr(h, ' ');
    if (!sp1)
        return 400;
    *sp1 = '\0';
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2)
        return 400;
    *sp2 = '\0';
    const char *version = sp2 + 1;
    if (strcmp(version, "HTTP/1.1") == 0)
        r->http10 = false;
    else if (strcmp(version, "HTTP/1.0") == 0)
        r->http10 = true;
    else
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

    bool conn_close = false, conn_keep = false;
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
            conn_keep = token_in(v, vl, "keep-alive");
        }
        line = e + 2;
    }
    r->keep_alive = r->http10 ? conn_keep && !conn_close : !conn_close;
    return 0;
}

int kl_http_parse(const char *data, size_t len, kl_req **out, size_t *consumed,
                  bool *expects_continue)
{
    *expects_continue = false;
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
    size_t body_len = 0, wire_body = 0;
    if (f.chunked) {
        int err;
        size_t n = scan_chunked(data + f.header_len, len - f.header_len, &body_len, &err);
        if (n == (size_t)-1)
            return err;
        if (n == 0) {
            *expects_continue = f.expect_continue;
            return KL_PARSE_MORE;
        }
        wire_body = n;
    } else if (f.has_length) {
        body_len = wire_body = f.content_length;
        if (len - f.header_len < body_len) {
            *expects_continue = f.expect_continue;
            return KL_PARSE_MORE;
        }
    }

    kl_req *r = kl_xcalloc(1, sizeof *r);
    r->raw = kl_xmalloc(f.header_len + body_len + 2);
    memcpy(r->raw, data, f.header_len);
    r->raw[f.header_len] = '\0';
    r->body = r->raw + f.header_len + 1;
    if (f.chunked) {
        /* dechunk relies on strstr, so give it a terminated copy. */
        char *tmp = kl_xmalloc(wire_body + 1);
        memcpy(tmp, data + f.header_len, wire_body);
        tmp[wire_body] = '\0';
        dechunk(tmp, r->body);
        free(tmp);
    } else if (body_len) {
        memcpy(r->body, data + f.header_len, body_len);
    }
    r->body[body_len] = '\0';
    r->body_len = body_len;
    rc = parse_head(r, r->raw);
    if (rc) {
        kl_req_free(r);
        return rc;
    }
    *consumed = skip + f.header_len + wire_body;
    *out = r;
    return KL_PARSE_OK;
}

const char *kl_req_param(const kl_req *r, const char *key)
{
    for (int i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].key, key) == 0)
            return r->params[i].val;
    return NULL;
}

bool kl_req_param_true(const kl_req *r, const char *key)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    const char *v = kl_req_param(r, key);
    for (size_t i = 0; v && i < sizeof yes / sizeof *yes; i++)
        if (strcmp(v, yes[i]) == 0)
            return true;
    return false;
}

void kl_req_free(kl_req *r)
{
    if (!r)
        return;
    free(r->raw);
    free(r->target);
    free(r);
}

const char *kl_http_reason(int code)
{
    switch (code) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
