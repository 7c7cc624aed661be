/* The checkpoint store and counter of a job, on a fenced per-job ConfigMap. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ctx_priv.h"
#include "core/fail.h"
#include "core/life.h"
#include "core/timer.h"
#include "election/elector.h"
#include "k8sha/checkpoint.h"
#include "k8sha/errors.h"
#include "election/fenced.h"
#include "store/handles.h"
#include "store/jobs.h"


typedef enum cop_kind { C_OPEN, C_ADD, C_RECOVER, C_COUNTER, C_SET, C_SHUTDOWN, C_COMMIT } cop_kind;

typedef struct cop {
  struct cop *next;
  k8sha_checkpoint_store *s;
  cop_kind kind;
  k8sha_checkpoint_done_cb done;
  k8sha_checkpoint_recover_cb recovered;
  k8sha_counter_cb counted;
  k8sha_checkpoint_latest_cb latest;  /* C_RECOVER: the newest intact one only */
  k8sha_checkpoint_commit_cb committed; /* C_COMMIT */
  void *state;                          /* C_COMMIT: a copy of the state, until the add starts */
  size_t state_len;
  void *user_data;
  int increment;
  uint64_t value;
  int status;
  char **keys; /* retention, shutdown, recovery: the keys being worked through */
  size_t n, i, pending;
  k8sha_checkpoint *list;
  const k8sha_checkpoint **ptrs; /* what the host gets: &list[i] (the struct may grow) */
  k8sha__timer *defer;
  int completing; /* its callback runs: freed by complete(), not by a free of the store */
} cop;

struct k8sha_checkpoint_store {
  k8sha__life life;
  k8sha_ctx *ctx;
  k8sha__fcm *f;
  k8sha__hstore *h;
  char job_id[K8SHA__JOB_ID_LEN + 1];
  cop *ops;
  int shut;
  char last_error[1024];
};

/* The message of a recovered checkpoint whose own message could not be made: a failed
 * checkpoint always comes with one. Static, never freed. */
static const char no_memory[] = "out of memory reading this checkpoint";

/* ---- finishing ---- */

