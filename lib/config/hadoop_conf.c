/* Hadoop's configuration files, read with expat as their grammar (hadoop_conf.h). The document is
 * <configuration> with <property> children; a property holds <name>, <value>, <final> (and
 * <description>, <source>, <tag>, which are not kept), or gives name, value and final as
 * attributes. Unknown elements are skipped with their subtree, as Hadoop skips them; an
 * <xi:include> is refused, since the properties it would bring could be the ones that matter.
 * A DOCTYPE (and so any entity) is refused. */
#include "config/hadoop_conf.h"

#include <errno.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "k8sha/errors.h"

#define TEXT_MAX (64u * 1024u) /* the longest name or value kept */
#define MAX_DEPTH 32
#define EXPAND_MAX 20          /* references expanded in one value, as Hadoop's limit */

typedef struct prop {
  char *name, *value, *source;
  int final;
} prop;

struct k8sha__hadoop_conf {
  k8sha_allocator alloc;
  prop *props;
  size_t n, cap;
};

k8sha__hadoop_conf *k8sha__hadoop_conf_new(const k8sha_allocator *a) {
  k8sha__hadoop_conf *c = k8sha__calloc(a, 1, sizeof(*c));
  if (c)
    c->alloc = *a;
  return c;
}

void k8sha__hadoop_conf_free(k8sha__hadoop_conf *c) {
  size_t i;
  if (!c)
    return;
  for (i = 0; i < c->n; i++) {
    k8sha__free(&c->alloc, c->props[i].name);
    k8sha__free(&c->alloc, c->props[i].value);
    k8sha__free(&c->alloc, c->props[i].source);
  }
  k8sha__free(&c->alloc, c->props);
  k8sha__free(&c->alloc, c);
}

static prop *find(const k8sha__hadoop_conf *c, const char *name) {
  size_t i;
  for (i = 0; i < c->n; i++)
    if (strcmp(c->props[i].name, name) == 0)
      return &c->props[i];
  return NULL;
}

static int set(k8sha__hadoop_conf *c, const char *name, const char *value, const char *source,
               int final) {
  prop *p = find(c, name);
  char *v, *s;
  if (p && p->final)
    return 0; /* (Hadoop keeps a final value and warns; the first file wins) */
  v = k8sha__strdup(&c->alloc, value);
  s = k8sha__strdup(&c->alloc, source);
  if (!v || !s)
    goto oom;
  if (!p) {
    char *n = k8sha__strdup(&c->alloc, name);
    if (!n || k8sha__grow(&c->alloc, (void **)&c->props, &c->cap, c->n + 1, sizeof(prop)) != 0) {
      k8sha__free(&c->alloc, n);
      goto oom;
    }
    p = &c->props[c->n++];
    memset(p, 0, sizeof(*p));
    p->name = n;
  }
  k8sha__free(&c->alloc, p->value);
  k8sha__free(&c->alloc, p->source);
  p->value = v;
  p->source = s;
  p->final = final;
  return 0;
oom:
  k8sha__free(&c->alloc, v);
  k8sha__free(&c->alloc, s);
  return K8SHA_ENOMEM;
}

int k8sha__hadoop_conf_set(k8sha__hadoop_conf *c, const char *name, const char *value,
                           const char *source) {
  return set(c, name, value, source, 0);
}

/* ---- the grammar ---- */

enum { IN_DOC, IN_CONFIGURATION, IN_PROPERTY, IN_FIELD, IN_SKIPPED };
enum { F_NONE, F_NAME, F_VALUE, F_FINAL };

typedef struct field {
  char *text;
  size_t len;
  int seen;
} field;

typedef struct parse {
  XML_Parser xp;
  k8sha__hadoop_conf *staged; /* the file's properties, added to the configuration at its end */
  const char *file;
  int state[MAX_DEPTH + 1];
  int depth, field_kind, rc, roots;
  field f[4];
  unsigned long property_line;
  char *why;
  size_t why_len;
} parse;

