/* The checkpoint store and counter of a job, on a fenced per-job ConfigMap: the store, its
 * operations, adds (with retention), the counter and commits. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "election/env.h"
#include "core/fail.h"
#include "core/life.h"
#include "core/timer.h"
#include "election/elector.h"
#include "k8sha/checkpoint.h"
#include "k8sha/errors.h"
#include "election/fenced.h"
#include "store/checkpoint_priv.h"
#include "store/handles.h"
#include "store/jobs.h"

/* ---- finishing ---- */

void k8sha__cp_free(cop *c) {
  k8sha_checkpoint_store *s = c->s;
  cop **p;
  size_t i;
  for (p = &s->ops; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  for (i = 0; c->keys && i < c->n; i++)
    k8sha__free(&s->env->rt->alloc, c->keys[i]);
  k8sha__free(&s->env->rt->alloc, c->keys);
  k8sha__cp_list_free(c);
  k8sha__free(&s->env->rt->alloc, c->state);
  k8sha__timer_free(c->defer);
  k8sha__free(&s->env->rt->alloc, c);
}

static void note_error(k8sha_checkpoint_store *s, int err, const char *message) {
  if (err)
    snprintf(s->last_error, sizeof(s->last_error), "%s",
             message && *message ? message : k8sha_strerror(err));
}

static void destroy(k8sha_checkpoint_store *s) {
  k8sha__free(&s->env->rt->alloc, s);
}

/* Runs the operation's callback and frees it. The host may free the store from the callback:
 * then the store goes when the callback returns (core/life.h). */
void k8sha__cp_complete(cop *c, int err, const char *message) {
  k8sha_checkpoint_store *s = c->s;
  int gone;
  note_error(s, err, message);
  c->completing = 1;
  k8sha__life_enter(&s->life);
  if (c->kind == C_COUNTER) {
    if (c->counted)
      c->counted(s, err, err ? 0 : c->value, c->user_data);
  } else if (c->kind == C_RECOVER) {
    k8sha__cp_report_recovery(c, err);
  } else if (c->kind == C_COMMIT) {
    if (c->committed)
      c->committed(s, err, err ? 0 : c->value, c->user_data);
  } else if (c->done) {
    c->done(s, err, c->user_data);
  }
  k8sha__cp_free(c);
  if (k8sha__life_leave(&s->life, &gone) && gone)
    destroy(s);
}

cop *k8sha__cp_new(k8sha_checkpoint_store *s, cop_kind kind, void *user_data) {
  cop *c = k8sha__calloc(&s->env->rt->alloc, 1, sizeof(*c));
  if (!c)
    return NULL;
  c->s = s;
  c->kind = kind;
  c->user_data = user_data;
  c->next = s->ops;
  s->ops = c;
  return c;
}

void k8sha__cp_on_done(int err, const char *message, void *ud) {
  k8sha__cp_complete(ud, err, message);
}

int k8sha__cp_closed(const k8sha_checkpoint_store *s) {
  if (!s->shut)
    return 0;
  return k8sha__fail(K8SHA_ECLOSED, "the checkpoint store of job %s is shut down or freed",
                     s->job_id);
}

static int edit_nothing(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  (void)obj;
  (void)changes;
  (void)ud;
  (void)msg;
  (void)n;
  return K8SHA__UNCHANGED;
}

int k8sha__cp_turn(cop *c, k8sha__fcm_done turn) {
  return k8sha__fcm_update(c->s->f, edit_nothing, c, turn, c);
}

/* ---- keys ---- */

static void key_of(char *buf, size_t n, uint64_t id) {
  snprintf(buf, n, K8SHA__CHECKPOINT_PREFIX "%019" PRIu64, id);
}

/* ---- open ---- */

int k8sha_checkpoint_store_open(k8sha_checkpoint_store **out, k8sha_election *leader,
                                const char *job_id, k8sha_checkpoint_done_cb opened,
                                void *user_data) {
  k8sha_checkpoint_store *s;
  k8sha__env *env;
  char *name;
  cop *c;
  int rc;

  if (!out || !leader)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_checkpoint_store_open: out and leader are required");
  if (!k8sha__job_id_valid(job_id))
    return k8sha__fail(K8SHA_EINVAL, "job id '%.64s' is not 32 lowercase hex digits (Flink's "
                                     "JobID)", job_id ? job_id : "(null)");
  env = k8sha__election_env(leader);
  K8SHA__LOOP_ONLY(env->rt, K8SHA_ETHREAD);
  if (!k8sha_election_is_leader(leader))
    return k8sha__fail(K8SHA_ENOTLEADER, "k8sha_checkpoint_store_open: %s does not lead",
                       k8sha_election_identity(leader));
  s = k8sha__calloc(&env->rt->alloc, 1, sizeof(*s));
  if (!s)
    return K8SHA_ENOMEM;
  k8sha__life_init(&s->life);
  s->env = env;
  k8sha__rt_child(env->rt, 1);
  snprintf(s->job_id, sizeof(s->job_id), "%s", job_id);
  name = k8sha__job_configmap_name(env, job_id);
  c = name ? k8sha__cp_new(s, C_OPEN, user_data) : NULL;
  rc = c ? 0 : K8SHA_ENOMEM;
  if (rc == 0) {
    c->done = opened;
    rc = k8sha__store_open(leader, name, K8SHA__CHECKPOINT_BLOB, 1, k8sha__cp_on_done, c, &s->f,
                           &s->h);
  }
  k8sha__free(&env->rt->alloc, name);
  if (rc) {
    k8sha_checkpoint_store_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void k8sha_checkpoint_store_free(k8sha_checkpoint_store *s) {
  cop **p;
  if (!s || s->life.closed)
    return;
  K8SHA__LOOP_ONLY_VOID(s->env->rt);
  k8sha__rt_child(s->env->rt, -1);
  s->shut = 1; /* calls from a callback under way now get K8SHA_ECLOSED */
  /* The ConfigMap first: its queued updates go without callbacks, then the store's steps (an
   * operation whose callback is running is freed when it returns). */
  k8sha__fcm_free(s->f);
  s->f = NULL;
  k8sha__hstore_free(s->h);
  s->h = NULL;
  for (p = &s->ops; *p;) {
    if ((*p)->completing)
      p = &(*p)->next;
    else
      k8sha__cp_free(*p);
  }
  if (k8sha__life_close(&s->life))
    destroy(s);
}

const char *k8sha_checkpoint_store_last_error(const k8sha_checkpoint_store *s) {
  return s ? s->last_error : "";
}

const char *k8sha_checkpoint_store_configmap(const k8sha_checkpoint_store *s) {
  return s && s->f ? k8sha__fcm_name(s->f) : NULL;
}

/* ---- add, with retention ---- */

/* The store's own retention: the newest num-retained checkpoints. */
static k8sha__retention count_retention(const k8sha_checkpoint_store *s) {
  k8sha__retention r;
  memset(&r, 0, sizeof(r));
  r.prefix = K8SHA__CHECKPOINT_PREFIX;
  r.keep = s->env->ha->num_retained ? s->env->ha->num_retained : 1;
  return r;
}

/* `retire` NULL: the store's own retention; else exactly those `n_retire` ids are retired. */
/* (fn: the public function, named when it was called from the wrong thread) */
static int add_common(const char *fn, k8sha_checkpoint_store *s, uint64_t id, const void *data,
                      size_t len, int is_pointer, const uint64_t *retire, size_t n_retire,
                      k8sha_checkpoint_done_cb done, void *user_data) {
  char key[64], (*keys)[64] = NULL;
  const char **names = NULL;
  k8sha__retention r;
  size_t i;
  cop *c;
  int rc;
  if (!s)
    return k8sha__fail(K8SHA_EINVAL, "no checkpoint store");
  if (n_retire && !retire)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_checkpoint_add_retiring: %zu ids to retire, but no "
                                     "list", n_retire);
  if (k8sha__cp_closed(s))
    return K8SHA_ECLOSED;
  K8SHA__LOOP_ONLY_AS(s->env->rt, K8SHA_ETHREAD, fn);
  key_of(key, sizeof(key), id);
  c = k8sha__cp_new(s, C_ADD, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->done = done;
  r = count_retention(s);
  if (retire) {
    keys = k8sha__calloc(&s->env->rt->alloc, n_retire ? n_retire : 1, sizeof(*keys));
    names = k8sha__calloc(&s->env->rt->alloc, n_retire ? n_retire : 1, sizeof(*names));
    for (i = 0; keys && names && i < n_retire; i++) {
      key_of(keys[i], sizeof(keys[i]), retire[i]);
      names[i] = keys[i];
    }
    r.retire = names;
    r.n_retire = n_retire;
  }
  rc = retire && (!keys || !names)
           ? K8SHA_ENOMEM
           : k8sha__hstore_add_retaining(s->h, key, data, len, is_pointer, &r, k8sha__cp_on_done,
                                         c);
  k8sha__free(&s->env->rt->alloc, keys); /* (the add has its own copy) */
  k8sha__free(&s->env->rt->alloc, names);
  if (rc)
    k8sha__cp_free(c);
  return rc;
}

int k8sha_checkpoint_add(k8sha_checkpoint_store *s, uint64_t id, const void *state, size_t len,
                         k8sha_checkpoint_done_cb done, void *user_data) {
  return add_common(__func__, s, id, state, len, 0, NULL, 0, done, user_data);
}

int k8sha_checkpoint_add_retiring(k8sha_checkpoint_store *s, uint64_t id, const void *state,
                                  size_t len, const uint64_t *retire, size_t n_retire,
                                  k8sha_checkpoint_done_cb done, void *user_data) {
  static const uint64_t none[1] = {0};
  return add_common(__func__, s, id, state, len, 0, retire ? retire : n_retire ? NULL : none,
                    n_retire, done, user_data);
}

int k8sha_checkpoint_add_pointer_retiring(k8sha_checkpoint_store *s, uint64_t id,
                                          const void *pointer, size_t len, const uint64_t *retire,
                                          size_t n_retire, k8sha_checkpoint_done_cb done,
                                          void *user_data) {
  static const uint64_t none[1] = {0};
  return add_common(__func__, s, id, pointer, len, 1, retire ? retire : n_retire ? NULL : none,
                    n_retire, done, user_data);
}

int k8sha_checkpoint_add_pointer(k8sha_checkpoint_store *s, uint64_t id, const void *pointer,
                                 size_t len, k8sha_checkpoint_done_cb done, void *user_data) {
  return add_common(__func__, s, id, pointer, len, 1, NULL, 0, done, user_data);
}

/* ---- counter ---- */

static int edit_counter(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  cop *c = ud;
  const char *v =
      json_string_value(json_object_get(json_object_get(obj, "data"), K8SHA__COUNTER_KEY));
  char text[24], *end;
  uint64_t cur = 1;

  if (v) {
    cur = strtoull(v, &end, 10);
    if (!*v || *v < '0' || *v > '9' || *end || cur == 0) {
      snprintf(msg, n, "ConfigMap %s: counter '%.40s' is not a checkpoint id",
               k8sha__fcm_name(c->s->f), v);
      return K8SHA_ECORRUPT;
    }
  }
  if (c->kind == C_SET) {
    snprintf(text, sizeof(text), "%" PRIu64, c->value);
  } else {
    c->value = cur;
    if (!c->increment)
      return K8SHA__UNCHANGED;
    snprintf(text, sizeof(text), "%" PRIu64, cur + 1);
  }
  if (v && strcmp(v, text) == 0)
    return K8SHA__UNCHANGED;
  return json_object_set_new(changes, K8SHA__COUNTER_KEY, json_string(text)) ? K8SHA_ENOMEM : 0;
}

static int counter_op(const char *fn, k8sha_checkpoint_store *s, cop_kind kind, int increment,
                      uint64_t value, k8sha_counter_cb counted, k8sha_checkpoint_done_cb done,
                      void *user_data) {
  cop *c;
  int rc;
  if (!s || (kind == C_COUNTER && !counted) || (kind == C_SET && value == 0))
    return K8SHA_EINVAL;
  if (k8sha__cp_closed(s))
    return K8SHA_ECLOSED;
  K8SHA__LOOP_ONLY_AS(s->env->rt, K8SHA_ETHREAD, fn);
  c = k8sha__cp_new(s, kind, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->counted = counted;
  c->done = done;
  c->increment = increment;
  c->value = value;
  rc = k8sha__fcm_update(s->f, edit_counter, c, k8sha__cp_on_done, c);
  if (rc)
    k8sha__cp_free(c);
  return rc;
}

int k8sha_checkpoint_counter_get(k8sha_checkpoint_store *s, k8sha_counter_cb done,
                                 void *user_data) {
  return counter_op(__func__, s, C_COUNTER, 0, 0, done, NULL, user_data);
}

int k8sha_checkpoint_counter_get_and_increment(k8sha_checkpoint_store *s, k8sha_counter_cb done,
                                               void *user_data) {
  return counter_op(__func__, s, C_COUNTER, 1, 0, done, NULL, user_data);
}

int k8sha_checkpoint_counter_set(k8sha_checkpoint_store *s, uint64_t next_id,
                                 k8sha_checkpoint_done_cb done, void *user_data) {
  return counter_op(__func__, s, C_SET, 0, next_id, NULL, done, user_data);
}

/* ---- commit: the next id from the counter, then the add under it ---- */

static void on_commit_counted(int err, const char *message, void *ud) {
  cop *c = ud;
  k8sha_checkpoint_store *s = c->s;
  char key[64];
  int rc;
  if (err) {
    k8sha__cp_complete(c, err, message);
    return;
  }
  key_of(key, sizeof(key), c->value);
  {
    k8sha__retention r = count_retention(s);
    rc = k8sha__hstore_add_retaining(s->h, key, c->state, c->state_len, 0, &r,
                                     k8sha__cp_on_done, c);
  }
  k8sha__free(&s->env->rt->alloc, c->state); /* (the add has its own copy) */
  c->state = NULL;
  if (rc) {
    char msg[160];
    snprintf(msg, sizeof(msg), "checkpoint %" PRIu64 ": the add could not be started (%s)",
             c->value, k8sha_strerror(rc));
    k8sha__cp_complete(c, rc, msg);
  }
}

int k8sha_checkpoint_commit(k8sha_checkpoint_store *s, const void *state, size_t len,
                            k8sha_checkpoint_commit_cb done, void *user_data) {
  cop *c;
  int rc;
  if (!s || (!state && len))
    return K8SHA_EINVAL;
  if (k8sha__cp_closed(s))
    return K8SHA_ECLOSED;
  K8SHA__LOOP_ONLY(s->env->rt, K8SHA_ETHREAD);
  c = k8sha__cp_new(s, C_COMMIT, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->committed = done;
  c->increment = 1;
  c->state_len = len;
  c->state = k8sha__malloc(&s->env->rt->alloc, len);
  if (!c->state) {
    k8sha__cp_free(c);
    return K8SHA_ENOMEM;
  }
  if (len)
    memcpy(c->state, state, len);
  rc = k8sha__fcm_update(s->f, edit_counter, c, on_commit_counted, c);
  if (rc)
    k8sha__cp_free(c);
  return rc;
}

