/* Shutdown of a checkpoint store: a suspended job keeps its checkpoints; a globally terminal one
 * has them removed, then its counter. */

#include "core/alloc.h"
#include "election/env.h"
#include "core/timer.h"
#include "k8sha/checkpoint.h"
#include "k8sha/errors.h"
#include "election/fenced.h"
#include "store/checkpoint_priv.h"
#include "store/handles.h"

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
    k8sha__cp_complete(c, err, message);
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
    rc = k8sha__fcm_update(c->s->f, edit_drop_counter, c, k8sha__cp_on_done, c);
  }
  if (rc)
    k8sha__cp_complete(c, rc, "cannot continue the shutdown");
}

static void on_suspended(void *ud) {
  k8sha__cp_complete(ud, 0, NULL);
}

static void on_shutdown_turn(int err, const char *message, void *ud) {
  cop *c = ud;
  k8sha_checkpoint_store *s = c->s;
  char **live = NULL, **marked = NULL;
  size_t nl = 0, nm = 0, i;
  if (err) {
    k8sha__cp_complete(c, err, message);
    return;
  }
  if (k8sha__hstore_keys(s->h, K8SHA__CHECKPOINT_PREFIX, &live, &nl) != 0 ||
      k8sha__hstore_marked_keys(s->h, K8SHA__CHECKPOINT_PREFIX, &marked, &nm) != 0 ||
      !(c->keys = k8sha__calloc(&s->env->rt->alloc, nl + nm + 1, sizeof(*c->keys)))) {
    k8sha__hstore_keys_free(s->h, live, nl);
    k8sha__hstore_keys_free(s->h, marked, nm);
    k8sha__cp_complete(c, K8SHA_ENOMEM, "out of memory listing checkpoints");
    return;
  }
  for (i = 0; i < nm; i++)
    c->keys[c->n++] = marked[i];
  for (i = 0; i < nl; i++)
    c->keys[c->n++] = live[i];
  k8sha__free(&s->env->rt->alloc, live);
  k8sha__free(&s->env->rt->alloc, marked);
  shutdown_next(c);
}

int k8sha_checkpoint_store_shutdown(k8sha_checkpoint_store *s, k8sha_job_status status,
                                    k8sha_checkpoint_done_cb done, void *user_data) {
  cop *c;
  int rc;
  if (!s || (status != K8SHA_JOB_SUSPENDED && status != K8SHA_JOB_GLOBALLY_TERMINAL))
    return K8SHA_EINVAL;
  if (k8sha__cp_closed(s))
    return K8SHA_ECLOSED;
  K8SHA__LOOP_ONLY(s->env->rt, K8SHA_ETHREAD);
  c = k8sha__cp_new(s, C_SHUTDOWN, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->done = done;
  if (status == K8SHA_JOB_SUSPENDED) {
    /* Nothing to write (and no leadership needed): complete on the next loop turn. */
    c->defer = k8sha__timer_new(s->env->rt, on_suspended, c);
    rc = c->defer ? 0 : K8SHA_ENOMEM;
    if (rc == 0)
      k8sha__timer_start(c->defer, 0);
  } else {
    rc = k8sha__cp_turn(c, on_shutdown_turn);
  }
  if (rc) {
    k8sha__cp_free(c);
    return rc;
  }
  s->shut = 1;
  return 0;
}
