/*
 * libk8sha-jni: the checkpoint store, the job-graph store, cleanup tasks and orphan scans.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

typedef struct jstore {
  jctx *c;
  k8sha_checkpoint_store *s;
  jop *ops;
} jstore;

typedef struct jgraphs {
  jctx *c;
  k8sha_jobgraph_store *s;
  jop *ops;
} jgraphs;

/* ---- checkpoint store ---- */

/* A checkpoint as Java sees it (a local reference in the caller's frame). */
static jobject checkpoint_of(JNIEnv *env, const k8sha_checkpoint *cp) {
  jbyteArray data = NULL;
  jstring message;
  jobject o;
  if (cp->status == 0) {
    data = (*env)->NewByteArray(env, (jsize)cp->len);
    if (!data || (*env)->ExceptionCheck(env))
      return NULL;
    if (cp->len)
      (*env)->SetByteArrayRegion(env, data, 0, (jsize)cp->len, (const jbyte *)cp->data);
  }
  message = jstr(env, cp->message);
  if ((*env)->ExceptionCheck(env))
    return NULL;
  o = (*env)->NewObject(env, checkpoint_cls, m_checkpoint_init, (jlong)cp->id, (jint)cp->status,
                        message, data, cp->is_pointer ? JNI_TRUE : JNI_FALSE);
  return (*env)->ExceptionCheck(env) ? NULL : o;
}

/* The completion of an operation of a store, with its value built by `make` (or null). */
static void store_done(k8sha_checkpoint_store *s, jop *o, int status,
                       jobject (*make)(JNIEnv *env, const void *arg), const void *arg) {
  JNIEnv *env = loop_env();
  jobject value = NULL;
  if (!env || (*env)->PushLocalFrame(env, 16) != 0) {
    op_finish(NULL, o, status, NULL, NULL);
    return;
  }
  if (make) {
    value = make(env, arg);
    if ((*env)->ExceptionCheck(env)) { /* (an OutOfMemoryError building it) */
      clear_exception(env, "building a result");
      value = NULL;
      status = status ? status : K8SHA_ENOMEM;
    }
  }
  op_finish(env, o, status, status ? k8sha_checkpoint_store_last_error(s) : NULL, value);
  (*env)->PopLocalFrame(env, NULL);
}

static void on_store_done(k8sha_checkpoint_store *s, int status, void *ud) {
  store_done(s, ud, status, NULL, NULL);
}

static jobject make_long(JNIEnv *env, const void *arg) {
  jobject v = (*env)->CallStaticObjectMethod(env, long_cls, m_long_value_of, *(const jlong *)arg);
  return (*env)->ExceptionCheck(env) ? NULL : v;
}

static void on_counter(k8sha_checkpoint_store *s, int status, uint64_t value, void *ud) {
  jlong v = (jlong)value;
  store_done(s, ud, status, status ? NULL : make_long, &v);
}

static void on_committed(k8sha_checkpoint_store *s, int status, uint64_t id, void *ud) {
  jlong v = (jlong)id;
  store_done(s, ud, status, status ? NULL : make_long, &v);
}

typedef struct recovered {
  const k8sha_checkpoint *const *list;
  size_t n;
} recovered;

static jobject make_list(JNIEnv *env, const void *arg) {
  const recovered *r = arg;
  jobjectArray a = (*env)->NewObjectArray(env, (jsize)r->n, checkpoint_cls, NULL);
  size_t i;
  if (!a || (*env)->ExceptionCheck(env))
    return NULL;
  for (i = 0; i < r->n; i++) {
    jobject cp = checkpoint_of(env, r->list[i]);
    if (!cp)
      return NULL;
    (*env)->SetObjectArrayElement(env, a, (jsize)i, cp);
    (*env)->DeleteLocalRef(env, cp);
  }
  return a;
}

static void on_recovered(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *const *list,
                         size_t n, void *ud) {
  recovered r = {list, n};
  store_done(s, ud, status, status ? NULL : make_list, &r);
}

