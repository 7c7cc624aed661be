/* Recovery of a checkpoint store: every checkpoint read back, or the newest intact one. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "election/env.h"
#include "k8sha/checkpoint.h"
#include "k8sha/errors.h"
#include "election/fenced.h"
#include "store/checkpoint_priv.h"
#include "store/handles.h"

/* The message of a recovered checkpoint whose own message could not be made: a failed
 * checkpoint always comes with one. Static, never freed. */
static const char no_memory[] = "out of memory reading this checkpoint";

void k8sha__cp_list_free(cop *c) {
  const k8sha_allocator *a = &c->s->env->rt->alloc;
  size_t i;
  for (i = 0; c->list && i < c->n; i++) {
    k8sha__free(a, (void *)c->list[i].data);
    if (c->list[i].message != no_memory)
      k8sha__free(a, (void *)c->list[i].message);
  }
  k8sha__free(a, c->list);
  k8sha__free(a, (void *)c->ptrs);
}

void k8sha__cp_report_recovery(cop *c, int err) {
  k8sha_checkpoint_store *s = c->s;
  if (c->latest) {
    const k8sha_checkpoint *latest = NULL;
    size_t i, skipped = 0;
    for (i = err ? 0 : c->n; i > 0 && !latest; i--) {
      if (c->list[i - 1].status == 0) {
        latest = &c->list[i - 1];
      } else {
        skipped++;
        k8sha__log(s->env->rt, K8SHA_LOG_WARN, "store", "checkpoint %" PRIu64 " is unusable, an "
                   "older one is taken: %s", c->list[i - 1].id, c->list[i - 1].message);
      }
    }
    c->latest(s, err, latest, err ? 0 : skipped, c->user_data);
  } else if (c->recovered) {
    c->recovered(s, err, err ? NULL : c->ptrs, err ? 0 : c->n, c->user_data);
  }
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

/* ---- recover ---- */

/* Every blob has been read: the list goes out only if this store's leadership still holds. A
 * newer leader may have retired checkpoints (and deleted their blobs) while the reads ran, so a
 * list finished after the leadership ended would show them damaged or missing. */
static void recovered(cop *c) {
  if (!k8sha__fcm_leads(c->s->f)) {
    k8sha__cp_complete(c, K8SHA_ENOTLEADER,
                       "the leadership ended while the checkpoints were read; recover again as "
                       "leader");
    return;
  }
  k8sha__cp_complete(c, 0, NULL);
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
  const k8sha_allocator *a = &c->s->env->rt->alloc;

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

static void on_recover_turn(int err, const char *message, void *ud) {
  cop *c = ud;
  k8sha_checkpoint_store *s = c->s;
  const k8sha_allocator *a = &s->env->rt->alloc;
  size_t i;

  if (err) {
    k8sha__cp_complete(c, err, message);
    return;
  }
  if (k8sha__hstore_keys(s->h, K8SHA__CHECKPOINT_PREFIX, &c->keys, &c->n) != 0 ||
      !(c->list = k8sha__calloc(a, c->n + 1, sizeof(*c->list))) ||
      !(c->ptrs = k8sha__calloc(a, c->n + 1, sizeof(*c->ptrs)))) {
    k8sha__cp_complete(c, K8SHA_ENOMEM, "out of memory listing checkpoints");
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
static int start_recovery(const char *fn, k8sha_checkpoint_store *s,
                          k8sha_checkpoint_recover_cb all, k8sha_checkpoint_latest_cb latest,
                          void *user_data) {
  cop *c;
  int rc;
  if (!s || (!all && !latest))
    return K8SHA_EINVAL;
  if (k8sha__cp_closed(s))
    return K8SHA_ECLOSED;
  K8SHA__LOOP_ONLY_AS(s->env->rt, K8SHA_ETHREAD, fn);
  c = k8sha__cp_new(s, C_RECOVER, user_data);
  if (!c)
    return K8SHA_ENOMEM;
  c->recovered = all;
  c->latest = latest;
  /* A turn in the ConfigMap's queue: the list reflects every write started before. */
  rc = k8sha__cp_turn(c, on_recover_turn);
  if (rc)
    k8sha__cp_free(c);
  return rc;
}

int k8sha_checkpoint_recover(k8sha_checkpoint_store *s, k8sha_checkpoint_recover_cb done,
                             void *user_data) {
  return start_recovery(__func__, s, done, NULL, user_data);
}

int k8sha_checkpoint_recover_latest(k8sha_checkpoint_store *s, k8sha_checkpoint_latest_cb done,
                                    void *user_data) {
  return start_recovery(__func__, s, NULL, done, user_data);
}
