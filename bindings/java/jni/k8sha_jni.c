/*
 * libk8sha-jni: the JNI shim beneath the Java API (io.libk8sha).
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 *
 * Every context runs on the library's own loop thread. A Java call that touches the loop packs its
 * arguments, runs a small function there with k8sha_ctx_call() (the calling Java thread waits for
 * it, never for the operation) and returns; the operation's completion, on the loop thread, hands
 * its result to Java (io.libk8sha.Native.complete / electionEvent), which completes the
 * CompletableFuture or runs the listener on a Java executor: no Java code of the user's runs on
 * the loop thread, so none can stall a renewal.
 *
 * Rules kept here:
 *  - natives are registered in JNI_OnLoad; classes and method IDs are looked up once;
 *  - the loop thread is attached as a daemon the first time it calls Java and detached when it
 *    ends (a thread-specific key's destructor); every callback into Java runs in its own local
 *    frame (an attached native thread never returns to Java to free local references);
 *  - every global reference is counted (Native.globalRefs(), for the tests) and released: a
 *    pending operation's future when it completes, or, if its object is closed first, then (the
 *    future fails with K8SHA_ECANCELED "closed");
 *  - a Java exception raised while calling Java from the loop thread is described and cleared,
 *    never left pending; after JNI_OnUnload nothing calls into the JVM.
 */
#include <jni.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <k8sha.h>

#define CLS "io/libk8sha/"

static JavaVM *vm;
static atomic_int unloaded;
static atomic_long global_refs;
static pthread_key_t detach_key;

static jclass native_cls, exception_cls, checkpoint_cls, diagnostic_cls, long_cls;
static jclass string_cls, bridge_cls, found_cls;
static jmethodID m_found_init;
static jmethodID m_bridge_call, m_watch_event;
static jmethodID m_complete, m_election_event, m_retriever_event, m_exception_init,
    m_checkpoint_init, m_diagnostic_init, m_long_value_of;

/* ---- references and the loop thread's JNIEnv ---- */

static jobject gref(JNIEnv *env, jobject o) {
  jobject g = o ? (*env)->NewGlobalRef(env, o) : NULL;
  if (g)
    atomic_fetch_add(&global_refs, 1);
  return g;
}

static void gunref(JNIEnv *env, jobject g) {
  if (g) {
    (*env)->DeleteGlobalRef(env, g);
    atomic_fetch_sub(&global_refs, 1);
  }
}

static void detach_at_exit(void *unused) {
  (void)unused;
  if (!atomic_load(&unloaded))
    (*vm)->DetachCurrentThread(vm);
}

/* The JNIEnv of the calling thread, attaching it (as a daemon) when it is the loop thread's first
 * call into Java. NULL once the library is unloaded or when attaching fails. */
static JNIEnv *loop_env(void) {
  JNIEnv *env = NULL;
  JavaVMAttachArgs args = {JNI_VERSION_1_8, "k8sha-loop", NULL};
  if (atomic_load(&unloaded))
    return NULL;
  if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) == JNI_OK)
    return env;
  if ((*vm)->AttachCurrentThreadAsDaemon(vm, (void **)&env, &args) != JNI_OK)
    return NULL;
  pthread_setspecific(detach_key, vm);
  return env;
}

/* After a call into Java from the loop thread: an exception there is reported, not left. */
static void clear_exception(JNIEnv *env, const char *where) {
  if ((*env)->ExceptionCheck(env)) {
    fprintf(stderr, "libk8sha-jni: a Java exception escaped %s:\n", where);
    (*env)->ExceptionDescribe(env);
    (*env)->ExceptionClear(env);
  }
}

static jstring jstr(JNIEnv *env, const char *s) {
  return s ? (*env)->NewStringUTF(env, s) : NULL;
}

/* A Java string's UTF-8 copy (malloc), NULL for null; *oom set when the copy failed. */
static char *cstr(JNIEnv *env, jstring s, int *oom) {
  const char *u;
  char *copy;
  if (!s)
    return NULL;
  u = (*env)->GetStringUTFChars(env, s, NULL);
  if (!u) {
    *oom = 1;
    return NULL;
  }
  copy = strdup(u);
  (*env)->ReleaseStringUTFChars(env, s, u);
  if (!copy)
    *oom = 1;
  return copy;
}

static void throw_k8sha(JNIEnv *env, int code, const char *message) {
  jstring m;
  jobject ex;
  if ((*env)->ExceptionCheck(env))
    return; /* (an OutOfMemoryError or the like is already on its way) */
  m = jstr(env, message && *message ? message : k8sha_strerror(code));
  ex = (*env)->NewObject(env, exception_cls, m_exception_init, (jint)code, m);
  if (ex)
    (*env)->Throw(env, (jthrowable)ex);
}

/* ---- pending operations ---- */

/* An operation started for Java: its future (a global reference) until it completes. It sits
 * in its owner's list so that closing the owner fails it instead of leaving the future hanging
 * (a freed store or election never calls back). */
typedef struct jop {
  struct jop *prev, *next;
  struct jop **list;
  jobject future;
} jop;

static jop *op_new(JNIEnv *env, jobject future) {
  jop *o = calloc(1, sizeof(*o));
  if (!o)
    return NULL;
  o->future = gref(env, future);
  if (!o->future) {
    free(o);
    return NULL;
  }
  return o;
}

static void op_link(jop **list, jop *o) {
  o->list = list;
  o->next = *list;
  if (*list)
    (*list)->prev = o;
  *list = o;
}

static void op_unlink(jop *o) {
  if (!o->list)
    return;
  if (o->prev)
    o->prev->next = o->next;
  else
    *o->list = o->next;
  if (o->next)
    o->next->prev = o->prev;
  o->list = NULL;
}