__attribute__((format(printf, 2, 3))) static void fail(parse *ps, const char *fmt, ...) {
  va_list ap;
  size_t n;
  if (ps->rc)
    return;
  ps->rc = K8SHA_ECONFIG;
  snprintf(ps->why, ps->why_len, "%s line %lu: ", ps->file,
           (unsigned long)XML_GetCurrentLineNumber(ps->xp));
  n = strlen(ps->why);
  va_start(ap, fmt);
  vsnprintf(ps->why + n, ps->why_len - n, fmt, ap);
  va_end(ap);
  XML_StopParser(ps->xp, XML_FALSE);
}

static void no_memory(parse *ps) {
  fail(ps, "out of memory");
  ps->rc = K8SHA_ENOMEM;
}

static int field_set(parse *ps, int kind, const char *text, size_t len) {
  field *f = &ps->f[kind];
  const char *names[] = {"", "name", "value", "final"};
  if (f->seen) {
    fail(ps, "a <property> with two %ss", names[kind]);
    return -1;
  }
  f->seen = 1;
  if (len > TEXT_MAX) {
    fail(ps, "a property's %s is longer than %u bytes", names[kind], TEXT_MAX);
    return -1;
  }
  if (!(f->text = k8sha__strndup(&ps->staged->alloc, text, len))) {
    no_memory(ps);
    return -1;
  }
  f->len = len;
  return 0;
}

static void fields_clear(parse *ps) {
  int i;
  for (i = 0; i < 4; i++) {
    k8sha__free(&ps->staged->alloc, ps->f[i].text);
    memset(&ps->f[i], 0, sizeof(ps->f[i]));
  }
}

/* Hadoop trims names and values, and reads final as a boolean. */
static char *trimmed(char *s) {
  size_t n;
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
    s++;
  n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = '\0';
  return s;
}

static void property_end(parse *ps) {
  char *name, *value, *final, source[600];
  if (!ps->f[F_NAME].seen) {
    fail(ps, "the <property> that starts on line %lu has no name", ps->property_line);
    return;
  }
  name = trimmed(ps->f[F_NAME].text);
  if (!*name) {
    fail(ps, "the <property> that starts on line %lu has an empty name", ps->property_line);
    return;
  }
  if (!ps->f[F_VALUE].seen)
    return; /* (a property without a value sets nothing, as in Hadoop) */
  value = trimmed(ps->f[F_VALUE].text);
  final = ps->f[F_FINAL].seen ? trimmed(ps->f[F_FINAL].text) : "false";
  if (strcmp(final, "true") != 0 && strcmp(final, "false") != 0) {
    fail(ps, "property %.200s: final is '%.40s', not true or false", name, final);
    return;
  }
  snprintf(source, sizeof(source), "%s line %lu", ps->file, ps->property_line);
  if (set(ps->staged, name, value, source, strcmp(final, "true") == 0) != 0)
    no_memory(ps);
}

static void XMLCALL on_start(void *user, const XML_Char *el, const XML_Char **attrs) {
  parse *ps = user;
  int state = ps->state[ps->depth], next = IN_SKIPPED;
  size_t i;
  if (ps->rc)
    return;
  if (ps->depth >= MAX_DEPTH) {
    fail(ps, "elements nested deeper than %d", MAX_DEPTH);
    return;
  }
  switch (state) {
  case IN_DOC:
    if (strcmp(el, "configuration") != 0 || ps->roots++) {
      fail(ps, "<%.60s> where Hadoop's <configuration> must be the document", el);
      return;
    }
    next = IN_CONFIGURATION;
    break;
  case IN_CONFIGURATION:
    if (strcmp(el, "xi:include") == 0 || strcmp(el, "include") == 0) {
      fail(ps, "<%s> is not followed (write the included properties into the file)", el);
      return;
    }
    if (strcmp(el, "property") == 0) {
      next = IN_PROPERTY;
      ps->property_line = (unsigned long)XML_GetCurrentLineNumber(ps->xp);
      for (i = 0; attrs[i] && !ps->rc; i += 2) {
        int kind = strcmp(attrs[i], "name") == 0    ? F_NAME
                   : strcmp(attrs[i], "value") == 0 ? F_VALUE
                   : strcmp(attrs[i], "final") == 0 ? F_FINAL
                                                    : F_NONE;
        if (kind != F_NONE)
          field_set(ps, kind, attrs[i + 1], strlen(attrs[i + 1]));
      }
    }
    break;
  case IN_PROPERTY:
    ps->field_kind = strcmp(el, "name") == 0    ? F_NAME
                     : strcmp(el, "value") == 0 ? F_VALUE
                     : strcmp(el, "final") == 0 ? F_FINAL
                                                : F_NONE;
    if (ps->field_kind != F_NONE) {
      if (field_set(ps, ps->field_kind, "", 0) != 0)
        return;
      next = IN_FIELD;
    }
    break;
  case IN_FIELD:
    fail(ps, "an element <%.60s> inside a property's name, value or final", el);
    return;
  default:
    break;
  }
  ps->state[++ps->depth] = next;
}

