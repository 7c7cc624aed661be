/* k8sha jobs | checkpoints JOBID | cleanup | orphans: the HA stores seen and tended from outside. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli.h"
#include "layout/flink.h"

#define CONFIGMAP_MAX 1048576.0
#define CHECKPOINT_PREFIX K8SHA__CHECKPOINT_PREFIX
/* Flink's job graph entries: 1.x jobGraph-<id>, 2.0+ executionPlan-<id>. */
static const char *const graph_prefixes[] = {K8SHA__JOBGRAPH_PREFIX, K8SHA__EXECUTION_PLAN_PREFIX};
#define N_GRAPH_PREFIXES (sizeof(graph_prefixes) / sizeof(graph_prefixes[0]))

/* 1 when a stored value is marked for deletion: libk8sha's prefix or Flink's own flag. */
static int value_marked(json_t *v) {
  k8sha_pointer_info *info = NULL;
  int marked = json_string_value(v) &&
               k8sha_pointer_describe(json_string_value(v), &info) == 0 && info->marked;
  k8sha_pointer_info_free(info);
  return marked;
}

/* ---- reading ---- */

/* Bytes of a ConfigMap's data as Kubernetes counts them against its limit. */
static size_t data_size(json_t *cm) {
  const char *key;
  json_t *v;
  size_t n = 0;
  json_object_foreach(json_object_get(cm, "data"), key, v) {
    n += strlen(key) + json_string_length(v);
  }
  return n;
}

