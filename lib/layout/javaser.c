/* The Java Object Serialization Stream Protocol, as a recursive-descent parser over its grammar
 * (Java Object Serialization Specification, 6.4). Written here because no C library reads it.
 * Every rule below is named after the grammar's production it implements.
 *
 * About 700 lines in one file, on purpose: the productions are one grammar and call each other
 * (content -> object -> class descriptor -> content), so they are read here top to bottom in
 * the specification's order; the few accessors of the parsed tree at the end need its node
 * layout, which is the parser's own. */
#include "layout/javaser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "k8sha/errors.h"

/* Stream constants (6.4.2). */
#define STREAM_MAGIC 0xACEDu
#define STREAM_VERSION 5u
#define TC_NULL 0x70
#define TC_REFERENCE 0x71
#define TC_CLASSDESC 0x72
#define TC_OBJECT 0x73
#define TC_STRING 0x74
#define TC_ARRAY 0x75
#define TC_CLASS 0x76
#define TC_BLOCKDATA 0x77
#define TC_ENDBLOCKDATA 0x78
#define TC_RESET 0x79
#define TC_BLOCKDATALONG 0x7A
#define TC_EXCEPTION 0x7B
#define TC_LONGSTRING 0x7C
#define TC_PROXYCLASSDESC 0x7D
#define TC_ENUM 0x7E
#define BASE_WIRE_HANDLE 0x7E0000u
#define SC_WRITE_METHOD 0x01
#define SC_SERIALIZABLE 0x02
#define SC_EXTERNALIZABLE 0x04
#define SC_BLOCK_DATA 0x08
#define SC_ENUM 0x10

/* Bounds that no handle Flink writes comes near; they keep hostile input cheap. */
#define MAX_DEPTH 64
#define MAX_NODES 65536
#define MAX_FIELDS 4096
#define MAX_CHAIN 64

typedef enum node_kind { N_CLASSDESC, N_OBJECT, N_STRING, N_ARRAY, N_ENUM, N_CLASS } node_kind;

typedef struct jfield {
  char code;
  char *name;
  int type; /* object fields: the string node of the type signature; else -1 */
} jfield;

typedef struct jnode {
  node_kind kind;
  int cls;   /* object, array, enum, class: the class descriptor; descriptor: its super or -1 */
  char *str; /* string: its text; descriptor: the class name */
  uint64_t suid;
  unsigned char flags;
  size_t n_fields;
  jfield *fields;
  size_t n_vals; /* object: the field values of its classes, topmost superclass first */
  k8sha__jval *vals;
  int enum_name; /* enum: the string node of the constant */
} jnode;

struct k8sha__jser {
  const k8sha_allocator *a;
  jnode *nodes;
  size_t n_nodes, cap_nodes;
  int root;
};

typedef struct cursor {
  k8sha__jser *s;
  const unsigned char *b;
  size_t n, pos;
  int depth;
  int err;
  char *why;
  size_t why_len;
} cursor;

