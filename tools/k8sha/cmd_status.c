/* k8sha status: the lock holder, its lease, transitions and the published components. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <uv.h>

#include "cli.h"

#define LEADER_ANNOTATION "control-plane.alpha.kubernetes.io/leader"
#define LEADER_PREFIX "org.apache.flink.k8s.leader."

static const char usage[] =
    "usage: k8sha status [-c FILE] [-D key=value]... [--json]\n"
    "\n"
    "Shows the holder of the cluster's lock, its lease (renewTime and its age by this machine's\n"
    "clock), the leader transitions, and the components the leader published.\n";

typedef struct status_state {
  char lock[300];
  json_t *lock_obj; /* the cluster ConfigMap, or NULL */
  int done, err;
  char message[512];
} status_state;

static void on_event(k8sha_watch *w, const k8sha_watch_event *ev, void *ud) {
  status_state *st = ud;
  json_error_t e;
  (void)w;
  if ((ev->type == K8SHA_WATCH_ADDED || ev->type == K8SHA_WATCH_MODIFIED) &&
      strcmp(ev->name, st->lock) == 0) {
    json_decref(st->lock_obj);
    st->lock_obj = json_loads(ev->object_json, 0, &e);
  } else if (ev->type == K8SHA_WATCH_SYNCED) {
    st->done = 1;
  } else if (ev->type == K8SHA_WATCH_ERROR) {
    /* One read is all this command needs: report the first failure instead of retrying. */
    st->done = 1;
    st->err = ev->err;
    snprintf(st->message, sizeof(st->message), "%s", ev->message);
  }
}

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
  k8sha_ctx *ctx = NULL;
  k8sha_watch *w = NULL;
  status_state st;
  uv_loop_t loop;
  json_t *rec = NULL, *data, *v, *out;
  json_error_t je;
  const char *key, *ann;
  int rc;

  char cluster_id[128];

  if ((rc = cli_parse_config_opts(argc, argv, &o, usage)) != 0)
    return rc;
  rc = cli_open(&o, &loop, &ctx, cluster_id, sizeof(cluster_id));
  free(o.defs);
  if (rc)
    return rc;
  memset(&st, 0, sizeof(st));
  snprintf(st.lock, sizeof(st.lock), "%s-cluster-config-map", cluster_id);
  rc = k8sha_watch_new(&w, ctx, NULL, on_event, &st);
  while (rc == 0 && !st.done && uv_run(&loop, UV_RUN_ONCE))
    ;
  k8sha_watch_free(w);
  cli_close(ctx, &loop);
  if (rc || st.err) {
    fprintf(stderr, "k8sha status: %s\n", rc ? k8sha_strerror(rc) : st.message);
    json_decref(st.lock_obj);
    return CLI_FAILED;
  }

  ann = json_string_value(json_object_get(
      json_object_get(json_object_get(st.lock_obj, "metadata"), "annotations"), LEADER_ANNOTATION));
  if (ann)
    rec = json_loads(ann, 0, &je);
  data = json_object_get(st.lock_obj, "data");
  out = json_object();
  json_object_set_new(out, "lock", json_string(st.lock));
  json_object_set_new(out, "exists", json_boolean(st.lock_obj != NULL));
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
  if (o.json) {
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
  } else if (!st.lock_obj) {
    printf("lock %s: does not exist (no leader has been elected yet)\n", st.lock);
  } else {
    json_t *c = json_object_get(out, "components");
    const char *holder = json_string_value(json_object_get(out, "holder"));
    printf("lock %s\n", st.lock);
    printf("  holder             %s\n", holder && *holder ? holder : "(none: released)");
    if (rec) {
      printf("  lease duration     %.3f s\n", json_number_value(json_object_get(rec, "leaseDuration")));
      printf("  renewed            %s (%.1f s ago by this machine's clock)\n",
             json_string_value(json_object_get(rec, "renewTime")),
             json_real_value(json_object_get(out, "renewAgeSeconds")));
      printf("  leader transitions %lld\n",
             (long long)json_integer_value(json_object_get(rec, "leaderTransitions")));
    }
    printf("  components         %s\n", json_object_size(c) ? "" : "(none published)");
    json_object_foreach(c, key, v) printf("    %-18s %s\n", key, json_string_value(v));
  }
  json_decref(out);
  json_decref(rec);
  json_decref(st.lock_obj);
  return CLI_OK;
}
