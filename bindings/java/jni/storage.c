/*
 * libk8sha-jni: storage backends written in Java.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

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


/* ---- registration ---- */

const JNINativeMethod k8sha_jni_storage_natives[] = {
    {"storageRegister", "(JLjava/lang/String;L" CLS "StorageBridge;)V",
     (void *)n_storage_register},
    {"storageComplete", "(JILjava/lang/String;[B)V", (void *)n_storage_complete},
    {"storageAddEntry", "(JLjava/lang/String;)I", (void *)n_storage_add_entry},
};
const int k8sha_jni_storage_count = (int)(sizeof(k8sha_jni_storage_natives) / sizeof(k8sha_jni_storage_natives[0]));