/* Completes and frees `o` on the loop thread (in a local frame of the caller's). */
static void op_finish(JNIEnv *env, jop *o, int status, const char *message, jobject value) {
  op_unlink(o);
  if (env) {
    jstring m = status ? jstr(env, message && *message ? message : k8sha_strerror(status)) : NULL;
    if (!(*env)->ExceptionCheck(env))
      (*env)->CallStaticVoidMethod(env, native_cls, m_complete, o->future, (jint)status, m, value);
    clear_exception(env, "Native.complete");
    gunref(env, o->future);
  }
  free(o);
}

/* Fails every operation still pending in `list`: its object is being closed. */
static void ops_cancel(jop **list) {
  JNIEnv *env = loop_env();
  while (*list) {
    jop *o = *list;
    if (env && (*env)->PushLocalFrame(env, 8) == 0) {
      op_finish(env, o, K8SHA_ECANCELED, "closed before the operation completed", NULL);
      (*env)->PopLocalFrame(env, NULL);
    } else {
      op_unlink(o);
      free(o); /* (no JVM to tell) */
    }
  }
}

/* ---- the loop-thread call ---- */

/* What a Java call asks the loop to do: fn runs there with the call; `err` keeps the message of
 * a synchronous failure (k8sha_last_error() is per thread: the loop's). */
typedef struct call call;
typedef int (*call_fn)(call *c);

struct call {
  call_fn fn;
  void *obj;         /* the shim object concerned */
  jop *op;           /* the operation started, when it is asynchronous */
  const char *s1, *s2;
  uint64_t n;
  int i;
  void *data;
  size_t len;
  void *out;
  char err[512];
};

static int run_call(k8sha_ctx *ctx, void *ud) {
  call *c = ud;
  int rc;
  (void)ctx;
  rc = c->fn(c);
  if (rc)
    snprintf(c->err, sizeof(c->err), "%s", k8sha_last_error());
  return rc;
}

/* Runs c->fn on the context's loop; on failure throws and returns the code. */
static int on_loop(JNIEnv *env, k8sha_ctx *ctx, call *c) {
  int rc;
  c->err[0] = '\0';
  rc = k8sha_ctx_call(ctx, run_call, c);
  if (rc) {
    if (!c->err[0])
      snprintf(c->err, sizeof(c->err), "%s", k8sha_last_error());
    throw_k8sha(env, rc, c->err);
  }
  return rc;
}

/* ---- objects ---- */

typedef struct jctx {
  k8sha_ctx *ctx;
} jctx;

typedef struct jelection {
  jctx *c;
  k8sha_election *e;
  jobject self; /* the io.libk8sha.Election, for its events; released by `destroy` */
  jop *ops;     /* publish and stop */
} jelection;

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

typedef struct jwatch {
  jctx *c;
  k8sha_watch *w;
  jobject self; /* the io.libk8sha.Watch, for its events */
} jwatch;

typedef struct jretriever {
  jctx *c;
  k8sha_retriever *r;
  jobject self; /* the io.libk8sha.Retriever, for its events */
} jretriever;

#define H(p) ((jlong)(intptr_t)(p))
#define P(t, h) ((t *)(intptr_t)(h))

/* ---- version and errors ---- */

static jstring n_version(JNIEnv *env, jclass cls) {
  (void)cls;
  return jstr(env, k8sha_version_string());
}

static jstring n_err_name(JNIEnv *env, jclass cls, jint code) {
  (void)cls;
  return jstr(env, k8sha_err_name(code));
}

static jlong n_global_refs(JNIEnv *env, jclass cls) {
  (void)env;
  (void)cls;
  return (jlong)atomic_load(&global_refs);
}

/* ---- configuration (not bound to a loop: the Java object serialises its calls) ---- */

static jlong n_config_new(JNIEnv *env, jclass cls) {
  k8sha_config *cfg = NULL;
  int rc = k8sha_config_new(&cfg, NULL);
  (void)cls;
  if (rc) {
    throw_k8sha(env, rc, k8sha_last_error());
    return 0;
  }
  return H(cfg);
}

static void n_config_free(JNIEnv *env, jclass cls, jlong h) {
  (void)env;
  (void)cls;
  k8sha_config_free(P(k8sha_config, h));
}

static void config_fail(JNIEnv *env, k8sha_config *cfg, int rc) {
  const char *m = k8sha_config_last_error(cfg);
  throw_k8sha(env, rc, m ? m : k8sha_last_error());
}

static void n_config_load_file(JNIEnv *env, jclass cls, jlong h, jstring path) {
  int oom = 0, rc;
  char *p = cstr(env, path, &oom);
  (void)cls;
  if (oom)
    return;
  rc = k8sha_config_load_file(P(k8sha_config, h), p);
  free(p);
  if (rc)
    config_fail(env, P(k8sha_config, h), rc);
}

static void n_config_load_string(JNIEnv *env, jclass cls, jlong h, jstring name, jstring yaml) {
  int oom = 0, rc;
  char *n = cstr(env, name, &oom), *y = cstr(env, yaml, &oom);
  (void)cls;
  rc = oom ? K8SHA_ENOMEM : k8sha_config_load_string(P(k8sha_config, h), n, y, y ? strlen(y) : 0);
  free(n);
  free(y);
  if (rc)
    config_fail(env, P(k8sha_config, h), rc);
}

static void n_config_set(JNIEnv *env, jclass cls, jlong h, jstring key, jstring value) {
  int oom = 0, rc;
  char *k = cstr(env, key, &oom), *v = cstr(env, value, &oom);
  (void)cls;
  rc = oom ? K8SHA_ENOMEM : k8sha_config_set(P(k8sha_config, h), k, v);
  free(k);
  free(v);
  if (rc)
    config_fail(env, P(k8sha_config, h), rc);
}