static void cop_free(cop *c) {
  k8sha_checkpoint_store *s = c->s;
  cop **p;
  size_t i;
  for (p = &s->ops; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  for (i = 0; c->keys && i < c->n; i++)
    k8sha__free(&s->ctx->rt.alloc, c->keys[i]);
  k8sha__free(&s->ctx->rt.alloc, c->keys);
  for (i = 0; c->list && i < c->n; i++) {
    k8sha__free(&s->ctx->rt.alloc, (void *)c->list[i].data);
    if (c->list[i].message != no_memory)
      k8sha__free(&s->ctx->rt.alloc, (void *)c->list[i].message);
  }
  k8sha__free(&s->ctx->rt.alloc, c->list);
  k8sha__free(&s->ctx->rt.alloc, (void *)c->ptrs);
  k8sha__free(&s->ctx->rt.alloc, c->state);
  k8sha__timer_free(c->defer);
  k8sha__free(&s->ctx->rt.alloc, c);
}

static void note_error(k8sha_checkpoint_store *s, int err, const char *message) {
  if (err)
    snprintf(s->last_error, sizeof(s->last_error), "%s",
             message && *message ? message : k8sha_strerror(err));
}

static void destroy(k8sha_checkpoint_store *s) {
  k8sha__free(&s->ctx->rt.alloc, s);
}

/* Runs the operation's callback and frees it. The host may free the store from the callback:
 * then the store goes when the callback returns (core/life.h). */
static void complete(cop *c, int err, const char *message) {
  k8sha_checkpoint_store *s = c->s;
  int gone;
  note_error(s, err, message);
  c->completing = 1;
  k8sha__life_enter(&s->life);
  if (c->kind == C_COUNTER) {
    if (c->counted)
      c->counted(s, err, err ? 0 : c->value, c->user_data);
  } else if (c->kind == C_RECOVER && c->latest) {
    const k8sha_checkpoint *latest = NULL;
    size_t i, skipped = 0;
    for (i = err ? 0 : c->n; i > 0 && !latest; i--) {
      if (c->list[i - 1].status == 0) {
        latest = &c->list[i - 1];
      } else {
        skipped++;
        k8sha__log(&s->ctx->rt, K8SHA_LOG_WARN, "store", "checkpoint %" PRIu64 " is unusable, an "
                   "older one is taken: %s", c->list[i - 1].id, c->list[i - 1].message);
      }
    }
    c->latest(s, err, latest, err ? 0 : skipped, c->user_data);
  } else if (c->kind == C_RECOVER) {
    if (c->recovered)
      c->recovered(s, err, err ? NULL : c->ptrs, err ? 0 : c->n, c->user_data);
  } else if (c->kind == C_COMMIT) {
    if (c->committed)
      c->committed(s, err, err ? 0 : c->value, c->user_data);
  } else if (c->done) {
    c->done(s, err, c->user_data);
  }
  cop_free(c);
  if (k8sha__life_leave(&s->life, &gone) && gone)
    destroy(s);
}

static cop *cop_new(k8sha_checkpoint_store *s, cop_kind kind, void *user_data) {
  cop *c = k8sha__calloc(&s->ctx->rt.alloc, 1, sizeof(*c));
  if (!c)
    return NULL;
  c->s = s;
  c->kind = kind;
  c->user_data = user_data;
  c->next = s->ops;
  s->ops = c;
  return c;
}

static void on_fcm_done(int err, const char *message, void *ud) {
  complete(ud, err, message);
}

/* ---- keys ---- */

static void key_of(char *buf, size_t n, uint64_t id) {
  snprintf(buf, n, K8SHA__CHECKPOINT_PREFIX "%019" PRIu64, id);
}

/* The id of a checkpoint key: 0 (and *id) or -1 when the key is malformed. */
static int id_of(const char *key, uint64_t *id) {
  const char *digits = key + strlen(K8SHA__CHECKPOINT_PREFIX);
  char *end;
  if (strlen(digits) != 19 || digits[0] < '0' || digits[0] > '9')
    return -1;
  *id = strtoull(digits, &end, 10);
  return *end ? -1 : 0;
}

/* ---- open ---- */

int k8sha_checkpoint_store_open(k8sha_checkpoint_store **out, k8sha_election *leader,
                                const char *job_id, k8sha_checkpoint_done_cb opened,
                                void *user_data) {
  k8sha_checkpoint_store *s;
  k8sha_ctx *ctx;
  char *name;
  cop *c;
  int rc;

  if (!out || !leader)
    return k8sha__fail(K8SHA_EINVAL, "k8sha_checkpoint_store_open: out and leader are required");
  if (!k8sha__job_id_valid(job_id))
    return k8sha__fail(K8SHA_EINVAL, "job id '%.64s' is not 32 lowercase hex digits (Flink's "
                                     "JobID)", job_id ? job_id : "(null)");
  ctx = k8sha__election_ctx(leader);
  K8SHA__LOOP_ONLY(&ctx->rt, K8SHA_ETHREAD);
  if (!k8sha_election_is_leader(leader))
    return k8sha__fail(K8SHA_ENOTLEADER, "k8sha_checkpoint_store_open: %s does not lead",
                       k8sha_election_identity(leader));
  s = k8sha__calloc(&ctx->rt.alloc, 1, sizeof(*s));
  if (!s)
    return K8SHA_ENOMEM;
  k8sha__life_init(&s->life);
  s->ctx = ctx;
  k8sha__rt_child(&ctx->rt, 1);
  snprintf(s->job_id, sizeof(s->job_id), "%s", job_id);
  name = k8sha__job_configmap_name(ctx, job_id);
  c = name ? cop_new(s, C_OPEN, user_data) : NULL;
  rc = c ? 0 : K8SHA_ENOMEM;
  if (rc == 0) {
    c->done = opened;
    rc = k8sha__store_open(leader, name, K8SHA__CHECKPOINT_BLOB, 1, on_fcm_done, c, &s->f, &s->h);
  }
  k8sha__free(&ctx->rt.alloc, name);
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
  K8SHA__LOOP_ONLY_VOID(&s->ctx->rt);
  k8sha__rt_child(&s->ctx->rt, -1);
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
      cop_free(*p);
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

static void on_added(int err, const char *message, void *ud) {
  complete(ud, err, message);
}

/* The store's own retention: the newest num-retained checkpoints. */
static k8sha__retention count_retention(const k8sha_checkpoint_store *s) {
  k8sha__retention r;
  memset(&r, 0, sizeof(r));
  r.prefix = K8SHA__CHECKPOINT_PREFIX;
  r.keep = s->ctx->ha.num_retained ? s->ctx->ha.num_retained : 1;
  return r;
}

/* `retire` NULL: the store's own retention; else exactly those `n_retire` ids are retired. */
static int add_common(k8sha_checkpoint_store *s, uint64_t id, const void *data, size_t len,
                      int is_pointer, const uint64_t *retire, size_t n_retire,
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
  if (s->shut)
    return k8sha__fail(K8SHA_ECLOSED, "the checkpoint store of job %s is shut down or freed",
                       s->job_id);
  K8SHA__LOOP_ONLY(&s->ctx->rt, K8SHA_ETHREAD);
  key_of(key, sizeof(key), id);
  c = cop_new(s, C_ADD, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->done = done;
  r = count_retention(s);
  if (retire) {
    keys = k8sha__calloc(&s->ctx->rt.alloc, n_retire ? n_retire : 1, sizeof(*keys));
    names = k8sha__calloc(&s->ctx->rt.alloc, n_retire ? n_retire : 1, sizeof(*names));
    for (i = 0; keys && names && i < n_retire; i++) {
      key_of(keys[i], sizeof(keys[i]), retire[i]);
      names[i] = keys[i];
    }
    r.retire = names;
    r.n_retire = n_retire;
  }
  rc = retire && (!keys || !names)
           ? K8SHA_ENOMEM
           : k8sha__hstore_add_retaining(s->h, key, data, len, is_pointer, &r, on_added, c);
  k8sha__free(&s->ctx->rt.alloc, keys); /* (the add has its own copy) */
  k8sha__free(&s->ctx->rt.alloc, names);
  if (rc)
    cop_free(c);
  return rc;
}

int k8sha_checkpoint_add(k8sha_checkpoint_store *s, uint64_t id, const void *state, size_t len,
                         k8sha_checkpoint_done_cb done, void *user_data) {
  return add_common(s, id, state, len, 0, NULL, 0, done, user_data);
}

int k8sha_checkpoint_add_retiring(k8sha_checkpoint_store *s, uint64_t id, const void *state,
                                  size_t len, const uint64_t *retire, size_t n_retire,
                                  k8sha_checkpoint_done_cb done, void *user_data) {
  static const uint64_t none[1] = {0};
  return add_common(s, id, state, len, 0, retire ? retire : n_retire ? NULL : none, n_retire,
                    done, user_data);
}

int k8sha_checkpoint_add_pointer_retiring(k8sha_checkpoint_store *s, uint64_t id,
                                          const void *pointer, size_t len, const uint64_t *retire,
                                          size_t n_retire, k8sha_checkpoint_done_cb done,
                                          void *user_data) {
  static const uint64_t none[1] = {0};
  return add_common(s, id, pointer, len, 1, retire ? retire : n_retire ? NULL : none, n_retire,
                    done, user_data);
}

int k8sha_checkpoint_add_pointer(k8sha_checkpoint_store *s, uint64_t id, const void *pointer,
                                 size_t len, k8sha_checkpoint_done_cb done, void *user_data) {
  return add_common(s, id, pointer, len, 1, NULL, 0, done, user_data);
}

/* ---- recover ---- */

/* Every blob has been read: the list goes out only if this store's leadership still holds. A
 * newer leader may have retired checkpoints (and deleted their blobs) while the reads ran, so a
 * list finished after the leadership ended would show them damaged or missing. */
static void recovered(cop *c) {
  if (!k8sha__fcm_leads(c->s->f)) {
    complete(c, K8SHA_ENOTLEADER,
             "the leadership ended while the checkpoints were read; recover again as leader");
    return;
  }
  complete(c, 0, NULL);
}

typedef struct slot {
  cop *c;
  size_t index;
} slot;

static void on_got(int err, const char *message, const void *data, size_t len, int is_pointer,
                   void *ud) {
  slot *sl = ud;
  cop *c = sl->c;
  k8sha_checkpoint *cp = &c->list[sl->index];
  const k8sha_allocator *a = &c->s->ctx->rt.alloc;

  k8sha__free(a, sl);
  cp->status = err;
  cp->is_pointer = is_pointer;
  if (err) {
    cp->message = k8sha__strdup(a, message ? message : k8sha_strerror(err));
    if (!cp->message)
      cp->message = no_memory;
  } else {
    void *copy = k8sha__malloc(a, len ? len : 1);
    if (copy) {
      if (len)
        memcpy(copy, data, len);
      cp->data = copy;
      cp->len = len;
    } else {
      cp->status = K8SHA_ENOMEM;
      cp->message = no_memory;
    }
  }
  if (--c->pending == 0)
    recovered(c);
}

static int edit_nothing(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  (void)obj;
  (void)changes;
  (void)ud;
  (void)msg;
  (void)n;
  return K8SHA__UNCHANGED;
}

static void on_recover_turn(int err, const char *message, void *ud) {
  cop *c = ud;
  k8sha_checkpoint_store *s = c->s;
  const k8sha_allocator *a = &s->ctx->rt.alloc;
  size_t i;

  if (err) {
    complete(c, err, message);
    return;
  }
  if (k8sha__hstore_keys(s->h, K8SHA__CHECKPOINT_PREFIX, &c->keys, &c->n) != 0 ||
      !(c->list = k8sha__calloc(a, c->n + 1, sizeof(*c->list))) ||
      !(c->ptrs = k8sha__calloc(a, c->n + 1, sizeof(*c->ptrs)))) {
    complete(c, K8SHA_ENOMEM, "out of memory listing checkpoints");
    return;
  }
  for (i = 0; i < c->n; i++)
    c->ptrs[i] = &c->list[i];
  c->pending = 1; /* held until every read has started */
  for (i = 0; i < c->n; i++) {
    k8sha_checkpoint *cp = &c->list[i];
    slot *sl;
    if (id_of(c->keys[i], &cp->id) != 0) {
      cp->status = K8SHA_ECORRUPT;
      cp->message = k8sha__asprintf(a, "%s in ConfigMap %s is not a checkpoint id", c->keys[i],
                                    k8sha__fcm_name(s->f));
      if (!cp->message)
        cp->message = no_memory;
      continue;
    }
    sl = k8sha__malloc(a, sizeof(*sl));
    if (sl) {
      sl->c = c;
      sl->index = i;
    }
    if (!sl || k8sha__hstore_get(s->h, c->keys[i], on_got, sl) != 0) {
      k8sha__free(a, sl);
      cp->status = K8SHA_ENOMEM;
      cp->message = no_memory;
      continue;
    }
    c->pending++;
  }
  if (--c->pending == 0)
    recovered(c);
}

/* Starts a recovery that reports the whole list (`all`) or the newest intact one (`latest`). */
static int start_recovery(k8sha_checkpoint_store *s, k8sha_checkpoint_recover_cb all,
                          k8sha_checkpoint_latest_cb latest, void *user_data) {
  cop *c;
  int rc;
  if (!s || (!all && !latest))
    return K8SHA_EINVAL;
  if (s->shut)
    return k8sha__fail(K8SHA_ECLOSED, "the checkpoint store of job %s is shut down or freed",
                       s->job_id);
  K8SHA__LOOP_ONLY(&s->ctx->rt, K8SHA_ETHREAD);
  c = cop_new(s, C_RECOVER, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->recovered = all;
  c->latest = latest;
  /* A turn in the ConfigMap's queue: the list reflects every write started before. */
  rc = k8sha__fcm_update(s->f, edit_nothing, c, on_recover_turn, c);
  if (rc)
    cop_free(c);
  return rc;
}

int k8sha_checkpoint_recover(k8sha_checkpoint_store *s, k8sha_checkpoint_recover_cb done,
                             void *user_data) {
  return start_recovery(s, done, NULL, user_data);
}

int k8sha_checkpoint_recover_latest(k8sha_checkpoint_store *s, k8sha_checkpoint_latest_cb done,
                                    void *user_data) {
  return start_recovery(s, NULL, done, user_data);
}

/* ---- counter ---- */

static int edit_counter(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  cop *c = ud;
  const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), K8SHA__COUNTER_KEY));
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

static int counter_op(k8sha_checkpoint_store *s, cop_kind kind, int increment, uint64_t value,
                      k8sha_counter_cb counted, k8sha_checkpoint_done_cb done, void *user_data) {
  cop *c;
  int rc;
  if (!s || (kind == C_COUNTER && !counted) || (kind == C_SET && value == 0))
    return K8SHA_EINVAL;
  if (s->shut)
    return k8sha__fail(K8SHA_ECLOSED, "the checkpoint store of job %s is shut down or freed",
                       s->job_id);
  K8SHA__LOOP_ONLY(&s->ctx->rt, K8SHA_ETHREAD);
  c = cop_new(s, kind, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->counted = counted;
  c->done = done;
  c->increment = increment;
  c->value = value;
  rc = k8sha__fcm_update(s->f, edit_counter, c, on_fcm_done, c);
  if (rc)
    cop_free(c);
  return rc;
}

int k8sha_checkpoint_counter_get(k8sha_checkpoint_store *s, k8sha_counter_cb done,
                                 void *user_data) {
  return counter_op(s, C_COUNTER, 0, 0, done, NULL, user_data);
}

int k8sha_checkpoint_counter_get_and_increment(k8sha_checkpoint_store *s, k8sha_counter_cb done,
                                               void *user_data) {
  return counter_op(s, C_COUNTER, 1, 0, done, NULL, user_data);
}

int k8sha_checkpoint_counter_set(k8sha_checkpoint_store *s, uint64_t next_id,
                                 k8sha_checkpoint_done_cb done, void *user_data) {
  return counter_op(s, C_SET, 0, next_id, NULL, done, user_data);
}

/* ---- commit: the next id from the counter, then the add under it ---- */

static void on_commit_added(int err, const char *message, void *ud) {
  complete(ud, err, message);
}

static void on_commit_counted(int err, const char *message, void *ud) {
  cop *c = ud;
  k8sha_checkpoint_store *s = c->s;
  char key[64];
  int rc;
  if (err) {
    complete(c, err, message);
    return;
  }
  key_of(key, sizeof(key), c->value);
  {
    k8sha__retention r = count_retention(s);
    rc = k8sha__hstore_add_retaining(s->h, key, c->state, c->state_len, 0, &r, on_commit_added,
                                     c);
  }
  k8sha__free(&s->ctx->rt.alloc, c->state); /* (the add has its own copy) */
  c->state = NULL;
  if (rc) {
    char msg[160];
    snprintf(msg, sizeof(msg), "checkpoint %" PRIu64 ": the add could not be started (%s)",
             c->value, k8sha_strerror(rc));
    complete(c, rc, msg);
  }
}

int k8sha_checkpoint_commit(k8sha_checkpoint_store *s, const void *state, size_t len,
                            k8sha_checkpoint_commit_cb done, void *user_data) {
  cop *c;
  int rc;
  if (!s || (!state && len))
    return K8SHA_EINVAL;
  if (s->shut)
    return k8sha__fail(K8SHA_ECLOSED, "the checkpoint store of job %s is shut down or freed",
                       s->job_id);
  K8SHA__LOOP_ONLY(&s->ctx->rt, K8SHA_ETHREAD);
  c = cop_new(s, C_COMMIT, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->committed = done;
  c->increment = 1;
  c->state_len = len;
  c->state = k8sha__malloc(&s->ctx->rt.alloc, len);
  if (!c->state) {
    cop_free(c);
    return K8SHA_ENOMEM;
  }
  if (len)
    memcpy(c->state, state, len);
  rc = k8sha__fcm_update(s->f, edit_counter, c, on_commit_counted, c);
  if (rc)
    cop_free(c);
  return rc;
}

/* ---- shutdown ---- */

static int edit_drop_counter(json_t *obj, json_t *changes, void *ud, char *msg, size_t n) {
  (void)ud;
  (void)msg;
  (void)n;
  if (!json_object_get(json_object_get(obj, "data"), K8SHA__COUNTER_KEY))
    return K8SHA__UNCHANGED;
  return json_object_set_new(changes, K8SHA__COUNTER_KEY, json_null()) ? K8SHA_ENOMEM : 0;
}

static void shutdown_next(cop *c);

static void on_shutdown_removed(int err, const char *message, void *ud) {
  cop *c = ud;
  if (err) {
    /* Stop at the first failure: what is left is marked or intact, and a second shutdown
     * resumes. */
    complete(c, err, message);
    return;
  }
  c->i++;
  shutdown_next(c);
}

static void shutdown_next(cop *c) {
  int rc;
  if (c->i < c->n) {
    rc = k8sha__hstore_remove(c->s->h, c->keys[c->i], on_shutdown_removed, c);
  } else {
    rc = k8sha__fcm_update(c->s->f, edit_drop_counter, c, on_fcm_done, c);
  }
  if (rc)
    complete(c, rc, "cannot continue the shutdown");
}

static void on_suspended(void *ud) {
  complete(ud, 0, NULL);
}

static void on_shutdown_turn(int err, const char *message, void *ud) {
  cop *c = ud;
  k8sha_checkpoint_store *s = c->s;
  char **live = NULL, **marked = NULL;
  size_t nl = 0, nm = 0, i;
  if (err) {
    complete(c, err, message);
    return;
  }
  if (k8sha__hstore_keys(s->h, K8SHA__CHECKPOINT_PREFIX, &live, &nl) != 0 ||
      k8sha__hstore_marked_keys(s->h, K8SHA__CHECKPOINT_PREFIX, &marked, &nm) != 0 ||
      !(c->keys = k8sha__calloc(&s->ctx->rt.alloc, nl + nm + 1, sizeof(*c->keys)))) {
    k8sha__hstore_keys_free(s->h, live, nl);
    k8sha__hstore_keys_free(s->h, marked, nm);
    complete(c, K8SHA_ENOMEM, "out of memory listing checkpoints");
    return;
  }
  for (i = 0; i < nm; i++)
    c->keys[c->n++] = marked[i];
  for (i = 0; i < nl; i++)
    c->keys[c->n++] = live[i];
  k8sha__free(&s->ctx->rt.alloc, live);
  k8sha__free(&s->ctx->rt.alloc, marked);
  shutdown_next(c);
}

int k8sha_checkpoint_store_shutdown(k8sha_checkpoint_store *s, k8sha_job_status status,
                                    k8sha_checkpoint_done_cb done, void *user_data) {
  cop *c;
  int rc;
  if (!s || (status != K8SHA_JOB_SUSPENDED && status != K8SHA_JOB_GLOBALLY_TERMINAL))
    return K8SHA_EINVAL;
  if (s->shut)
    return k8sha__fail(K8SHA_ECLOSED, "the checkpoint store of job %s is shut down or freed",
                       s->job_id);
  K8SHA__LOOP_ONLY(&s->ctx->rt, K8SHA_ETHREAD);
  c = cop_new(s, C_SHUTDOWN, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->done = done;
  if (status == K8SHA_JOB_SUSPENDED) {
    /* Nothing to write (and no leadership needed): complete on the next loop turn. */
    c->defer = k8sha__timer_new(&s->ctx->rt, on_suspended, c);
    rc = c->defer ? 0 : K8SHA_ENOMEM;
    if (rc == 0)
      k8sha__timer_start(c->defer, 0);
  } else {
    rc = k8sha__fcm_update(s->f, edit_nothing, c, on_shutdown_turn, c);
  }
  if (rc) {
    cop_free(c);
    return rc;
  }
  s->shut = 1;
  return 0;
}
