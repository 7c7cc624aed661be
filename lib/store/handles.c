/* The state-handle store: blobs first, pointers second, removal in three resumable steps. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/base64.h"
#include "core/ctx_priv.h"
#include "core/fail.h"
#include "k8sha/errors.h"
#include "core/k8s_names.h"
#include "storage/storage.h"
#include "storage/uri.h"
#include "store/handles.h"
#include "store/handles_priv.h"
#include "store/pointer.h"
#include "store/retained.h"


static void advance(hop *o, int err, const char *message);
static void subsume_next(hop *o);
static int add_pointer(k8sha__hstore *s, kind k, const char *key, const void *ptr, size_t len,
                       const k8sha__retention *r, k8sha__hstore_done done, void *user_data);

void k8sha__h_set_msg(hop *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
  va_end(ap);
}

/* ---- the steps ---- */

static void unlink_op(hop *o) {
  hop **p;
  for (p = &o->s->ops; *p; p = &(*p)->next)
    if (*p == o) {
      *p = o->next;
      break;
    }
}

/* ctx NULL: the context is gone (a buried operation): nothing to unpin; the op's own copy of
 * the allocator frees it. */
static void op_free(k8sha_ctx *ctx, hop *o) {
  const k8sha_allocator alloc = o->alloc;
  const k8sha_allocator *a = &alloc;
  if (o->pinned && ctx)
    k8sha__blob_unpin(ctx->storage, o->uri);
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
  k8sha_ctx *ctx = o->ctx;
  unlink_op(o);
  if (err == K8SHA_EUNKNOWN_OUTCOME)
    o->pinned = 0; /* the pointer may still land (an update held in the API server): the blob
                      stays pinned in this context for good */
  if (o->got)
    o->got(err, err ? msg : NULL, NULL, 0, 0, o->user_data);
  else if (o->done)
    o->done(err, err ? msg : NULL, o->user_data);
  op_free(ctx, o);
}

static void on_fcm(int err, const char *message, void *ud) {
  advance(ud, err, message);
}

static void on_blob(const k8sha__blob_result *r, void *ud) {
  hop *o = ud;
  if (!o->s) { /* the store was freed while the blob operation ran */
    k8sha__storage_unbury(o->ctx->storage, o);
    op_free(o->ctx, o);
    return;
  }
  if (o->phase == P_READ && r->err == 0) {
    uint32_t crc = k8sha__crc32c(0, r->data, r->len);
    k8sha_ctx *ctx = o->ctx;
    if (o->no_crc && r->len != o->p.size) {
      k8sha__h_set_msg(o, "blob %s of entry %s is damaged: %zu bytes, Flink's handle says %llu bytes",
               o->p.uri, o->key, r->len, (unsigned long long)o->p.size);
      unlink_op(o);
      o->got(K8SHA_ECORRUPT, o->msg, NULL, 0, 0, o->user_data);
    } else if (!o->no_crc && (r->len != o->p.size || crc != o->p.crc)) {
      k8sha__h_set_msg(o, "blob %s of entry %s is damaged: %zu bytes with checksum %08x, the pointer says "
               "%llu bytes with checksum %08x",
               o->p.uri, o->key, r->len, (unsigned)crc, (unsigned long long)o->p.size,
               (unsigned)o->p.crc);
      unlink_op(o);
      o->got(K8SHA_ECORRUPT, o->msg, NULL, 0, 0, o->user_data);
    } else {
      unlink_op(o);
      o->got(0, NULL, r->data, r->len, 0, o->user_data);
    }
    op_free(ctx, o);
    return;
  }
  advance(o, r->err, r->message);
}

static int start_blob(hop *o, phase ph, const char *uri) {
  k8sha_ctx *ctx = o->ctx;
  o->phase = ph;
  if (ph == P_BLOB_WRITE)
    return k8sha__blob_write(ctx->storage, uri, o->data, o->len, on_blob, o);
  if (ph == P_READ)
    return k8sha__blob_read(ctx->storage, uri, on_blob, o);
  return k8sha__blob_remove(ctx->storage, uri, on_blob, o);
}