static void XMLCALL on_end(void *user, const XML_Char *el) {
  parse *ps = user;
  (void)el;
  if (ps->rc)
    return;
  if (ps->state[ps->depth] == IN_PROPERTY) {
    property_end(ps);
    fields_clear(ps);
  }
  ps->depth--;
}

static void XMLCALL on_text(void *user, const XML_Char *s, int len) {
  parse *ps = user;
  field *f;
  char *grown;
  if (ps->rc || ps->state[ps->depth] != IN_FIELD)
    return;
  f = &ps->f[ps->field_kind];
  if (f->len + (size_t)len > TEXT_MAX) {
    fail(ps, "a property's text is longer than %u bytes", TEXT_MAX);
    return;
  }
  if (!(grown = k8sha__realloc(&ps->staged->alloc, f->text, f->len + (size_t)len + 1))) {
    no_memory(ps);
    return;
  }
  memcpy(grown + f->len, s, (size_t)len);
  f->len += (size_t)len;
  grown[f->len] = '\0';
  f->text = grown;
}

static void XMLCALL on_doctype(void *user, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset) {
  (void)name;
  (void)sysid;
  (void)pubid;
  (void)has_internal_subset;
  fail(user, "a DOCTYPE (a Hadoop configuration has none; entities are not expanded)");
}

int k8sha__hadoop_conf_parse(k8sha__hadoop_conf *c, const char *xml, size_t len, const char *name,
                             char *why, size_t why_len) {
  parse ps;
  size_t i;
  int rc = 0;
  memset(&ps, 0, sizeof(ps));
  ps.file = name;
  ps.why = why;
  ps.why_len = why_len;
  if (len > K8SHA__HADOOP_FILE_MAX) {
    snprintf(why, why_len, "%s is larger than %u bytes", name, K8SHA__HADOOP_FILE_MAX);
    return K8SHA_ECONFIG;
  }
  ps.staged = k8sha__hadoop_conf_new(&c->alloc);
  ps.xp = XML_ParserCreate(NULL);
  if (!ps.staged || !ps.xp) {
    if (ps.xp)
      XML_ParserFree(ps.xp);
    k8sha__hadoop_conf_free(ps.staged);
    snprintf(why, why_len, "%s: out of memory", name);
    return K8SHA_ENOMEM;
  }
  XML_SetUserData(ps.xp, &ps);
  XML_SetElementHandler(ps.xp, on_start, on_end);
  XML_SetCharacterDataHandler(ps.xp, on_text);
  XML_SetStartDoctypeDeclHandler(ps.xp, on_doctype);
  if (XML_Parse(ps.xp, xml, (int)len, XML_TRUE) == XML_STATUS_ERROR && !ps.rc) {
    ps.rc = K8SHA_ECONFIG;
    snprintf(why, why_len, "%s line %lu: %s", name,
             (unsigned long)XML_GetCurrentLineNumber(ps.xp),
             XML_ErrorString(XML_GetErrorCode(ps.xp)));
  }
  if (!ps.rc && !ps.roots) {
    ps.rc = K8SHA_ECONFIG;
    snprintf(why, why_len, "%s: no <configuration>", name);
  }
  fields_clear(&ps);
  XML_ParserFree(ps.xp);
  for (i = 0; ps.rc == 0 && rc == 0 && i < ps.staged->n; i++) {
    const prop *p = &ps.staged->props[i];
    rc = set(c, p->name, p->value, p->source, p->final);
  }
  k8sha__hadoop_conf_free(ps.staged);
  if (rc) {
    snprintf(why, why_len, "%s: out of memory", name);
    return rc;
  }
  return ps.rc;
}

