/* Flink's Java-serialized HA pointer, read as a typed path through the parsed stream. */
#include "layout/flink_handle.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "k8sha/errors.h"
#include "layout/javaser.h"

int k8sha__flink_handle_looks_java(const unsigned char *b, size_t n) {
  return n >= 4 && b[0] == 0xac && b[1] == 0xed && b[2] == 0x00 && b[3] == 0x05;
}

typedef struct walk {
  const k8sha__jser *s;
  char *why;
  size_t why_len;
} walk;

static int refuse(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(walk *w, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  snprintf(w->why, w->why_len, "Flink state handle: %s", msg);
  return K8SHA_ECORRUPT;
}

static const char *short_name(const char *cls) {
  const char *dot = strrchr(cls, '.');
  return dot ? dot + 1 : cls;
}

/* Field `field` of `cls` in object `node`, which must have type code `type` ('L' objects). */
static int field(walk *w, int node, const char *cls, const char *name, char type,
                 k8sha__jval *v) {
  if (k8sha__jser_field(w->s, node, cls, name, v) != 0)
    return refuse(w, "%s has no field '%s'", short_name(cls), name);
  if (v->type != type && !(type == 'L' && v->type == '['))
    return refuse(w, "field '%s' of %s has an unexpected type", name, short_name(cls));
  return 0;
}

/* An object field that must hold an object of class `want` (or, when `want2` is set, of that
 * class). Returns the node in *out. */
static int object_field(walk *w, int node, const char *cls, const char *name, const char *want,
                        const char *want2, int *out) {
  k8sha__jval v;
  const char *got;
  if (field(w, node, cls, name, 'L', &v))
    return K8SHA_ECORRUPT;
  if (v.ref < 0)
    return refuse(w, "field '%s' of %s is null", name, short_name(cls));
  got = k8sha__jser_class(w->s, v.ref);
  if (!got)
    return refuse(w, "field '%s' of %s is not an object", name, short_name(cls));
  if (strcmp(got, want) != 0 && !(want2 && strcmp(got, want2) == 0))
    return refuse(w, "a %s holds a %s, which libk8sha does not read", short_name(cls), got);
  *out = v.ref;
  return 0;
}

int k8sha__flink_handle_parse(const k8sha_allocator *a, const unsigned char *b, size_t n,
                              k8sha__flink_handle *out, char *why, size_t why_len) {
  k8sha__jser *s = NULL;
  walk w;
  k8sha__jval v;
  const char *cls, *text;
  int rc, root, retrievable, file, path, uri;
  k8sha__flink_handle h;

  rc = k8sha__jser_parse(a, b, n, &s, why, why_len);
  if (rc)
    return rc;
  w.s = s;
  w.why = why;
  w.why_len = why_len;
  memset(&h, 0, sizeof(h));
  h.marker_at = (size_t)-1;
  rc = K8SHA_ECORRUPT;
  root = k8sha__jser_root(s);
  cls = k8sha__jser_class(s, root);
  if (!cls) {
    refuse(&w, "the value holds %s, not a state handle", root < 0 ? "null" : "no object");
    goto out;
  }
  if (strcmp(cls, K8SHA__FLINK_MARKER_CLASS) == 0) {
    /* Flink 1.15+: the handle inside a delete marker. */
    if (field(&w, root, K8SHA__FLINK_MARKER_CLASS, "markedForDeletion", 'Z', &v))
      goto out;
    h.marked = v.i != 0;
    h.marker_at = v.at;
    if (object_field(&w, root, K8SHA__FLINK_MARKER_CLASS, "inner", K8SHA__FLINK_RETRIEVABLE_CLASS,
                     NULL, &retrievable))
      goto out;
  } else if (strcmp(cls, K8SHA__FLINK_RETRIEVABLE_CLASS) == 0) {
    retrievable = root; /* before Flink 1.15: no marker */
  } else {
    refuse(&w, "the value holds a %s, not a Flink state handle libk8sha reads", cls);
    goto out;
  }
  if (object_field(&w, retrievable, K8SHA__FLINK_RETRIEVABLE_CLASS, "wrappedStreamStateHandle",
                   K8SHA__FLINK_FILE_HANDLE_CLASS, K8SHA__FLINK_RELATIVE_HANDLE_CLASS, &file))
    goto out;
  if (field(&w, file, K8SHA__FLINK_FILE_HANDLE_CLASS, "stateSize", 'J', &v))
    goto out;
  if (v.i < 0) {
    refuse(&w, "the state size is negative");
    goto out;
  }
  h.size = (uint64_t)v.i;
  if (object_field(&w, file, K8SHA__FLINK_FILE_HANDLE_CLASS, "filePath", K8SHA__FLINK_PATH_CLASS,
                   NULL, &path) ||
      object_field(&w, path, K8SHA__FLINK_PATH_CLASS, "uri", K8SHA__JAVA_URI_CLASS, NULL, &uri) ||
      field(&w, uri, K8SHA__JAVA_URI_CLASS, "string", 'L', &v))
    goto out;
  text = k8sha__jser_string(s, v.ref);
  if (!text) {
    refuse(&w, "the blob's URI is not a string");
    goto out;
  }
  if (!text[0] || strlen(text) > K8SHA__FLINK_URI_MAX) {
    refuse(&w, "the blob's URI is empty or longer than %d bytes", K8SHA__FLINK_URI_MAX);
    goto out;
  }
  memcpy(h.uri, text, strlen(text) + 1);
  *out = h;
  rc = 0;
out:
  k8sha__jser_free(s);
  return rc;
}
