/* An operation of the state-handle store, phase by phase: what each step's outcome leads to
 * (handles_priv.h lists the phases), from the first update to the callback. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "election/env.h"
#include "k8sha/errors.h"
#include "storage/storage.h"
#include "store/handles.h"
#include "store/handles_priv.h"
#include "store/pointer.h"

static void advance(hop *o, int err, const char *message);

void k8sha__h_set_msg(hop *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
  va_end(ap);
}

/* ---- an operation's life ---- */

static void unlink_op(hop *o) {
  hop **p;
  for (p = &o->s->ops; *p; p = &(*p)->next)
    if (*p == o) {
      *p = o->next;
      break;
    }
}

/* env NULL: the context is gone (a buried operation): nothing to unpin; the op's own copy of
 * the allocator frees it. */
void k8sha__h_op_free(k8sha__env *env, hop *o) {
  const k8sha_allocator alloc = o->alloc;
  const k8sha_allocator *a = &alloc;
  if (o->pinned && env)
    k8sha__blob_unpin(env->storage, o->uri);
  k8sha__free(a, o->key);
  k8sha__free(a, o->data);
  k8sha__free(a, o->uri);
  k8sha__free(a, o->value);
  k8sha__free(a, o->old_value);
  json_decref(o->subsumed);
  json_decref(o->retire);
  k8sha__free(a, o);
}

static void finish(hop *o, int err, const char *msg) {
  k8sha__env *env = o->env;
  unlink_op(o);
  if (err == K8SHA_EUNKNOWN_OUTCOME)
    o->pinned = 0; /* the pointer may still land (an update held in the API server): the blob
                      stays pinned in this context for good */
  if (o->got)
    o->got(err, err ? msg : NULL, NULL, 0, 0, o->user_data);
  else if (o->done)
    o->done(err, err ? msg : NULL, o->user_data);
  k8sha__h_op_free(env, o);
}

/* A get's answer: the value read goes to the host, and the operation is freed. */
static void deliver(hop *o, const void *data, size_t len, int is_pointer) {
  k8sha__env *env = o->env;
  unlink_op(o);
  o->got(0, NULL, data, len, is_pointer, o->user_data);
  k8sha__h_op_free(env, o);
}

/* A get fails with `err` and o->msg. */
static void get_failed(hop *o, int err) {
  k8sha__env *env = o->env;
  unlink_op(o);
  o->got(err, o->msg, NULL, 0, 0, o->user_data);
  k8sha__h_op_free(env, o);
}

/* ---- a step started, and its outcome ---- */

static void on_fcm(int err, const char *message, void *ud) {
  advance(ud, err, message);
}

/* P_READ done: the blob's bytes checked against the pointer (Flink's handle: its size only). */
static void blob_read(hop *o, const k8sha__blob_result *r) {
  uint32_t crc = k8sha__crc32c(0, r->data, r->len);
  if (o->no_crc && r->len != o->p.size) {
    k8sha__h_set_msg(o, "blob %s of entry %s is damaged: %zu bytes, Flink's handle says %llu bytes",
                     o->p.uri, o->key, r->len, (unsigned long long)o->p.size);
    get_failed(o, K8SHA_ECORRUPT);
  } else if (!o->no_crc && (r->len != o->p.size || crc != o->p.crc)) {
    k8sha__h_set_msg(o, "blob %s of entry %s is damaged: %zu bytes with checksum %08x, the pointer "
                     "says %llu bytes with checksum %08x",
                     o->p.uri, o->key, r->len, (unsigned)crc, (unsigned long long)o->p.size,
                     (unsigned)o->p.crc);
    get_failed(o, K8SHA_ECORRUPT);
  } else {
    deliver(o, r->data, r->len, 0);
  }
}

static void on_blob(const k8sha__blob_result *r, void *ud) {
  hop *o = ud;
  if (!o->s) { /* the store was freed while the blob operation ran */
    k8sha__storage_unbury(o->env->storage, o);
    k8sha__h_op_free(o->env, o);
    return;
  }
  if (o->phase == P_READ && r->err == 0) {
    blob_read(o, r);
    return;
  }
  advance(o, r->err, r->message);
}

static int start_blob(hop *o, phase ph, const char *uri) {
  k8sha__env *env = o->env;
  o->phase = ph;
  if (ph == P_BLOB_WRITE)
    return k8sha__blob_write(env->storage, uri, o->data, o->len, on_blob, o);
  if (ph == P_READ)
    return k8sha__blob_read(env->storage, uri, on_blob, o);
  return k8sha__blob_remove(env->storage, uri, on_blob, o);
}

static int start_fcm(hop *o, phase ph, k8sha__fcm_edit edit) {
  o->phase = ph;
  return k8sha__fcm_update(o->s->f, edit, o, on_fcm, o);
}