static int start_fcm(hop *o, phase ph, k8sha__fcm_edit edit) {
  o->phase = ph;
  return k8sha__fcm_update(o->s->f, edit, o, on_fcm, o);
}

/* Deletes the blob of the next entry the commit left marked; finishes after the last. */
static void subsume_next(hop *o) {
  while (o->sub_iter) {
    char *uri = k8sha__h_blob_of(o->ctx, json_string_value(json_object_iter_value(o->sub_iter)));
    int rc = uri ? start_blob(o, P_SUBSUME, uri) : -1;
    k8sha__free(&o->ctx->rt.alloc, uri);
    if (rc == 0)
      return;
    if (!uri) { /* a host pointer: its blob is the host's; the key can go with the next add */
      const char *key = json_object_iter_key(o->sub_iter);
      char *marked = k8sha__value_mark(&o->ctx->rt.alloc,
                                       json_string_value(json_object_iter_value(o->sub_iter)));
      if (marked)
        json_object_set_new(o->s->deleted, key, json_string(marked));
      k8sha__free(&o->ctx->rt.alloc, marked);
    }
    o->sub_iter = json_object_iter_next(o->subsumed, o->sub_iter);
  }
  finish(o, 0, NULL);
}

/* Deletes the blob of a definitely failed write, then reports the failure. */
static void discard_new(hop *o, int err, const char *message) {
  o->result = err;
  k8sha__h_set_msg(o, "%s", message ? message : k8sha_strerror(err));
  if (!o->uri || start_blob(o, P_DISCARD_NEW, o->uri) != 0)
    finish(o, err, o->msg);
}

