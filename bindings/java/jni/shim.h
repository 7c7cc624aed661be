/*
 * libk8sha-jni: what the shim's files share (see shim.c for the rules they keep).
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 */
#ifndef K8SHA_JNI_SHIM_H
#define K8SHA_JNI_SHIM_H

#include <jni.h>
#include <stdint.h>

#include <k8sha.h>

#define CLS "io/libk8sha/"

/* Looked up once in JNI_OnLoad (shim.c). */
extern JavaVM *k8sha_jni_vm;
extern jclass native_cls, exception_cls, checkpoint_cls, diagnostic_cls, long_cls, string_cls,
    bridge_cls, found_cls;
extern jmethodID m_complete, m_election_event, m_retriever_event, m_watch_event,
    m_exception_init, m_checkpoint_init, m_diagnostic_init, m_long_value_of, m_found_init,
    m_bridge_call;

/* ---- pending operations ---- */

/* An operation started for Java: its future (a global reference) until it completes. It sits
 * in its owner's list so that closing the owner fails it instead of leaving the future hanging
 * (a freed store or election never calls back). */
typedef struct jop {
  struct jop *prev, *next;
  struct jop **list;
  jobject future;
} jop;

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

/* ---- objects ---- */

typedef struct jctx {
  k8sha_ctx *ctx;
  jobject log; /* the context's LogBridge (a global reference) */
} jctx;

/* What an object with a Java listener starts with: its context and its Java object (a global
 * reference, for its events). */
typedef struct jbase {
  jctx *c;
  jobject self;
} jbase;

typedef struct jelection {
  jbase b;      /* (self: the io.libk8sha.Election; released by `destroy`) */
  k8sha_election *e;
  jop *ops;     /* publish and stop */
} jelection;

typedef struct jwatch {
  jbase b; /* (self: the io.libk8sha.Watch) */
  k8sha_watch *w;
} jwatch;

typedef struct jretriever {
  jbase b; /* (self: the io.libk8sha.Retriever) */
  k8sha_retriever *r;
} jretriever;

#define H(p) ((jlong)(intptr_t)(p))
#define P(t, h) ((t *)(intptr_t)(h))

/* ---- shared helpers (shim.c) ---- */

/* A global reference, counted (Native.globalRefs()); gunref releases one. */
jobject gref(JNIEnv *env, jobject o);
void gunref(JNIEnv *env, jobject g);
/* The calling thread's JNIEnv, attaching the loop thread as a daemon on its first call. */
JNIEnv *loop_env(void);
/* After a call into Java from the loop thread: an exception is described and cleared. */
void clear_exception(JNIEnv *env, const char *where);
jstring jstr(JNIEnv *env, const char *s);
char *cstr(JNIEnv *env, jstring s, int *oom);
void throw_k8sha(JNIEnv *env, int code, const char *message);
jop *op_new(JNIEnv *env, jobject future);
void op_link(jop **list, jop *o);
void op_unlink(jop *o);
void op_finish(JNIEnv *env, jop *o, int status, const char *message, jobject value);
void ops_cancel(jop **list);
int on_loop(JNIEnv *env, k8sha_ctx *ctx, call *c);
void start_op(JNIEnv *env, k8sha_ctx *ctx, call *c, jobject future);
int loop_call(JNIEnv *env, k8sha_ctx *ctx, call_fn fn, void *obj);
void *listened_new(JNIEnv *env, size_t size, jlong ctx, jobject self, call_fn fn, jstring s1,
                   jstring s2, int i);
void listened_free(jbase *b);

/* Each file's natives, registered by JNI_OnLoad. */
extern const JNINativeMethod k8sha_jni_shim_natives[], k8sha_jni_election_natives[],
    k8sha_jni_stores_natives[], k8sha_jni_storage_natives[];
extern const int k8sha_jni_shim_count, k8sha_jni_election_count, k8sha_jni_stores_count,
    k8sha_jni_storage_count;

#endif
