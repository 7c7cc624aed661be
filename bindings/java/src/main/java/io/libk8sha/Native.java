package io.libk8sha;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;

/**
 * The JNI shim's entry points (registered by the shim's JNI_OnLoad) and the two ways it calls
 * back: {@link #complete} and {@link #electionEvent}. Both run on the library's loop thread and
 * only hand work to a Java executor: no user code runs on that thread.
 */
final class Native {
  private Native() {}

  static {
    NativeLoader.load();
  }

  /** Makes sure the shim is loaded (the static initialiser does it). */
  static void init() {}

  static native String version();

  static native String errName(int code);

  /** Global references the shim holds for pending operations and live elections. */
  static native long globalRefs();

  static native long configNew();

  static native void configFree(long cfg);

  static native void configLoadFile(long cfg, String path);

  static native void configLoadString(long cfg, String name, String yaml);

  static native void configSet(long cfg, String key, String value);

  static native String configGet(long cfg, String key);

  static native int configValidate(long cfg);

  static native int configResolveKube(long cfg);

  static native Diagnostic[] configDiagnostics(long cfg);

  /** 0 cluster id, 1 namespace, 2 storage dir, 3 Kubernetes server, 4 where the access came from. */
  static native String configValue(long cfg, int which);

  static native long ctxNew(long cfg, LogBridge log, int level);

  static native void ctxFree(long ctx);

  static native long[] ctxStats(long ctx);

  /** Returns once the loop thread is done with what it was running. */
  static native void ctxSync(long ctx);

  static native long electionNew(long ctx, Election self, String identity, String lockName,
      int lockKind);

  static native void electionStart(long election);

  static native void electionStop(long election, CompletableFuture<Object> done);

  static native void electionPublish(long election, String component, String address,
      CompletableFuture<Object> done);

  static native void electionUnpublish(long election, String component,
      CompletableFuture<Object> done);

  static native boolean electionIsLeader(long election);

  /** 0 identity, 1 session. */
  static native String electionString(long election, int what);

  static native void electionFree(long election);

  static native long storeOpen(long election, String jobId, CompletableFuture<Object> opened);

  /** what: see CheckpointStore's OP_ constants. */
  static native void storeAddRetiring(long store, long id, byte[] state, boolean pointer,
      long[] retire,
      CompletableFuture<Object> done);

  static native void storeCall(long store, int what, long n, byte[] bytes,
      CompletableFuture<Object> done);

  static native void storeFree(long store);

  static native String storeConfigMap(long store);

  static native long graphsOpen(long election, int kind, CompletableFuture<Object> opened);

  /** what: 1 put, 2 get, 3 remove. */
  static native void graphsCall(long store, int what, String jobId, byte[] graph,
      CompletableFuture<Object> done);

  static native String[] graphsIds(long store);

  static native void graphsFree(long store);

  static native long retrieverNew(long ctx, Retriever self, String component, String lockName,
      int lockKind);

  static native void retrieverFree(long retriever);

  static native long watchNew(long ctx, Watch self, String labelSelector);

  static native void watchFree(long watch);

  /** A watch's event (loop thread): its listener runs on the context's event thread. */
  static void watchEvent(Watch watch, int type, String name, String resourceVersion,
      String objectJson, String oldObjectJson, int err, String message) {
    try {
      watch.deliver(new WatchEvent(type, name, resourceVersion, objectJson, oldObjectJson, err,
          message));
    } catch (Throwable t) {
      Context.report("delivering a watch event", t);
    }
  }

  /** kind: 0 job, 1 cluster, 2 orphans; election 0 for none. */
  static native void task(long ctx, long election, int kind, String jobId, boolean dryRun,
      CompletableFuture<Object> done);

  static native void storageRegister(long ctx, String scheme, StorageBridge bridge);

  /** Thread-safe. */
  static native void storageComplete(long op, int status, String message, byte[] data);

  static native int storageAddEntry(long op, String uri);

  static native void configAddStorageScheme(long cfg, String scheme);

  /** The completion of an operation (loop thread): the future completes on another thread. */
  static void complete(CompletableFuture<Object> future, int status, String message,
      Object value) {
    try {
      ForkJoinPool.commonPool().execute(() -> {
        if (status == 0) {
          future.complete(value);
        } else {
          future.completeExceptionally(new K8shaException(status, message));
        }
      });
    } catch (Throwable t) {
      // (a pool that refuses work: complete here rather than never)
      if (status == 0) {
        future.complete(value);
      } else {
        future.completeExceptionally(new K8shaException(status, message));
      }
    }
  }

  /** A retriever's event (loop thread): its listener runs on the context's event thread. */
  static void retrieverEvent(Retriever retriever, int kind, String a, String b, int code) {
    try {
      retriever.deliver(kind, a, b, code);
    } catch (Throwable t) {
      Context.report("delivering a retriever event", t);
    }
  }

  /** An election's event (loop thread): its listener runs on the context's event thread. */
  static void electionEvent(Election election, int kind, String text, long term, int code) {
    try {
      election.deliver(kind, text, term, code);
    } catch (Throwable t) {
      Context.report("delivering an election event", t);
    }
  }
}
