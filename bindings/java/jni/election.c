/*
 * libk8sha-jni: the election, the retriever and the watch: objects with a Java listener.
 * Copyright the libk8sha authors. Licensed under the Apache License, Version 2.0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* ---- election ---- */

enum { EV_GRANTED = 0, EV_REVOKED = 1, EV_LEADER_CHANGED = 2, EV_ERROR = 3 };

static void election_event(jelection *je, int kind, const char *text, uint64_t term, int code) {
  JNIEnv *env = loop_env();
  if (!env || !je->b.self || (*env)->PushLocalFrame(env, 8) != 0)
    return;
  {
    jstring t = jstr(env, text);
    if (!(*env)->ExceptionCheck(env))
      (*env)->CallStaticVoidMethod(env, native_cls, m_election_event, je->b.self, (jint)kind, t,
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
  listened_free(&((jelection *)ud)->b); /* (b is its first member: this frees it all) */
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
  rc = k8sha_election_new(&je->e, je->b.c->ctx, &o, &cbs);
  if (rc == 0 && c->n)
    rc = k8sha_election_start(je->e);
  return rc;
}


static jlong n_election_new(JNIEnv *env, jclass cls, jlong ctx, jobject self, jstring identity,
                            jstring lock_name, jint lock_kind) {
  (void)cls;
  return H(listened_new(env, sizeof(jelection), ctx, self, do_election_new, identity, lock_name,
                        lock_kind));
}

static int do_election_start(call *c) {
  return k8sha_election_start(((jelection *)c->obj)->e);
}

static void n_election_start(JNIEnv *env, jclass cls, jlong h) {
  jelection *je = P(jelection, h);
  (void)cls;
  loop_call(env, je->b.c->ctx, do_election_start, je);
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
    start_op(env, je->b.c->ctx, &c, future);
  free(comp);
}

static void n_election_stop(JNIEnv *env, jclass cls, jlong h, jobject future) {
  jelection *je = P(jelection, h);
  call c;
  (void)cls;
  memset(&c, 0, sizeof(c));
  c.fn = do_election_stop;
  c.obj = je;
  start_op(env, je->b.c->ctx, &c, future);
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
    start_op(env, je->b.c->ctx, &c, future);
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
  return on_loop(env, je->b.c->ctx, c);
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
  (void)cls;
  loop_call(env, je->b.c->ctx, do_election_free, je);
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
    (*env)->CallStaticVoidMethod(env, native_cls, m_retriever_event, jr->b.self, (jint)kind, ja, jb,
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
  return k8sha_retriever_new(&jr->r, jr->b.c->ctx, &o, c->s1, on_leader_address, jr);
}

static jlong n_retriever_new(JNIEnv *env, jclass cls, jlong ctx, jobject self, jstring component,
                             jstring lock_name, jint lock_kind) {
  (void)cls;
  return H(listened_new(env, sizeof(jretriever), ctx, self, do_retriever_new, component,
                        lock_name, lock_kind));
}

static int do_retriever_free(call *c) {
  jretriever *jr = c->obj;
  k8sha_retriever_free(jr->r); /* (no callback of it runs any more) */
  listened_free(&jr->b);
  return 0;
}

static void n_retriever_free(JNIEnv *env, jclass cls, jlong h) {
  jretriever *jr = P(jretriever, h);
  (void)cls;
  loop_call(env, jr->b.c->ctx, do_retriever_free, jr);
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
    (*env)->CallStaticVoidMethod(env, native_cls, m_watch_event, jw->b.self, (jint)ev->type, name,
                                 rv, obj, old, (jint)ev->err, msg);
  clear_exception(env, "Native.watchEvent");
  (*env)->PopLocalFrame(env, NULL);
}

static int do_watch_new(call *c) {
  jwatch *jw = c->obj;
  return k8sha_watch_new(&jw->w, jw->b.c->ctx, c->s1, on_watch_event, jw);
}

static jlong n_watch_new(JNIEnv *env, jclass cls, jlong ctx, jobject self, jstring selector) {
  (void)cls;
  return H(listened_new(env, sizeof(jwatch), ctx, self, do_watch_new, selector, NULL, 0));
}

static int do_watch_free(call *c) {
  jwatch *jw = c->obj;
  k8sha_watch_free(jw->w); /* (its callback does not run again) */
  listened_free(&jw->b);
  return 0;
}

static void n_watch_free(JNIEnv *env, jclass cls, jlong h) {
  jwatch *jw = P(jwatch, h);
  (void)cls;
  loop_call(env, jw->b.c->ctx, do_watch_free, jw);
}

/* ---- registration ---- */

const JNINativeMethod k8sha_jni_election_natives[] = {
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
    {"retrieverNew", "(JL" CLS "Retriever;Ljava/lang/String;Ljava/lang/String;I)J",
     (void *)n_retriever_new},
    {"retrieverFree", "(J)V", (void *)n_retriever_free},
    {"watchNew", "(JL" CLS "Watch;Ljava/lang/String;)J", (void *)n_watch_new},
    {"watchFree", "(J)V", (void *)n_watch_free},
};
const int k8sha_jni_election_count = (int)(sizeof(k8sha_jni_election_natives) / sizeof(k8sha_jni_election_natives[0]));
