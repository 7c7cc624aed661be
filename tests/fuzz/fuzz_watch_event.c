/* Fuzz target: watch stream lines as a server (or a broken proxy) may send them. Each input is
 * split at newlines the way the client splits a stream, and every line goes through the event
 * parser; a parsed ERROR event's Status is mapped the way the informer maps it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kube/client.h"
#include "kube/informer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    json_t *root = NULL, *obj = NULL;
    const char *type = NULL, *why = NULL;
    if (k8sha__watch_event_parse(p, len, &root, &type, &obj, &why) == 0) {
      json_t *code = json_object_get(obj, "code");
      if (strcmp(type, "ERROR") == 0 && json_is_integer(code))
        (void)k8sha__status_to_err((long)json_integer_value(code),
                                   json_string_value(json_object_get(obj, "reason")));
      json_decref(root);
    }
    p += len + (nl ? 1 : 0);
  }
  return 0;
}
