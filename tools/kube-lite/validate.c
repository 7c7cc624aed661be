/*
 * Decoding and validation, worded like apimachinery's validation package so
 * that clients matching on messages behave as they would against a
 * cluster.  Regexes are spelled out as hand-written scanners.
 */
#include "kl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS1123_SUBDOMAIN_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
#define DNS1123_SUBDOMAIN_MSG                                                                      \
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "        \
  "or '.', and must start and end with an alphanumeric character"
#define QUALIFIED_NAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QUALIFIED_NAME_MSG                                                                         \
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "         \
  "an alphanumeric character"
#define LABEL_VALUE_MSG                                                                            \
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "         \
  "or '.', and must start and end with an alphanumeric character"
#define CONFIGMAP_KEY_FMT "[-._a-zA-Z0-9]+"
#define CONFIGMAP_KEY_MSG                                                                          \
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
#define IMMUTABLE_MSG "field is immutable when `immutable` is set"

/* ---- scanners ------------------------------------------------------------ */

static bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool label_span(const char *s, size_t n) {
  if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!lower_alnum(s[i]) && s[i] != '-')
      return false;
  return true;
}

bool kl_is_dns1123_label(const char *s) {
  size_t n = strlen(s);
  return n <= DNS1123_LABEL_MAX && label_span(s, n);
}

static bool subdomain_shape(const char *s) {
  const char *p = s;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (!label_span(p, n))
      return false;
    if (!dot)
      return true;
    p = dot + 1;
  }
}

static bool qname_shape(const char *s, size_t n) {
  if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!isalnum(c) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

/* ---- messages --------------------------------------------------------------- */

typedef struct msgs {
  char *v[4];
  size_t n;
} msgs;

static void msg_add(msgs *m, const char *a, const char *b) {
  if (m->n == 4)
    return;
  size_t la = strlen(a), lb = strlen(b);
  char *s = kl_xmalloc(la + lb + 1);
  memcpy(s, a, la);
  memcpy(s + la, b, lb + 1);
  m->v[m->n++] = s;
}

static void msgs_free(msgs *m) {
  for (size_t i = 0; i < m->n; i++)
    free(m->v[i]);
  m->n = 0;
}

static void max_len_msg(char out[64], int max) {
  snprintf(out, 64, "must be no more than %d characters", max);
}

static void subdomain_msgs(const char *v, msgs *m, const char *prefix) {
  char ml[64];
  if (strlen(v) > DNS1123_SUBDOMAIN_MAX) {
    max_len_msg(ml, DNS1123_SUBDOMAIN_MAX);
    msg_add(m, prefix, ml);
  }
  if (!subdomain_shape(v))
    msg_add(m, prefix,
            DNS1123_SUBDOMAIN_MSG
            " (e.g. 'example.com', regex used for validation is '" DNS1123_SUBDOMAIN_FMT "')");
}

static void qualified_name_msgs(const char *v, msgs *m) {
  static const char regex_msg[] =
      QUALIFIED_NAME_MSG " (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                         "validation is '" QUALIFIED_NAME_FMT "')";
  const char *slash = strchr(v, '/');
  const char *name = v;
  if (slash) {
    if (strchr(slash + 1, '/')) {
      msg_add(m, "a qualified name ",
              QUALIFIED_NAME_MSG " (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                                 "used for validation is '" QUALIFIED_NAME_FMT
                                 "') with an optional DNS subdomain prefix and '/' "
                                 "(e.g. 'example.com/MyName')");
      return;
    }
    size_t pl = (size_t)(slash - v);
    char *prefix = kl_xmalloc(pl + 1);
    memcpy(prefix, v, pl);
    prefix[pl] = '\0';
    if (pl == 0)
      msg_add(m, "prefix part ", "must be non-empty");
    else
      subdomain_msgs(prefix, m, "prefix part ");
    free(prefix);
    name = slash + 1;
  }
  size_t n = strlen(name);
  char ml[64];
  if (n == 0) {
    msg_add(m, "name part ", "must be non-empty");
  } else if (n > QUALIFIED_NAME_MAX) {
    max_len_msg(ml, QUALIFIED_NAME_MAX);
    msg_add(m, "name part ", ml);
  }
  if (!qname_shape(name, n))
    msg_add(m, "name part ", regex_msg);
}

static void label_value_msgs(const char *v, msgs *m) {
  size_t n = strlen(v);
  char ml[64];
  if (n > LABEL_VALUE_MAX) {
    max_len_msg(ml, LABEL_VALUE_MAX);
    msg_add(m, "", ml);
  }
  if (n > 0 && !qname_shape(v, n))
    msg_add(m, "",
            LABEL_VALUE_MSG " (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                            "validation is '(" QUALIFIED_NAME_FMT ")?')");
}