static void advance(hop *o, int err, const char *message) {
  k8sha_ctx *ctx = o->ctx;
  char *uri;
  int rc = 0;

  switch (o->phase) {
  case P_CHECK:
    if (err || o->identical) {
      finish(o, err, message);
      return;
    }
    if (o->kind == H_GET) {
      k8sha__pointer p;
      unsigned char *bytes = NULL;
      size_t len;
      const char *why = NULL;
      int marked;
      k8sha__value_info info;
      char whybuf[160];
      if (k8sha__value_describe(&ctx->rt.alloc, o->old_value, &info, whybuf, sizeof(whybuf)) == 0 &&
          info.form == K8SHA__VALUE_FLINK) {
        /* Flink's own handle: its blob holds the state, as Flink wrote it; the handle gives its
         * size (no checksum) */
        memset(&o->p, 0, sizeof(o->p));
        snprintf(o->p.uri, sizeof(o->p.uri), "%s", info.uri);
        o->p.size = info.size;
        o->no_crc = 1;
        rc = start_blob(o, P_READ, o->p.uri);
        if (rc == 0)
          return;
        k8sha__h_set_msg(o, "reading blob %s of entry %s (Flink's handle): %s", o->p.uri, o->key,
                k8sha_strerror(rc));
        unlink_op(o);
        o->got(rc, o->msg, NULL, 0, 0, o->user_data);
        op_free(ctx, o);
        return;
      }
      rc = k8sha__value_decode(&ctx->rt.alloc, o->old_value, &marked, &p, &bytes, &len, &why);
      if (rc == 1) {
        o->p = p;
        rc = start_blob(o, P_READ, p.uri);
        if (rc == 0)
          return;
        k8sha__h_set_msg(o, "reading blob %s of entry %s: %s", p.uri, o->key,
                 k8sha_strerror(rc));
      } else if (rc == 0) {
        unlink_op(o);
        o->got(0, NULL, bytes, len, 1, o->user_data);
        k8sha__free(&ctx->rt.alloc, bytes);
        op_free(ctx, o);
        return;
      } else {
        k8sha__h_set_msg(o, "entry %s of ConfigMap %s is damaged: %s", o->key,
                 k8sha__fcm_name(o->s->f), why ? why : k8sha_strerror(rc));
      }
      unlink_op(o);
      o->got(rc, o->msg, NULL, 0, 0, o->user_data);
      op_free(ctx, o);
      return;
    }
    rc = o->kind == H_ADD_POINTER || o->kind == H_PUT_POINTER
             ? start_fcm(o, P_COMMIT, k8sha__h_edit_put)
             : start_blob(o, P_BLOB_WRITE, o->uri);
    break;
  case P_BLOB_WRITE:
    if (err) {
      /* Nothing points to it; a partly written blob is the backend's to clean up. */
      k8sha__h_set_msg(o, "writing blob %s for %s failed: %s", o->uri, o->key,
               message ? message : k8sha_strerror(err));
      finish(o, err, o->msg);
      return;
    }
    rc = start_fcm(o, P_COMMIT, k8sha__h_edit_put);
    break;
  case P_COMMIT:
    if (err == K8SHA_EUNKNOWN_OUTCOME) {
      k8sha__h_set_msg(o, "%s; blob %s is kept", message ? message : "",
               o->uri ? o->uri : "(none)");
      finish(o, err, o->msg);
      return;
    }
    if (err) {
      discard_new(o, err, message);
      return;
    }
    if (o->identical && o->ours && o->uri) {
      /* Our own value is there already: a write of ours landed that was reported as failed.
       * The transport never lets that happen knowingly (an attempt that may have reached the
       * server is an unknown outcome); should it still, the blob is the entry's: it stays, and
       * so does whatever that write replaced or marked (an orphan at worst; retention marks
       * are retried by the next add). */
      k8sha__log(&ctx->rt, K8SHA_LOG_WARN, "store",
                 "entry %s of ConfigMap %s already holds this write's pointer: it landed earlier; "
                 "blob %s is kept",
                 o->key, k8sha__fcm_name(o->s->f), o->uri ? o->uri : "(none)");
      finish(o, 0, NULL);
      return;
    }
    if (o->identical) { /* someone committed the same content meanwhile: ours is not needed */
      discard_new(o, 0, NULL);
      return;
    }
    uri = o->old_value ? k8sha__h_blob_of(ctx, o->old_value) : NULL;
    if (uri && o->value) {
      /* A new value naming the very blob the old one named keeps it. So does a host's opaque
       * value replacing Flink's handle: that blob is one the host wrote, and the new bytes may
       * name it in a form the store cannot read (the delete fails closed; the orphan scan
       * refuses to run while an opaque entry exists, so the kept blob is never reported as
       * unreferenced while it may be referenced). A blob of the store's own compact pointer
       * has a name only the store chose: it goes. */
      char *now = k8sha__h_blob_of(ctx, o->value);
      int host_blob = !now && k8sha__h_form_of(ctx, o->old_value) == K8SHA__VALUE_FLINK;
      if (host_blob || (now && k8sha__h_may_be_same_blob(now, uri))) {
        if (host_blob)
          k8sha__log(&ctx->rt, K8SHA_LOG_INFO, "store",
                     "entry %s of ConfigMap %s now holds host pointer bytes the store cannot "
                     "read; blob %s of the entry they replaced is kept",
                     o->key, k8sha__fcm_name(o->s->f), uri);
        k8sha__free(&ctx->rt.alloc, uri);
        uri = NULL;
      }
      k8sha__free(&ctx->rt.alloc, now);
    }
    if (uri) {
      rc = start_blob(o, P_DELETE_OLD, uri);
      k8sha__free(&ctx->rt.alloc, uri);
      if (rc == 0)
        return;
    }
    o->sub_iter = json_object_iter(o->subsumed);
    subsume_next(o);
    return;
  case P_DISCARD_NEW:
    if (err)
      k8sha__log(&ctx->rt, K8SHA_LOG_WARN, "store", "deleting unreferenced blob %s failed: %s", o->uri,
                 message ? message : k8sha_strerror(err));
    finish(o, o->result, o->msg);
    return;
  case P_DELETE_OLD:
    if (err)
      k8sha__log(&ctx->rt, K8SHA_LOG_WARN, "store",
                 "deleting blob of the replaced entry %s failed (an orphan now): %s", o->key,
                 message ? message : k8sha_strerror(err));
    o->sub_iter = json_object_iter(o->subsumed);
    subsume_next(o);
    return;
  case P_SUBSUME: {
    const char *key = json_object_iter_key(o->sub_iter);
    const char *value = json_string_value(json_object_iter_value(o->sub_iter));
    char *marked = k8sha__value_mark(&ctx->rt.alloc, value);
    if (err)
      k8sha__log(&ctx->rt, K8SHA_LOG_WARN, "store",
                 "deleting the blob of subsumed entry %s failed (the next add retries): %s", key,
                 message ? message : k8sha_strerror(err));
    else if (marked)
      json_object_set_new(o->s->deleted, key, json_string(marked));
    k8sha__free(&ctx->rt.alloc, marked);
    o->sub_iter = json_object_iter_next(o->subsumed, o->sub_iter);
    subsume_next(o);
    return;
  }
  case P_MARK:
    if (err || o->absent) {
      finish(o, err, message);
      return;
    }
    uri = k8sha__h_blob_of(ctx, o->old_value);
    if (uri) {
      rc = start_blob(o, P_BLOB_REMOVE, uri);
      k8sha__free(&ctx->rt.alloc, uri);
      break;
    }
    rc = start_fcm(o, P_DROP, k8sha__h_edit_drop); /* an opaque pointer: its blob is the host's */
    break;
  case P_BLOB_REMOVE:
    if (err) {
      snprintf(o->msg, sizeof(o->msg),
               "deleting the blob of %s failed (%s); the entry stays marked for deletion and "
               "removing it again resumes",
               o->key, message ? message : k8sha_strerror(err));
      finish(o, err, o->msg);
      return;
    }
    rc = start_fcm(o, P_DROP, k8sha__h_edit_drop);
    break;
  case P_DROP:
    finish(o, err, message);
    return;
  case P_READ:
    /* success is handled in on_blob */
    if (err == K8SHA_ENOTFOUND)
      k8sha__h_set_msg(o, "blob %s of entry %s is missing", o->p.uri, o->key);
    else
      k8sha__h_set_msg(o, "reading blob %s of entry %s failed: %s", o->p.uri,
               o->key, message ? message : k8sha_strerror(err));
    unlink_op(o);
    o->got(err, o->msg, NULL, 0, 0, o->user_data);
    op_free(ctx, o);
    return;
  }
  if (rc) {
    k8sha__h_set_msg(o, "%s: cannot continue: %s", o->key, k8sha_strerror(rc));
    if (o->phase == P_COMMIT && o->uri)
      discard_new(o, rc, o->msg);
    else
      finish(o, rc, o->msg);
  }
}

