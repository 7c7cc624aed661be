/* The job-graph store, on the cluster ConfigMap; and job id helpers. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "election/env.h"
#include "core/fail.h"
#include "core/life.h"
#include "election/elector.h"
#include "election/lock.h"
#include "k8sha/errors.h"
#include "k8sha/jobgraph.h"
#include "election/fenced.h"
#include "store/handles.h"
#include "store/jobs.h"
#include "layout/flink.h"

char *k8sha__job_configmap_name(k8sha__env *env, const char *job_id) {
  return k8sha__asprintf(&env->rt->alloc, "%s-%s-config-map", env->ha->cluster_id, job_id);
}

typedef struct gop {
  k8sha_jobgraph_store *s;
  k8sha_jobgraph_done_cb done;
  k8sha_jobgraph_got_cb got;
  void *user_data;
  struct gop *next;
  int completing; /* its callback runs: freed by finish_gop(), not by a free of the store */
} gop;

struct k8sha_jobgraph_store {
  k8sha__life life;
  k8sha__env *env;
  k8sha__fcm *f;
  k8sha__hstore *h;
  const k8sha__graph_kind *kind; /* the entries' key prefix and blob kind */
  gop *ops;
  char last_error[1024];
};

static gop *gop_new(k8sha_jobgraph_store *s, void *user_data) {
  gop *g = k8sha__calloc(&s->env->rt->alloc, 1, sizeof(*g));
  if (!g)
    return NULL;
  g->s = s;
  g->user_data = user_data;
  g->next = s->ops;
  s->ops = g;
  return g;
}

static void gop_free(gop *g) {
  gop **p;
  for (p = &g->s->ops; *p; p = &(*p)->next)
    if (*p == g) {
      *p = g->next;
      break;
    }
  k8sha__free(&g->s->env->rt->alloc, g);
}

static void note(k8sha_jobgraph_store *s, int err, const char *message) {
  if (err)
    snprintf(s->last_error, sizeof(s->last_error), "%s",
             message && *message ? message : k8sha_strerror(err));
}

/* Runs the operation's callback and frees it; a free of the store from the callback takes
 * effect when it returns (core/life.h). */
static void finish_gop(gop *g, int err, const char *message, const void *data, size_t len) {
  k8sha_jobgraph_store *s = g->s;
  int gone;
  note(s, err, message);
  g->completing = 1;
  k8sha__life_enter(&s->life);
  if (g->got)
    g->got(s, err, err ? NULL : data, err ? 0 : len, g->user_data);
  else if (g->done)
    g->done(s, err, g->user_data);
  gop_free(g);
  if (k8sha__life_leave(&s->life, &gone) && gone)
    k8sha__free(&s->env->rt->alloc, s);
}

static void on_done(int err, const char *message, void *ud) {
  finish_gop(ud, err, message, NULL, 0);
}

static void on_got(int err, const char *message, const void *data, size_t len, int is_pointer,
                   void *ud) {
  (void)is_pointer;
  finish_gop(ud, err, message, data, len);
}

int k8sha_jobgraph_store_open(k8sha_jobgraph_store **out, k8sha_election *leader,
                              k8sha_jobgraph_done_cb opened, void *user_data) {
  return k8sha_jobgraph_store_open_kind(out, leader, K8SHA_GRAPH_JOBS, opened, user_data);
}

