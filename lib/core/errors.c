#include <stdarg.h>
#include <stdio.h>

#include "core/fail.h"
#include "k8sha/errors.h"

const char *k8sha_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define K8SHA__STRERROR(name, value, text) \
  case value:                              \
    return text;
    K8SHA_ERRNO_MAP(K8SHA__STRERROR)
#undef K8SHA__STRERROR
  default:
    return "unknown error";
  }
}

const char *k8sha_err_name(int err) {
  switch (err) {
  case 0:
    return "K8SHA_OK";
#define K8SHA__ERRNAME(name, value, text) \
  case value:                             \
    return "K8SHA_" #name;
    K8SHA_ERRNO_MAP(K8SHA__ERRNAME)
#undef K8SHA__ERRNAME
  default:
    return "unknown";
  }
}

/* One per thread: what the last synchronous failure on this thread said. */
static _Thread_local char last_error[1024];

int k8sha__fail(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof(last_error), fmt, ap);
  va_end(ap);
  return err;
}

const char *k8sha_last_error(void) {
  return last_error;
}
