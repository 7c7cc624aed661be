package io.libk8sha;

/**
 * Follows the leader of one component ("dispatcher", "restserver", "job-JOBID"...) on a
 * cluster's lock, as published by {@link Election#publish}. Contenders and retrievers of one
 * lock in one context share one watch.
 */
public final class Retriever implements AutoCloseable {
  private final Context ctx;
  private final RetrieverListener listener;
  private long handle;
  private volatile boolean closed;

  /** Follows {@code component} on the cluster's ConfigMap lock. */
  public Retriever(Context ctx, String component, RetrieverListener listener) {
    this(ctx, component, null, LockKind.CONFIGMAP, listener);
  }

  /** Follows {@code component} on the lock {@code lockName} (null: the cluster's) of a kind. */
  public Retriever(Context ctx, String component, String lockName, LockKind lock,
      RetrieverListener listener) {
    this.ctx = ctx;
    this.listener = listener;
    synchronized (this) {
      handle = Native.retrieverNew(ctx.handle(), this, component, lockName, lock.ordinal());
    }
    ctx.adopt(this);
  }

  void deliver(int kind, String a, String b, int code) {
    ctx.deliver(() -> closed, "the retriever listener", () -> {
      if (kind == 0) {
        listener.leader(a, b);
      } else {
        listener.error(new K8shaException(code, a));
      }
    });
  }

  /** Stops following; idempotent, and safe from its own listener. */
  @Override
  public void close() {
    synchronized (this) {
      if (handle == 0) {
        return;
      }
      closed = true;
      Native.retrieverFree(handle);
      handle = 0;
    }
    ctx.release(this);
  }

  @Override
  public String toString() {
    return "Retriever";
  }
}