static jstring n_config_get(JNIEnv *env, jclass cls, jlong h, jstring key) {
  int oom = 0;
  const char *v = NULL;
  char *k = cstr(env, key, &oom);
  (void)cls;
  if (!oom && k8sha_config_get(P(k8sha_config, h), k, &v) != 0)
    v = NULL;
  free(k);
  return jstr(env, v);
}

/* 0 when it passed; else the code (the diagnostics say why: configDiagnostics). */
static jint n_config_validate(JNIEnv *env, jclass cls, jlong h) {
  (void)env;
  (void)cls;
  return k8sha_config_validate(P(k8sha_config, h));
}

static jint n_config_resolve_kube(JNIEnv *env, jclass cls, jlong h) {
  (void)env;
  (void)cls;
  return k8sha_config_resolve_kube(P(k8sha_config, h));
}

static jobjectArray n_config_diagnostics(JNIEnv *env, jclass cls, jlong h) {
  k8sha_config *cfg = P(k8sha_config, h);
  size_t i, n = k8sha_config_diag_count(cfg);
  jobjectArray out;
  (void)cls;
  out = (*env)->NewObjectArray(env, (jsize)n, diagnostic_cls, NULL);
  for (i = 0; out && i < n; i++) {
    const k8sha_diag *d = k8sha_config_diag_at(cfg, i);
    jobject o;
    if ((*env)->PushLocalFrame(env, 8) != 0)
      return NULL;
    jstring file = jstr(env, d->file), key = jstr(env, d->key), msg = jstr(env, d->message),
            text = jstr(env, d->text);
    o = (*env)->ExceptionCheck(env)
            ? NULL
            : (*env)->NewObject(env, diagnostic_cls, m_diagnostic_init, (jint)d->severity, file,
                                (jint)d->line, key, msg, text);
    if (o && !(*env)->ExceptionCheck(env))
      (*env)->SetObjectArrayElement(env, out, (jsize)i, o);
    (*env)->PopLocalFrame(env, NULL);
    if ((*env)->ExceptionCheck(env))
      return NULL;
  }
  return out;
}

static jstring n_config_value(JNIEnv *env, jclass cls, jlong h, jint which) {
  const k8sha_config *cfg = P(k8sha_config, h);
  (void)cls;
  switch (which) {
  case 0: return jstr(env, k8sha_config_cluster_id(cfg));
  case 1: return jstr(env, k8sha_config_namespace(cfg));
  case 2: return jstr(env, k8sha_config_storage_dir(cfg));
  case 3: return jstr(env, k8sha_config_kube_server(cfg));
  case 4: return jstr(env, k8sha_config_kube_source(cfg));
  default: return NULL;
  }
}

/* ---- context ---- */

static jlong n_ctx_new(JNIEnv *env, jclass cls, jlong cfg) {
  k8sha_ctx_options o;
  jctx *c = calloc(1, sizeof(*c));
  int rc;
  (void)cls;
  if (!c) {
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION);
  o.loop = NULL; /* the library's own loop thread */
  rc = k8sha_ctx_new(&c->ctx, P(k8sha_config, cfg), &o);
  if (rc) {
    throw_k8sha(env, rc, k8sha_last_error());
    free(c);
    return 0;
  }
  return H(c);
}

static int do_nothing(call *c) {
  (void)c;
  return 0;
}

/* Returns once the loop thread has finished what it was doing (a task's end, after its
 * completion was handed to Java, frees the task only then). */
static void n_ctx_sync(JNIEnv *env, jclass cls, jlong h) {
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_nothing;
  on_loop(env, P(jctx, h)->ctx, &c);
}

/* Frees the context (joining its loop thread). Java closes its children first; a refusal
 * (K8SHA_EBUSY) is thrown and nothing is freed. */
static void n_ctx_free(JNIEnv *env, jclass cls, jlong h) {
  jctx *c = P(jctx, h);
  int rc;
  (void)cls;
  rc = k8sha_ctx_free(c->ctx);
  if (rc) {
    throw_k8sha(env, rc, k8sha_last_error());
    return;
  }
  free(c);
}

static int do_stats(call *c) {
  return k8sha_ctx_stats(((jctx *)c->obj)->ctx, c->out);
}

static jlongArray n_ctx_stats(JNIEnv *env, jclass cls, jlong h) {
  jctx *jc = P(jctx, h);
  k8sha_stats st;
  call c;
  jlong v[8];
  jlongArray out;
  (void)cls;
  memset(&c, 0, sizeof(c));
  memset(&st, 0, sizeof(st));
  st.version = K8SHA_STATS_VERSION;
  c.fn = do_stats;
  c.obj = jc;
  c.out = &st;
  if (on_loop(env, jc->ctx, &c))
    return NULL;
  v[0] = (jlong)st.requests;
  v[1] = (jlong)st.requests_get;
  v[2] = (jlong)st.requests_update;
  v[3] = (jlong)st.requests_create;
  v[4] = (jlong)st.requests_watch;
  v[5] = (jlong)st.retries;
  v[6] = (jlong)st.responses_409;
  v[7] = (jlong)st.transport_errors;
  out = (*env)->NewLongArray(env, 8);
  if (out)
    (*env)->SetLongArrayRegion(env, out, 0, 8, v);
  return out;
}

/* ---- election ---- */

enum { EV_GRANTED = 0, EV_REVOKED = 1, EV_LEADER_CHANGED = 2, EV_ERROR = 3 };

