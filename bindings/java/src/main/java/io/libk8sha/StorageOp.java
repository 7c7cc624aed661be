package io.libk8sha;

import java.util.concurrent.atomic.AtomicBoolean;

/** One pending storage operation; complete it exactly once, from any thread. */
public final class StorageOp {
  /** K8SHA_ESTORAGE: a storage backend failed. */
  public static final int ESTORAGE = -15;

  private final long op;
  private final AtomicBoolean done = new AtomicBoolean();

  StorageOp(long op) {
    this.op = op;
  }

  private void finish(int status, String message, byte[] data) {
    if (!done.compareAndSet(false, true)) {
      throw new IllegalStateException("the storage operation was completed already");
    }
    Native.storageComplete(op, status, message, data);
  }

  /** Success (a write, a delete, a list). */
  public void complete() {
    finish(0, null, null);
  }

  /** Success of a read, with the blob's bytes. */
  public void complete(byte[] data) {
    finish(0, null, data);
  }

  /**
   * Failure: {@code code} is {@link K8shaException#ENOTFOUND}, {@link K8shaException#EEXISTS} or
   * {@link #ESTORAGE}; the message names the blob and what went wrong.
   */
  public void fail(int code, String message) {
    finish(code < 0 ? code : ESTORAGE, message, null);
  }

  /** Adds one URI to a list's result, before completing it. */
  public void addEntry(String uri) {
    if (done.get()) {
      throw new IllegalStateException("the storage operation was completed already");
    }
    int rc = Native.storageAddEntry(op, uri);
    if (rc != 0) {
      throw new K8shaException(rc, "adding " + uri + " to a listing");
    }
  }

  boolean isDone() {
    return done.get();
  }
}
