/*
 * libk8sha-jni: the JNI shim beneath the Java API (io.libk8sha): references, the loop thread,
 * pending operations, configuration, context, and loading (election.c, stores.c, storage.c hold
 * the rest).
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

JavaVM *k8sha_jni_vm;
static atomic_int unloaded;
static atomic_long global_refs;
static pthread_key_t detach_key;

jclass native_cls, exception_cls, checkpoint_cls, diagnostic_cls, long_cls, string_cls,
    bridge_cls, found_cls;
jmethodID m_complete, m_election_event, m_retriever_event, m_watch_event, m_exception_init,
    m_checkpoint_init, m_diagnostic_init, m_long_value_of, m_found_init, m_bridge_call;
static jclass log_cls;
static jmethodID m_log;

/* ---- references and the loop thread's JNIEnv ---- */

jobject gref(JNIEnv *env, jobject o) {
  jobject g = o ? (*env)->NewGlobalRef(env, o) : NULL;
  if (g)
    atomic_fetch_add(&global_refs, 1);
  return g;
}

void gunref(JNIEnv *env, jobject g) {
  if (g) {
    (*env)->DeleteGlobalRef(env, g);
    atomic_fetch_sub(&global_refs, 1);
  }
}

static void detach_at_exit(void *unused) {
  (void)unused;
  if (!atomic_load(&unloaded))
    (*k8sha_jni_vm)->DetachCurrentThread(k8sha_jni_vm);
}

/* The JNIEnv of the calling thread, attaching it (as a daemon) when it is the loop thread's first
 * call into Java. NULL once the library is unloaded or when attaching fails. */
JNIEnv *loop_env(void) {
  JNIEnv *env = NULL;
  JavaVMAttachArgs args = {JNI_VERSION_1_8, "k8sha-loop", NULL};
  if (atomic_load(&unloaded))
    return NULL;
  if ((*k8sha_jni_vm)->GetEnv(k8sha_jni_vm, (void **)&env, JNI_VERSION_1_8) == JNI_OK)
    return env;
  if ((*k8sha_jni_vm)->AttachCurrentThreadAsDaemon(k8sha_jni_vm, (void **)&env, &args) != JNI_OK)
    return NULL;
  pthread_setspecific(detach_key, k8sha_jni_vm);
  return env;
}

/* After a call into Java from the loop thread: an exception there is reported, not left. */
void clear_exception(JNIEnv *env, const char *where) {
  if ((*env)->ExceptionCheck(env)) {
    fprintf(stderr, "libk8sha-jni: a Java exception escaped %s:\n", where);
    (*env)->ExceptionDescribe(env);
    (*env)->ExceptionClear(env);
  }
}

jstring jstr(JNIEnv *env, const char *s) {
  return s ? (*env)->NewStringUTF(env, s) : NULL;
}