static int is_job_cm(const char *name, const char *cluster_id, char *job_id) {
  size_t c = strlen(cluster_id), i;
  if (strlen(name) != c + 1 + 32 + strlen(K8SHA__JOB_CM_SUFFIX) ||
      strncmp(name, cluster_id, c) != 0 || name[c] != '-' ||
      strcmp(name + c + 33, K8SHA__JOB_CM_SUFFIX) != 0)
    return 0;
  for (i = 0; i < 32; i++) {
    char ch = name[c + 1 + i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
      return 0;
    job_id[i] = ch;
  }
  job_id[32] = '\0';
  return 1;
}

/* A job's summary from its ConfigMap (may be NULL) and the cluster ConfigMap. */
static json_t *job_summary(const char *job_id, json_t *job_cm, json_t *cluster_cm) {
  json_t *j = json_object(), *v;
  const char *key;
  char gkey[64];
  long live = 0, marked = 0;
  const char *latest = NULL;
  size_t g;
  int graph = 0;
  json_object_set_new(j, "job", json_string(job_id));
  for (g = 0; g < N_GRAPH_PREFIXES; g++) {
    snprintf(gkey, sizeof(gkey), "%s%s", graph_prefixes[g], job_id);
    v = json_object_get(json_object_get(cluster_cm, "data"), gkey);
    graph |= v && !value_marked(v);
  }
  json_object_set_new(j, "jobGraph", json_boolean(graph));
  json_object_foreach(json_object_get(job_cm, "data"), key, v) {
    if (strncmp(key, CHECKPOINT_PREFIX, strlen(CHECKPOINT_PREFIX)) != 0)
      continue;
    if (value_marked(v)) {
      marked++;
    } else {
      live++;
      if (!latest || strcmp(key, latest) > 0)
        latest = key;
    }
  }
  json_object_set_new(j, "checkpoints", json_integer(live));
  json_object_set_new(j, "markedForDeletion", json_integer(marked));
  if (latest)
    json_object_set_new(j, "latestCheckpoint",
                        json_integer(strtoll(latest + strlen(CHECKPOINT_PREFIX), NULL, 10)));
  v = json_object_get(json_object_get(job_cm, "data"), K8SHA__COUNTER_KEY);
  if (json_string_value(v))
    json_object_set_new(j, "nextCheckpointId",
                        json_integer(strtoll(json_string_value(v), NULL, 10)));
  if (job_cm) {
    json_object_set(j, "configMap", json_object_get(json_object_get(job_cm, "metadata"), "name"));
    json_object_set_new(j, "configMapBytes", json_integer((json_int_t)data_size(job_cm)));
  }
  return j;
}

/* Every job the HA ConfigMaps know of (a job ConfigMap or a job graph), sorted by id. */
static json_t *jobs_of(json_t *objs, const char *cluster_id) {
  char cluster_name[300], job_id[33];
  json_t *cluster, *ids = json_object(), *out = json_array(), *v;
  const char *name, *key;
  snprintf(cluster_name, sizeof(cluster_name), K8SHA__CLUSTER_CONFIGMAP_FMT, cluster_id);
  cluster = json_object_get(objs, cluster_name);
  json_object_foreach(objs, name, v) {
    if (is_job_cm(name, cluster_id, job_id))
      json_object_set_new(ids, job_id, json_true());
  }
  json_object_foreach(json_object_get(cluster, "data"), key, v) {
    size_t g;
    for (g = 0; g < N_GRAPH_PREFIXES; g++)
      if (strncmp(key, graph_prefixes[g], strlen(graph_prefixes[g])) == 0 &&
          strlen(key + strlen(graph_prefixes[g])) == 32)
        json_object_set_new(ids, key + strlen(graph_prefixes[g]), json_true());
  }
  json_object_foreach(ids, key, v) {
    char cm[400];
    snprintf(cm, sizeof(cm), "%s-%s-config-map", cluster_id, key);
    json_array_append_new(out, job_summary(key, json_object_get(objs, cm), cluster));
  }
  json_decref(ids);
  return out;
}

json_t *cli_jobs_summary(json_t *objs, const char *cluster_id) {
  return jobs_of(objs, cluster_id);
}

static const char jobs_usage[] =
    "usage: k8sha jobs [-c FILE] [-D key=value]... [--json]\n"
    "\n"
    "Lists the jobs the cluster's HA ConfigMaps know: whether a job graph is stored, how many\n"
    "checkpoints are retained (and marked for deletion), the latest one, the next checkpoint id,\n"
    "and the size of the job's ConfigMap against Kubernetes' 1 MiB limit.\n";

int cmd_jobs(int argc, char **argv) {
  cli_config_opts o = {0};
  char cluster_id[128], message[512];
  json_t *objs = NULL, *jobs, *j;
  size_t i;
  int rc;

  if ((rc = cli_parse_config_opts(argc, argv, &o, jobs_usage)) != 0)
    return rc;
  rc = cli_snapshot(&o, cluster_id, sizeof(cluster_id), &objs, message, sizeof(message));
  free(o.defs);
  if (rc)
    return rc;
  jobs = jobs_of(objs, cluster_id);
  if (o.json) {
    json_dumpf(jobs, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
  } else if (json_array_size(jobs) == 0) {
    printf("no jobs in the HA data of cluster %s\n", cluster_id);
  } else {
    printf("%-32s  %-5s  %11s  %10s  %7s  %s\n", "JOB", "GRAPH", "CHECKPOINTS", "LATEST",
           "NEXT ID", "CONFIGMAP SIZE");
    json_array_foreach(jobs, i, j) {
      char latest[32] = "-", next[32] = "-", size[64] = "(no ConfigMap)";
      json_t *v;
      if ((v = json_object_get(j, "latestCheckpoint")))
        snprintf(latest, sizeof(latest), "%lld", (long long)json_integer_value(v));
      if ((v = json_object_get(j, "nextCheckpointId")))
        snprintf(next, sizeof(next), "%lld", (long long)json_integer_value(v));
      if ((v = json_object_get(j, "configMapBytes")))
        snprintf(size, sizeof(size), "%lld B (%.2f%% of 1 MiB)", (long long)json_integer_value(v),
                 100.0 * (double)json_integer_value(v) / CONFIGMAP_MAX);
      printf("%-32s  %-5s  %5lld%s  %10s  %7s  %s\n", json_string_value(json_object_get(j, "job")),
             json_is_true(json_object_get(j, "jobGraph")) ? "yes" : "no",
             (long long)json_integer_value(json_object_get(j, "checkpoints")),
             json_integer_value(json_object_get(j, "markedForDeletion")) ? "+del" : "    ", latest,
             next, size);
    }
  }
  json_decref(jobs);
  json_decref(objs);
  return CLI_OK;
}

static const char checkpoints_usage[] =
    "usage: k8sha checkpoints JOBID [-c FILE] [-D key=value]... [--json]\n"
    "\n"
    "Lists the checkpoints the job's ConfigMap holds, oldest first: id, state (retained, or\n"
    "deleting: a removal under way or interrupted), the blob each pointer names, its size and\n"
    "checksum (libk8sha pointers), and the pointer's own size.\n";

int cmd_checkpoints(int argc, char **argv) {
  cli_config_opts o = {0};
  char cluster_id[128], message[512], cm_name[400];
  const char *job = NULL, *rest[64];
  json_t *objs = NULL, *cm, *list, *v, *e;
  const char *key;
  size_t i;
  int n_rest = 0, rc;

  for (i = 0; i < (size_t)argc && n_rest < 63; i++) {
    if (argv[i][0] != '-' && !job && (i == 0 || (strcmp(argv[i - 1], "-c") != 0 &&
                                                 strcmp(argv[i - 1], "-D") != 0)))
      job = argv[i];
    else
      rest[n_rest++] = argv[i];
  }
  if ((rc = cli_parse_config_opts(n_rest, (char **)rest, &o, checkpoints_usage)) != 0)
    return rc;
  if (!job || strlen(job) != 32 || strspn(job, "0123456789abcdef") != 32) {
    if (job)
      fprintf(stderr, "k8sha checkpoints: '%s' is not a job id (32 lowercase hex digits)\n", job);
    else
      fprintf(stderr, "k8sha checkpoints: which job? (a 32-digit job id)\n%s", checkpoints_usage);
    free(o.defs);
    return CLI_INVALID;
  }
  rc = cli_snapshot(&o, cluster_id, sizeof(cluster_id), &objs, message, sizeof(message));
  free(o.defs);
  if (rc)
    return rc;
  snprintf(cm_name, sizeof(cm_name), "%s-%s-config-map", cluster_id, job);
  cm = json_object_get(objs, cm_name);
  list = json_array();
  json_object_foreach(json_object_get(cm, "data"), key, v) {
    k8sha_pointer_info *info = NULL;
    int prc;
    if (strncmp(key, CHECKPOINT_PREFIX, strlen(CHECKPOINT_PREFIX)) != 0 || !json_string_value(v))
      continue;
    prc = k8sha_pointer_describe(json_string_value(v), &info);
    e = json_object();
    json_object_set_new(e, "id", json_integer(strtoll(key + strlen(CHECKPOINT_PREFIX), NULL, 10)));
    json_object_set_new(e, "key", json_string(key));
    if (prc) {
      /* (a value that cannot be described is listed with the reason, never skipped) */
      json_object_set_new(e, "state", json_string("unreadable"));
      json_object_set_new(e, "error", json_string(info && info->error[0] ? info->error : k8sha_strerror(prc)));
    } else {
      json_object_set_new(e, "state", json_string(info->marked ? "deleting" : "retained"));
      json_object_set_new(e, "pointer",
                          json_string(info->format == K8SHA_POINTER_COMPACT ? "libk8sha"
                                      : info->format == K8SHA_POINTER_FLINK ? "flink"
                                                                           : "host"));
      json_object_set_new(e, "uri", json_string(info->uri));
      if (info->format != K8SHA_POINTER_OPAQUE)
        json_object_set_new(e, "size", json_integer((json_int_t)info->size));
      if (info->compact) {
        char crc[16];
        snprintf(crc, sizeof(crc), "%08x", (unsigned)info->crc32c);
        json_object_set_new(e, "crc32c", json_string(crc));
      }
    }
    k8sha_pointer_info_free(info);
    json_object_set_new(e, "valueBytes", json_integer((json_int_t)json_string_length(v)));
    json_array_append_new(list, e);
  }
  /* keys are zero-padded: sorting by key is sorting by id */
  {
    size_t n = json_array_size(list), a, b;
    for (a = 1; a < n; a++)
      for (b = a; b > 0; b--) {
        json_t *x = json_array_get(list, b - 1), *y = json_array_get(list, b);
        if (strcmp(json_string_value(json_object_get(x, "key")),
                   json_string_value(json_object_get(y, "key"))) <= 0)
          break;
        json_incref(x);
        json_array_set(list, b - 1, y);
        json_array_set_new(list, b, x);
      }
  }
  if (o.json) {
    json_t *out = json_pack("{s:s, s:b, s:O}", "configMap", cm_name, "exists", cm != NULL,
                            "checkpoints", list);
    v = json_object_get(json_object_get(cm, "data"), K8SHA__COUNTER_KEY);
    if (json_string_value(v))
      json_object_set_new(out, "nextCheckpointId",
                          json_integer(strtoll(json_string_value(v), NULL, 10)));
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(out);
  } else if (!cm) {
    printf("%s: does not exist (no checkpoints stored for job %s)\n", cm_name, job);
  } else {
    printf("%s (%zu B of data)\n", cm_name, data_size(cm));
    if (json_array_size(list) == 0)
      printf("  no checkpoints\n");
    json_array_foreach(list, i, e) {
      printf("  %-20lld %-9s %s", (long long)json_integer_value(json_object_get(e, "id")),
             json_string_value(json_object_get(e, "state")),
             json_string_value(json_object_get(e, "uri")) ? json_string_value(json_object_get(e, "uri"))
                                                          : json_string_value(json_object_get(e, "error")));
      if (json_object_get(e, "crc32c"))
        printf("  %lld B crc32c %s", (long long)json_integer_value(json_object_get(e, "size")),
               json_string_value(json_object_get(e, "crc32c")));
      else if (json_object_get(e, "size"))
        printf("  %lld B (Flink's pointer)",
               (long long)json_integer_value(json_object_get(e, "size")));
      printf("\n");
    }
    v = json_object_get(json_object_get(cm, "data"), K8SHA__COUNTER_KEY);
    if (json_string_value(v))
      printf("  next checkpoint id %s\n", json_string_value(v));
  }
  json_decref(list);
  json_decref(objs);
  return CLI_OK;
}

/* ---- changing ---- */

typedef struct act {
  uv_loop_t *loop;
  int json, done, err;
  json_t *found;
  char message[1024];
} act;

static void on_found(k8sha_found_kind kind, const char *name, void *ud) {
  act *a = ud;
  if (a->json)
    json_array_append_new(a->found, json_pack("{s:s, s:s}", "kind", k8sha_found_kind_name(kind),
                                              "name", name));
  else
    printf("%-16s %s\n", k8sha_found_kind_name(kind), name);
  fflush(stdout);
}

static void on_done(int status, const char *message, void *ud) {
  act *a = ud;
  a->done = 1;
  a->err = status;
  snprintf(a->message, sizeof(a->message), "%s", message ? message : "");
  uv_stop(a->loop);
}

static int finish_act(act *a, const char *what, int dry, int rc) {
  if (rc == 0 && a->err)
    fprintf(stderr, "k8sha %s: %s (%s); running it again resumes\n", what, a->message,
            k8sha_err_name(a->err));
  if (a->json) {
    json_t *out = json_pack("{s:b, s:O, s:s?}", "dryRun", dry, "found", a->found, "error",
                            a->err ? a->message : NULL);
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(out);
  }
  json_decref(a->found);
  return rc ? rc : a->err ? CLI_FAILED : CLI_OK;
}

static const char cleanup_usage[] =
    "usage: k8sha cleanup (--job JOBID | --cluster) [--dry-run] [--yes] [-c FILE] [-D k=v]...\n"
    "                     [--json]\n"
    "\n"
    "--job deletes one job's HA data: its checkpoints (each pointer, then its blob), its counter\n"
    "and ConfigMap, its job graph and its leader entry. It first takes the cluster's lock, so it\n"
    "refuses while a leader is alive (that leader cleans up its own jobs).\n"
    "--cluster deletes every HA ConfigMap of the cluster (the lock too), then every blob under\n"
    "<storageDir>/<ha-cluster-id>/; also only once no leader holds the lock.\n"
    "--dry-run lists what would be deleted; without it, --yes is required. Both are idempotent:\n"
    "run again after a failure, it continues where it stopped.\n";

static const char orphans_usage[] =
    "usage: k8sha orphans [--delete] [-c FILE] [-D key=value]... [--json]\n"
    "\n"
    "Lists blobs under <storageDir>/<ha-cluster-id>/ that no pointer references (left by a crash\n"
    "between writing a blob and its pointer) and job ConfigMaps whose job graph is gone.\n"
    "--delete deletes the orphan blobs; it first takes the cluster's lock (an add in flight\n"
    "writes its blob before its pointer, so this is only safe while no leader runs).\n";

static int store_command(int argc, char **argv, int orphans) {
  cli_config_opts o = {0};
  const char *rest[64], *job = NULL;
  int n_rest = 0, cluster = 0, dry = 0, yes = 0, del = 0, rc, i;
  char cluster_id[128], who[300];
  k8sha_ctx *ctx = NULL;
  k8sha_election *e = NULL;
  uv_loop_t loop;
  act a;
  const char *usage = orphans ? orphans_usage : cleanup_usage;
  const char *what = orphans ? "orphans" : "cleanup";

  for (i = 0; i < argc && n_rest < 63; i++) {
    if (!orphans && strcmp(argv[i], "--job") == 0 && i + 1 < argc)
      job = argv[++i];
    else if (!orphans && strcmp(argv[i], "--cluster") == 0)
      cluster = 1;
    else if (!orphans && strcmp(argv[i], "--dry-run") == 0)
      dry = 1;
    else if (!orphans && strcmp(argv[i], "--yes") == 0)
      yes = 1;
    else if (orphans && strcmp(argv[i], "--delete") == 0)
      del = 1;
    else
      rest[n_rest++] = argv[i];
  }
  if ((rc = cli_parse_config_opts(n_rest, (char **)rest, &o, usage)) != 0)
    return rc;
  if (!orphans && (!!job + cluster != 1 || (!dry && !yes))) {
    fprintf(stderr, "%s%s", !!job + cluster != 1 ? "k8sha cleanup: name --job JOBID or --cluster\n"
                                                 : "k8sha cleanup: this deletes HA data; "
                                                   "--dry-run shows what, --yes does it\n",
            usage);
    free(o.defs);
    return CLI_INVALID;
  }
  rc = cli_open(&o, &loop, &ctx, cluster_id, sizeof(cluster_id));
  free(o.defs);
  if (rc)
    return rc;
  cli_arm_timeout(&loop, o.timeout_given ? o.timeout_ms : CLI_DEFAULT_LOCKING_TIMEOUT_MS, what);
  memset(&a, 0, sizeof(a));
  a.loop = &loop;
  a.json = o.json;
  a.found = json_array();
  if ((!orphans && !dry) || del) {
    char host[128];
    if (gethostname(host, sizeof(host)) != 0)
      snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    snprintf(who, sizeof(who), "k8sha-%s-%s-%ld", what, host, (long)getpid());
    rc = cli_take_lock(ctx, &loop, who, &e, a.message, sizeof(a.message));
    if (rc) {
      fprintf(stderr, "k8sha %s: %s\n", what, a.message);
      json_decref(a.found);
      cli_close(ctx, &loop);
      return rc;
    }
  }
  if (orphans)
    rc = k8sha_orphans_scan(ctx, del ? e : NULL, on_found, on_done, &a);
  else if (job)
    rc = k8sha_cleanup_job(ctx, dry ? NULL : e, job, dry ? K8SHA_CLEANUP_DRY_RUN : 0, on_found,
                           on_done, &a);
  else {
    /* The lock goes with everything else: stop leading without releasing it. */
    k8sha_election_free(e);
    e = NULL;
    rc = k8sha_cleanup_cluster(ctx, dry ? K8SHA_CLEANUP_DRY_RUN : 0, on_found, on_done, &a);
  }
  if (rc) {
    fprintf(stderr, "k8sha %s: %s\n", what,
            rc == K8SHA_EINVAL && job ? "not a job id (32 lowercase hex digits)" : k8sha_strerror(rc));
    rc = rc == K8SHA_EINVAL ? CLI_INVALID : CLI_FAILED;
  }
  while (rc == 0 && !a.done)
    uv_run(&loop, UV_RUN_DEFAULT);
  if (e)
    cli_release_lock(e, &loop);
  cli_close(ctx, &loop);
  return finish_act(&a, what, dry || (orphans && !del), rc);
}

int cmd_cleanup(int argc, char **argv) {
  return store_command(argc, argv, 0);
}

int cmd_orphans(int argc, char **argv) {
  return store_command(argc, argv, 1);
}