static void configmap_key_msgs(const char *v, msgs *m) {
  char ml[64];
  if (strlen(v) > DNS1123_SUBDOMAIN_MAX) {
    max_len_msg(ml, DNS1123_SUBDOMAIN_MAX);
    msg_add(m, "", ml);
  }
  bool ok = *v != '\0';
  for (const char *p = v; *p && ok; p++)
    ok = isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.';
  if (!ok)
    msg_add(m, "",
            CONFIGMAP_KEY_MSG " (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
                              "used for validation is '" CONFIGMAP_KEY_FMT "')");
  if (strcmp(v, ".") == 0)
    msg_add(m, "", "must not be '.'");
  else if (strcmp(v, "..") == 0)
    msg_add(m, "", "must not be '..'");
  else if (strncmp(v, "..", 2) == 0)
    msg_add(m, "", "must not start with '..'");
}

static char *first_msg(msgs *m) {
  char *r = m->n ? m->v[0] : NULL;
  for (size_t i = 1; i < m->n; i++)
    free(m->v[i]);
  m->n = 0;
  return r;
}

char *kl_qualified_name_error(const char *v) {
  msgs m = {0};
  qualified_name_msgs(v, &m);
  return first_msg(&m);
}

char *kl_label_value_error(const char *v) {
  msgs m = {0};
  label_value_msgs(v, &m);
  return first_msg(&m);
}

/* ---- causes ---------------------------------------------------------------- */

void kl_cause_add(json_t *causes, const char *reason, const char *field, const char *message) {
  json_array_append_new(
      causes, json_pack("{s:s,s:s,s:s}", "reason", reason, "message", message, "field", field));
}

void kl_cause_invalid(json_t *causes, const char *field, const char *value_repr,
                      const char *detail) {
  kl_buf b = {0};
  kl_buf_printf(&b, "Invalid value: %s: %s", value_repr, detail);
  kl_cause_add(causes, "FieldValueInvalid", field, b.data);
  kl_buf_free(&b);
}

static void invalid_str(json_t *causes, const char *field, const char *value, msgs *m) {
  kl_buf q = {0};
  kl_goquote(&q, value);
  for (size_t i = 0; i < m->n; i++)
    kl_cause_invalid(causes, field, q.data, m->v[i]);
  kl_buf_free(&q);
  msgs_free(m);
}

static void validate_string_map(json_t *causes, json_t *map, const char *field, bool labels) {
  const char *k;
  json_t *v;
  size_t total = 0;
  json_object_foreach(map, k, v) {
    msgs m = {0};
    if (labels) {
      qualified_name_msgs(k, &m);
    } else {
      /* Annotation keys are checked lower-cased, as upstream does. */
      char *lk = kl_strdup(k);
      for (char *p = lk; *p; p++)
        *p = (char)tolower((unsigned char)*p);
      qualified_name_msgs(lk, &m);
      free(lk);
    }
    invalid_str(causes, field, k, &m);
    const char *s = json_string_value(v);
    if (labels) {
      label_value_msgs(s, &m);
      invalid_str(causes, field, s, &m);
    }
    total += strlen(k) + strlen(s);
  }
  if (!labels && total > ANNOTATIONS_MAX_BYTES) {
    char msg[80];
    snprintf(msg, sizeof msg, "Too long: must have at most %d bytes", ANNOTATIONS_MAX_BYTES);
    kl_cause_add(causes, "FieldValueTooLong", field, msg);
  }
}

static size_t configmap_bag(json_t *causes, json_t *bag, json_t *other, const char *name,
                            const char *other_name, bool binary) {
  size_t total = 0;
  const char *k;
  json_t *v;
  json_object_foreach(bag, k, v) {
    kl_buf field = {0};
    kl_buf_printf(&field, "%s[%s]", name, k);
    msgs m = {0};
    configmap_key_msgs(k, &m);
    /* Upstream reports a key in both bags once, on the data side. */
    if (!binary && json_object_get(other, k))
      msg_add(&m, "duplicate of key present in ", other_name);
    invalid_str(causes, field.data, k, &m);
    kl_buf_free(&field);
    size_t len = strlen(json_string_value(v));
    if (binary)
      kl_base64_valid(json_string_value(v), &len);
    total += len;
  }
  return total;
}

static bool json_same(json_t *a, json_t *b) {
  if (!a || !b)
    return (!a || json_object_size(a) == 0) && (!b || json_object_size(b) == 0);
  return json_equal(a, b);
}

