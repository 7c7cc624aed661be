/* Fenced ConfigMaps: the lock's own ConfigMap, written on a state whose record names us. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "election/fenced_priv.h"
#include "election/lock.h"
#include "election/record.h"
#include "k8sha/election.h"
#include "k8sha/errors.h"

static void on_lock_written(int err, const char *message, void *ud);

static void on_lock_refreshed(int err, const char *message, void *ud) {
  k8sha__fcm *f = ud;
  f->req = NULL;
  if (err) {
    k8sha__fcm_finish(f, err, "reading ConfigMap %s failed: %s", f->name, message ? message : "");
    return;
  }
  k8sha__fcm_step(f);
}

void k8sha__fcm_step_lock(k8sha__fcm *f) {
  op *o = f->head;
  json_t *cur = k8sha__lock_object(f->lock), *copy, *changes;
  k8sha__record rec;
  const char *why;
  char msg[768];
  int rc;

  if (!f->known) {
    f->known = 1;
    if (k8sha__lock_refresh(f->lock, f->env->ha->request_timeout_ms, on_lock_refreshed, f,
                            &f->req) != 0)
      k8sha__fcm_finish(f, K8SHA_ENOMEM, "out of memory reading ConfigMap %s", f->name);
    return;
  }
  if (!cur || k8sha__lock_read_record(f->lock, cur, &rec, &why, NULL) != 1 ||
      strcmp(rec.holder, k8sha_election_identity(f->e)) != 0 || rec.transitions != f->term) {
    k8sha__fcm_finish(f, K8SHA_ENOTLEADER,
                      "ConfigMap %s: the lock no longer names us as leader of term %" PRIu64,
                      f->name, f->term);
    return;
  }
  if (o->kind == OP_CLAIM) {
    f->claimed = 1;
    k8sha__fcm_finish(f, 0, NULL);
    return;
  }
  if (o->kind == OP_DELETE) {
    k8sha__fcm_finish(f, K8SHA_EINVAL, "ConfigMap %s holds the lock and is not deleted here",
                      f->name);
    return;
  }
  changes = json_object();
  if (!changes) {
    k8sha__fcm_finish(f, K8SHA_ENOMEM, "out of memory updating ConfigMap %s", f->name);
    return;
  }
  msg[0] = '\0';
  copy = NULL;
  rc = o->edit(cur, changes, o->edit_data, msg, sizeof(msg));
  if (rc == 0)
    rc = k8sha__fcm_size_check(
        f, k8sha__fcm_data_size_after(cur, k8sha__configmap_data_size(cur), changes), msg,
        sizeof(msg));
  if (rc == 0) {
    /* (the lock's writes are whole objects: its renewals are too) */
    copy = json_deep_copy(cur);
    rc = copy ? k8sha__fcm_apply_changes(copy, changes) : K8SHA_ENOMEM;
    json_object_del(json_object_get(copy, "metadata"), "managedFields");
  }
  if (rc == 0)
    rc = k8sha__lock_write(f->lock, copy, 0, f->env->ha->request_timeout_ms, on_lock_written, f,
                           &f->req);
  json_decref(copy);
  json_decref(changes);
  if (rc == K8SHA__UNCHANGED)
    k8sha__fcm_finish(f, 0, NULL);
  else if (rc)
    k8sha__fcm_finish(f, rc, "%s", msg[0] ? msg : k8sha_strerror(rc));
}

static void on_lock_written(int err, const char *message, void *ud) {
  k8sha__fcm *f = ud;
  f->req = NULL;
  if (err == 0)
    k8sha__fcm_finish(f, 0, NULL);
  else if (err == K8SHA_ECONFLICT)
    k8sha__fcm_conflict(f, message);
  else if (err == K8SHA_EUNKNOWN_OUTCOME || err == K8SHA_ETIMEDOUT)
    k8sha__fcm_finish(f, K8SHA_EUNKNOWN_OUTCOME,
                      "updating ConfigMap %s: no answer, the update may or may not have landed "
                      "(%s)",
                      f->name, message ? message : "");
  else
    k8sha__fcm_finish(f, err, "updating ConfigMap %s failed: %s", f->name, message ? message : "");
}