int k8sha__hadoop_conf_load(k8sha__hadoop_conf *c, const char *path, char *why, size_t why_len) {
  FILE *fp = fopen(path, "rb");
  char *buf;
  size_t n;
  int rc;
  if (!fp) {
    if (errno == ENOENT)
      return K8SHA_ENOTFOUND;
    snprintf(why, why_len, "%s cannot be read: %s", path, strerror(errno));
    return K8SHA_ECONFIG;
  }
  if (!(buf = k8sha__malloc(&c->alloc, K8SHA__HADOOP_FILE_MAX + 1))) {
    fclose(fp);
    snprintf(why, why_len, "%s: out of memory", path);
    return K8SHA_ENOMEM;
  }
  n = fread(buf, 1, K8SHA__HADOOP_FILE_MAX + 1, fp);
  if (ferror(fp)) {
    snprintf(why, why_len, "%s cannot be read: %s", path, strerror(errno));
    rc = K8SHA_ECONFIG;
  } else {
    rc = k8sha__hadoop_conf_parse(c, buf, n, path, why, why_len);
  }
  fclose(fp);
  k8sha__free(&c->alloc, buf);
  return rc;
}

/* ---- reading, with ${...} expanded ---- */

/* Expands buf[0] in place of rounds (buf[1] is the other half); 1 with `out`, or -1 with why. */
static int expand(const k8sha__hadoop_conf *c, const char *name, char *(*getenv_fn)(const char *),
                  char *buf[2], char *out, size_t out_len) {
  int cur = 0, round;
  /* Each round replaces the first reference that resolves; unresolved ones stay as written. */
  for (round = 0; round < EXPAND_MAX; round++) {
    const char *s = buf[cur], *at = s, *open, *close, *with = NULL;
    char ref[256];
    for (;; at = close + 1) {
      size_t n;
      open = strstr(at, "${");
      close = open ? strchr(open + 2, '}') : NULL;
      if (!close)
        break;
      n = (size_t)(close - open - 2);
      if (n == 0 || n >= sizeof(ref))
        continue;
      memcpy(ref, open + 2, n);
      ref[n] = '\0';
      if (strncmp(ref, "env.", 4) == 0) {
        with = getenv_fn(ref + 4);
      } else {
        const prop *q = find(c, ref);
        with = q ? q->value : NULL;
      }
      if (with)
        break;
    }
    if (!with) {
      if (strlen(s) >= out_len) {
        snprintf(out, out_len, "the value of %s is too long", name);
        return -1;
      }
      memcpy(out, s, strlen(s) + 1);
      return 1;
    }
    if ((size_t)(open - s) + strlen(with) + strlen(close + 1) > TEXT_MAX) {
      snprintf(out, out_len, "the value of %s is too long once its references are expanded",
               name);
      return -1;
    }
    snprintf(buf[!cur], TEXT_MAX + 1, "%.*s%s%s", (int)(open - s), s, with, close + 1);
    cur = !cur;
  }
  snprintf(out, out_len, "the value of %s has more than %d references (a loop?)", name,
           EXPAND_MAX);
  return -1;
}

int k8sha__hadoop_conf_get(const k8sha__hadoop_conf *c, const char *name,
                           char *(*getenv_fn)(const char *), char *out, size_t out_len,
                           const char **source) {
  const prop *p = find(c, name);
  char *buf[2];
  int rc;
  if (!p)
    return 0;
  if (source)
    *source = p->source;
  if (strlen(p->value) > TEXT_MAX) {
    snprintf(out, out_len, "the value of %s is longer than %u bytes", name, TEXT_MAX);
    return -1;
  }
  buf[0] = k8sha__malloc(&c->alloc, 2 * (TEXT_MAX + 1));
  if (!buf[0]) {
    snprintf(out, out_len, "out of memory");
    return -1;
  }
  buf[1] = buf[0] + TEXT_MAX + 1;
  memcpy(buf[0], p->value, strlen(p->value) + 1); /* (checked above) */
  rc = expand(c, name, getenv_fn, buf, out, out_len);
  k8sha__free(&c->alloc, buf[0]);
  return rc;
}