int k8sha__h_launch(hop *o, phase ph, k8sha__fcm_edit edit) {
  int rc = start_fcm(o, ph, edit);
  if (rc) {
    k8sha__h_op_free(o->env, o);
    return rc;
  }
  o->next = o->s->ops;
  o->s->ops = o;
  return 0;
}

/* Deletes the blob of the next entry the commit left marked; finishes after the last. */
static void subsume_next(hop *o) {
  while (o->sub_iter) {
    char *uri;
    int rc = k8sha__h_blob_of(o->env, json_string_value(json_object_iter_value(o->sub_iter)), &uri);
    if (rc == 0 && uri) {
      rc = start_blob(o, P_SUBSUME, uri);
      k8sha__free(&o->env->rt->alloc, uri);
      if (rc == 0)
        return;
    } else if (rc) {
      k8sha__log(o->env->rt, K8SHA_LOG_WARN, "store",
                 "the blob of marked entry %s of ConfigMap %s is not deleted now (%s); the entry "
                 "stays marked and a later add deletes it", json_object_iter_key(o->sub_iter),
                 k8sha__fcm_name(o->s->f), k8sha_strerror(rc));
    } else {
      /* a host pointer: its blob is the host's; the key can go with the next add (a blob not
       * deleted now stays marked for a later add) */
      const char *key = json_object_iter_key(o->sub_iter);
      char *marked = k8sha__value_mark(&o->env->rt->alloc,
                                       json_string_value(json_object_iter_value(o->sub_iter)));
      if (marked)
        json_object_set_new(o->s->deleted, key, json_string(marked));
      k8sha__free(&o->env->rt->alloc, marked);
    }
    o->sub_iter = json_object_iter_next(o->subsumed, o->sub_iter);
  }
  finish(o, 0, NULL);
}

/* The blobs of the entries the commit left marked, one by one. */
static void subsume_first(hop *o) {
  o->sub_iter = json_object_iter(o->subsumed);
  subsume_next(o);
}

/* Deletes the blob of a definitely failed write, then reports the failure. */
static void discard_new(hop *o, int err, const char *message) {
  o->result = err;
  k8sha__h_set_msg(o, "%s", message ? message : k8sha_strerror(err));
  if (!o->uri || start_blob(o, P_DISCARD_NEW, o->uri) != 0)
    finish(o, err, o->msg);
}

/* ---- the phases, a function each: 0 once the next step runs or the operation is finished, else
 * the error that kept the next step from starting ---- */

/* A get, P_CHECK: the entry's value read: Flink's handle or a compact pointer names the blob to
 * read; a host's own bytes are the answer. */
static int read_value(hop *o) {
  k8sha__env *env = o->env;
  k8sha__pointer p;
  unsigned char *bytes = NULL;
  size_t len;
  const char *why = NULL;
  int marked, rc;
  k8sha__value_info info;
  char whybuf[160];
  rc = k8sha__value_describe(&env->rt->alloc, o->old_value, &info, whybuf, sizeof(whybuf));
  if (rc != 0 && rc != K8SHA_ECORRUPT) {
    /* (not read for want of memory: not a sign that it is not Flink's handle) */
    k8sha__h_set_msg(o, "reading entry %s: %s", o->key, k8sha_strerror(rc));
    get_failed(o, rc);
    return 0;
  }
  if (rc == 0 && info.form == K8SHA__VALUE_FLINK) {
    /* Flink's own handle: its blob holds the state, as Flink wrote it; the handle gives its
     * size (no checksum) */
    memset(&o->p, 0, sizeof(o->p));
    snprintf(o->p.uri, sizeof(o->p.uri), "%s", info.uri);
    o->p.size = info.size;
    o->no_crc = 1;
    rc = start_blob(o, P_READ, o->p.uri);
    if (rc == 0)
      return 0;
    k8sha__h_set_msg(o, "reading blob %s of entry %s (Flink's handle): %s", o->p.uri, o->key,
                     k8sha_strerror(rc));
    get_failed(o, rc);
    return 0;
  }
  rc = k8sha__value_decode(&env->rt->alloc, o->old_value, &marked, &p, &bytes, &len, &why);
  if (rc == 0) {
    deliver(o, bytes, len, 1);
    k8sha__free(&env->rt->alloc, bytes);
    return 0;
  }
  if (rc == 1) {
    o->p = p;
    rc = start_blob(o, P_READ, p.uri);
    if (rc == 0)
      return 0;
    k8sha__h_set_msg(o, "reading blob %s of entry %s: %s", p.uri, o->key, k8sha_strerror(rc));
  } else {
    k8sha__h_set_msg(o, "entry %s of ConfigMap %s is damaged: %s", o->key,
                     k8sha__fcm_name(o->s->f), why ? why : k8sha_strerror(rc));
  }
  get_failed(o, rc);
  return 0;
}

