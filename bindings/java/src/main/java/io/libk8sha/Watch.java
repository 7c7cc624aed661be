package io.libk8sha;

import java.util.function.Consumer;

/**
 * Every change to the ConfigMaps of the context's namespace that match a label selector (by
 * default the cluster's HA ConfigMaps), delivered in order on the context's event thread.
 */
public final class Watch implements AutoCloseable {
  private final Context ctx;
  private final Consumer<WatchEvent> listener;
  private long handle;
  private volatile boolean closed;

  /** Watches the cluster's HA ConfigMaps. */
  public Watch(Context ctx, Consumer<WatchEvent> listener) {
    this(ctx, null, listener);
  }

  /** Watches the ConfigMaps matching {@code labelSelector} (null: the cluster's HA ConfigMaps). */
  public Watch(Context ctx, String labelSelector, Consumer<WatchEvent> listener) {
    this.ctx = ctx;
    this.listener = listener;
    synchronized (this) {
      handle = Native.watchNew(ctx.handle(), this, labelSelector);
    }
    ctx.adopt(this);
  }

  void deliver(WatchEvent event) {
    ctx.deliver(() -> closed, "the watch listener", () -> listener.accept(event));
  }

  /** Stops the watch; idempotent, and safe from its own listener. */
  @Override
  public void close() {
    synchronized (this) {
      if (handle == 0) {
        return;
      }
      closed = true;
      Native.watchFree(handle);
      handle = 0;
    }
    ctx.release(this);
  }

  @Override
  public String toString() {
    return "Watch";
  }
}
