/* Fuzz target: kube-lite's label and field selector grammar (the first line of the input is a
 * label selector, the rest a field selector), as clients send them in labelSelector and
 * fieldSelector. Each parses, or is empty (NULL without a message: every object matches), or is
 * refused with a message; what parses is matched against an object without harm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    abort();
  memcpy(text, data, size);
  text[size] = '\0';
  char *nl = strchr(text, '\n');
  const char *fields = "";
  if (nl) {
    *nl = '\0';
    fields = nl + 1;
  }
  char *err = NULL;
  kl_selector *ls = kl_label_selector_parse(text, &err);
  if (!ls && !err && text[strspn(text, " \t\r\v\f")] != '\0')
    abort(); /* refused without a reason (NULL alone means an empty selector) */
  free(err);
  err = NULL;
  kl_selector *fs = kl_field_selector_parse(fields, &err);
  if (!fs && !err && *fields)
    abort();
  free(err);
  json_t *obj = json_pack("{s:{s:s,s:s,s:{s:s,s:s}}}", "metadata", "name", "a", "namespace",
                          "flink", "labels", "app", "x", "tier", "2");
  if (!obj)
    abort();
  if (ls || fs)
    (void)kl_selectors_match(ls, fs, obj);
  json_decref(obj);
  kl_selector_free(ls);
  kl_selector_free(fs);
  free(text);
  return 0;
}