/* P_CHECK: the edit's dry run on the cached state: a get reads; a write commits its pointer, or
 * writes its blob first. */
static int checked(hop *o, int err, const char *message) {
  if (err || o->identical) {
    finish(o, err, message);
    return 0;
  }
  if (o->kind == H_GET)
    return read_value(o);
  return o->kind == H_ADD_POINTER || o->kind == H_PUT_POINTER
             ? start_fcm(o, P_COMMIT, k8sha__h_edit_put)
             : start_blob(o, P_BLOB_WRITE, o->uri);
}

/* P_BLOB_WRITE: the new blob written: its pointer committed. */
static int blob_written(hop *o, int err, const char *message) {
  if (err) {
    /* Nothing points to it; a partly written blob is the backend's to clean up. */
    k8sha__h_set_msg(o, "writing blob %s for %s failed: %s", o->uri, o->key,
                     message ? message : k8sha_strerror(err));
    finish(o, err, o->msg);
    return 0;
  }
  return start_fcm(o, P_COMMIT, k8sha__h_edit_put);
}

/* After a commit: the blob the replaced value named, to delete (allocated); NULL when there is
 * none or it is kept. Each value is read once here, and a value that cannot be read for want of
 * memory keeps the blob: the delete fails closed. */
static char *replaced_blob(hop *o) {
  k8sha__env *env = o->env;
  const k8sha_allocator *a = &env->rt->alloc;
  k8sha__value_info old, now;
  char why[8];
  int rc;
  if (!o->old_value || k8sha__value_describe(a, o->old_value, &old, why, sizeof(why)) != 0 ||
      old.form == K8SHA__VALUE_OPAQUE)
    return NULL; /* no blob the store owns (a host's bytes, or a value it cannot read) */
  if (o->value) {
    /* A new value naming the very blob the old one named keeps it. So does a host's opaque
     * value replacing Flink's handle: that blob is one the host wrote, and the new bytes may
     * name it in a form the store cannot read (the delete fails closed; the orphan scan
     * refuses to run while an opaque entry exists, so the kept blob is never reported as
     * unreferenced while it may be referenced). A blob of the store's own compact pointer
     * has a name only the store chose: it goes. */
    rc = k8sha__value_describe(a, o->value, &now, why, sizeof(why));
    if (rc != 0 && rc != K8SHA_ECORRUPT)
      return NULL; /* (not read: out of memory) */
    if (rc == 0 && now.form != K8SHA__VALUE_OPAQUE) {
      if (k8sha__h_may_be_same_blob(now.uri, old.uri))
        return NULL;
    } else if (old.form == K8SHA__VALUE_FLINK) {
      k8sha__log(env->rt, K8SHA_LOG_INFO, "store",
                 "entry %s of ConfigMap %s now holds host pointer bytes the store cannot read; "
                 "blob %s of the entry they replaced is kept",
                 o->key, k8sha__fcm_name(o->s->f), old.uri);
      return NULL;
    }
  }
  return k8sha__strdup(a, old.uri);
}

/* P_COMMIT: the update's outcome. Committed: the replaced value's blob deleted, then the blobs of
 * the entries retention marked. */
static int committed(hop *o, int err, const char *message) {
  char *uri;
  int rc;
  if (err == K8SHA_EUNKNOWN_OUTCOME) {
    k8sha__h_set_msg(o, "%s; blob %s is kept", message ? message : "", o->uri ? o->uri : "(none)");
    finish(o, err, o->msg);
    return 0;
  }
  if (err) {
    discard_new(o, err, message);
    return 0;
  }
  if (o->identical && o->ours && o->uri) {
    /* Our own value is there already: a write of ours landed that was reported as failed.
     * The transport never lets that happen knowingly (an attempt that may have reached the
     * server is an unknown outcome); should it still, the blob is the entry's: it stays, and
     * so does whatever that write replaced or marked (an orphan at worst; retention marks
     * are retried by the next add). */
    k8sha__log(o->env->rt, K8SHA_LOG_WARN, "store",
               "entry %s of ConfigMap %s already holds this write's pointer: it landed earlier; "
               "blob %s is kept",
               o->key, k8sha__fcm_name(o->s->f), o->uri ? o->uri : "(none)");
    finish(o, 0, NULL);
    return 0;
  }
  if (o->identical) { /* someone committed the same content meanwhile: ours is not needed */
    discard_new(o, 0, NULL);
    return 0;
  }
  uri = replaced_blob(o);
  if (uri) {
    rc = start_blob(o, P_DELETE_OLD, uri);
    k8sha__free(&o->env->rt->alloc, uri);
    if (rc == 0)
      return 0;
  }
  subsume_first(o);
  return 0;
}