static void election_event(jelection *je, int kind, const char *text, uint64_t term, int code) {
  JNIEnv *env = loop_env();
  if (!env || !je->self || (*env)->PushLocalFrame(env, 8) != 0)
    return;
  {
    jstring t = jstr(env, text);
    if (!(*env)->ExceptionCheck(env))
      (*env)->CallStaticVoidMethod(env, native_cls, m_election_event, je->self, (jint)kind, t,
                                   (jlong)term, (jint)code);
  }
  clear_exception(env, "Native.electionEvent");
  (*env)->PopLocalFrame(env, NULL);
}

static void on_granted(k8sha_election *e, const char *session, uint64_t term, void *ud) {
  (void)e;
  election_event(ud, EV_GRANTED, session, term, 0);
}

static void on_revoked(k8sha_election *e, int reason, void *ud) {
  (void)e;
  election_event(ud, EV_REVOKED, NULL, 0, reason);
}

static void on_leader_changed(k8sha_election *e, const char *identity, void *ud) {
  (void)e;
  election_event(ud, EV_LEADER_CHANGED, identity, 0, 0);
}

static void on_election_error(k8sha_election *e, int err, const char *message, void *ud) {
  (void)e;
  election_event(ud, EV_ERROR, message, 0, err);
}

/* The election no longer needs its user data: the shim's part of it goes. */
static void on_election_destroy(void *ud) {
  jelection *je = ud;
  JNIEnv *env = loop_env();
  if (env)
    gunref(env, je->self);
  free(je);
}

static int do_election_new(call *c) {
  jelection *je = c->obj;
  k8sha_election_options o = K8SHA_ELECTION_OPTIONS_INIT;
  k8sha_election_callbacks cbs;
  int rc;
  memset(&cbs, 0, sizeof(cbs));
  cbs.version = K8SHA_ELECTION_CALLBACKS_VERSION;
  cbs.granted = on_granted;
  cbs.revoked = on_revoked;
  cbs.leader_changed = on_leader_changed;
  cbs.error = on_election_error;
  cbs.user_data = je;
  cbs.destroy = on_election_destroy;
  o.identity = c->s1;
  o.lock_name = c->s2;
  o.lock = c->i ? K8SHA_LOCK_LEASE : K8SHA_LOCK_CONFIGMAP;
  rc = k8sha_election_new(&je->e, je->c->ctx, &o, &cbs);
  if (rc == 0 && c->n)
    rc = k8sha_election_start(je->e);
  return rc;
}

