/* The state-handle store: blobs first, pointers second, removal in three resumable steps. The
 * store and its reads, and each operation's start; handles_steps.c runs an operation's phases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/base64.h"
#include "election/env.h"
#include "core/fail.h"
#include "k8sha/errors.h"
#include "core/k8s_names.h"
#include "storage/storage.h"
#include "storage/uri.h"
#include "store/handles.h"
#include "store/handles_priv.h"
#include "store/pointer.h"
#include "store/retained.h"

static int add_pointer(k8sha__hstore *s, kind k, const char *key, const void *ptr, size_t len,
                       const k8sha__retention *r, k8sha__hstore_done done, void *user_data);

/* ---- starting operations ---- */

static int valid_key(const char *key) {
  return key && k8sha__is_configmap_key(key);
}

static hop *op_new(k8sha__hstore *s, kind k, const char *key, k8sha__hstore_done done,
                   k8sha__hstore_got got, void *user_data) {
  hop *o = k8sha__calloc(&s->env->rt->alloc, 1, sizeof(*o));
  if (!o)
    return NULL;
  o->done = done;
  o->got = got;
  o->user_data = user_data;
  o->s = s;
  o->env = s->env;
  o->alloc = s->env->rt->alloc;
  o->kind = k;
  o->key = k8sha__strdup(&s->env->rt->alloc, key);
  if (!o->key) {
    k8sha__free(&s->env->rt->alloc, o);
    return NULL;
  }
  return o;
}


static int new_blob_uri(k8sha__hstore *s, char **out) {
  unsigned char r[6];
  char hex[13];
  int i;
  if (uv_random(NULL, NULL, r, sizeof(r), 0, NULL) != 0)
    return K8SHA_ESYSTEM;
  for (i = 0; i < 6; i++)
    snprintf(hex + 2 * i, 3, "%02x", r[i]);
  *out = k8sha__asprintf(&s->env->rt->alloc, "%s/%s/%s%s", s->env->ha->storage_dir,
                         s->env->ha->ha_cluster_id, s->blob_kind, hex);
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
  o->data = k8sha__malloc(&s->env->rt->alloc, len ? len : 1);
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
    rc = k8sha__pointer_encode(&s->env->rt->alloc, &o->p, &o->value);
  }
  if (rc == 0 && (rc = k8sha__blob_pin(s->env->storage, o->uri)) == 0)
    o->pinned = 1;
  if (rc) {
    k8sha__h_op_free(s->env, o);
    return rc;
  }
  return k8sha__h_launch(o, P_CHECK, k8sha__h_edit_put);
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
  int rc = k8sha__value_describe(&o->env->rt->alloc, o->value, &info, why, sizeof(why));
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
    rc = k8sha__base64_encode(&s->env->rt->alloc, ptr, len, &o->value);
  if (rc == 0)
    rc = check_host_pointer(o);
  if (rc) {
    k8sha__h_op_free(s->env, o);
    return rc;
  }
  return k8sha__h_launch(o, P_CHECK, k8sha__h_edit_put);
}

int k8sha__hstore_remove(k8sha__hstore *s, const char *key, k8sha__hstore_done done,
                         void *user_data) {
  hop *o;
  if (!s || !valid_key(key))
    return K8SHA_EINVAL;
  o = op_new(s, H_REMOVE, key, done, NULL, user_data);
  if (!o)
    return K8SHA_ENOMEM;
  return k8sha__h_launch(o, P_MARK, k8sha__h_edit_mark);
}

int k8sha__hstore_get(k8sha__hstore *s, const char *key, k8sha__hstore_got got, void *user_data) {
  hop *o;
  if (!s || !valid_key(key) || !got)
    return K8SHA_EINVAL;
  o = op_new(s, H_GET, key, NULL, got, user_data);
  if (!o)
    return K8SHA_ENOMEM;
  return k8sha__h_launch(o, P_CHECK, k8sha__h_edit_read);
}

/* ---- reads of the cached state ---- */

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
    int m = text ? k8sha__h_is_marked(s->env, text) : 0;
    if (m < 0) {
      k8sha__hstore_keys_free(s, out, count);
      return m;
    }
    if (!text || strncmp(key, prefix ? prefix : "", plen) != 0 || m != marked)
      continue;
    if (k8sha__grow(&s->env->rt->alloc, (void **)&out, &cap, count + 1, sizeof(*out)) != 0 ||
        !(out[count] = k8sha__strdup(&s->env->rt->alloc, key))) {
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
    k8sha__free(&s->env->rt->alloc, keys[i]);
  k8sha__free(&s->env->rt->alloc, keys);
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
  k8sha__env *env;
  k8sha__hstore *s;
  if (!f || !blob_kind || !out)
    return K8SHA_EINVAL;
  env = k8sha__fcm_env(f);
  s = k8sha__calloc(&env->rt->alloc, 1, sizeof(*s));
  if (!s)
    return K8SHA_ENOMEM;
  s->f = f;
  s->env = env;
  s->blob_kind = k8sha__strdup(&env->rt->alloc, blob_kind);
  s->deleted = json_object();
  k8sha__retained_init(&s->retained, &env->rt->alloc);
  if (!s->blob_kind || !s->deleted) {
    json_decref(s->deleted);
    k8sha__free(&env->rt->alloc, s->blob_kind);
    k8sha__free(&env->rt->alloc, s);
    return K8SHA_ENOMEM;
  }
  *out = s;
  return 0;
}

static void release_buried(void *arg) {
  k8sha__h_op_free(NULL, arg);
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
      (void)k8sha__storage_bury(s->env->storage, release_buried, o);
    } else {
      k8sha__h_op_free(s->env, o);
    }
  }
  json_decref(s->deleted);
  k8sha__retained_clear(&s->retained);
  k8sha__free(&s->env->rt->alloc, s->blob_kind);
  k8sha__free(&s->env->rt->alloc, s);
}
