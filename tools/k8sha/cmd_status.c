/* k8sha status: the lock holder, its lease, transitions and the published components. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <uv.h>

#include "cli.h"
#include "layout/flink.h"

#define LEADER_ANNOTATION K8SHA__LEADER_ANNOTATION
#define LEADER_PREFIX K8SHA__LEADER_KEY_PREFIX

static const char usage[] =
    "usage: k8sha status [-c FILE] [-D key=value]... [--json]\n"
    "\n"
    "Shows the holder of the cluster's lock, its lease (renewTime and its age by this machine's\n"
    "clock), the leader transitions, and the components the leader published.\n";

/* Seconds between a record time ("2020-10-20T04:06:31.431000Z") and now, by this clock. */
static double age_of(const char *t) {
  struct tm tm;
  double frac = 0;
  const char *dot;
  memset(&tm, 0, sizeof(tm));
  if (!t || !strptime(t, "%Y-%m-%dT%H:%M:%S", &tm))
    return -1;
  dot = strchr(t, '.');
  if (dot)
    frac = strtod(dot, NULL);
  {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)(tv.tv_sec - timegm(&tm)) + tv.tv_usec / 1e6 - frac;
  }
}

int cmd_status(int argc, char **argv) {
  cli_config_opts o = {0};
  json_t *objs = NULL, *lock_obj, *rec = NULL, *data, *v, *out, *sizes, *jobs, *obj;
  json_error_t je;
  const char *key, *ann, *name;
  char cluster_id[128], lock[300], message[512];
  size_t i;
  int rc;

  if ((rc = cli_parse_config_opts(argc, argv, &o, usage)) != 0)
    return rc;
  rc = cli_snapshot(&o, cluster_id, sizeof(cluster_id), &objs, message, sizeof(message));
  free(o.defs);
  if (rc)
    return rc;
  snprintf(lock, sizeof(lock), K8SHA__CLUSTER_CONFIGMAP_FMT, cluster_id);
  lock_obj = json_object_get(objs, lock);

  ann = json_string_value(json_object_get(
      json_object_get(json_object_get(lock_obj, "metadata"), "annotations"), LEADER_ANNOTATION));
  if (ann)
    rec = json_loads(ann, 0, &je);
  data = json_object_get(lock_obj, "data");
  out = json_object();
  json_object_set_new(out, "lock", json_string(lock));
  json_object_set_new(out, "exists", json_boolean(lock_obj != NULL));
  if (rec) {
    const char *holder = json_string_value(json_object_get(rec, "holderIdentity"));
    const char *renew = json_string_value(json_object_get(rec, "renewTime"));
    json_object_set_new(out, "holder", json_string(holder ? holder : ""));
    json_object_set(out, "leaseDuration", json_object_get(rec, "leaseDuration"));
    json_object_set(out, "renewTime", json_object_get(rec, "renewTime"));
    json_object_set_new(out, "renewAgeSeconds", json_real(age_of(renew)));
    json_object_set(out, "leaderTransitions", json_object_get(rec, "leaderTransitions"));
  }
  {
    json_t *components = json_object();
    json_object_foreach(data, key, v) {
      if (strncmp(key, LEADER_PREFIX, strlen(LEADER_PREFIX)) == 0)
        json_object_set(components, key + strlen(LEADER_PREFIX), v);
    }
    json_object_set_new(out, "components", components);
  }
  /* Each HA ConfigMap's size against Kubernetes' limit, and the jobs with their checkpoints. */
  sizes = json_array();
  json_object_foreach(objs, name, obj) {
    size_t n = 0;
    json_object_foreach(json_object_get(obj, "data"), key, v) {
      n += strlen(key) + json_string_length(v);
    }
    json_array_append_new(sizes, json_pack("{s:s, s:I, s:f}", "name", name, "bytes",
                                           (json_int_t)n, "percentOfLimit",
                                           100.0 * (double)n / 1048576.0));
  }
  json_object_set_new(out, "configMaps", sizes);
  jobs = cli_jobs_summary(objs, cluster_id);
  json_object_set_new(out, "jobs", jobs);
  if (o.json) {
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
  } else if (!lock_obj) {
    printf("lock %s: does not exist (no leader has been elected yet)\n", lock);
  } else {
    json_t *c = json_object_get(out, "components");
    const char *holder = json_string_value(json_object_get(out, "holder"));
    printf("lock %s\n", lock);
    printf("  holder             %s\n", holder && *holder ? holder : "(none: released)");
    if (rec) {
      json_t *d = json_object_get(rec, "leaseDuration");
      if (json_is_string(d)) /* the Python client's "15", Flink 2.x's Java Duration "PT15S" */
        printf("  lease duration     %s\n", json_string_value(d));
      else
        printf("  lease duration     %.3f s\n", json_number_value(d));
      printf("  renewed            %s (%.1f s ago by this machine's clock)\n",
             json_string_value(json_object_get(rec, "renewTime")),
             json_real_value(json_object_get(out, "renewAgeSeconds")));
      printf("  leader transitions %lld\n",
             (long long)json_integer_value(json_object_get(rec, "leaderTransitions")));
    }
    printf("  components         %s\n", json_object_size(c) ? "" : "(none published)");
    json_object_foreach(c, key, v) printf("    %-18s %s\n", key, json_string_value(v));
  }
  if (!o.json) {
    printf("HA ConfigMaps (data bytes of the 1,048,576 Kubernetes allows)\n");
    json_array_foreach(sizes, i, v) {
      printf("  %-60s %8lld B  %6.2f%%\n", json_string_value(json_object_get(v, "name")),
             (long long)json_integer_value(json_object_get(v, "bytes")),
             json_real_value(json_object_get(v, "percentOfLimit")));
    }
    printf("jobs %s\n", json_array_size(jobs) ? "" : "(none)");
    json_array_foreach(jobs, i, v) {
      printf("  %s  %lld checkpoint(s) retained, %lld being removed%s\n",
             json_string_value(json_object_get(v, "job")),
             (long long)json_integer_value(json_object_get(v, "checkpoints")),
             (long long)json_integer_value(json_object_get(v, "markedForDeletion")),
             json_is_true(json_object_get(v, "jobGraph")) ? ", job graph stored" : ", no job graph");
    }
  }
  json_decref(out);
  json_decref(rec);
  json_decref(objs);
  return CLI_OK;
}
