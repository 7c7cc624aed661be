/* JSON values written out through an allocator (json_text.h). */
#include "core/json_text.h"

#include "core/alloc.h"

char *k8sha__json_text(const k8sha_allocator *a, const json_t *v, size_t flags, size_t *len) {
  size_t n = json_dumpb(v, NULL, 0, flags);
  char *s = n ? k8sha__malloc(a, n + 1) : NULL;
  if (s && json_dumpb(v, s, n, flags) != n) {
    k8sha__free(a, s);
    s = NULL;
  }
  if (s) {
    s[n] = '\0';
    if (len)
      *len = n;
  }
  return s;
}
