#include "k8sha/version.h"

unsigned int k8sha_version(void) {
  return K8SHA_VERSION_NUMBER;
}

const char *k8sha_version_string(void) {
  return K8SHA_VERSION_STRING;
}