/* ---- starting operations ---- */

static int valid_key(const char *key) {
  return key && k8sha__is_configmap_key(key);
}

static hop *op_new(k8sha__hstore *s, kind k, const char *key, k8sha__hstore_done done,
                   k8sha__hstore_got got, void *user_data) {
  hop *o = k8sha__calloc(&s->ctx->rt.alloc, 1, sizeof(*o));
  if (!o)
    return NULL;
  o->done = done;
  o->got = got;
  o->user_data = user_data;
  o->s = s;
  o->ctx = s->ctx;
  o->alloc = s->ctx->rt.alloc;
  o->kind = k;
  o->key = k8sha__strdup(&s->ctx->rt.alloc, key);
  if (!o->key) {
    k8sha__free(&s->ctx->rt.alloc, o);
    return NULL;
  }
  return o;
}

static int launch(hop *o, phase ph, k8sha__fcm_edit edit) {
  int rc = start_fcm(o, ph, edit);
  if (rc) {
    op_free(o->ctx, o);
    return rc;
  }
  o->next = o->s->ops;
  o->s->ops = o;
  return 0;
}

static int new_blob_uri(k8sha__hstore *s, char **out) {
  unsigned char r[6];
  char hex[13];
  int i;
  if (uv_random(NULL, NULL, r, sizeof(r), 0, NULL) != 0)
    return K8SHA_ESYSTEM;
  for (i = 0; i < 6; i++)
    snprintf(hex + 2 * i, 3, "%02x", r[i]);
  *out = k8sha__asprintf(&s->ctx->rt.alloc, "%s/%s/%s%s", s->ctx->ha.storage_dir,
                         s->ctx->ha.ha_cluster_id, s->blob_kind, hex);
  return *out ? 0 : K8SHA_ENOMEM;
}

