#include "core/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "k8sha/errors.h"

int k8sha__read_file(const k8sha_allocator *a, const char *path, size_t limit, char **out,
                     size_t *out_len) {
  FILE *f;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int saved;

  f = fopen(path, "rb");
  if (!f)
    return K8SHA_EIO;
  for (;;) {
    size_t n;
    /* Grow by reading rather than trusting st_size: /proc and pipes report 0. */
    if (len + 4096 + 1 > cap) {
      size_t ncap = cap ? cap * 2 : 8192;
      char *p = k8sha__realloc(a, buf, ncap);
      if (!p) {
        k8sha__free(a, buf);
        fclose(f);
        return K8SHA_ENOMEM;
      }
      buf = p;
      cap = ncap;
    }
    n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (len > limit) {
      k8sha__free(a, buf);
      fclose(f);
      errno = EFBIG;
      return K8SHA_EIO;
    }
    if (n == 0)
      break;
  }
  if (ferror(f)) {
    saved = errno ? errno : EIO;
    k8sha__free(a, buf);
    fclose(f);
    errno = saved;
    return K8SHA_EIO;
  }
  fclose(f);
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  return 0;
}
