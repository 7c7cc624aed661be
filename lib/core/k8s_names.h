/* Internal: Kubernetes naming rules (apimachinery's validation), as plain predicates; and an
 * object metadata helper. */
#ifndef K8SHA_CORE_K8S_NAMES_H
#define K8SHA_CORE_K8S_NAMES_H

#include <jansson.h>
#include <stddef.h>

#define K8SHA__DNS_SUBDOMAIN_MAX 253 /* object names: RFC 1123 subdomain */
#define K8SHA__DNS_LABEL_MAX 63      /* namespaces: RFC 1123 label */
#define K8SHA__LABEL_VALUE_MAX 63
#define K8SHA__CONFIGMAP_MAX_BYTES 1048576 /* data + binaryData of one ConfigMap */
#define K8SHA__CONFIGMAPS_PATH_FMT "/api/v1/namespaces/%s/configmaps"

/* Lowercase alphanumerics, '-' and '.', each dot-separated part starting and ending alphanumeric,
 * at most 253 characters. */
int k8sha__is_dns_subdomain(const char *s);
/* Lowercase alphanumerics and '-', starting and ending alphanumeric, at most 63 characters. */
int k8sha__is_dns_label(const char *s);
/* ConfigMap data keys: [-._a-zA-Z0-9]+, not "." or "..", at most 253 characters. */
int k8sha__is_configmap_key(const char *s);

/* metadata.annotations of an object (borrowed; created when `create` and missing), or NULL. */
json_t *k8sha__annotations(json_t *obj, int create);

#endif