/* Copies the retention rule `r` (NULL: none) into `o`. */
static int set_retention(hop *o, const k8sha__retention *r) {
  size_t i;
  if (!r)
    return 0;
  o->retain_prefix = r->prefix;
  o->keep = r->keep;
  if (!r->retire)
    return 0;
  o->retire = json_object();
  for (i = 0; o->retire && i < r->n_retire; i++)
    if (json_object_set_new(o->retire, r->retire[i], json_true()) != 0)
      return K8SHA_ENOMEM;
  return o->retire ? 0 : K8SHA_ENOMEM;
}

static int put_blob(k8sha__hstore *s, kind k, const char *key, const void *data, size_t len,
                    const k8sha__retention *r, k8sha__hstore_done done, void *user_data) {
  hop *o;
  int rc;
  if (!s || !valid_key(key) || (!data && len))
    return K8SHA_EINVAL;
  o = op_new(s, k, key, done, NULL, user_data);
  if (!o)
    return K8SHA_ENOMEM;
  o->len = len;
  o->data = k8sha__malloc(&s->ctx->rt.alloc, len ? len : 1);
  rc = set_retention(o, r);
  if (rc == 0)
    rc = o->data ? new_blob_uri(s, &o->uri) : K8SHA_ENOMEM;
  if (rc == 0 && strlen(o->uri) > K8SHA__POINTER_URI_MAX)
    rc = K8SHA_EINVAL; /* never a pointer to a truncated name (the configuration refuses this) */
  if (rc == 0) {
    if (len)
      memcpy(o->data, data, len);
    snprintf(o->p.uri, sizeof(o->p.uri), "%s", o->uri);
    o->p.size = len;
    o->p.crc = k8sha__crc32c(0, data, len);
    rc = k8sha__pointer_encode(&s->ctx->rt.alloc, &o->p, &o->value);
  }
  if (rc == 0 && (rc = k8sha__blob_pin(s->ctx->storage, o->uri)) == 0)
    o->pinned = 1;
  if (rc) {
    op_free(s->ctx, o);
    return rc;
  }
  return launch(o, P_CHECK, k8sha__h_edit_put);
}

int k8sha__hstore_add(k8sha__hstore *s, const char *key, const void *data, size_t len,
                      k8sha__hstore_done done, void *user_data) {
  return put_blob(s, H_ADD, key, data, len, NULL, done, user_data);
}

int k8sha__hstore_add_retaining(k8sha__hstore *s, const char *key, const void *data, size_t len,
                                int is_pointer, const k8sha__retention *r,
                                k8sha__hstore_done done, void *user_data) {
  if (!r || !r->prefix || (!r->retire && r->keep == 0) || (r->n_retire && !r->retire))
    return K8SHA_EINVAL;
  return is_pointer ? add_pointer(s, H_ADD_POINTER, key, data, len, r, done, user_data)
                    : put_blob(s, H_ADD, key, data, len, r, done, user_data);
}

int k8sha__hstore_replace(k8sha__hstore *s, const char *key, const void *data, size_t len,
                          k8sha__hstore_done done, void *user_data) {
  return put_blob(s, H_REPLACE, key, data, len, NULL, done, user_data);
}

