package io.libk8sha;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * A connection to the Kubernetes API and the library's own event loop thread, which every
 * election and store of this context runs on. Java calls hand work to that thread and return;
 * results come back as {@link java.util.concurrent.CompletableFuture}s completed on the common
 * fork-join pool, and election listeners run, in order, on this context's event thread (never
 * on the loop thread, so a slow listener cannot delay a lease renewal).
 *
 * <p>{@link #close()} closes every election and store made from the context that is still open
 * (the newest first), then frees the context.
 */
public final class Context implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("io.libk8sha");
  private static final AtomicInteger COUNT = new AtomicInteger();

  private long handle;
  private final Set<AutoCloseable> children = new LinkedHashSet<>();
  final ExecutorService events;
  private ExecutorService storage; // created with the first backend
  private final Set<CompletableFuture<?>> tasks = new LinkedHashSet<>(); // cleanup and scans
  /**
   * The context class loader of this context's threads: the creator's. (They are started from
   * the library's loop thread, a thread the JVM only knows as attached, whose context class
   * loader is null: inherited, listener code loading classes by name would reach only the
   * bootstrap loader.)
   */
  private final ClassLoader loader;

  /**
   * A context for a configuration that was validated and whose Kubernetes access was resolved
   * ({@link Config#validate()}, {@link Config#resolveKube()}). The configuration may be closed
   * afterwards.
   */
  public Context(Config config) {
    this(config, LogSink.systemLogger(), LogSink.Level.WARN);
  }

  /**
   * The same, with the library's log lines up to {@code level} going to {@code sink} (called on
   * the loop thread; see {@link LogSink}).
   */
  public Context(Config config, LogSink sink, LogSink.Level level) {
    Native.init();
    handle = Native.ctxNew(config.handle(), new LogBridge(sink), level.ordinal());
    int n = COUNT.incrementAndGet();
    ClassLoader creator = Thread.currentThread().getContextClassLoader();
    loader = creator != null ? creator : Context.class.getClassLoader();
    events = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "k8sha-events-" + n);
      t.setContextClassLoader(loader);
      t.setDaemon(true);
      return t;
    });
  }

  synchronized long handle() {
    if (handle == 0) {
      throw new IllegalStateException("the context is closed");
    }
    return handle;
  }

  /** Starts a cleanup task (start) whose end completes `done`; close() waits for it. */
  void task(CompletableFuture<?> done, Runnable start) {
    synchronized (this) {
      handle();
      tasks.add(done);
    }
    try {
      start.run();
    } catch (RuntimeException e) {
      synchronized (this) {
        tasks.remove(done);
      }
      throw e;
    }
    done.whenComplete((x, t) -> {
      synchronized (this) {
        tasks.remove(done);
      }
    });
  }

  synchronized void adopt(AutoCloseable child) {
    handle();
    children.add(child);
  }

  synchronized void release(AutoCloseable child) {
    children.remove(child);
  }

  /**
   * Registers a storage backend for its scheme (replacing the built-in one of that scheme). Its
   * methods run on this context's storage threads ({@code k8sha-storage-N}).
   */
  public void registerStorage(StorageBackend backend) {
    ExecutorService pool;
    synchronized (this) {
      handle();
      if (storage == null) {
        int n = COUNT.get();
        storage = Executors.newCachedThreadPool(r -> {
          Thread t = new Thread(r, "k8sha-storage-" + n);
          t.setContextClassLoader(loader);
          t.setDaemon(true);
          return t;
        });
      }
      pool = storage;
    }
    Native.storageRegister(handle(), backend.scheme(), new StorageBridge(backend, pool));
  }

  /**
   * The context's request counters: requests (and of them get, update, create, watch), retries,
   * conflicts (409), transport errors, and patch requests (the stores' writes).
   */
  public Map<String, Long> stats() {
    long[] v = Native.ctxStats(handle());
    String[] names = {"requests", "get", "update", "create", "watch", "retries", "conflicts",
        "transportErrors", "patch"};
    Map<String, Long> out = new LinkedHashMap<>();
    for (int i = 0; i < names.length && i < v.length; i++) {
      out.put(names[i], v[i]);
    }
    return out;
  }

  /** The library's version, e.g. "0.1.0". */
  public static String libraryVersion() {
    Native.init();
    return Native.version();
  }

  /** Closes what is still open of this context (newest first), then the context. Idempotent. */
  @Override
  public void close() {
    List<AutoCloseable> open;
    synchronized (this) {
      if (handle == 0) {
        return;
      }
      open = new ArrayList<>(children);
    }
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        open.get(i).close();
      } catch (Exception e) {
        report("closing " + open.get(i), e);
      }
    }
    // A running cleanup task keeps the context (the library refuses to free it): let them end.
    // (One whose election was just closed ends at once with ECANCELED.)
    List<CompletableFuture<?>> running;
    synchronized (this) {
      running = new ArrayList<>(tasks);
    }
    for (CompletableFuture<?> t : running) {
      try {
        t.join();
      } catch (RuntimeException e) {
        // (its caller hears how it ended)
      }
    }
    synchronized (this) {
      if (handle != 0) {
        if (!running.isEmpty()) {
          Native.ctxSync(handle); // (a task is freed after its completion was handed over)
        }
        Native.ctxFree(handle);
        handle = 0;
      }
    }
    events.shutdown();
    synchronized (this) {
      if (storage != null) {
        storage.shutdown();
      }
    }
  }

  /**
   * Runs a listener's call on the event thread (in order), unless its object was closed since
   * the event was queued; an exception it throws is reported, and later events still come.
   */
  void deliver(BooleanSupplier closed, String what, Runnable call) {
    events.execute(() -> {
      if (closed.getAsBoolean()) {
        return;
      }
      try {
        call.run();
      } catch (Throwable t) {
        report(what, t);
      }
    });
  }

  static void report(String what, Throwable t) {
    LOG.log(Level.WARNING, "libk8sha: " + what + " failed", t);
  }
}
