/* Internal to the state-handle store (handles.c: the store and the start of its operations;
 * handles_steps.c: an operation's phases; handles_edit.c: what each operation does to the
 * ConfigMap, retention included): the store's object and an operation's. */
#ifndef K8SHA_STORE_HANDLES_PRIV_H
#define K8SHA_STORE_HANDLES_PRIV_H

#include <jansson.h>

#include "k8sha/context.h"
#include "store/handles.h"
#include "store/pointer.h"
#include "store/retained.h"

#define MARKER_LEN (sizeof(K8SHA__DELETING_MARKER) - 1)

typedef enum kind { H_ADD, H_ADD_POINTER, H_PUT_POINTER, H_REPLACE, H_PUT, H_REMOVE, H_GET } kind;
typedef enum phase {
  P_CHECK,       /* a dry run of the edit on the cached state */
  P_BLOB_WRITE,  /* the new blob */
  P_COMMIT,      /* the fenced update */
  P_DISCARD_NEW, /* deleting the new blob after a definite failure */
  P_DELETE_OLD,  /* deleting the blob an update replaced */
  P_SUBSUME,     /* deleting the blobs of entries an add marked (retention) */
  P_MARK,        /* remove: marking the entry */
  P_BLOB_REMOVE, /* remove: deleting its blob */
  P_DROP,        /* remove: dropping the key */
  P_READ         /* get: reading the blob */
} phase;

typedef struct hop {
  struct hop *next;
  k8sha__hstore *s; /* NULL once the store is freed */
  k8sha__env *env;
  k8sha_allocator alloc; /* a copy: a buried op is freed after its context */
  kind kind;
  phase phase;
  char *key;
  void *data; /* add/replace: the state, owned until the blob is written */
  size_t len;
  char *uri;       /* the new blob */
  k8sha__pointer p; /* its pointer */
  char *value;     /* the new value text */
  char *old_value; /* the value replaced or removed (without the marker) */
  int identical, absent, result;
  int ours; /* identical: the entry there is this very value (its blob is this op's) */
  int pinned; /* o->uri is pinned against orphan scans until the outcome is known */
  int no_crc; /* get: the pointer (Flink's handle) gives the blob's size only */
  const char *retain_prefix; /* add with retention: entries with this prefix ... */
  unsigned int keep;         /* ... beyond this many live ones are marked in the same update */
  json_t *retire;            /* or, when set, exactly these keys (key -> true) are */
  json_t *subsumed;          /* key -> value (unmarked) of the entries marked after the edit */
  void *sub_iter;
  char msg[1024];
  k8sha__hstore_done done;
  k8sha__hstore_got got;
  void *user_data;
} hop;

struct k8sha__hstore {
  k8sha__fcm *f;
  k8sha__env *env;
  char *blob_kind;
  hop *ops;        /* everything started and not finished */
  json_t *deleted; /* key -> marked value whose blob this store deleted: dropped by a later add */
  k8sha__retained retained; /* the retained entries, for retention at each add */
};

int k8sha__h_cmp_str(const void *a, const void *b);

/* ---- handles_steps.c ---- */

void k8sha__h_set_msg(hop *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Starts a new operation at its first phase, an update with `edit`; on error it is freed. */
int k8sha__h_launch(hop *o, phase ph, k8sha__fcm_edit edit);
/* Frees an operation (env NULL: one buried after its context, nothing to unpin). */
void k8sha__h_op_free(k8sha__env *env, hop *o);

/* ---- handles_edit.c ---- */

/* The value of `key` in obj's data, or NULL. */
const char *k8sha__h_entry_of(json_t *obj, const char *key);
/* 1 when the value carries the deletion marker, 0 when not, K8SHA_ENOMEM when that could not be
 * found out (k8sha__value_is_marked). */
int k8sha__h_is_marked(k8sha__env *env, const char *v);
/* The blob a value points to, in *uri (allocated; NULL for a host's own bytes or an unreadable
 * value). 0 or K8SHA_ENOMEM. */
int k8sha__h_blob_of(k8sha__env *env, const char *value, char **uri);
/* Whether two blob URIs may name one blob (1 when it cannot be told: a delete fails closed). */
int k8sha__h_may_be_same_blob(const char *a, const char *b);
/* Retention at an add: marks what goes beyond the retained count, in `changes`. */
int k8sha__h_retain(hop *o, json_t *obj, json_t *changes);
/* The fenced ConfigMap edits of the operations (election/fenced.h). */
int k8sha__h_edit_put(json_t *obj, json_t *changes, void *ud, char *msg, size_t n);
int k8sha__h_edit_mark(json_t *obj, json_t *changes, void *ud, char *msg, size_t n);
int k8sha__h_edit_drop(json_t *obj, json_t *changes, void *ud, char *msg, size_t n);
int k8sha__h_edit_read(json_t *obj, json_t *changes, void *ud, char *msg, size_t n);

#endif