int k8sha__hstore_put(k8sha__hstore *s, const char *key, const void *data, size_t len,
                      k8sha__hstore_done done, void *user_data) {
  return put_blob(s, H_PUT, key, data, len, NULL, done, user_data);
}

int k8sha__hstore_add_pointer(k8sha__hstore *s, const char *key, const void *ptr, size_t len,
                              k8sha__hstore_done done, void *user_data) {
  return add_pointer(s, H_ADD_POINTER, key, ptr, len, NULL, done, user_data);
}

int k8sha__hstore_put_pointer(k8sha__hstore *s, const char *key, const void *ptr, size_t len,
                              k8sha__hstore_done done, void *user_data) {
  return add_pointer(s, H_PUT_POINTER, key, ptr, len, NULL, done, user_data);
}

/* Host pointer bytes that start like a Java serialization stream are taken for Flink's state
 * handle, whose blob the store owns (it deletes it when the entry goes): bytes that start so
 * and are not a handle Flink's grammar reads would be an entry whose blob nobody can name, so
 * they are refused before anything is written. */
static int check_host_pointer(hop *o) {
  k8sha__value_info info;
  char why[160];
  int rc = k8sha__value_describe(&o->ctx->rt.alloc, o->value, &info, why, sizeof(why));
  if (rc == K8SHA_ECORRUPT)
    return k8sha__fail(rc,
                       "pointer bytes for entry %s of ConfigMap %s start like a Java "
                       "serialization stream (0xACED) but are not Flink's state handle: %s; "
                       "nothing was written",
                       o->key, k8sha__fcm_name(o->s->f), why);
  return rc;
}

static int add_pointer(k8sha__hstore *s, kind k, const char *key, const void *ptr, size_t len,
                       const k8sha__retention *r, k8sha__hstore_done done, void *user_data) {
  hop *o;
  int rc;
  if (!s || !valid_key(key) || !ptr || len == 0 || (len >= 3 && memcmp(ptr, "K8P", 3) == 0))
    return K8SHA_EINVAL;
  o = op_new(s, k, key, done, NULL, user_data);
  if (!o)
    return K8SHA_ENOMEM;
  rc = set_retention(o, r);
  if (rc == 0)
    rc = k8sha__base64_encode(&s->ctx->rt.alloc, ptr, len, &o->value);
  if (rc == 0)
    rc = check_host_pointer(o);
  if (rc) {
    op_free(s->ctx, o);
    return rc;
  }
  return launch(o, P_CHECK, k8sha__h_edit_put);
}

int k8sha__hstore_remove(k8sha__hstore *s, const char *key, k8sha__hstore_done done,
                         void *user_data) {
  hop *o;
  if (!s || !valid_key(key))
    return K8SHA_EINVAL;
  o = op_new(s, H_REMOVE, key, done, NULL, user_data);
  if (!o)
    return K8SHA_ENOMEM;
  return launch(o, P_MARK, k8sha__h_edit_mark);
}

int k8sha__hstore_get(k8sha__hstore *s, const char *key, k8sha__hstore_got got, void *user_data) {
  hop *o;
  if (!s || !valid_key(key) || !got)
    return K8SHA_EINVAL;
  o = op_new(s, H_GET, key, NULL, got, user_data);
  if (!o)
    return K8SHA_ENOMEM;
  return launch(o, P_CHECK, k8sha__h_edit_read);
}

/* ---- reads of the cached state ---- */

int k8sha__hstore_exists(const k8sha__hstore *s, const char *key) {
  const char *v = k8sha__h_entry_of(k8sha__fcm_object(s->f), key);
  return v && !k8sha__h_is_marked(s->ctx, v);
}