static jobject make_one(JNIEnv *env, const void *arg) {
  return checkpoint_of(env, arg);
}

static void on_latest(k8sha_checkpoint_store *s, int status, const k8sha_checkpoint *latest,
                      size_t skipped, void *ud) {
  (void)skipped;
  store_done(s, ud, status, status || !latest ? NULL : make_one, latest);
}

enum {
  CP_OPEN, CP_ADD, CP_ADD_POINTER, CP_RECOVER, CP_RECOVER_LATEST, CP_COMMIT, CP_COUNTER_GET,
  CP_COUNTER_NEXT, CP_COUNTER_SET, CP_SHUTDOWN, CP_ADD_RETIRING, CP_ADD_POINTER_RETIRING
};

/* The ids an add retires (CP_ADD_RETIRING: the call's `out`). */
typedef struct retire_list {
  uint64_t *ids;
  size_t n;
} retire_list;

static int do_store(call *c) {
  jstore *js = c->obj;
  k8sha_checkpoint_store *s = js->s;
  jop *o = c->op;
  int rc;
  switch (c->i) {
  case CP_OPEN:
    rc = k8sha_checkpoint_store_open(&js->s, (k8sha_election *)c->out, c->s1, on_store_done, o);
    break;
  case CP_ADD:
    rc = k8sha_checkpoint_add(s, c->n, c->data, c->len, on_store_done, o);
    break;
  case CP_ADD_POINTER:
    rc = k8sha_checkpoint_add_pointer(s, c->n, c->data, c->len, on_store_done, o);
    break;
  case CP_ADD_RETIRING:
  case CP_ADD_POINTER_RETIRING: {
    const retire_list *retire = c->out;
    rc = (c->i == CP_ADD_RETIRING ? k8sha_checkpoint_add_retiring
                                  : k8sha_checkpoint_add_pointer_retiring)(
        s, c->n, c->data, c->len, retire->ids, retire->n, on_store_done, o);
    break;
  }
  case CP_RECOVER:
    rc = k8sha_checkpoint_recover(s, on_recovered, o);
    break;
  case CP_RECOVER_LATEST:
    rc = k8sha_checkpoint_recover_latest(s, on_latest, o);
    break;
  case CP_COMMIT:
    rc = k8sha_checkpoint_commit(s, c->data, c->len, on_committed, o);
    break;
  case CP_COUNTER_GET:
    rc = k8sha_checkpoint_counter_get(s, on_counter, o);
    break;
  case CP_COUNTER_NEXT:
    rc = k8sha_checkpoint_counter_get_and_increment(s, on_counter, o);
    break;
  case CP_COUNTER_SET:
    rc = k8sha_checkpoint_counter_set(s, c->n, on_store_done, o);
    break;
  default:
    rc = k8sha_checkpoint_store_shutdown(s, c->n ? K8SHA_JOB_GLOBALLY_TERMINAL : K8SHA_JOB_SUSPENDED,
                                         on_store_done, o);
    break;
  }
  if (rc == 0)
    op_link(&js->ops, o);
  return rc;
}

