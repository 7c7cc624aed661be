package io.libk8sha;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One contender for a cluster's lock. Create it, {@link #start()} it; the listener hears when it
 * leads and when that ends. {@link #stop()} releases the lock so another contender takes over at
 * once; {@link #close()} frees the contender (a release under way still lands).
 */
public final class Election implements AutoCloseable {
  private final Context ctx;
  private final ElectionListener listener;
  private long handle;
  private volatile boolean closed;
  private final Object leadership = new Object();
  private boolean leading; // as delivered to the listener
  private long term;

  /** Options of a contender. */
  public static final class Options {
    String identity;
    String lockName;
    LockKind lock = LockKind.CONFIGMAP;

    /** This contender's identity (default: a fresh UUID). */
    public Options identity(String identity) {
      this.identity = identity;
      return this;
    }

    /** The lock object's name (default: {@code <cluster-id>-cluster-config-map}). */
    public Options lockName(String lockName) {
      this.lockName = lockName;
      return this;
    }

    /** The kind of lock object (default {@link LockKind#CONFIGMAP}). */
    public Options lock(LockKind lock) {
      this.lock = lock;
      return this;
    }
  }

  /** A contender (not started yet). */
  public Election(Context ctx, Options options, ElectionListener listener) {
    Options o = options != null ? options : new Options();
    this.ctx = ctx;
    this.listener = listener != null ? listener : new ElectionListener() {};
    synchronized (this) {
      handle = Native.electionNew(ctx.handle(), this, o.identity, o.lockName, o.lock.ordinal());
    }
    ctx.adopt(this);
  }

  synchronized long handle() {
    if (handle == 0) {
      throw new IllegalStateException("the election is closed");
    }
    return handle;
  }

  Context context() {
    return ctx;
  }

  /** Joins the election. */
  public synchronized void start() {
    Native.electionStart(handle());
  }

  /**
   * Leaves the election: a leader is revoked at once ({@link K8shaException#ECANCELED}), then
   * releases the lock; the future completes when the release is written (or failed).
   */
  public synchronized CompletableFuture<Void> stop() {
    CompletableFuture<Object> done = new CompletableFuture<>();
    Native.electionStop(handle(), done);
    return done.thenApply(x -> null);
  }

  /**
   * Publishes {@code address} for {@code component} ("dispatcher", "restserver", ...) with the
   * current session; completes when written. Throws {@link K8shaException} with
   * {@link K8shaException#ENOTLEADER} when not leading.
   */
  public synchronized CompletableFuture<Void> publish(String component, String address) {
    CompletableFuture<Object> done = new CompletableFuture<>();
    Native.electionPublish(handle(), component, address, done);
    return done.thenApply(x -> null);
  }

  /**
   * Takes back what this leadership published for {@code component} (Flink's
   * deleteLeaderInformation): its entry goes from the lock and is no longer restored.
   */
  public synchronized CompletableFuture<Void> unpublish(String component) {
    CompletableFuture<Object> done = new CompletableFuture<>();
    Native.electionUnpublish(handle(), component, done);
    return done.thenApply(x -> null);
  }

  /** Whether this contender leads now (the library's view, ahead of the listener's). */
  public synchronized boolean isLeader() {
    return Native.electionIsLeader(handle());
  }

  /** This contender's identity. */
  public synchronized String identity() {
    return Native.electionString(handle(), 0);
  }

  /** The current session id while leading, else null. */
  public synchronized String session() {
    return Native.electionString(handle(), 1);
  }

  /**
   * Waits until the listener has been told that this contender leads, or the timeout passes.
   * Returns whether it leads (as the listener was last told).
   */
  public boolean awaitLeadership(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    synchronized (leadership) {
      while (!leading && !closed) {
        long left = end - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        leadership.wait(Math.max(1, left / 1_000_000));
      }
      return leading;
    }
  }

  /** The term the listener was last told it leads in; -1 when not leading. */
  public long leadingTerm() {
    synchronized (leadership) {
      return leading ? term : -1;
    }
  }

  /** An event from the loop thread: the listener gets it on the event thread. */
  void deliver(int kind, String text, long eventTerm, int code) {
    ctx.deliver(() -> closed, "the election listener", () -> {
      switch (kind) {
        case 0:
          setLeading(true, eventTerm);
          listener.granted(text, eventTerm);
          break;
        case 1:
          setLeading(false, 0);
          listener.revoked(code);
          break;
        case 2:
          listener.leaderChanged(text == null || text.isEmpty() ? null : text);
          break;
        default:
          listener.error(new K8shaException(code, text));
          break;
      }
    });
  }

  private void setLeading(boolean now, long t) {
    synchronized (leadership) {
      leading = now;
      term = t;
      leadership.notifyAll();
    }
  }

  /**
   * Frees the contender; idempotent, and safe from its own listener. A leader that was not
   * stopped first is not released: the others take over when its lease expires.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (handle == 0) {
        return;
      }
      closed = true;
      Native.electionFree(handle);
      handle = 0;
    }
    ctx.release(this);
    setLeading(false, 0);
  }

  @Override
  public String toString() {
    return "Election";
  }
}
