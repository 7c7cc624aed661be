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