static int fail(cursor *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(cursor *c, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  if (c->err)
    return c->err;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  snprintf(c->why, c->why_len, "Java serialization stream: %s (at byte %zu)", msg, c->pos);
  c->err = K8SHA_ECORRUPT;
  return c->err;
}

static int oom(cursor *c) {
  if (!c->err) {
    snprintf(c->why, c->why_len, "Java serialization stream: out of memory");
    c->err = K8SHA_ENOMEM;
  }
  return c->err;
}

/* ---- primitives ---- */

static int need(cursor *c, size_t k, const char *what) {
  if (c->n - c->pos < k)
    return fail(c, "truncated: %s needs %zu bytes, %zu left", what, k, c->n - c->pos);
  return 0;
}

static int read_be(cursor *c, size_t k, const char *what, uint64_t *v) {
  size_t i;
  *v = 0;
  if (need(c, k, what))
    return c->err;
  for (i = 0; i < k; i++)
    *v = (*v << 8) | c->b[c->pos + i];
  c->pos += k;
  return 0;
}

static int peek(cursor *c, const char *what, int *tc) {
  *tc = -1;
  if (need(c, 1, what))
    return c->err;
  *tc = c->b[c->pos];
  return 0;
}

/* Modified UTF-8 (DataInput.readUTF) of `len` bytes into UTF-8. NUL characters, lone surrogates
 * and the forms Java never writes are refused. */
static int read_mutf8(cursor *c, size_t len, char **out) {
  const unsigned char *p;
  char *dst;
  size_t i = 0, o = 0;
  if (need(c, len, "a string"))
    return c->err;
  p = c->b + c->pos;
  dst = k8sha__malloc(c->s->a, len + 1); /* UTF-8 is never longer than modified UTF-8 */
  if (!dst)
    return oom(c);
  while (i < len) {
    unsigned int u;
    unsigned char x = p[i];
    if (x >= 0x01 && x <= 0x7f) {
      dst[o++] = (char)x;
      i++;
      continue;
    }
    if ((x & 0xe0) == 0xc0 && i + 1 < len && (p[i + 1] & 0xc0) == 0x80) {
      u = ((x & 0x1fu) << 6) | (p[i + 1] & 0x3fu);
      i += 2;
      if (u == 0)
        break; /* NUL: refused below */
      if (u < 0x80)
        goto bad;
    } else if ((x & 0xf0) == 0xe0 && i + 2 < len && (p[i + 1] & 0xc0) == 0x80 &&
               (p[i + 2] & 0xc0) == 0x80) {
      u = ((x & 0x0fu) << 12) | ((p[i + 1] & 0x3fu) << 6) | (p[i + 2] & 0x3fu);
      i += 3;
      if (u < 0x800)
        goto bad;
      if (u >= 0xd800 && u <= 0xdbff) { /* a high surrogate: its low half must follow */
        unsigned int lo;
        if (!(i + 2 < len && p[i] == 0xed && (p[i + 1] & 0xf0) == 0xb0 &&
              (p[i + 2] & 0xc0) == 0x80))
          goto bad;
        lo = 0xd000u | ((p[i + 1] & 0x3fu) << 6) | (p[i + 2] & 0x3fu);
        i += 3;
        u = 0x10000u + ((u - 0xd800u) << 10) + (lo - 0xdc00u);
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        goto bad;
      }
    } else {
      goto bad;
    }
    if (u < 0x800) {
      dst[o++] = (char)(0xc0 | (u >> 6));
      dst[o++] = (char)(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
      dst[o++] = (char)(0xe0 | (u >> 12));
      dst[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
      dst[o++] = (char)(0x80 | (u & 0x3f));
    } else {
      dst[o++] = (char)(0xf0 | (u >> 18));
      dst[o++] = (char)(0x80 | ((u >> 12) & 0x3f));
      dst[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
      dst[o++] = (char)(0x80 | (u & 0x3f));
    }
  }
  if (i < len) {
    k8sha__free(c->s->a, dst);
    c->pos += i;
    return fail(c, "a string holds a NUL character");
  }
  dst[o] = '\0';
  c->pos += len;
  *out = dst;
  return 0;
bad:
  k8sha__free(c->s->a, dst);
  c->pos += i;
  return fail(c, "a string is not valid modified UTF-8");
}

/* (utf): a two-byte length, then modified UTF-8. */
static int read_utf(cursor *c, char **out) {
  uint64_t len;
  if (read_be(c, 2, "a string length", &len))
    return c->err;
  return read_mutf8(c, (size_t)len, out);
}

/* ---- handles ---- */

static int new_node(cursor *c, node_kind kind) {
  k8sha__jser *s = c->s;
  if (s->n_nodes >= MAX_NODES)
    return fail(c, "more than %d objects", MAX_NODES), -1;
  if (k8sha__grow(s->a, (void **)&s->nodes, &s->cap_nodes, s->n_nodes + 1, sizeof(jnode)) != 0)
    return oom(c), -1;
  memset(&s->nodes[s->n_nodes], 0, sizeof(jnode));
  s->nodes[s->n_nodes].kind = kind;
  s->nodes[s->n_nodes].cls = -1;
  s->nodes[s->n_nodes].enum_name = -1;
  return (int)s->n_nodes++;
}

/* prevObject: TC_REFERENCE (int)handle, already consumed up to the handle. */
static int read_handle(cursor *c, int *node) {
  uint64_t h;
  if (read_be(c, 4, "a handle", &h))
    return c->err;
  if (h < BASE_WIRE_HANDLE || h - BASE_WIRE_HANDLE >= c->s->n_nodes)
    return fail(c, "reference to handle 0x%llx, which is not assigned", (unsigned long long)h);
  *node = (int)(h - BASE_WIRE_HANDLE);
  return 0;
}

static const char *kind_name(node_kind k) {
  switch (k) {
  case N_CLASSDESC: return "a class descriptor";
  case N_OBJECT: return "an object";
  case N_STRING: return "a string";
  case N_ARRAY: return "an array";
  case N_ENUM: return "an enum constant";
  case N_CLASS: return "a class";
  }
  return "?";
}

static int read_content(cursor *c, int *node);
static int read_class_desc(cursor *c, int *node);

/* newString: TC_STRING newHandle (utf) | TC_LONGSTRING newHandle (long-utf) */
static int read_new_string(cursor *c, int tc, int *node) {
  uint64_t len;
  int id = new_node(c, N_STRING);
  if (id < 0)
    return c->err;
  if (read_be(c, tc == TC_STRING ? 2 : 8, "a string length", &len))
    return c->err;
  if (len > c->n - c->pos)
    return fail(c, "truncated: a string of %llu bytes, %zu left", (unsigned long long)len,
                c->n - c->pos);
  if (read_mutf8(c, (size_t)len, &c->s->nodes[id].str))
    return c->err;
  *node = id;
  return 0;
}

/* (String)object: a new string or a reference to one. */
static int read_string_object(cursor *c, const char *what, int *node) {
  int tc;
  if (peek(c, what, &tc))
    return c->err;
  c->pos++;
  if (tc == TC_STRING || tc == TC_LONGSTRING)
    return read_new_string(c, tc, node);
  if (tc == TC_REFERENCE) {
    if (read_handle(c, node))
      return c->err;
    if (c->s->nodes[*node].kind != N_STRING)
      return fail(c, "%s refers to %s, not a string", what, kind_name(c->s->nodes[*node].kind));
    return 0;
  }
  c->pos--;
  return fail(c, "%s: expected a string, found type code 0x%02x", what, tc);
}

/* classAnnotation / objectAnnotation: endBlockData | contents endBlockData */
static int read_annotation(cursor *c) {
  for (;;) {
    int tc, ignored;
    if (peek(c, "an annotation", &tc))
      return c->err;
    if (tc == TC_ENDBLOCKDATA) {
      c->pos++;
      return 0;
    }
    if (read_content(c, &ignored))
      return c->err;
  }
}

/* fields: (short)<count> fieldDesc[count]; fieldDesc: primitiveDesc | objectDesc */
static int read_fields(cursor *c, int id) {
  uint64_t count, i;
  jfield *f;
  if (read_be(c, 2, "a field count", &count))
    return c->err;
  if (count > MAX_FIELDS)
    return fail(c, "a class declares %llu fields", (unsigned long long)count);
  if (count == 0)
    return 0;
  f = k8sha__calloc(c->s->a, (size_t)count, sizeof(*f));
  if (!f)
    return oom(c);
  c->s->nodes[id].fields = f;
  for (i = 0; i < count; i++) {
    uint64_t code;
    if (read_be(c, 1, "a field type code", &code))
      return c->err;
    f[i].type = -1;
    c->s->nodes[id].n_fields = (size_t)i + 1; /* freed with the node from here on */
    if (!strchr("BCDFIJSZL[", (int)code) || code == 0)
      return fail(c, "unknown field type code 0x%02x", (unsigned)code);
    f[i].code = (char)code;
    if (read_utf(c, &f[i].name))
      return c->err;
    if ((code == 'L' || code == '[') && read_string_object(c, "a field's type", &f[i].type))
      return c->err;
  }
  return 0;
}

/* newClassDesc: TC_CLASSDESC className serialVersionUID newHandle classDescInfo
 * classDescInfo: classDescFlags fields classAnnotation superClassDesc */
static int read_new_class_desc(cursor *c, int *node) {
  uint64_t suid, flags;
  char *name = NULL;
  int id, super;
  if (read_utf(c, &name))
    return c->err;
  if (read_be(c, 8, "a serialVersionUID", &suid)) {
    k8sha__free(c->s->a, name);
    return c->err;
  }
  id = new_node(c, N_CLASSDESC);
  if (id < 0) {
    k8sha__free(c->s->a, name);
    return c->err;
  }
  c->s->nodes[id].str = name;
  c->s->nodes[id].suid = suid;
  if (read_be(c, 1, "class flags", &flags))
    return c->err;
  c->s->nodes[id].flags = (unsigned char)flags;
  if ((flags & SC_SERIALIZABLE) && (flags & SC_EXTERNALIZABLE))
    return fail(c, "class %s is flagged both serializable and externalizable", name);
  if (read_fields(c, id) || read_annotation(c) || read_class_desc(c, &super))
    return c->err;
  c->s->nodes[id].cls = super;
  *node = id;
  return 0;
}

/* classDesc: newClassDesc | nullReference | (ClassDesc)prevObject; -1 for null. */
static int read_class_desc(cursor *c, int *node) {
  int tc;
  if (peek(c, "a class descriptor", &tc))
    return c->err;
  c->pos++;
  switch (tc) {
  case TC_NULL:
    *node = -1;
    return 0;
  case TC_CLASSDESC:
    return read_new_class_desc(c, node);
  case TC_REFERENCE:
    if (read_handle(c, node))
      return c->err;
    if (c->s->nodes[*node].kind != N_CLASSDESC)
      return fail(c, "a class descriptor refers to %s", kind_name(c->s->nodes[*node].kind));
    return 0;
  case TC_PROXYCLASSDESC:
    return fail(c, "a dynamic proxy class is not supported");
  default:
    c->pos--;
    return fail(c, "expected a class descriptor, found type code 0x%02x", tc);
  }
}

/* The descriptors of a class and its serializable superclasses, topmost first. */
static int class_chain(cursor *c, int desc, int *chain, int *n) {
  int k = 0, d, i;
  *n = 0;
  for (d = desc; d >= 0; d = c->s->nodes[d].cls) {
    if (k == MAX_CHAIN)
      return fail(c, "class %s has a superclass chain longer than %d", c->s->nodes[desc].str,
                  MAX_CHAIN);
    chain[k++] = d;
  }
  for (i = 0; i < k / 2; i++) {
    int t = chain[i];
    chain[i] = chain[k - 1 - i];
    chain[k - 1 - i] = t;
  }
  *n = k;
  return 0;
}

static size_t prim_size(char code) {
  switch (code) {
  case 'B': case 'Z': return 1;
  case 'C': case 'S': return 2;
  case 'I': case 'F': return 4;
  case 'J': case 'D': return 8;
  }
  return 0;
}

/* One value of a field or array element of type `code`. */
static int read_value(cursor *c, char code, k8sha__jval *v) {
  uint64_t raw;
  v->type = code;
  v->ref = -1;
  v->i = 0;
  v->at = c->pos;
  if (code == 'L' || code == '[')
    return read_content(c, &v->ref);
  if (read_be(c, prim_size(code), "a primitive value", &raw))
    return c->err;
  switch (code) {
  case 'B': v->i = (int8_t)raw; break;
  case 'S': v->i = (int16_t)raw; break;
  case 'I': v->i = (int32_t)raw; break;
  case 'Z':
    if (raw > 1)
      return fail(c, "a boolean holds %u", (unsigned)raw);
    v->i = (int64_t)raw;
    break;
  default: v->i = (int64_t)raw; break; /* C, J, F, D: the raw bits */
  }
  return 0;
}

/* newObject: TC_OBJECT classDesc newHandle classdata[] */
static int read_new_object(cursor *c, int *node) {
  int desc, id, chain[MAX_CHAIN], n_chain, i;
  size_t total = 0, k = 0, f;
  k8sha__jval *vals;
  if (read_class_desc(c, &desc))
    return c->err;
  if (desc < 0)
    return fail(c, "an object without a class");
  id = new_node(c, N_OBJECT);
  if (id < 0)
    return c->err;
  c->s->nodes[id].cls = desc;
  *node = id;
  if (class_chain(c, desc, chain, &n_chain))
    return c->err;
  for (i = 0; i < n_chain; i++)
    total += c->s->nodes[chain[i]].n_fields;
  if (total) {
    vals = k8sha__calloc(c->s->a, total, sizeof(*vals));
    if (!vals)
      return oom(c);
    c->s->nodes[id].vals = vals;
  }
  for (i = 0; i < n_chain; i++) {
    /* Copy what is needed: reading values may grow (move) the node array. */
    unsigned char flags = c->s->nodes[chain[i]].flags;
    size_t nf = c->s->nodes[chain[i]].n_fields;
    if (flags & SC_EXTERNALIZABLE) {
      if (!(flags & SC_BLOCK_DATA))
        return fail(c, "externalizable class %s written without block data (protocol 1)",
                    c->s->nodes[chain[i]].str);
      if (read_annotation(c))
        return c->err;
      continue;
    }
    if (!(flags & SC_SERIALIZABLE))
      return fail(c, "class %s is neither serializable nor externalizable",
                  c->s->nodes[chain[i]].str);
    for (f = 0; f < nf; f++) {
      k8sha__jval v;
      if (read_value(c, c->s->nodes[chain[i]].fields[f].code, &v))
        return c->err;
      c->s->nodes[id].vals[k++] = v;
      c->s->nodes[id].n_vals = k;
    }
    if ((flags & SC_WRITE_METHOD) && read_annotation(c))
      return c->err;
  }
  return 0;
}

/* newArray: TC_ARRAY classDesc newHandle (int)<size> values[size] */
static int read_new_array(cursor *c, int *node) {
  int desc, id;
  uint64_t size, i;
  const char *name;
  char code;
  if (read_class_desc(c, &desc))
    return c->err;
  if (desc < 0)
    return fail(c, "an array without a class");
  name = c->s->nodes[desc].str;
  if (name[0] != '[' || !name[1] || !strchr("BCDFIJSZL[", name[1]))
    return fail(c, "array class %s is not an array type", name);
  code = name[1];
  id = new_node(c, N_ARRAY);
  if (id < 0)
    return c->err;
  c->s->nodes[id].cls = desc;
  *node = id;
  if (read_be(c, 4, "an array length", &size))
    return c->err;
  if (size > 0x7fffffffu)
    return fail(c, "an array of negative length");
  if (code != 'L' && code != '[') { /* primitive elements are skipped, not kept */
    if (size > (c->n - c->pos) / prim_size(code))
      return fail(c, "truncated: an array of %llu elements", (unsigned long long)size);
    c->pos += (size_t)size * prim_size(code);
    return 0;
  }
  for (i = 0; i < size; i++) {
    k8sha__jval v;
    if (read_value(c, code, &v))
      return c->err;
  }
  return 0;
}

/* newEnum: TC_ENUM classDesc newHandle enumConstantName */
static int read_new_enum(cursor *c, int *node) {
  int desc, id, name;
  if (read_class_desc(c, &desc))
    return c->err;
  if (desc < 0)
    return fail(c, "an enum constant without a class");
  id = new_node(c, N_ENUM);
  if (id < 0)
    return c->err;
  c->s->nodes[id].cls = desc;
  *node = id;
  if (read_string_object(c, "an enum constant's name", &name))
    return c->err;
  c->s->nodes[id].enum_name = name;
  return 0;
}

/* content: object | blockdata, where object is any of the productions below. Block data is
 * allowed only inside annotations, where it is skipped (*node = -1). */
static int read_content(cursor *c, int *node) {
  int tc, rc, desc;
  uint64_t len;
  if (peek(c, "a value", &tc))
    return c->err;
  if (c->depth >= MAX_DEPTH)
    return fail(c, "objects nested deeper than %d", MAX_DEPTH);
  c->pos++;
  c->depth++;
  *node = -1;
  switch (tc) {
  case TC_NULL: rc = 0; break;
  case TC_REFERENCE: rc = read_handle(c, node); break;
  case TC_OBJECT: rc = read_new_object(c, node); break;
  case TC_STRING:
  case TC_LONGSTRING: rc = read_new_string(c, tc, node); break;
  case TC_ARRAY: rc = read_new_array(c, node); break;
  case TC_ENUM: rc = read_new_enum(c, node); break;
  case TC_CLASSDESC: rc = read_new_class_desc(c, node); break;
  case TC_CLASS: /* newClass: TC_CLASS classDesc newHandle */
    rc = read_class_desc(c, &desc);
    if (rc == 0) {
      int id = new_node(c, N_CLASS);
      rc = id < 0 ? c->err : 0;
      if (id >= 0) {
        c->s->nodes[id].cls = desc;
        *node = id;
      }
    }
    break;
  case TC_BLOCKDATA:
  case TC_BLOCKDATALONG:
    rc = read_be(c, tc == TC_BLOCKDATA ? 1 : 4, "a block length", &len);
    if (rc == 0 && len > c->n - c->pos)
      rc = fail(c, "truncated: a block of %llu bytes", (unsigned long long)len);
    if (rc == 0)
      c->pos += (size_t)len;
    break;
  case TC_RESET: c->pos--; rc = fail(c, "a stream reset is not supported"); break;
  case TC_EXCEPTION: c->pos--; rc = fail(c, "the stream records an exception of its writer"); break;
  case TC_PROXYCLASSDESC: c->pos--; rc = fail(c, "a dynamic proxy class is not supported"); break;
  default: c->pos--; rc = fail(c, "unknown type code 0x%02x", tc); break;
  }
  c->depth--;
  return rc;
}

/* ---- the stream ---- */

void k8sha__jser_free(k8sha__jser *s) {
  size_t i, f;
  if (!s)
    return;
  for (i = 0; i < s->n_nodes; i++) {
    jnode *n = &s->nodes[i];
    k8sha__free(s->a, n->str);
    for (f = 0; f < n->n_fields; f++)
      k8sha__free(s->a, n->fields[f].name);
    k8sha__free(s->a, n->fields);
    k8sha__free(s->a, n->vals);
  }
  k8sha__free(s->a, s->nodes);
  k8sha__free(s->a, s);
}

/* stream: magic version contents, here exactly one object. */
int k8sha__jser_parse(const k8sha_allocator *a, const unsigned char *b, size_t n,
                      k8sha__jser **out, char *why, size_t why_len) {
  cursor c;
  uint64_t magic, version;
  int tc;
  k8sha__jser *s = k8sha__calloc(a, 1, sizeof(*s));
  if (!s) {
    snprintf(why, why_len, "Java serialization stream: out of memory");
    return K8SHA_ENOMEM;
  }
  s->a = a;
  s->root = -1;
  memset(&c, 0, sizeof(c));
  c.s = s;
  c.b = b;
  c.n = n;
  c.why = why;
  c.why_len = why_len;
  if (read_be(&c, 2, "the stream header", &magic) == 0 && magic != STREAM_MAGIC)
    fail(&c, "not a Java serialization stream (it starts 0x%04x, not 0xaced)", (unsigned)magic);
  if (!c.err && read_be(&c, 2, "the stream version", &version) == 0 && version != STREAM_VERSION)
    fail(&c, "stream version %u, not %u", (unsigned)version, STREAM_VERSION);
  if (!c.err && peek(&c, "the top-level object", &tc) == 0 &&
      (tc == TC_BLOCKDATA || tc == TC_BLOCKDATALONG))
    fail(&c, "the stream starts with block data, not an object");
  if (!c.err)
    read_content(&c, &s->root);
  if (!c.err && c.pos != c.n)
    fail(&c, "%zu bytes after the top-level object", c.n - c.pos);
  if (!c.err && s->root >= 0 && s->nodes[s->root].kind == N_CLASSDESC)
    fail(&c, "the top-level value is a bare class descriptor");
  if (c.err) {
    k8sha__jser_free(s);
    return c.err;
  }
  *out = s;
  return 0;
}

int k8sha__jser_root(const k8sha__jser *s) {
  return s->root;
}

const char *k8sha__jser_class(const k8sha__jser *s, int node) {
  if (node < 0 || (size_t)node >= s->n_nodes || s->nodes[node].kind != N_OBJECT)
    return NULL;
  return s->nodes[s->nodes[node].cls].str;
}

const char *k8sha__jser_string(const k8sha__jser *s, int node) {
  if (node < 0 || (size_t)node >= s->n_nodes || s->nodes[node].kind != N_STRING)
    return NULL;
  return s->nodes[node].str;
}

int k8sha__jser_field(const k8sha__jser *s, int node, const char *class_name, const char *field,
                      k8sha__jval *out) {
  const jnode *o;
  int chain[MAX_CHAIN], k = 0, d, i;
  size_t off = 0, f;
  if (node < 0 || (size_t)node >= s->n_nodes || s->nodes[node].kind != N_OBJECT)
    return K8SHA_ENOTFOUND;
  o = &s->nodes[node];
  for (d = o->cls; d >= 0 && k < MAX_CHAIN; d = s->nodes[d].cls)
    chain[k++] = d;
  for (i = k - 1; i >= 0; i--) { /* topmost first, as the values are laid out */
    const jnode *cd = &s->nodes[chain[i]];
    if (!(cd->flags & SC_EXTERNALIZABLE) && strcmp(cd->str, class_name) == 0) {
      for (f = 0; f < cd->n_fields; f++) {
        if (strcmp(cd->fields[f].name, field) == 0 && off + f < o->n_vals) {
          *out = o->vals[off + f];
          return 0;
        }
      }
      return K8SHA_ENOTFOUND;
    }
    if (!(cd->flags & SC_EXTERNALIZABLE))
      off += cd->n_fields;
  }
  return K8SHA_ENOTFOUND;
}