json_t *kl_validate(int res, json_t *obj, json_t *old) {
  json_t *causes = json_array();
  json_t *meta = json_object_get(obj, "metadata");
  const char *name = json_string_value(json_object_get(meta, "name"));
  if (!name || !*name) {
    /* A name is never generated: the create is refused as when neither was given. */
    const char *gen = json_string_value(json_object_get(meta, "generateName"));
    kl_cause_add(causes, "FieldValueRequired", "metadata.name",
                 gen && *gen ? "Required value: name is required: kube-lite does not support "
                               "generateName"
                             : "Required value: name or generateName is required");
  } else {
    msgs m = {0};
    subdomain_msgs(name, &m, "");
    invalid_str(causes, "metadata.name", name, &m);
  }
  validate_string_map(causes, json_object_get(meta, "labels"), "metadata.labels", true);
  validate_string_map(causes, json_object_get(meta, "annotations"), "metadata.annotations", false);

  if (res == KL_RES_CONFIGMAPS) {
    json_t *data = json_object_get(obj, "data");
    json_t *bin = json_object_get(obj, "binaryData");
    size_t total = configmap_bag(causes, data, bin, "data", "binaryData", false) +
                   configmap_bag(causes, bin, data, "binaryData", "data", true);
    if (total > CONFIGMAP_MAX_BYTES) {
      /* Upstream puts this on the empty path, which prints as "[]":
       * `ConfigMap "x" is invalid: []: Too long: ...`. */
      char msg[80];
      snprintf(msg, sizeof msg, "Too long: must have at most %d bytes", CONFIGMAP_MAX_BYTES);
      kl_cause_add(causes, "FieldValueTooLong", "[]", msg);
    }
    if (old && json_is_true(json_object_get(old, "immutable"))) {
      if (!json_is_true(json_object_get(obj, "immutable")))
        kl_cause_add(causes, "FieldValueForbidden", "immutable", "Forbidden: " IMMUTABLE_MSG);
      if (!json_same(data, json_object_get(old, "data")))
        kl_cause_add(causes, "FieldValueForbidden", "data", "Forbidden: " IMMUTABLE_MSG);
      if (!json_same(bin, json_object_get(old, "binaryData")))
        kl_cause_add(causes, "FieldValueForbidden", "binaryData", "Forbidden: " IMMUTABLE_MSG);
    }
  } else {
    json_t *spec = json_object_get(obj, "spec");
    json_t *d = json_object_get(spec, "leaseDurationSeconds");
    json_t *t = json_object_get(spec, "leaseTransitions");
    char repr[32];
    if (d && json_integer_value(d) <= 0) {
      snprintf(repr, sizeof repr, "%lld", (long long)json_integer_value(d));
      kl_cause_invalid(causes, "spec.leaseDurationSeconds", repr, "must be greater than 0");
    }
    if (t && json_integer_value(t) < 0) {
      snprintf(repr, sizeof repr, "%lld", (long long)json_integer_value(t));
      kl_cause_invalid(causes, "spec.leaseTransitions", repr, "must be greater than or equal to 0");
    }
  }
  if (json_array_size(causes) == 0) {
    json_decref(causes);
    return NULL;
  }
  return causes;
}

/* ---- decoding -------------------------------------------------------------- */

static char *decode_error(int res, const char *detail) {
  const kl_resdef *d = &kl_resources[res];
  kl_buf b = {0};
  kl_buf_printf(&b, "%s in version \"v1\" cannot be handled as a %s: %s", d->kind, d->kind, detail);
  return kl_buf_steal(&b);
}

/* Copies a map whose values must be strings; JSON null means absent. */
static bool copy_string_map(json_t *out, const char *key, json_t *in) {
  if (!in || json_is_null(in))
    return true;
  if (!json_is_object(in))
    return false;
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v) {
    if (!json_is_string(v))
      return false;
  }
  /* Go's omitempty drops empty maps from what the server returns. */
  if (json_object_size(in) > 0)
    json_object_set(out, key, in);
  return true;
}

static bool copy_time(json_t *out, const char *key, json_t *in) {
  if (!in || json_is_null(in))
    return true;
  char norm[40];
  if (!json_is_string(in) || !kl_time_micro_normalize(json_string_value(in), norm))
    return false;
  json_object_set_new(out, key, json_string(norm));
  return true;
}

static json_t *normalize_lease_spec(json_t *spec, const char **bad) {
  json_t *out = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(spec, k, v) {
    if (json_is_null(v))
      continue;
    bool ok = true;
    if (strcmp(k, "holderIdentity") == 0 || strcmp(k, "strategy") == 0 ||
        strcmp(k, "preferredHolder") == 0) {
      ok = json_is_string(v);
      if (ok)
        json_object_set(out, k, v);
    } else if (strcmp(k, "leaseDurationSeconds") == 0 || strcmp(k, "leaseTransitions") == 0) {
      ok = json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
           json_integer_value(v) <= INT32_MAX;
      if (ok)
        json_object_set(out, k, v);
    } else if (strcmp(k, "acquireTime") == 0 || strcmp(k, "renewTime") == 0) {
      ok = copy_time(out, k, v);
    }
    if (!ok) {
      *bad = k;
      json_decref(out);
      return NULL;
    }
  }
  return out;
}

