/*
 * Label and field selectors with the apiserver's grammar:
 *   labels: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a
 *   fields: metadata.name and metadata.namespace with =, ==, !=
 * Requirements joined by commas must all hold.  The label operators > and <
 * are refused (400): no client of kube-lite sends them.
 */
#include "kl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_EQ, OP_NEQ, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOTEXISTS };

typedef struct requirement {
  char *key;
  int op;
  char **vals;
  size_t nvals;
} requirement;

struct kl_selector {
  bool fields;
  requirement *reqs;
  size_t n;
};

void kl_selector_free(kl_selector *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++) {
    free(s->reqs[i].key);
    for (size_t j = 0; j < s->reqs[i].nvals; j++)
      free(s->reqs[i].vals[j]);
    free(s->reqs[i].vals);
  }
  free(s->reqs);
  free(s);
}

static requirement *add_req(kl_selector *s) {
  s->reqs = kl_xrealloc(s->reqs, (s->n + 1) * sizeof *s->reqs);
  requirement *r = &s->reqs[s->n++];
  memset(r, 0, sizeof *r);
  return r;
}

static void add_val(requirement *r, const char *v, size_t n) {
  r->vals = kl_xrealloc(r->vals, (r->nvals + 1) * sizeof *r->vals);
  char *d = kl_xmalloc(n + 1);
  memcpy(d, v, n);
  d[n] = '\0';
  r->vals[r->nvals++] = d;
}

static char *fail(const char *a, const char *b, const char *c) {
  kl_buf buf = {0};
  kl_buf_puts(&buf, "unable to parse requirement: ");
  kl_buf_puts(&buf, a);
  kl_buf_puts(&buf, b);
  kl_buf_puts(&buf, c);
  return kl_buf_steal(&buf);
}

/* ---- label selectors ---------------------------------------------------- */

static bool is_ident_char(char c) {
  return c && !isspace((unsigned char)c) && !strchr(",()=!<>", c);
}

static const char *skip_ws(const char *p) {
  while (isspace((unsigned char)*p))
    p++;
  return p;
}

static const char *ident(const char *p, size_t *n) {
  const char *s = p;
  while (is_ident_char(*p))
    p++;
  *n = (size_t)(p - s);
  return s;
}

static char *check_key(const char *key) {
  char *msg = kl_qualified_name_error(key);
  if (!msg)
    return NULL;
  kl_buf b = {0};
  kl_buf_puts(&b, "unable to parse requirement: key: Invalid value: ");
  kl_goquote(&b, key);
  kl_buf_printf(&b, ": %s", msg);
  free(msg);
  return kl_buf_steal(&b);
}

static char *check_values(const requirement *r) {
  for (size_t i = 0; i < r->nvals; i++) {
    char *msg = kl_label_value_error(r->vals[i]);
    if (!msg)
      continue;
    kl_buf b = {0};
    kl_buf_printf(&b, "unable to parse requirement: values[%zu][%s]: Invalid value: ", i, r->key);
    kl_goquote(&b, r->vals[i]);
    kl_buf_printf(&b, ": %s", msg);
    free(msg);
    return kl_buf_steal(&b);
  }
  return NULL;
}

static const char *parse_one(const char *p, kl_selector *s, char **err) {
  p = skip_ws(p);
  requirement *r = add_req(s);
  bool neg = false;
  if (*p == '!') {
    neg = true;
    p = skip_ws(p + 1);
  }
  size_t kn;
  const char *k = ident(p, &kn);
  if (kn == 0) {
    *err = fail("found '", *p ? (char[2]){*p, 0} : "", "', expected: identifier");
    return NULL;
  }
  r->key = kl_xmalloc(kn + 1);
  memcpy(r->key, k, kn);
  r->key[kn] = '\0';
  p = skip_ws(k + kn);
  if (neg) {
    r->op = OP_NOTEXISTS;
    if (*p && *p != ',') {
      *err = fail("found '", p, "', expected: ',' or 'end of string'");
      return NULL;
    }
  } else if (!*p || *p == ',') {
    r->op = OP_EXISTS;
  } else if (p[0] == '=' || (p[0] == '!' && p[1] == '=')) {
    r->op = p[0] == '!' ? OP_NEQ : OP_EQ;
    p += p[0] == '!' ? 2 : (p[1] == '=' ? 2 : 1);
    p = skip_ws(p);
    size_t vn;
    const char *v = ident(p, &vn);
    add_val(r, v, vn);
    p = skip_ws(v + vn);
  } else if (p[0] == '<' || p[0] == '>') {
    *err = fail("the operators '>' and '<' are not supported by kube-lite", "", "");
    return NULL;
  } else {
    size_t on;
    const char *op = ident(p, &on);
    if (on == 2 && strncmp(op, "in", 2) == 0)
      r->op = OP_IN;
    else if (on == 5 && strncmp(op, "notin", 5) == 0)
      r->op = OP_NOTIN;
    else {
      *err = fail("found '", p, "', expected: in, notin, =, ==, !=");
      return NULL;
    }
    p = skip_ws(op + on);
    if (*p != '(') {
      *err = fail("found '", p, "', expected: '('");
      return NULL;
    }
    p = skip_ws(p + 1);
    for (;;) {
      size_t vn;
      const char *v = ident(p, &vn);
      add_val(r, v, vn);
      p = skip_ws(v + vn);
      if (*p == ',') {
        p = skip_ws(p + 1);
        continue;
      }
      if (*p == ')') {
        p = skip_ws(p + 1);
        break;
      }
      *err = fail("found '", p, "', expected: ',', ')' or identifier");
      return NULL;
    }
    if (r->nvals == 1 && r->vals[0][0] == '\0') {
      *err = fail("for 'in', 'notin' operators, values set can't be empty", "", "");
      return NULL;
    }
  }
  if ((*err = check_key(r->key)) || (*err = check_values(r)))
    return NULL;
  if (*p && *p != ',') {
    *err = fail("found '", p, "', expected: ',' or 'end of string'");
    return NULL;
  }
  return p;
}