int k8sha_jobgraph_store_open_kind(k8sha_jobgraph_store **out, k8sha_election *leader,
                                   k8sha_graph_kind kind, k8sha_jobgraph_done_cb opened,
                                   void *user_data) {
  k8sha_jobgraph_store *s;
  k8sha__env *env;
  char *name;
  gop *g = NULL;
  int rc;

  if (!out || !leader)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_jobgraph_store_open: out and leader are required");
  if (kind != K8SHA_GRAPH_JOBS && kind != K8SHA_GRAPH_APPLICATIONS)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_jobgraph_store_open_kind: unknown kind %d", (int)kind);
  env = k8sha__election_env(leader);
  K8SHA__LOOP_ONLY(env->rt, K8SHA_ETHREAD);
  if (!k8sha_election_is_leader(leader))
    return k8sha__fail(K8SHA_ENOTLEADER, "k8sha_jobgraph_store_open: %s does not lead",
                       k8sha_election_identity(leader));
  s = k8sha__calloc(&env->rt->alloc, 1, sizeof(*s));
  if (!s)
    return K8SHA_ENOMEM;
  k8sha__life_init(&s->life);
  s->env = env;
  s->kind = kind == K8SHA_GRAPH_APPLICATIONS ? k8sha__graph_kind_of(K8SHA__GRAPH_APPLICATION)
                                             : k8sha__graph_kind_written(env->ha->flink_layout);
  k8sha__rt_child(env->rt, 1);
  name = k8sha__lock_default_name(env, K8SHA_LOCK_CONFIGMAP);
  g = name ? gop_new(s, user_data) : NULL;
  rc = g ? 0 : K8SHA_ENOMEM;
  if (rc == 0) {
    g->done = opened;
    rc = k8sha__store_open(leader, name, s->kind->blob_kind, 1, on_done,
                           g, &s->f, &s->h);
  }
  k8sha__free(&env->rt->alloc, name);
  if (rc) {
    k8sha_jobgraph_store_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void k8sha_jobgraph_store_free(k8sha_jobgraph_store *s) {
  gop **p;
  if (!s || s->life.closed)
    return;
  K8SHA__LOOP_ONLY_VOID(s->env->rt);
  k8sha__rt_child(s->env->rt, -1);
  k8sha__fcm_free(s->f);
  s->f = NULL;
  k8sha__hstore_free(s->h);
  s->h = NULL;
  for (p = &s->ops; *p;) {
    if ((*p)->completing)
      p = &(*p)->next;
    else
      gop_free(*p);
  }
  if (k8sha__life_close(&s->life))
    k8sha__free(&s->env->rt->alloc, s);
}

const char *k8sha_jobgraph_store_last_error(const k8sha_jobgraph_store *s) {
  return s ? s->last_error : "";
}

/* what: 0 put, 1 remove, 2 get, 3 put pointer bytes */
static int start(const char *fn, k8sha_jobgraph_store *s, const char *job_id, int what,
                 const void *graph, size_t len, k8sha_jobgraph_done_cb done,
                 k8sha_jobgraph_got_cb got, void *user_data) {
  char key[64];
  gop *g;
  int rc;
  if (!s || (what == 2 && !got))
    return k8sha__fail(K8SHA_EINVAL, "a job-graph store (and for a get, a callback) is required");
  if (!k8sha__job_id_valid(job_id))
    return k8sha__fail(K8SHA_EINVAL, "job id '%.64s' is not 32 lowercase hex digits (Flink's "
                                     "JobID)", job_id ? job_id : "(null)");
  if (s->life.closed)
    return k8sha__fail(K8SHA_ECLOSED, "the job-graph store was freed"); /* (in a callback) */
  K8SHA__LOOP_ONLY_AS(s->env->rt, K8SHA_ETHREAD, fn);
  snprintf(key, sizeof(key), "%s%s", s->kind->key_prefix, job_id);
  g = gop_new(s, user_data);
  if (!g)
    return K8SHA_ENOMEM;
  g->done = done;
  g->got = got;
  rc = what == 0   ? k8sha__hstore_put(s->h, key, graph, len, on_done, g)
       : what == 1 ? k8sha__hstore_remove(s->h, key, on_done, g)
       : what == 3 ? k8sha__hstore_put_pointer(s->h, key, graph, len, on_done, g)
                   : k8sha__hstore_get(s->h, key, on_got, g);
  if (rc)
    gop_free(g);
  return rc;
}

int k8sha_jobgraph_put(k8sha_jobgraph_store *s, const char *job_id, const void *graph, size_t len,
                       k8sha_jobgraph_done_cb done, void *user_data) {
  return start(__func__, s, job_id, 0, graph, len, done, NULL, user_data);
}

int k8sha_jobgraph_put_pointer(k8sha_jobgraph_store *s, const char *job_id, const void *pointer,
                               size_t len, k8sha_jobgraph_done_cb done, void *user_data) {
  return start(__func__, s, job_id, 3, pointer, len, done, NULL, user_data);
}

int k8sha_jobgraph_remove(k8sha_jobgraph_store *s, const char *job_id,
                          k8sha_jobgraph_done_cb done, void *user_data) {
  return start(__func__, s, job_id, 1, NULL, 0, done, NULL, user_data);
}

int k8sha_jobgraph_get(k8sha_jobgraph_store *s, const char *job_id, k8sha_jobgraph_got_cb got,
                       void *user_data) {
  return start(__func__, s, job_id, 2, NULL, 0, NULL, got, user_data);
}

int k8sha_jobgraph_ids(const k8sha_jobgraph_store *s, char ***ids, size_t *n) {
  const char *prefix;
  size_t i, plen;
  int rc;
  if (!s || !ids || !n)
    return K8SHA_EINVAL;
  if (s->life.closed)
    return K8SHA_ECLOSED;
  K8SHA__LOOP_ONLY(s->env->rt, K8SHA_ETHREAD);
  prefix = s->kind->key_prefix;
  plen = strlen(prefix);
  rc = k8sha__hstore_keys(s->h, prefix, ids, n);
  for (i = 0; rc == 0 && i < *n; i++)
    memmove((*ids)[i], (*ids)[i] + plen, strlen((*ids)[i] + plen) + 1);
  return rc;
}

void k8sha_jobgraph_ids_free(const k8sha_jobgraph_store *s, char **ids, size_t n) {
  size_t i;
  if (!s)
    return;
  for (i = 0; ids && i < n; i++)
    k8sha__free(&s->env->rt->alloc, ids[i]);
  k8sha__free(&s->env->rt->alloc, ids);
}