/* P_DISCARD_NEW: the failure reported, whether or not the new blob is gone. */
static int new_discarded(hop *o, int err, const char *message) {
  if (err)
    k8sha__log(o->env->rt, K8SHA_LOG_WARN, "store", "deleting unreferenced blob %s failed: %s",
               o->uri, message ? message : k8sha_strerror(err));
  finish(o, o->result, o->msg);
  return 0;
}

/* P_DELETE_OLD: on to the subsumed entries, whether or not the replaced blob is gone. */
static int old_deleted(hop *o, int err, const char *message) {
  if (err)
    k8sha__log(o->env->rt, K8SHA_LOG_WARN, "store",
               "deleting blob of the replaced entry %s failed (an orphan now): %s", o->key,
               message ? message : k8sha_strerror(err));
  subsume_first(o);
  return 0;
}

/* P_SUBSUME: a subsumed entry whose blob is gone is noted for the next add to drop. */
static int subsumed_deleted(hop *o, int err, const char *message) {
  k8sha__env *env = o->env;
  const char *key = json_object_iter_key(o->sub_iter);
  const char *value = json_string_value(json_object_iter_value(o->sub_iter));
  char *marked = k8sha__value_mark(&env->rt->alloc, value);
  if (err)
    k8sha__log(env->rt, K8SHA_LOG_WARN, "store",
               "deleting the blob of subsumed entry %s failed (the next add retries): %s", key,
               message ? message : k8sha_strerror(err));
  else if (marked)
    json_object_set_new(o->s->deleted, key, json_string(marked));
  k8sha__free(&env->rt->alloc, marked);
  o->sub_iter = json_object_iter_next(o->subsumed, o->sub_iter);
  subsume_next(o);
  return 0;
}

/* P_MARK: the entry marked: its blob deleted (none for an opaque pointer: the key dropped). */
static int entry_marked(hop *o, int err, const char *message) {
  char *uri;
  int rc;
  if (err || o->absent) {
    finish(o, err, message);
    return 0;
  }
  rc = k8sha__h_blob_of(o->env, o->old_value, &uri);
  if (rc)
    return rc; /* (the entry stays marked: removing it again resumes) */
  if (uri) {
    rc = start_blob(o, P_BLOB_REMOVE, uri);
    k8sha__free(&o->env->rt->alloc, uri);
    return rc;
  }
  return start_fcm(o, P_DROP, k8sha__h_edit_drop); /* an opaque pointer: its blob is the host's */
}

/* P_BLOB_REMOVE: the blob gone: the key dropped. */
static int blob_removed(hop *o, int err, const char *message) {
  if (err) {
    snprintf(o->msg, sizeof(o->msg),
             "deleting the blob of %s failed (%s); the entry stays marked for deletion and "
             "removing it again resumes",
             o->key, message ? message : k8sha_strerror(err));
    finish(o, err, o->msg);
    return 0;
  }
  return start_fcm(o, P_DROP, k8sha__h_edit_drop);
}

/* P_READ, failed (a blob read is handled in blob_read()). */
static int read_failed(hop *o, int err, const char *message) {
  if (err == K8SHA_ENOTFOUND)
    k8sha__h_set_msg(o, "blob %s of entry %s is missing", o->p.uri, o->key);
  else
    k8sha__h_set_msg(o, "reading blob %s of entry %s failed: %s", o->p.uri, o->key,
                     message ? message : k8sha_strerror(err));
  get_failed(o, err);
  return 0;
}

/* The outcome of the operation's step: the next one. */
static void advance(hop *o, int err, const char *message) {
  int rc = 0;

  switch (o->phase) {
  case P_CHECK:
    rc = checked(o, err, message);
    break;
  case P_BLOB_WRITE:
    rc = blob_written(o, err, message);
    break;
  case P_COMMIT:
    rc = committed(o, err, message);
    break;
  case P_DISCARD_NEW:
    rc = new_discarded(o, err, message);
    break;
  case P_DELETE_OLD:
    rc = old_deleted(o, err, message);
    break;
  case P_SUBSUME:
    rc = subsumed_deleted(o, err, message);
    break;
  case P_MARK:
    rc = entry_marked(o, err, message);
    break;
  case P_BLOB_REMOVE:
    rc = blob_removed(o, err, message);
    break;
  case P_DROP:
    finish(o, err, message);
    break;
  case P_READ:
    rc = read_failed(o, err, message);
    break;
  }
  if (rc) {
    k8sha__h_set_msg(o, "%s: cannot continue: %s", o->key, k8sha_strerror(rc));
    if (o->phase == P_COMMIT && o->uri)
      discard_new(o, rc, o->msg);
    else
      finish(o, rc, o->msg);
  }
}