/* A Java string's UTF-8 copy (malloc), NULL for null; *oom set when the copy failed. */
char *cstr(JNIEnv *env, jstring s, int *oom) {
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

void throw_k8sha(JNIEnv *env, int code, const char *message) {
  jstring m;
  jobject ex;
  if ((*env)->ExceptionCheck(env))
    return; /* (an OutOfMemoryError or the like is already on its way) */
  m = jstr(env, message && *message ? message : k8sha_strerror(code));
  ex = (*env)->NewObject(env, exception_cls, m_exception_init, (jint)code, m);
  if (ex)
    (*env)->Throw(env, (jthrowable)ex);
}

jop *op_new(JNIEnv *env, jobject future) {
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

void op_link(jop **list, jop *o) {
  o->list = list;
  o->next = *list;
  if (*list)
    (*list)->prev = o;
  *list = o;
}

void op_unlink(jop *o) {
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
void op_finish(JNIEnv *env, jop *o, int status, const char *message, jobject value) {
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
void ops_cancel(jop **list) {
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
int on_loop(JNIEnv *env, k8sha_ctx *ctx, call *c) {
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

/* Runs `fn` on the loop with `obj` (no strings or numbers); a failure is thrown. */
int loop_call(JNIEnv *env, k8sha_ctx *ctx, call_fn fn, void *obj) {
  call c;
  memset(&c, 0, sizeof(c));
  c.fn = fn;
  c.obj = obj;
  return on_loop(env, ctx, &c);
}

/* The end of an object made by listened_new (loop thread): its Java object's reference goes. */
void listened_free(jbase *b) {
  JNIEnv *env = loop_env();
  if (env)
    gunref(env, b->self);
  free(b);
}

/* Starts an asynchronous call: on failure the operation is dropped (its future is the caller's
 * to fail: the exception thrown here). */
void start_op(JNIEnv *env, k8sha_ctx *ctx, call *c, jobject future) {
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

/* Makes a shim object of `size` bytes that starts with a jbase: `fn` creates the library's
 * object on the loop with the two strings and the number. NULL (with an exception thrown) on
 * failure, nothing left behind. */
void *listened_new(JNIEnv *env, size_t size, jlong ctx, jobject self, call_fn fn,
                          jstring s1, jstring s2, int i) {
  jbase *b = calloc(1, size);
  int oom = 0;
  char *a1 = cstr(env, s1, &oom), *a2 = cstr(env, s2, &oom);
  call c;
  if (!b || oom || !(b->self = gref(env, self))) {
    free(b);
    free(a1);
    free(a2);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return NULL;
  }
  b->c = P(jctx, ctx);
  memset(&c, 0, sizeof(c));
  c.fn = fn;
  c.obj = b;
  c.s1 = a1;
  c.s2 = a2;
  c.i = i;
  if (on_loop(env, b->c->ctx, &c)) {
    gunref(env, b->self); /* (not created: no destroy callback will release it) */
    free(b);
    b = NULL;
  }
  free(a1);
  free(a2);
  return b;
}

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

static void n_config_add_scheme(JNIEnv *env, jclass cls, jlong h, jstring scheme) {
  int oom = 0, rc;
  char *sch = cstr(env, scheme, &oom);
  (void)cls;
  rc = oom ? K8SHA_ENOMEM : k8sha_config_add_storage_scheme(P(k8sha_config, h), sch);
  free(sch);
  if (rc)
    config_fail(env, P(k8sha_config, h), rc);
}

/* ---- context ---- */

/* A log line of the library, to the context's LogBridge (on the loop thread, or on the thread
 * that creates or frees the context). */
static void on_log(k8sha_log_level level, const char *module, const char *message, void *ud) {
  jctx *c = ud;
  JNIEnv *env = loop_env();
  jstring jm, jt;
  if (!env || !c->log || (*env)->PushLocalFrame(env, 4) != 0)
    return;
  jm = jstr(env, module);
  jt = jm ? jstr(env, message) : NULL;
  if (jt && !(*env)->ExceptionCheck(env))
    (*env)->CallVoidMethod(env, c->log, m_log, (jint)level, jm, jt);
  clear_exception(env, "LogBridge.log");
  (*env)->PopLocalFrame(env, NULL);
}

static jlong n_ctx_new(JNIEnv *env, jclass cls, jlong cfg, jobject log, jint level) {
  k8sha_ctx_options o;
  jctx *c = calloc(1, sizeof(*c));
  int rc;
  (void)cls;
  if (!c || !(c->log = gref(env, log))) {
    free(c);
    throw_k8sha(env, K8SHA_ENOMEM, NULL);
    return 0;
  }
  k8sha_ctx_options_init(&o, K8SHA_CTX_OPTIONS_VERSION);
  o.loop = NULL; /* the library's own loop thread */
  o.log = on_log;
  o.log_user_data = c;
  o.log_level = level < 0 ? K8SHA_LOG_ERROR : level > 3 ? K8SHA_LOG_DEBUG : (k8sha_log_level)level;
  rc = k8sha_ctx_new(&c->ctx, P(k8sha_config, cfg), &o);
  if (rc) {
    throw_k8sha(env, rc, k8sha_last_error());
    gunref(env, c->log);
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
  (void)cls;
  loop_call(env, P(jctx, h)->ctx, do_nothing, NULL);
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
  gunref(env, c->log);
  free(c);
}

static int do_stats(call *c) {
  return k8sha_ctx_stats(((jctx *)c->obj)->ctx, c->out);
}

static jlongArray n_ctx_stats(JNIEnv *env, jclass cls, jlong h) {
  jctx *jc = P(jctx, h);
  k8sha_stats st;
  call c;
  jlong v[9];
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
  v[8] = (jlong)st.requests_patch;
  out = (*env)->NewLongArray(env, 9);
  if (out)
    (*env)->SetLongArrayRegion(env, out, 0, 9, v);
  return out;
}

/* ---- registration ---- */

const JNINativeMethod k8sha_jni_shim_natives[] = {
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
    {"ctxNew", "(JL" CLS "LogBridge;I)J", (void *)n_ctx_new},
    {"ctxFree", "(J)V", (void *)n_ctx_free},
    {"ctxStats", "(J)[J", (void *)n_ctx_stats},
    {"ctxSync", "(J)V", (void *)n_ctx_sync},
    {"configAddStorageScheme", "(JLjava/lang/String;)V", (void *)n_config_add_scheme},
};
const int k8sha_jni_shim_count = (int)(sizeof(k8sha_jni_shim_natives) / sizeof(k8sha_jni_shim_natives[0]));

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
  k8sha_jni_vm = jvm;
  if ((*k8sha_jni_vm)->GetEnv(k8sha_jni_vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
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
      !(found_cls = global_class(env, CLS "Found")) ||
      !(log_cls = global_class(env, CLS "LogBridge")))
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
  m_log = (*env)->GetMethodID(env, log_cls, "log", "(ILjava/lang/String;Ljava/lang/String;)V");
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
  if (!m_complete || !m_election_event || !m_retriever_event || !m_bridge_call || !m_watch_event ||
      !m_found_init || !m_log ||
      !m_exception_init || !m_checkpoint_init ||
      !m_diagnostic_init || !m_long_value_of)
    return JNI_ERR;
  if ((*env)->RegisterNatives(env, native_cls, k8sha_jni_shim_natives, k8sha_jni_shim_count) != 0 ||
      (*env)->RegisterNatives(env, native_cls, k8sha_jni_election_natives,
                              k8sha_jni_election_count) != 0 ||
      (*env)->RegisterNatives(env, native_cls, k8sha_jni_stores_natives, k8sha_jni_stores_count) != 0 ||
      (*env)->RegisterNatives(env, native_cls, k8sha_jni_storage_natives,
                              k8sha_jni_storage_count) != 0)
    return JNI_ERR;
  return JNI_VERSION_1_8;
}

JNIEXPORT void JNICALL JNI_OnUnload(JavaVM *jvm, void *reserved) {
  (void)jvm;
  (void)reserved;
  atomic_store(&unloaded, 1);
}