int k8sha__h_cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(const k8sha__hstore *s, const char *prefix, int marked, char ***keys,
                   size_t *n) {
  json_t *data = json_object_get(k8sha__fcm_object(s->f), "data"), *v;
  const char *key;
  size_t cap = 0, count = 0, plen = prefix ? strlen(prefix) : 0;
  char **out = NULL;

  json_object_foreach(data, key, v) {
    const char *text = json_string_value(v);
    if (!text || strncmp(key, prefix ? prefix : "", plen) != 0 || k8sha__h_is_marked(s->ctx, text) != marked)
      continue;
    if (k8sha__grow(&s->ctx->rt.alloc, (void **)&out, &cap, count + 1, sizeof(*out)) != 0 ||
        !(out[count] = k8sha__strdup(&s->ctx->rt.alloc, key))) {
      k8sha__hstore_keys_free(s, out, count);
      return K8SHA_ENOMEM;
    }
    count++;
  }
  if (count)
    qsort(out, count, sizeof(*out), k8sha__h_cmp_str);
  *keys = out;
  *n = count;
  return 0;
}

int k8sha__hstore_keys(const k8sha__hstore *s, const char *prefix, char ***keys, size_t *n) {
  return collect(s, prefix, 0, keys, n);
}

int k8sha__hstore_marked_keys(const k8sha__hstore *s, const char *prefix, char ***keys,
                              size_t *n) {
  return collect(s, prefix, 1, keys, n);
}

void k8sha__hstore_keys_free(const k8sha__hstore *s, char **keys, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    k8sha__free(&s->ctx->rt.alloc, keys[i]);
  k8sha__free(&s->ctx->rt.alloc, keys);
}

/* ---- the store ---- */

int k8sha__store_open(k8sha_election *e, const char *configmap, const char *blob_kind, int create,
                      k8sha__fcm_done claimed, void *user_data, k8sha__fcm **f,
                      k8sha__hstore **h) {
  int rc = k8sha__fcm_new(e, configmap, f);
  if (rc == 0)
    rc = k8sha__hstore_new(*f, blob_kind, h);
  if (rc == 0)
    rc = k8sha__fcm_claim(*f, create, claimed, user_data);
  return rc;
}

int k8sha__hstore_new(k8sha__fcm *f, const char *blob_kind, k8sha__hstore **out) {
  k8sha_ctx *ctx;
  k8sha__hstore *s;
  if (!f || !blob_kind || !out)
    return K8SHA_EINVAL;
  ctx = k8sha__fcm_ctx(f);
  s = k8sha__calloc(&ctx->rt.alloc, 1, sizeof(*s));
  if (!s)
    return K8SHA_ENOMEM;
  s->f = f;
  s->ctx = ctx;
  s->blob_kind = k8sha__strdup(&ctx->rt.alloc, blob_kind);
  s->deleted = json_object();
  k8sha__retained_init(&s->retained, &ctx->rt.alloc);
  if (!s->blob_kind || !s->deleted) {
    json_decref(s->deleted);
    k8sha__free(&ctx->rt.alloc, s->blob_kind);
    k8sha__free(&ctx->rt.alloc, s);
    return K8SHA_ENOMEM;
  }
  *out = s;
  return 0;
}

static void release_buried(void *arg) {
  op_free(NULL, arg);
}

void k8sha__hstore_free(k8sha__hstore *s) {
  hop *o, *next;
  if (!s)
    return;
  for (o = s->ops; o; o = next) {
    next = o->next;
    if (o->phase == P_BLOB_WRITE || o->phase == P_DISCARD_NEW || o->phase == P_DELETE_OLD ||
        o->phase == P_SUBSUME ||
        o->phase == P_BLOB_REMOVE || o->phase == P_READ) {
      /* The backend still holds it: freed when its completion arrives, or, when the context is
       * freed before that, once the backends are done (the callback never comes then). */
      o->s = NULL;
      (void)k8sha__storage_bury(s->ctx->storage, release_buried, o);
    } else {
      op_free(s->ctx, o);
    }
  }
  json_decref(s->deleted);
  k8sha__retained_clear(&s->retained);
  k8sha__free(&s->ctx->rt.alloc, s->blob_kind);
  k8sha__free(&s->ctx->rt.alloc, s);
}
