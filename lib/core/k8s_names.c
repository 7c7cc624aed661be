#include "core/k8s_names.h"

#include <string.h>

static int is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One RFC 1123 label of `len` characters at `s`. */
static int label_ok(const char *s, size_t len) {
  size_t i;
  if (len == 0 || len > K8SHA__DNS_LABEL_MAX)
    return 0;
  if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
    return 0;
  for (i = 1; i + 1 < len; i++)
    if (!is_lower_alnum(s[i]) && s[i] != '-')
      return 0;
  return 1;
}

int k8sha__is_dns_label(const char *s) {
  return label_ok(s, strlen(s));
}

int k8sha__is_dns_subdomain(const char *s) {
  size_t len = strlen(s);
  const char *p = s;

  if (len == 0 || len > K8SHA__DNS_SUBDOMAIN_MAX)
    return 0;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t part = dot ? (size_t)(dot - p) : strlen(p);
    /* Subdomain parts are not limited to 63 characters by Kubernetes, only the whole name. */
    if (part == 0 || !is_lower_alnum(p[0]) || !is_lower_alnum(p[part - 1]))
      return 0;
    for (size_t i = 0; i < part; i++)
      if (!is_lower_alnum(p[i]) && p[i] != '-')
        return 0;
    if (!dot)
      return 1;
    p = dot + 1;
  }
}

int k8sha__is_configmap_key(const char *s) {
  size_t len = strlen(s), i;
  if (len == 0 || len > K8SHA__DNS_SUBDOMAIN_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
    return 0;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c == '.'))
      return 0;
  }
  return 1;
}

json_t *k8sha__annotations(json_t *obj, int create) {
  json_t *meta = json_object_get(obj, "metadata"), *ann = json_object_get(meta, "annotations");
  if (!json_is_object(ann) && create && json_is_object(meta)) {
    ann = json_object();
    if (json_object_set_new(meta, "annotations", ann) != 0)
      return NULL; /* (out of memory: set_new has released ann) */
  }
  return json_is_object(ann) ? ann : NULL;
}
