/* k8sha watch: prints every change to the cluster's HA ConfigMaps as it happens. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli.h"

static const char usage[] =
    "usage: k8sha watch [-c FILE] [-D key=value]... [--json]\n"
    "\n"
    "Prints every change to the cluster's high-availability ConfigMaps (label\n"
    "app=<cluster-id>,configmap-type=high-availability) until interrupted. Keeps going across\n"
    "watch expiry, 410 Expired and API server restarts; problems are printed to stderr.\n";

typedef struct watch_state {
  int json;
  uv_loop_t *loop;
  k8sha_ctx *ctx;
  k8sha_watch *watch;
  uv_signal_t sigint, sigterm;
} watch_state;

static const char *type_name(k8sha_watch_event_type t) {
  switch (t) {
  case K8SHA_WATCH_ADDED: return "ADDED";
  case K8SHA_WATCH_MODIFIED: return "MODIFIED";
  case K8SHA_WATCH_DELETED: return "DELETED";
  case K8SHA_WATCH_SYNCED: return "SYNCED";
  default: return "ERROR";
  }
}

/* The data keys that differ between two ConfigMaps: key -> new value, or null when removed. */
static json_t *data_diff(json_t *now, json_t *before) {
  json_t *d = json_object_get(now, "data"), *o = json_object_get(before, "data");
  json_t *diff = json_object(), *v;
  const char *key;

  json_object_foreach(d, key, v) {
    json_t *ov = json_object_get(o, key);
    if (!ov || !json_equal(ov, v))
      json_object_set(diff, key, v);
  }
  json_object_foreach(o, key, v) {
    if (!json_object_get(d, key))
      json_object_set_new(diff, key, json_null());
  }
  return diff;
}

/* Annotations matter too: the leader record lives in one. */
static json_t *annotation_diff(json_t *now, json_t *before) {
  json_t *a = json_object_get(json_object_get(now, "metadata"), "annotations");
  json_t *b = json_object_get(json_object_get(before, "metadata"), "annotations");
  /* "O" takes a reference of its own: an object made here goes in with "{}" instead */
  json_t *wrap_a = a ? json_pack("{s:O}", "data", a) : json_pack("{s:{}}", "data");
  json_t *wrap_b = b ? json_pack("{s:O}", "data", b) : json_pack("{s:{}}", "data");
  json_t *diff = data_diff(wrap_a, wrap_b);
  json_decref(wrap_a);
  json_decref(wrap_b);
  return diff;
}

static void print_value(const char *prefix, const char *key, json_t *v) {
  if (json_is_null(v)) {
    printf("    %s%s (removed)\n", prefix, key);
  } else {
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    printf("    %s%s = %.100s%s\n", prefix, key, s ? s : "?", n > 100 ? "..." : "");
  }
}

static void on_event(k8sha_watch *w, const k8sha_watch_event *ev, void *user_data) {
  watch_state *st = user_data;
  json_t *now = NULL, *before = NULL, *data, *ann, *v;
  json_error_t err;
  const char *key;
  (void)w;

  if (ev->type == K8SHA_WATCH_ERROR) {
    fprintf(stderr, "k8sha watch: %s: %s\n", k8sha_err_name(ev->err), ev->message);
    return;
  }
  if (ev->object_json)
    now = json_loads(ev->object_json, 0, &err);
  if (ev->old_object_json)
    before = json_loads(ev->old_object_json, 0, &err);
  data = ev->type == K8SHA_WATCH_DELETED ? json_object() : data_diff(now, before);
  ann = ev->type == K8SHA_WATCH_DELETED ? json_object() : annotation_diff(now, before);
  if (st->json) {
    json_t *line = json_pack("{s:s}", "type", type_name(ev->type));
    if (ev->name) {
      json_object_set_new(line, "name", json_string(ev->name));
      json_object_set_new(line, "resourceVersion", json_string(ev->resource_version));
      json_object_set(line, "data", data);
      json_object_set(line, "annotations", ann);
    }
    json_dumpf(line, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(line);
  } else if (ev->type == K8SHA_WATCH_SYNCED) {
    printf("-- in sync with the server --\n");
  } else {
    printf("%-8s %s (resourceVersion %s)\n", type_name(ev->type), ev->name, ev->resource_version);
    json_object_foreach(ann, key, v) print_value("annotation ", key, v);
    json_object_foreach(data, key, v) print_value("", key, v);
  }
  fflush(stdout);
  json_decref(data);
  json_decref(ann);
  json_decref(now);
  json_decref(before);
}

static void on_signal(uv_signal_t *h, int signum) {
  watch_state *st = h->data;
  (void)signum;
  k8sha_watch_free(st->watch);
  st->watch = NULL;
  uv_close((uv_handle_t *)&st->sigint, NULL);
  uv_close((uv_handle_t *)&st->sigterm, NULL);
  k8sha_ctx_free(st->ctx);
  st->ctx = NULL;
}

int cmd_watch(int argc, char **argv) {
  cli_config_opts o = {0};
  watch_state st;
  uv_loop_t loop;
  int rc;

  if ((rc = cli_parse_config_opts(argc, argv, &o, usage)) != 0)
    return rc;
  memset(&st, 0, sizeof(st));
  st.json = o.json;
  st.loop = &loop;
  rc = cli_open(&o, &loop, &st.ctx, NULL, 0);
  free(o.defs);
  if (rc)
    return rc;
  rc = k8sha_watch_new(&st.watch, st.ctx, NULL, on_event, &st);
  if (rc) {
    fprintf(stderr, "k8sha watch: %s\n", k8sha_strerror(rc));
    cli_close(st.ctx, &loop);
    return CLI_FAILED;
  }
  uv_signal_init(&loop, &st.sigint);
  uv_signal_init(&loop, &st.sigterm);
  st.sigint.data = st.sigterm.data = &st;
  uv_signal_start(&st.sigint, on_signal, SIGINT);
  uv_signal_start(&st.sigterm, on_signal, SIGTERM);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return CLI_OK;
}