kl_selector *kl_label_selector_parse(const char *str, char **err) {
  *err = NULL;
  if (!str || !*skip_ws(str))
    return NULL;
  kl_selector *s = kl_xcalloc(1, sizeof *s);
  const char *p = str;
  for (;;) {
    p = parse_one(p, s, err);
    if (!p) {
      kl_selector_free(s);
      return NULL;
    }
    if (!*p)
      break;
    p++; /* the comma */
  }
  return s;
}

/* ---- field selectors ------------------------------------------------------- */

/* Field values may escape ',', '=' and '\' with a backslash. */
static size_t field_term_end(const char *p) {
  size_t i = 0;
  while (p[i] && p[i] != ',') {
    if (p[i] == '\\' && p[i + 1])
      i++;
    i++;
  }
  return i;
}

static char *unescape(const char *p, size_t n) {
  char *d = kl_xmalloc(n + 1), *o = d;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\\' && i + 1 < n)
      i++;
    *o++ = p[i];
  }
  *o = '\0';
  return d;
}

kl_selector *kl_field_selector_parse(const char *str, char **err) {
  *err = NULL;
  if (!str || !*str)
    return NULL;
  kl_selector *s = kl_xcalloc(1, sizeof *s);
  s->fields = true;
  const char *p = str;
  for (;;) {
    size_t n = field_term_end(p);
    char *term = kl_xmalloc(n + 1);
    memcpy(term, p, n);
    term[n] = '\0';
    char *op = NULL;
    int kind = OP_EQ;
    size_t oplen = 1;
    for (char *q = term; *q; q++) {
      if (*q == '\\' && q[1]) {
        q++;
        continue;
      }
      if (q[0] == '!' && q[1] == '=') {
        op = q, kind = OP_NEQ, oplen = 2;
        break;
      }
      if (q[0] == '=') {
        op = q, kind = OP_EQ, oplen = q[1] == '=' ? 2 : 1;
        break;
      }
    }
    if (!op) {
      kl_buf b = {0};
      kl_buf_printf(&b, "invalid selector: '%s'; can't understand '%s'", str, term);
      *err = kl_buf_steal(&b);
      free(term);
      kl_selector_free(s);
      return NULL;
    }
    *op = '\0';
    const char *key = term;
    const char *val = op + oplen;
    if (strcmp(key, "metadata.name") != 0 && strcmp(key, "metadata.namespace") != 0) {
      kl_buf b = {0};
      kl_buf_printf(&b, "field label not supported: %s", key);
      *err = kl_buf_steal(&b);
      free(term);
      kl_selector_free(s);
      return NULL;
    }
    requirement *r = add_req(s);
    r->key = kl_strdup(key);
    r->op = kind;
    r->vals = kl_xmalloc(sizeof *r->vals);
    r->vals[0] = unescape(val, strlen(val));
    r->nvals = 1;
    free(term);
    p += n;
    if (!*p)
      break;
    p++;
  }
  return s;
}

/* ---- matching ------------------------------------------------------------------ */

static bool in_set(const requirement *r, const char *v) {
  for (size_t i = 0; i < r->nvals; i++)
    if (strcmp(r->vals[i], v) == 0)
      return true;
  return false;
}

static bool req_match(const requirement *r, const char *v) {
  switch (r->op) {
  case OP_EQ:
  case OP_IN:
    return v && in_set(r, v);
  case OP_NEQ:
  case OP_NOTIN:
    return !v || !in_set(r, v);
  case OP_EXISTS:
    return v != NULL;
  case OP_NOTEXISTS:
    return v == NULL;
  }
  return false;
}

bool kl_selectors_match(const kl_selector *labels, const kl_selector *fields, json_t *obj) {
  if (!labels && !fields)
    return true;
  json_t *meta = json_object_get(obj, "metadata");
  if (labels) {
    json_t *lab = json_object_get(meta, "labels");
    for (size_t i = 0; i < labels->n; i++) {
      const char *v = json_string_value(json_object_get(lab, labels->reqs[i].key));
      if (!req_match(&labels->reqs[i], v))
        return false;
    }
  }
  if (fields) {
    for (size_t i = 0; i < fields->n; i++) {
      const char *field = fields->reqs[i].key + strlen("metadata.");
      const char *v = json_string_value(json_object_get(meta, field));
      if (!req_match(&fields->reqs[i], v ? v : ""))
        return false;
    }
  }
  return true;
}
