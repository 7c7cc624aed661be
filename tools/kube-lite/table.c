/*
 * meta.k8s.io/v1 Table output.  kubectl asks for it on `get` so the server
 * decides the columns; supplying it makes `kubectl get cm` print the same
 * NAME/DATA/AGE columns it prints against a cluster.
 */
#include "kl.h"

#include <string.h>

static json_t *column(const char *name, const char *type, const char *format, const char *desc) {
  return json_pack("{s:s,s:s,s:s,s:s,s:i}", "name", name, "type", type, "format", format,
                   "description", desc, "priority", 0);
}

static json_t *row_object(json_t *obj, const char *include) {
  if (include && strcmp(include, "None") == 0)
    return NULL;
  if (include && strcmp(include, "Object") == 0)
    return json_incref(obj);
  return json_pack("{s:s,s:s,s:O}", "kind", "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1",
                   "metadata", json_object_get(obj, "metadata"));
}

json_t *kl_table(int res, json_t **objs, size_t n, const char *rv, const char *include,
                 time_t now) {
  json_t *cols = json_array();
  json_array_append_new(
      cols, column("Name", "string", "name", "Name must be unique within a namespace."));
  if (res == KL_RES_CONFIGMAPS)
    json_array_append_new(cols, column("Data", "string", "", "Number of data keys."));
  else
    json_array_append_new(cols, column("Holder", "string", "", "The holderIdentity of the lease."));
  json_array_append_new(cols, column("Age", "string", "",
                                     "CreationTimestamp is a timestamp representing the server "
                                     "time when this object was created."));
  json_t *rows = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *meta = json_object_get(objs[i], "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    char age[32] = "<unknown>";
    time_t created;
    const char *ts = json_string_value(json_object_get(meta, "creationTimestamp"));
    if (ts && kl_time_parse(ts, &created))
      kl_human_age(age, created, now);
    json_t *mid;
    if (res == KL_RES_CONFIGMAPS) {
      size_t keys = json_object_size(json_object_get(objs[i], "data")) +
                    json_object_size(json_object_get(objs[i], "binaryData"));
      mid = json_integer((json_int_t)keys);
    } else {
      const char *h =
          json_string_value(json_object_get(json_object_get(objs[i], "spec"), "holderIdentity"));
      mid = json_string(h ? h : "");
    }
    json_t *row = json_pack("{s:[s,o,s]}", "cells", name ? name : "", mid, age);
    json_t *o = row_object(objs[i], include);
    if (o)
      json_object_set_new(row, "object", o);
    json_array_append_new(rows, row);
  }
  json_t *md = json_object();
  if (rv)
    json_object_set_new(md, "resourceVersion", json_string(rv));
  return json_pack("{s:s,s:s,s:o,s:o,s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
                   "metadata", md, "columnDefinitions", cols, "rows", rows);
}
