/* Internal to fenced ConfigMaps (election/fenced.h): fenced.c holds the object, its queue of
 * operations, their completion and the conflict backoff; fenced_lock.c the lock's own ConfigMap;
 * fenced_term.c any other ConfigMap, claimed with our term. The object and an operation. */
#ifndef K8SHA_ELECTION_FENCED_PRIV_H
#define K8SHA_ELECTION_FENCED_PRIV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/life.h"
#include "core/timer.h"
#include "election/elector.h"
#include "election/fenced.h"
#include "election/lock.h"
#include "kube/client.h"

typedef enum op_kind { OP_CLAIM, OP_UPDATE, OP_DELETE } op_kind;

typedef struct op {
  struct op *next;
  op_kind kind;
  int create;
  k8sha__fcm_edit edit;
  void *edit_data;
  k8sha__fcm_done done;
  void *user_data;
} op;

struct k8sha__fcm {
  k8sha__election_link link; /* to e; e is NULL once the host freed the election */
  k8sha__env *env;
  k8sha_election *e;
  uint64_t term;
  char session[40]; /* the leadership's session, stamped beside the term */
  char *name, *path, *collection;
  k8sha__lock *lock; /* set when this is the lock's own ConfigMap */
  json_t *obj;       /* other objects: the state as of our last read or write */
  size_t size;       /* bytes of obj's data (k8sha__configmap_data_size) */
  json_t *sent;      /* the data changes of the write under way */
  uint64_t gen;      /* changes with every change of obj (k8sha__fcm_generation) */
  json_t *last;      /* the changes of our write that made obj's generation, or NULL */
  int patching;      /* the request under way is a merge patch */
  int put_only;      /* the server refused a patch (a Role without the verb): whole objects */
  int known;         /* obj reflects the server (NULL: absent) */
  int claimed;
  int verified;      /* the lock, read after obj, named this leadership */
  op *head, *tail;
  int running;
  unsigned int conflicts;
  k8sha__req *req;
  k8sha__lock *req_lock; /* req is this lock's read (needs_verify), else NULL */
  k8sha__timer *kick; /* starts the next step: at once, or after a conflict's backoff */
  k8sha__life life; /* the lifetime rule (core/life.h): a completion holds a reference */
};

/* ---- fenced.c ---- */

/* Ends the operation at the head of the queue: its callback gets `err` and the message (none
 * when fmt is NULL); the next operation starts on a later loop turn. */
void k8sha__fcm_finish(k8sha__fcm *f, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A conflict: read again (after a jittered pause) and repeat, or give up. */
void k8sha__fcm_conflict(k8sha__fcm *f, const char *message);
/* Runs the operation at the head of the queue on from where it is (the leadership checked). */
void k8sha__fcm_step(k8sha__fcm *f);
/* The size of obj's data (`size` now) once `changes` apply. */
size_t k8sha__fcm_data_size_after(json_t *obj, size_t size, json_t *changes);
/* Applies an edit's changes to obj's data: 0 or K8SHA_ENOMEM. */
int k8sha__fcm_apply_changes(json_t *obj, json_t *changes);
/* K8SHA_ETOOLARGE (with msg) when data of `size` bytes would pass Kubernetes' limit, else 0. */
int k8sha__fcm_size_check(const k8sha__fcm *f, size_t size, char *msg, size_t n);

/* ---- fenced_lock.c: the lock's own ConfigMap ---- */

/* The step of the operation under way, on the lock's state: its holder must be us in our term. */
void k8sha__fcm_step_lock(k8sha__fcm *f);

/* ---- fenced_term.c: other ConfigMaps, claimed with our term ---- */

/* The step of the operation under way: read, claim, update or delete, fenced by our term. */
void k8sha__fcm_step_term(k8sha__fcm *f);

#endif