static jlong n_election_new(JNIEnv *env, jclass cls, jlong ctx, jobject self, jstring identity,
                            jstring lock_name, jint lock_kind) {
  jelection *je = calloc(1, sizeof(*je));
  int oom = 0;
  char *id = cstr(env, identity, &oom), *lock = cstr(env, lock_name, &oom);
  call c;
  (void)cls;
  if (!je || oom || !(je->self = gref(env, self))) {
    free(je);
    free(id);
    free(lock);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  je->c = P(jctx, ctx);
  memset(&c, 0, sizeof(c));
  c.fn = do_election_new;
  c.obj = je;
  c.s1 = id;
  c.s2 = lock;
  c.i = lock_kind;
  if (on_loop(env, je->c->ctx, &c)) {
    gunref(env, je->self); /* (k8sha_election_new failed: destroy was not called) */
    free(je);
    je = NULL;
  }
  free(id);
  free(lock);
  return H(je);
}

static int do_election_start(call *c) {
  return k8sha_election_start(((jelection *)c->obj)->e);
}

static void n_election_start(JNIEnv *env, jclass cls, jlong h) {
  jelection *je = P(jelection, h);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_election_start;
  c.obj = je;
  on_loop(env, je->c->ctx, &c);
}

/* publish's and stop's completion */
static void on_election_done(k8sha_election *e, int status, void *ud) {
  jop *o = ud;
  JNIEnv *env = loop_env();
  if (!env || (*env)->PushLocalFrame(env, 8) != 0) {
    op_finish(NULL, o, status, NULL, NULL);
    return;
  }
  op_finish(env, o, status, status ? k8sha_election_last_error(e) : NULL, NULL);
  (*env)->PopLocalFrame(env, NULL);
}

static int do_election_stop(call *c) {
  jelection *je = c->obj;
  int rc = k8sha_election_stop(je->e, on_election_done, c->op);
  if (rc == 0)
    op_link(&je->ops, c->op);
  return rc;
}

static int do_election_publish(call *c) {
  jelection *je = c->obj;
  int rc = k8sha_election_publish(je->e, c->s1, c->s2, on_election_done, c->op);
  if (rc == 0)
    op_link(&je->ops, c->op);
  return rc;
}

/* Starts an asynchronous call: on failure the operation is dropped (its future is the caller's
 * to fail: the exception thrown here). */
static void start_op(JNIEnv *env, k8sha_ctx *ctx, call *c, jobject future) {
  c->op = op_new(env, future);
  if (!c->op) {
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return;
  }
  if (on_loop(env, ctx, c)) {
    gunref(env, c->op->future);
    free(c->op);
  }
}

static int do_election_unpublish(call *c) {
  jelection *je = c->obj;
  int rc = k8sha_election_unpublish(je->e, c->s1, on_election_done, c->op);
  if (rc == 0)
    op_link(&je->ops, c->op);
  return rc;
}

static void n_election_unpublish(JNIEnv *env, jclass cls, jlong h, jstring component,
                                 jobject future) {
  jelection *je = P(jelection, h);
  int oom = 0;
  char *comp = cstr(env, component, &oom);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_election_unpublish;
  c.obj = je;
  c.s1 = comp;
  if (oom)
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
  else
    start_op(env, je->c->ctx, &c, future);
  free(comp);
}

static void n_election_stop(JNIEnv *env, jclass cls, jlong h, jobject future) {
  jelection *je = P(jelection, h);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_election_stop;
  c.obj = je;
  start_op(env, je->c->ctx, &c, future);
}

static void n_election_publish(JNIEnv *env, jclass cls, jlong h, jstring component,
                               jstring address, jobject future) {
  jelection *je = P(jelection, h);
  int oom = 0;
  char *comp = cstr(env, component, &oom), *addr = cstr(env, address, &oom);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_election_publish;
  c.obj = je;
  c.s1 = comp;
  c.s2 = addr;
  if (oom)
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
  else
    start_op(env, je->c->ctx, &c, future);
  free(comp);
  free(addr);
}

static int do_election_query(call *c) {
  jelection *je = c->obj;
  const char *s;
  switch (c->i) {
  case 0:
    c->n = (uint64_t)k8sha_election_is_leader(je->e);
    return 0;
  case 1:
    s = k8sha_election_identity(je->e);
    break;
  default:
    s = k8sha_election_session(je->e);
    break;
  }
  snprintf(c->err, sizeof(c->err), "%s", s ? s : "");
  c->n = s != NULL;
  return 0;
}

static int election_query(JNIEnv *env, jelection *je, int what, call *c) {
  memset(c, 0, sizeof(*c));
  c->fn = do_election_query;
  c->obj = je;
  c->i = what;
  return on_loop(env, je->c->ctx, c);
}

static jboolean n_election_is_leader(JNIEnv *env, jclass cls, jlong h) {
  call c;
  (void)cls;
  return election_query(env, P(jelection, h), 0, &c) == 0 && c.n ? JNI_TRUE : JNI_FALSE;
}

/* (the query's string comes back in c.err: run_call only writes it on failure) */
static jstring n_election_string(JNIEnv *env, jclass cls, jlong h, jint what) {
  call c;
  (void)cls;
  if (election_query(env, P(jelection, h), what == 0 ? 1 : 2, &c) || !c.n)
    return NULL;
  return jstr(env, c.err);
}

static int do_election_free(call *c) {
  jelection *je = c->obj;
  ops_cancel(&je->ops);
  k8sha_election_free(je->e); /* calls on_election_destroy, which frees je */
  return 0;
}

static void n_election_free(JNIEnv *env, jclass cls, jlong h) {
  jelection *je = P(jelection, h);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_election_free;
  c.obj = je;
  on_loop(env, je->c->ctx, &c);
}

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
  CP_COUNTER_NEXT, CP_COUNTER_SET, CP_SHUTDOWN
};

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
  js->c = je->c;
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
                       jobject future) {
  jstore *js = P(jstore, h);
  call c;
  memset(&c, 0, sizeof(c));
  c.fn = do_store;
  c.obj = js;
  c.i = what;
  c.n = n;
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
  store_call(env, h, what, (uint64_t)n, bytes, future);
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
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_store_free;
  c.obj = js;
  on_loop(env, js->c->ctx, &c);
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

enum { JG_OPEN, JG_PUT, JG_GET, JG_REMOVE };

static int do_graphs(call *c) {
  jgraphs *jg = c->obj;
  int rc;
  switch (c->i) {
  case JG_OPEN:
    rc = k8sha_jobgraph_store_open(&jg->s, (k8sha_election *)c->out, on_graphs_done, c->op);
    break;
  case JG_PUT:
    rc = k8sha_jobgraph_put(jg->s, c->s1, c->data, c->len, on_graphs_done, c->op);
    break;
  case JG_GET:
    rc = k8sha_jobgraph_get(jg->s, c->s1, on_graph_got, c->op);
    break;
  default:
    rc = k8sha_jobgraph_remove(jg->s, c->s1, on_graphs_done, c->op);
    break;
  }
  if (rc == 0)
    op_link(&jg->ops, c->op);
  return rc;
}

static jlong n_graphs_open(JNIEnv *env, jclass cls, jlong election, jobject future) {
  jelection *je = P(jelection, election);
  jgraphs *jg = calloc(1, sizeof(*jg));
  call c;
  (void)cls;
  if (!jg) {
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  jg->c = je->c;
  memset(&c, 0, sizeof(c));
  c.fn = do_graphs;
  c.obj = jg;
  c.i = JG_OPEN;
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
  if (what <= JG_OPEN || what > JG_REMOVE) {
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
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_graphs_free;
  c.obj = jg;
  on_loop(env, jg->c->ctx, &c);
}

/* ---- retriever ---- */

static void retriever_event(jretriever *jr, int kind, const char *a, const char *b, int code) {
  JNIEnv *env = loop_env();
  jstring ja, jb;
  if (!env || (*env)->PushLocalFrame(env, 8) != 0)
    return;
  ja = jstr(env, a);
  jb = jstr(env, b);
  if (!(*env)->ExceptionCheck(env))
    (*env)->CallStaticVoidMethod(env, native_cls, m_retriever_event, jr->self, (jint)kind, ja, jb,
                                 (jint)code);
  clear_exception(env, "Native.retrieverEvent");
  (*env)->PopLocalFrame(env, NULL);
}

static void on_leader_address(k8sha_retriever *r, const char *address, const char *session,
                              void *ud) {
  (void)r;
  retriever_event(ud, 0, address, session, 0);
}

static void on_retriever_error(k8sha_retriever *r, int err, const char *message, void *ud) {
  (void)r;
  retriever_event(ud, 1, message, NULL, err);
}

static int do_retriever_new(call *c) {
  jretriever *jr = c->obj;
  k8sha_retriever_options o = K8SHA_RETRIEVER_OPTIONS_INIT;
  o.lock = c->i ? K8SHA_LOCK_LEASE : K8SHA_LOCK_CONFIGMAP;
  o.lock_name = c->s2;
  o.error = on_retriever_error;
  return k8sha_retriever_new(&jr->r, jr->c->ctx, &o, c->s1, on_leader_address, jr);
}

static jlong n_retriever_new(JNIEnv *env, jclass cls, jlong ctx, jobject self, jstring component,
                             jstring lock_name, jint lock_kind) {
  jretriever *jr = calloc(1, sizeof(*jr));
  int oom = 0;
  char *comp = cstr(env, component, &oom), *lock = cstr(env, lock_name, &oom);
  call c;
  (void)cls;
  if (!jr || oom || !(jr->self = gref(env, self))) {
    free(jr);
    free(comp);
    free(lock);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  jr->c = P(jctx, ctx);
  memset(&c, 0, sizeof(c));
  c.fn = do_retriever_new;
  c.obj = jr;
  c.s1 = comp;
  c.s2 = lock;
  c.i = lock_kind;
  if (on_loop(env, jr->c->ctx, &c)) {
    gunref(env, jr->self);
    free(jr);
    jr = NULL;
  }
  free(comp);
  free(lock);
  return H(jr);
}

static int do_retriever_free(call *c) {
  jretriever *jr = c->obj;
  JNIEnv *env = loop_env();
  k8sha_retriever_free(jr->r); /* (no callback of it runs any more) */
  if (env)
    gunref(env, jr->self);
  free(jr);
  return 0;
}

static void n_retriever_free(JNIEnv *env, jclass cls, jlong h) {
  jretriever *jr = P(jretriever, h);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_retriever_free;
  c.obj = jr;
  on_loop(env, jr->c->ctx, &c);
}

/* ---- watch ---- */

static void on_watch_event(k8sha_watch *w, const k8sha_watch_event *ev, void *ud) {
  jwatch *jw = ud;
  JNIEnv *env = loop_env();
  jstring name, rv, obj, old, msg;
  (void)w;
  if (!env || (*env)->PushLocalFrame(env, 16) != 0)
    return;
  name = jstr(env, ev->name);
  rv = jstr(env, ev->resource_version);
  obj = jstr(env, ev->object_json);
  old = jstr(env, ev->old_object_json);
  msg = jstr(env, ev->message);
  if (!(*env)->ExceptionCheck(env))
    (*env)->CallStaticVoidMethod(env, native_cls, m_watch_event, jw->self, (jint)ev->type, name,
                                 rv, obj, old, (jint)ev->err, msg);
  clear_exception(env, "Native.watchEvent");
  (*env)->PopLocalFrame(env, NULL);
}

static int do_watch_new(call *c) {
  jwatch *jw = c->obj;
  return k8sha_watch_new(&jw->w, jw->c->ctx, c->s1, on_watch_event, jw);
}

static jlong n_watch_new(JNIEnv *env, jclass cls, jlong ctx, jobject self, jstring selector) {
  jwatch *jw = calloc(1, sizeof(*jw));
  int oom = 0;
  char *sel = cstr(env, selector, &oom);
  call c;
  (void)cls;
  if (!jw || oom || !(jw->self = gref(env, self))) {
    free(jw);
    free(sel);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  jw->c = P(jctx, ctx);
  memset(&c, 0, sizeof(c));
  c.fn = do_watch_new;
  c.obj = jw;
  c.s1 = sel;
  if (on_loop(env, jw->c->ctx, &c)) {
    gunref(env, jw->self);
    free(jw);
    jw = NULL;
  }
  free(sel);
  return H(jw);
}

static int do_watch_free(call *c) {
  jwatch *jw = c->obj;
  JNIEnv *env = loop_env();
  k8sha_watch_free(jw->w); /* (its callback does not run again) */
  if (env)
    gunref(env, jw->self);
  free(jw);
  return 0;
}

static void n_watch_free(JNIEnv *env, jclass cls, jlong h) {
  jwatch *jw = P(jwatch, h);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_watch_free;
  c.obj = jw;
  on_loop(env, jw->c->ctx, &c);
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

/* ---- storage backends written in Java ---- */

/* A backend registered from Java: its io.libk8sha.StorageBridge, which runs the user's backend
 * on a Java executor. The library calls the vtable on the loop thread; the Java side completes
 * each operation (from any thread) through Native.storageComplete. */
typedef struct jbackend {
  jobject bridge;
} jbackend;

enum { ST_WRITE = 0, ST_READ = 1, ST_REMOVE = 2, ST_LIST = 3 };

static int bk_call(jbackend *b, int kind, const char *uri, const void *data, size_t len,
                   k8sha_storage_op *op) {
  JNIEnv *env = loop_env();
  jstring juri;
  jbyteArray jdata = NULL;
  int rc = 0;
  if (!env || (*env)->PushLocalFrame(env, 8) != 0)
    return K8SHA_ESTORAGE;
  juri = jstr(env, uri);
  if (kind == ST_WRITE && !(*env)->ExceptionCheck(env)) {
    jdata = (*env)->NewByteArray(env, (jsize)len);
    if (jdata && len && !(*env)->ExceptionCheck(env))
      (*env)->SetByteArrayRegion(env, jdata, 0, (jsize)len, (const jbyte *)data);
  }
  if (!(*env)->ExceptionCheck(env))
    (*env)->CallVoidMethod(env, b->bridge, m_bridge_call, (jint)kind, juri, jdata,
                           (jlong)(intptr_t)op);
  if ((*env)->ExceptionCheck(env)) {
    clear_exception(env, "StorageBridge.call"); /* not started: it is never completed */
    rc = K8SHA_ESTORAGE;
  }
  (*env)->PopLocalFrame(env, NULL);
  return rc;
}

static int bk_write_new(void *self, const char *uri, const void *data, size_t len,
                        k8sha_storage_op *op) {
  return bk_call(self, ST_WRITE, uri, data, len, op);
}

static int bk_read(void *self, const char *uri, k8sha_storage_op *op) {
  return bk_call(self, ST_READ, uri, NULL, 0, op);
}

static int bk_remove(void *self, const char *uri, k8sha_storage_op *op) {
  return bk_call(self, ST_REMOVE, uri, NULL, 0, op);
}

static int bk_list(void *self, const char *prefix, k8sha_storage_op *op) {
  return bk_call(self, ST_LIST, prefix, NULL, 0, op);
}

static void bk_destroy(void *self) {
  jbackend *b = self;
  JNIEnv *env = loop_env();
  if (env)
    gunref(env, b->bridge);
  free(b);
}

static int do_storage_register(call *c) {
  k8sha_storage_backend vt;
  memset(&vt, 0, sizeof(vt));
  vt.version = K8SHA_STORAGE_BACKEND_VERSION;
  vt.scheme = c->s1;
  vt.write_new = bk_write_new;
  vt.read = bk_read;
  vt.remove = bk_remove;
  vt.list = bk_list;
  vt.destroy = bk_destroy;
  return k8sha_storage_register(((jctx *)c->obj)->ctx, &vt, c->out);
}

static void n_storage_register(JNIEnv *env, jclass cls, jlong ctx, jstring scheme,
                               jobject bridge) {
  jctx *jc = P(jctx, ctx);
  jbackend *b = calloc(1, sizeof(*b));
  int oom = 0;
  char *sch = cstr(env, scheme, &oom);
  call c;
  (void)cls;
  if (!b || oom || !(b->bridge = gref(env, bridge))) {
    free(b);
    free(sch);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return;
  }
  memset(&c, 0, sizeof(c));
  c.fn = do_storage_register;
  c.obj = jc;
  c.s1 = sch;
  c.out = b;
  if (on_loop(env, jc->ctx, &c)) {
    gunref(env, b->bridge); /* (not registered: destroy is not called) */
    free(b);
  }
  free(sch);
}

/* Thread-safe (k8sha_storage_op_complete is): called by whichever Java thread completes. */
static void n_storage_complete(JNIEnv *env, jclass cls, jlong op, jint status, jstring message,
                               jbyteArray data) {
  int oom = 0;
  char *msg = cstr(env, message, &oom);
  void *bytes = NULL;
  size_t len = 0;
  (void)cls;
  if (data && status == 0) {
    len = (size_t)(*env)->GetArrayLength(env, data);
    bytes = malloc(len ? len : 1);
    if (bytes)
      (*env)->GetByteArrayRegion(env, data, 0, (jsize)len, bytes);
    else
      oom = 1;
  }
  if (oom)
    k8sha_storage_op_complete(P(k8sha_storage_op, op), K8SHA_ENOMEM, "out of memory completing a "
                              "storage operation in the JNI shim", NULL, 0);
  else
    k8sha_storage_op_complete(P(k8sha_storage_op, op), status, msg, bytes, len);
  free(bytes);
  free(msg);
}

static jint n_storage_add_entry(JNIEnv *env, jclass cls, jlong op, jstring uri) {
  int oom = 0, rc;
  char *u = cstr(env, uri, &oom);
  (void)cls;
  rc = oom ? K8SHA_ENOMEM : k8sha_storage_op_add_entry(P(k8sha_storage_op, op), u);
  free(u);
  return rc;
}

static void n_config_add_scheme(JNIEnv *env, jclass cls, jlong h, jstring scheme) {
  int oom = 0, rc;
  char *sch = cstr(env, scheme, &oom);
  (void)cls;
  rc = oom ? K8SHA_ENOMEM : k8sha_config_add_storage_scheme(P(k8sha_config, h), sch);
  free(sch);
  if (rc)
    config_fail(env, P(k8sha_config, h), rc);
}

/* ---- registration ---- */

static const JNINativeMethod natives[] = {
    {"version", "()Ljava/lang/String;", (void *)n_version},
    {"errName", "(I)Ljava/lang/String;", (void *)n_err_name},
    {"globalRefs", "()J", (void *)n_global_refs},
    {"configNew", "()J", (void *)n_config_new},
    {"configFree", "(J)V", (void *)n_config_free},
    {"configLoadFile", "(JLjava/lang/String;)V", (void *)n_config_load_file},
    {"configLoadString", "(JLjava/lang/String;Ljava/lang/String;)V",
     (void *)n_config_load_string},
    {"configSet", "(JLjava/lang/String;Ljava/lang/String;)V", (void *)n_config_set},
    {"configGet", "(JLjava/lang/String;)Ljava/lang/String;", (void *)n_config_get},
    {"configValidate", "(J)I", (void *)n_config_validate},
    {"configResolveKube", "(J)I", (void *)n_config_resolve_kube},
    {"configDiagnostics", "(J)[L" CLS "Diagnostic;", (void *)n_config_diagnostics},
    {"configValue", "(JI)Ljava/lang/String;", (void *)n_config_value},
    {"ctxNew", "(J)J", (void *)n_ctx_new},
    {"ctxFree", "(J)V", (void *)n_ctx_free},
    {"ctxStats", "(J)[J", (void *)n_ctx_stats},
    {"ctxSync", "(J)V", (void *)n_ctx_sync},
    {"electionNew", "(JL" CLS "Election;Ljava/lang/String;Ljava/lang/String;I)J",
     (void *)n_election_new},
    {"electionStart", "(J)V", (void *)n_election_start},
    {"electionStop", "(JLjava/util/concurrent/CompletableFuture;)V", (void *)n_election_stop},
    {"electionPublish",
     "(JLjava/lang/String;Ljava/lang/String;Ljava/util/concurrent/CompletableFuture;)V",
     (void *)n_election_publish},
    {"electionUnpublish", "(JLjava/lang/String;Ljava/util/concurrent/CompletableFuture;)V",
     (void *)n_election_unpublish},
    {"electionIsLeader", "(J)Z", (void *)n_election_is_leader},
    {"electionString", "(JI)Ljava/lang/String;", (void *)n_election_string},
    {"electionFree", "(J)V", (void *)n_election_free},
    {"storeOpen", "(JLjava/lang/String;Ljava/util/concurrent/CompletableFuture;)J",
     (void *)n_store_open},
    {"storeCall", "(JIJ[BLjava/util/concurrent/CompletableFuture;)V", (void *)n_store_call},
    {"storeFree", "(J)V", (void *)n_store_free},
    {"storeConfigMap", "(J)Ljava/lang/String;", (void *)n_store_configmap},
    {"graphsOpen", "(JLjava/util/concurrent/CompletableFuture;)J", (void *)n_graphs_open},
    {"graphsCall", "(JILjava/lang/String;[BLjava/util/concurrent/CompletableFuture;)V",
     (void *)n_graphs_call},
    {"graphsIds", "(J)[Ljava/lang/String;", (void *)n_graphs_ids},
    {"graphsFree", "(J)V", (void *)n_graphs_free},
    {"retrieverNew", "(JL" CLS "Retriever;Ljava/lang/String;Ljava/lang/String;I)J",
     (void *)n_retriever_new},
    {"retrieverFree", "(J)V", (void *)n_retriever_free},
    {"watchNew", "(JL" CLS "Watch;Ljava/lang/String;)J", (void *)n_watch_new},
    {"watchFree", "(J)V", (void *)n_watch_free},
    {"task", "(JJILjava/lang/String;ZLjava/util/concurrent/CompletableFuture;)V", (void *)n_task},
    {"storageRegister", "(JLjava/lang/String;L" CLS "StorageBridge;)V",
     (void *)n_storage_register},
    {"storageComplete", "(JILjava/lang/String;[B)V", (void *)n_storage_complete},
    {"storageAddEntry", "(JLjava/lang/String;)I", (void *)n_storage_add_entry},
    {"configAddStorageScheme", "(JLjava/lang/String;)V", (void *)n_config_add_scheme},
};

static jclass global_class(JNIEnv *env, const char *name) {
  jclass local = (*env)->FindClass(env, name), g;
  if (!local)
    return NULL;
  g = (jclass)(*env)->NewGlobalRef(env, local); /* (held until unload: not counted) */
  (*env)->DeleteLocalRef(env, local);
  return g;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *jvm, void *reserved) {
  JNIEnv *env;
  (void)reserved;
  vm = jvm;
  if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
    return JNI_ERR;
  if (pthread_key_create(&detach_key, detach_at_exit) != 0)
    return JNI_ERR;
  if (!(native_cls = global_class(env, CLS "Native")) ||
      !(exception_cls = global_class(env, CLS "K8shaException")) ||
      !(checkpoint_cls = global_class(env, CLS "Checkpoint")) ||
      !(diagnostic_cls = global_class(env, CLS "Diagnostic")) ||
      !(long_cls = global_class(env, "java/lang/Long")) ||
      !(string_cls = global_class(env, "java/lang/String")) ||
      !(bridge_cls = global_class(env, CLS "StorageBridge")) ||
      !(found_cls = global_class(env, CLS "Found")))
    return JNI_ERR;
  m_complete = (*env)->GetStaticMethodID(env, native_cls, "complete",
                                         "(Ljava/util/concurrent/CompletableFuture;ILjava/lang/"
                                         "String;Ljava/lang/Object;)V");
  m_election_event = (*env)->GetStaticMethodID(env, native_cls, "electionEvent",
                                               "(L" CLS "Election;ILjava/lang/String;JI)V");
  m_retriever_event = (*env)->GetStaticMethodID(
      env, native_cls, "retrieverEvent",
      "(L" CLS "Retriever;ILjava/lang/String;Ljava/lang/String;I)V");
  m_bridge_call = (*env)->GetMethodID(env, bridge_cls, "call", "(ILjava/lang/String;[BJ)V");
  m_found_init = (*env)->GetMethodID(env, found_cls, "<init>", "(ILjava/lang/String;)V");
  m_watch_event = (*env)->GetStaticMethodID(
      env, native_cls, "watchEvent",
      "(L" CLS "Watch;ILjava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;"
      "ILjava/lang/String;)V");
  m_exception_init = (*env)->GetMethodID(env, exception_cls, "<init>", "(ILjava/lang/String;)V");
  m_checkpoint_init =
      (*env)->GetMethodID(env, checkpoint_cls, "<init>", "(JILjava/lang/String;[BZ)V");
  m_diagnostic_init = (*env)->GetMethodID(
      env, diagnostic_cls, "<init>",
      "(ILjava/lang/String;ILjava/lang/String;Ljava/lang/String;Ljava/lang/String;)V");
  m_long_value_of = (*env)->GetStaticMethodID(env, long_cls, "valueOf", "(J)Ljava/lang/Long;");
  if (!m_complete || !m_election_event || !m_retriever_event || !m_bridge_call || !m_watch_event || !m_found_init ||
      !m_exception_init || !m_checkpoint_init ||
      !m_diagnostic_init || !m_long_value_of)
    return JNI_ERR;
  if ((*env)->RegisterNatives(env, native_cls, natives,
                              (jint)(sizeof(natives) / sizeof(natives[0]))) != 0)
    return JNI_ERR;
  return JNI_VERSION_1_8;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *jvm, void *reserved) {
  (void)jvm;
  (void)reserved;
  atomic_store(&unloaded, 1);
}