static jlong n_store_open(JNIEnv *env, jclass cls, jlong election, jstring job_id,
                          jobject future) {
  jelection *je = P(jelection, election);
  jstore *js = calloc(1, sizeof(*js));
  int oom = 0;
  char *job = cstr(env, job_id, &oom);
  call c;
  (void)cls;
  if (!js || oom) {
    free(js);
    free(job);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  js->c = je->b.c;
  memset(&c, 0, sizeof(c));
  c.fn = do_store;
  c.obj = js;
  c.i = CP_OPEN;
  c.s1 = job;
  c.out = je->e;
  c.op = op_new(env, future);
  if (!c.op) {
    free(js);
    free(job);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  if (on_loop(env, js->c->ctx, &c)) {
    gunref(env, c.op->future);
    free(c.op);
    free(js);
    js = NULL;
  }
  free(job);
  return H(js);
}

static void store_call(JNIEnv *env, jlong h, int what, uint64_t n, jbyteArray bytes,
                       retire_list *retire, jobject future) {
  jstore *js = P(jstore, h);
  call c;
  memset(&c, 0, sizeof(c));
  c.fn = do_store;
  c.obj = js;
  c.i = what;
  c.n = n;
  c.out = retire;
  if (bytes) {
    /* (the store copies what it keeps: the bytes live until the call returns) */
    c.len = (size_t)(*env)->GetArrayLength(env, bytes);
    c.data = malloc(c.len ? c.len : 1);
    if (!c.data) {
      throw_k8sha(env, K8SHA_ENOMEM, NULL);
      return;
    }
    (*env)->GetByteArrayRegion(env, bytes, 0, (jsize)c.len, c.data);
  }
  start_op(env, js->c->ctx, &c, future);
  free(c.data);
}

static void n_store_call(JNIEnv *env, jclass cls, jlong h, jint what, jlong n, jbyteArray bytes,
                         jobject future) {
  (void)cls;
  if (what <= CP_OPEN || what > CP_SHUTDOWN) {
    throw_k8sha(env, K8SHA_EINVAL, "no such checkpoint store operation");
    return;
  }
  store_call(env, h, what, (uint64_t)n, bytes, NULL, future);
}

static void n_store_add_retiring(JNIEnv *env, jclass cls, jlong h, jlong id, jbyteArray state,
                                 jboolean pointer, jlongArray retire, jobject future) {
  retire_list list;
  jlong *ids;
  size_t i;
  (void)cls;
  list.n = (size_t)(*env)->GetArrayLength(env, retire);
  ids = malloc((list.n ? list.n : 1) * sizeof(*ids));
  list.ids = malloc((list.n ? list.n : 1) * sizeof(*list.ids));
  if (!ids || !list.ids) {
    free(ids);
    free(list.ids);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return;
  }
  (*env)->GetLongArrayRegion(env, retire, 0, (jsize)list.n, ids);
  for (i = 0; i < list.n; i++)
    list.ids[i] = (uint64_t)ids[i];
  free(ids);
  store_call(env, h, pointer ? CP_ADD_POINTER_RETIRING : CP_ADD_RETIRING, (uint64_t)id, state,
             &list, future);
  free(list.ids);
}

static int do_store_free(call *c) {
  jstore *js = c->obj;
  ops_cancel(&js->ops);
  k8sha_checkpoint_store_free(js->s);
  free(js);
  return 0;
}

static void n_store_free(JNIEnv *env, jclass cls, jlong h) {
  jstore *js = P(jstore, h);
  (void)cls;
  loop_call(env, js->c->ctx, do_store_free, js);
}

static int do_store_configmap(call *c) {
  const char *name = k8sha_checkpoint_store_configmap(((jstore *)c->obj)->s);
  snprintf(c->err, sizeof(c->err), "%s", name ? name : "");
  return 0;
}

static jstring n_store_configmap(JNIEnv *env, jclass cls, jlong h) {
  jstore *js = P(jstore, h);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_store_configmap;
  c.obj = js;
  if (on_loop(env, js->c->ctx, &c))
    return NULL;
  return jstr(env, c.err);
}

/* ---- job-graph store ---- */

static void graphs_done(k8sha_jobgraph_store *s, jop *o, int status, const void *graph,
                        size_t len, int has_value) {
  JNIEnv *env = loop_env();
  jobject value = NULL;
  if (!env || (*env)->PushLocalFrame(env, 8) != 0) {
    op_finish(NULL, o, status, NULL, NULL);
    return;
  }
  if (status == 0 && has_value) {
    jbyteArray a = (*env)->NewByteArray(env, (jsize)len);
    if (a && !(*env)->ExceptionCheck(env)) {
      if (len)
        (*env)->SetByteArrayRegion(env, a, 0, (jsize)len, (const jbyte *)graph);
      value = a;
    } else {
      clear_exception(env, "building a result");
      status = K8SHA_ENOMEM;
    }
  }
  op_finish(env, o, status, status ? k8sha_jobgraph_store_last_error(s) : NULL, value);
  (*env)->PopLocalFrame(env, NULL);
}

static void on_graphs_done(k8sha_jobgraph_store *s, int status, void *ud) {
  graphs_done(s, ud, status, NULL, 0, 0);
}

static void on_graph_got(k8sha_jobgraph_store *s, int status, const void *graph, size_t len,
                         void *ud) {
  graphs_done(s, ud, status, graph, len, 1);
}

enum { JG_OPEN, JG_PUT, JG_GET, JG_REMOVE, JG_PUT_POINTER };

static int do_graphs(call *c) {
  jgraphs *jg = c->obj;
  int rc;
  switch (c->i) {
  case JG_OPEN:
    rc = k8sha_jobgraph_store_open_kind(&jg->s, (k8sha_election *)c->out, (k8sha_graph_kind)c->n,
                                        on_graphs_done, c->op);
    break;
  case JG_PUT:
    rc = k8sha_jobgraph_put(jg->s, c->s1, c->data, c->len, on_graphs_done, c->op);
    break;
  case JG_GET:
    rc = k8sha_jobgraph_get(jg->s, c->s1, on_graph_got, c->op);
    break;
  case JG_PUT_POINTER:
    rc = k8sha_jobgraph_put_pointer(jg->s, c->s1, c->data, c->len, on_graphs_done, c->op);
    break;
  default:
    rc = k8sha_jobgraph_remove(jg->s, c->s1, on_graphs_done, c->op);
    break;
  }
  if (rc == 0)
    op_link(&jg->ops, c->op);
  return rc;
}

static jlong n_graphs_open(JNIEnv *env, jclass cls, jlong election, jint kind, jobject future) {
  jelection *je = P(jelection, election);
  jgraphs *jg = calloc(1, sizeof(*jg));
  call c;
  (void)cls;
  if (!jg) {
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  jg->c = je->b.c;
  memset(&c, 0, sizeof(c));
  c.fn = do_graphs;
  c.obj = jg;
  c.i = JG_OPEN;
  c.n = (uint64_t)(uint32_t)kind;
  c.out = je->e;
  start_op(env, jg->c->ctx, &c, future);
  if ((*env)->ExceptionCheck(env)) {
    free(jg);
    return 0;
  }
  return H(jg);
}

static void n_graphs_call(JNIEnv *env, jclass cls, jlong h, jint what, jstring job_id,
                          jbyteArray bytes, jobject future) {
  jgraphs *jg = P(jgraphs, h);
  int oom = 0;
  char *job = cstr(env, job_id, &oom);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_graphs;
  c.obj = jg;
  c.i = what;
  c.s1 = job;
  if (what <= JG_OPEN || what > JG_PUT_POINTER) {
    throw_k8sha(env, K8SHA_EINVAL, "no such job-graph store operation");
  } else if (oom) {
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
  } else {
    if (bytes) {
      c.len = (size_t)(*env)->GetArrayLength(env, bytes);
      c.data = malloc(c.len ? c.len : 1);
      if (c.data)
        (*env)->GetByteArrayRegion(env, bytes, 0, (jsize)c.len, c.data);
    }
    if (bytes && !c.data)
      throw_k8sha(env, K8SHA_ENOMEM, NULL);
    else
      start_op(env, jg->c->ctx, &c, future);
  }
  free(c.data);
  free(job);
}

/* The ids come back through c.out as a malloc'd array of malloc'd strings. */
typedef struct id_list {
  char **ids;
  size_t n;
} id_list;

static int do_graph_ids(call *c) {
  jgraphs *jg = c->obj;
  id_list *l = c->out;
  char **ids = NULL;
  size_t n = 0, i;
  int rc = k8sha_jobgraph_ids(jg->s, &ids, &n);
  if (rc)
    return rc;
  l->ids = calloc(n ? n : 1, sizeof(char *));
  for (i = 0; l->ids && i < n; i++)
    l->ids[i] = strdup(ids[i]);
  l->n = l->ids ? n : 0;
  k8sha_jobgraph_ids_free(jg->s, ids, n);
  return l->ids ? 0 : K8SHA_ENOMEM;
}

static jobjectArray n_graphs_ids(JNIEnv *env, jclass cls, jlong h) {
  jgraphs *jg = P(jgraphs, h);
  id_list l = {NULL, 0};
  jobjectArray out = NULL;
  size_t i;
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_graph_ids;
  c.obj = jg;
  c.out = &l;
  if (on_loop(env, jg->c->ctx, &c) == 0) {
    out = (*env)->NewObjectArray(env, (jsize)l.n, string_cls, NULL);
    for (i = 0; out && !(*env)->ExceptionCheck(env) && i < l.n; i++) {
      jstring id = l.ids[i] ? jstr(env, l.ids[i]) : NULL;
      if (!id || (*env)->ExceptionCheck(env))
        break;
      (*env)->SetObjectArrayElement(env, out, (jsize)i, id);
      (*env)->DeleteLocalRef(env, id);
    }
  }
  for (i = 0; i < l.n; i++)
    free(l.ids[i]);
  free(l.ids);
  return (*env)->ExceptionCheck(env) ? NULL : out;
}

static int do_graphs_free(call *c) {
  jgraphs *jg = c->obj;
  ops_cancel(&jg->ops);
  k8sha_jobgraph_store_free(jg->s);
  free(jg);
  return 0;
}

static void n_graphs_free(JNIEnv *env, jclass cls, jlong h) {
  jgraphs *jg = P(jgraphs, h);
  (void)cls;
  loop_call(env, jg->c->ctx, do_graphs_free, jg);
}

/* ---- cleanup and orphan scans ---- */

/* A task run for Java: what it found, collected on the loop thread, handed over at the end. A
 * task always ends (its context cannot be freed before: K8SHA_EBUSY), so its future always
 * completes. */
typedef struct jtask {
  jop *op;
  size_t n, cap;
  int *kinds;
  char **names;
  int oom;
} jtask;

static void jtask_free(jtask *t) {
  size_t i;
  for (i = 0; i < t->n; i++)
    free(t->names[i]);
  free(t->names);
  free(t->kinds);
  free(t);
}

static void on_task_found(k8sha_found_kind kind, const char *name, void *ud) {
  jtask *t = ud;
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    int *k = realloc(t->kinds, cap * sizeof(*k));
    char **nm = k ? realloc(t->names, cap * sizeof(*nm)) : NULL;
    if (k)
      t->kinds = k;
    if (!nm) {
      t->oom = 1;
      return;
    }
    t->names = nm;
    t->cap = cap;
  }
  if (!(t->names[t->n] = strdup(name ? name : ""))) {
    t->oom = 1;
    return;
  }
  t->kinds[t->n++] = (int)kind;
}

static void on_task_done(int status, const char *message, void *ud) {
  jtask *t = ud;
  JNIEnv *env = loop_env();
  jobjectArray out = NULL;
  size_t i;
  if (!env || (*env)->PushLocalFrame(env, 16) != 0) {
    op_finish(NULL, t->op, status, NULL, NULL);
    jtask_free(t);
    return;
  }
  if (status == 0 && t->oom) {
    status = K8SHA_ENOMEM;
    message = "out of memory collecting what the task found (it ran to its end)";
  }
  if (status == 0) {
    out = (*env)->NewObjectArray(env, (jsize)t->n, found_cls, NULL);
    for (i = 0; out && !(*env)->ExceptionCheck(env) && i < t->n; i++) {
      jstring name = jstr(env, t->names[i]);
      jobject f = (*env)->ExceptionCheck(env)
                      ? NULL
                      : (*env)->NewObject(env, found_cls, m_found_init, (jint)t->kinds[i], name);
      if (!f || (*env)->ExceptionCheck(env))
        break;
      (*env)->SetObjectArrayElement(env, out, (jsize)i, f);
      (*env)->DeleteLocalRef(env, f);
      (*env)->DeleteLocalRef(env, name);
    }
    if ((*env)->ExceptionCheck(env)) {
      clear_exception(env, "building a result");
      out = NULL;
      status = K8SHA_ENOMEM;
      message = "out of memory building the result in the JVM";
    }
  }
  op_finish(env, t->op, status, message, out);
  (*env)->PopLocalFrame(env, NULL);
  jtask_free(t);
}

enum { TASK_JOB, TASK_CLUSTER, TASK_ORPHANS };

static int do_task(call *c) {
  k8sha_ctx *ctx = ((jctx *)c->obj)->ctx;
  k8sha_election *leader = c->out ? ((jelection *)c->out)->e : NULL;
  unsigned int flags = c->n ? K8SHA_CLEANUP_DRY_RUN : 0;
  jtask *t = c->data;
  switch (c->i) {
  case TASK_JOB:
    return k8sha_cleanup_job(ctx, leader, c->s1, flags, on_task_found, on_task_done, t);
  case TASK_CLUSTER:
    return k8sha_cleanup_cluster(ctx, flags, on_task_found, on_task_done, t);
  default:
    return k8sha_orphans_scan(ctx, leader, on_task_found, on_task_done, t);
  }
}

static void n_task(JNIEnv *env, jclass cls, jlong ctx, jlong election, jint kind, jstring job_id,
                   jboolean dry_run, jobject future) {
  jctx *jc = P(jctx, ctx);
  jtask *t = calloc(1, sizeof(*t));
  int oom = 0;
  char *job = cstr(env, job_id, &oom);
  call c;
  (void)cls;
  if (!t || oom || !(t->op = op_new(env, future))) {
    free(t);
    free(job);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return;
  }
  memset(&c, 0, sizeof(c));
  c.fn = do_task;
  c.obj = jc;
  c.out = P(jelection, election);
  c.i = kind;
  c.s1 = job;
  c.n = dry_run ? 1 : 0;
  c.data = t;
  if (on_loop(env, jc->ctx, &c)) {
    gunref(env, t->op->future);
    free(t->op);
    jtask_free(t);
  }
  free(job);
}

/* ---- registration ---- */

const JNINativeMethod k8sha_jni_stores_natives[] = {
    {"storeOpen", "(JLjava/lang/String;Ljava/util/concurrent/CompletableFuture;)J",
     (void *)n_store_open},
    {"storeCall", "(JIJ[BLjava/util/concurrent/CompletableFuture;)V", (void *)n_store_call},
    {"storeAddRetiring", "(JJ[BZ[JLjava/util/concurrent/CompletableFuture;)V",
     (void *)n_store_add_retiring},
    {"storeFree", "(J)V", (void *)n_store_free},
    {"storeConfigMap", "(J)Ljava/lang/String;", (void *)n_store_configmap},
    {"graphsOpen", "(JILjava/util/concurrent/CompletableFuture;)J", (void *)n_graphs_open},
    {"graphsCall", "(JILjava/lang/String;[BLjava/util/concurrent/CompletableFuture;)V",
     (void *)n_graphs_call},
    {"graphsIds", "(J)[Ljava/lang/String;", (void *)n_graphs_ids},
    {"graphsFree", "(J)V", (void *)n_graphs_free},
    {"task", "(JJILjava/lang/String;ZLjava/util/concurrent/CompletableFuture;)V", (void *)n_task},
};
const int k8sha_jni_stores_count = (int)(sizeof(k8sha_jni_stores_natives) / sizeof(k8sha_jni_stores_natives[0]));
