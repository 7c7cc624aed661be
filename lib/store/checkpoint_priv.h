/* Internal to the checkpoint store (checkpoint.c: the store, its operations, adds, the counter and
 * commits; checkpoint_recover.c: recovery; checkpoint_shutdown.c: shutdown): the store's object
 * and an operation's. */
#ifndef K8SHA_STORE_CHECKPOINT_PRIV_H
#define K8SHA_STORE_CHECKPOINT_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "core/life.h"
#include "core/timer.h"
#include "k8sha/checkpoint.h"
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
  int completing; /* its callback runs: freed by k8sha__cp_complete(), not by a free of the store */
} cop;

struct k8sha_checkpoint_store {
  k8sha__life life;
  k8sha__env *env;
  k8sha__fcm *f;
  k8sha__hstore *h;
  char job_id[K8SHA__JOB_ID_LEN + 1];
  cop *ops;
  int shut;
  char last_error[1024];
};

/* ---- checkpoint.c ---- */

cop *k8sha__cp_new(k8sha_checkpoint_store *s, cop_kind kind, void *user_data);
void k8sha__cp_free(cop *c);
/* Runs the operation's callback and frees it (the store too, when the host freed it from the
 * callback). */
void k8sha__cp_complete(cop *c, int err, const char *message);
/* A callback of the ConfigMap or the store that completes the operation `ud`. */
void k8sha__cp_on_done(int err, const char *message, void *ud);
/* K8SHA_ECLOSED, with its message, once the store is shut down or freed; else 0. */
int k8sha__cp_closed(const k8sha_checkpoint_store *s);
/* A turn of the operation in the ConfigMap's queue: `turn` runs after every write started
 * before. */
int k8sha__cp_turn(cop *c, k8sha__fcm_done turn);

/* ---- checkpoint_recover.c ---- */

/* Runs a recovery's callback: the list, or the newest intact checkpoint of it. */
void k8sha__cp_report_recovery(cop *c, int err);
/* Frees a recovery's list. */
void k8sha__cp_list_free(cop *c);

#endif
