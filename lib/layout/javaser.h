/* Internal: a reader of the Java Object Serialization Stream Protocol (the grammar of section 6.4
 * of the Java Object Serialization Specification), for the bytes other programs (Flink) store.
 *
 * It parses the whole stream into a small graph of nodes (class descriptors, objects, strings,
 * arrays, enums, classes) and refuses anything the grammar does not allow: an unknown type code,
 * a reference to a handle not yet assigned or of the wrong kind, a truncated value, trailing
 * bytes, malformed modified UTF-8. Nothing is instantiated and no class is trusted: a caller
 * asks for fields by class and field name and checks what it gets. Exceptions in the stream,
 * resets, proxy classes and externalizable classes written without block data (protocol 1) are
 * refused with an error that says so. */
#ifndef K8SHA_LAYOUT_JAVASER_H
#define K8SHA_LAYOUT_JAVASER_H

#include <stddef.h>
#include <stdint.h>

#include "k8sha/common.h"

typedef struct k8sha__jser k8sha__jser;

/* A field value: a primitive (type code 'B','C','D','F','I','J','S','Z'; `i` holds integers and
 * booleans, the raw bits for float and double) or a reference ('L' or '['; `ref` is a node, or
 * -1 for null). */
typedef struct k8sha__jval {
  char type;
  int64_t i;
  int ref;
  size_t at; /* primitives: the offset of the value's first byte in the stream */
} k8sha__jval;

/* Parses `n` bytes holding exactly one top-level object. 0 and *out, K8SHA_ENOMEM, or
 * K8SHA_ECORRUPT with a message in `why` naming what was wrong and the byte offset. */
int k8sha__jser_parse(const k8sha_allocator *a, const unsigned char *b, size_t n,
                      k8sha__jser **out, char *why, size_t why_len);
void k8sha__jser_free(k8sha__jser *s);

/* The top-level object (a node), or -1 when the stream holds null. */
int k8sha__jser_root(const k8sha__jser *s);
/* The class name of an object node, or NULL when `node` is not an object. */
const char *k8sha__jser_class(const k8sha__jser *s, int node);
/* The text (UTF-8) of a string node, or NULL when `node` is not a string. */
const char *k8sha__jser_string(const k8sha__jser *s, int node);
/* The value of field `field` that class `class_name` (the object's class or one of its
 * serializable superclasses) declares in object `node`. 0, or K8SHA_ENOTFOUND. */
int k8sha__jser_field(const k8sha__jser *s, int node, const char *class_name, const char *field,
                      k8sha__jval *out);

#endif