json_t *kl_normalize(int res, json_t *in, char **err) {
  const kl_resdef *d = &kl_resources[res];
  *err = NULL;
  json_t *out = NULL;
  if (!json_is_object(in)) {
    *err = decode_error(res, "the body must be a JSON object");
    goto done;
  }
  json_t *kind = json_object_get(in, "kind");
  json_t *av = json_object_get(in, "apiVersion");
  if (kind && json_is_string(kind) && *json_string_value(kind) &&
      strcmp(json_string_value(kind), d->kind) != 0) {
    kl_buf b = {0};
    kl_buf_printf(&b, "the object provided is unrecognized (must be of type %s): %s", d->kind,
                  json_string_value(kind));
    *err = kl_buf_steal(&b);
    goto done;
  }
  if (av && json_is_string(av) && *json_string_value(av) &&
      strcmp(json_string_value(av), d->api_version) != 0) {
    kl_buf b = {0};
    kl_buf_printf(&b,
                  "the API version in the data (%s) does not match the expected API "
                  "version (%s)",
                  json_string_value(av), d->api_version);
    *err = kl_buf_steal(&b);
    goto done;
  }
  json_t *meta = json_object_get(in, "metadata");
  if (meta && !json_is_object(meta) && !json_is_null(meta)) {
    *err = decode_error(res, "metadata must be an object");
    goto done;
  }
  out = json_pack("{s:s,s:s}", "kind", d->kind, "apiVersion", d->api_version);
  json_t *om = json_object();
  json_object_set_new(out, "metadata", om);
  static const char *const str_fields[] = {"name", "generateName",    "namespace",
                                           "uid",  "resourceVersion", "creationTimestamp"};
  for (size_t i = 0; i < sizeof str_fields / sizeof *str_fields; i++) {
    json_t *v = json_object_get(meta, str_fields[i]);
    if (!v || json_is_null(v))
      continue;
    if (!json_is_string(v)) {
      kl_buf b = {0};
      kl_buf_printf(&b, "metadata.%s must be a string", str_fields[i]);
      *err = decode_error(res, b.data);
      kl_buf_free(&b);
      goto fail;
    }
    json_object_set(om, str_fields[i], v);
  }
  if (!copy_string_map(om, "labels", json_object_get(meta, "labels"))) {
    *err = decode_error(res, "metadata.labels must map strings to strings");
    goto fail;
  }
  if (!copy_string_map(om, "annotations", json_object_get(meta, "annotations"))) {
    *err = decode_error(res, "metadata.annotations must map strings to strings");
    goto fail;
  }
  json_t *owners = json_object_get(meta, "ownerReferences");
  if (owners && !json_is_null(owners)) {
    if (!json_is_array(owners)) {
      *err = decode_error(res, "metadata.ownerReferences must be an array");
      goto fail;
    }
    json_object_set(om, "ownerReferences", owners);
  }

  if (res == KL_RES_CONFIGMAPS) {
    if (!copy_string_map(out, "data", json_object_get(in, "data"))) {
      *err = decode_error(res, "data must map strings to strings");
      goto fail;
    }
    json_t *bin = json_object_get(in, "binaryData");
    if (!copy_string_map(out, "binaryData", bin)) {
      *err = decode_error(res, "binaryData must map strings to base64 strings");
      goto fail;
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(out, "binaryData"), k, v) {
      size_t n;
      if (!kl_base64_valid(json_string_value(v), &n)) {
        kl_buf b = {0};
        kl_buf_printf(&b, "binaryData[%s]: illegal base64 data", k);
        *err = decode_error(res, b.data);
        kl_buf_free(&b);
        goto fail;
      }
    }
    json_t *imm = json_object_get(in, "immutable");
    if (imm && !json_is_null(imm)) {
      if (!json_is_boolean(imm)) {
        *err = decode_error(res, "immutable must be a boolean");
        goto fail;
      }
      json_object_set(out, "immutable", imm);
    }
  } else {
    json_t *spec = json_object_get(in, "spec");
    if (spec && !json_is_null(spec)) {
      const char *bad = NULL;
      json_t *ns = json_is_object(spec) ? normalize_lease_spec(spec, &bad) : NULL;
      if (!ns) {
        kl_buf b = {0};
        kl_buf_printf(&b, "spec%s%s has an invalid value", bad ? "." : "", bad ? bad : "");
        *err = decode_error(res, b.data);
        kl_buf_free(&b);
        goto fail;
      }
      json_object_set_new(out, "spec", ns);
    } else {
      json_object_set_new(out, "spec", json_object());
    }
  }
  goto done;
fail:
  json_decref(out);
  out = NULL;
done:
  json_decref(in);
  return out;
}
