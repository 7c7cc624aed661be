package io.libk8sha.flink;

import io.libk8sha.CheckpointStore;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.util.FlinkRuntimeException;

/**
 * Flink's CheckpointIDCounter on the counter of libk8sha's checkpoint store of the job (the
 * `counter` key of the job's ConfigMap, as Flink keeps it): each increment is one fenced update.
 * Shutting the counter down leaves the counter to the store's own shutdown, which removes it with
 * the job's checkpoints when the job ends for good.
 */
public final class K8shaCheckpointIDCounter implements CheckpointIDCounter {
  private final CheckpointStore store;
  private final Runnable release; // when shut down

  /** A counter on {@code store}, which stays the caller's. */
  public K8shaCheckpointIDCounter(CheckpointStore store) {
    this(store, () -> {});
  }

  K8shaCheckpointIDCounter(SharedCheckpointStores.Lease lease) {
    this(lease.get(), lease::release);
  }

  private K8shaCheckpointIDCounter(CheckpointStore store, Runnable release) {
    this.store = store;
    this.release = release;
  }

  private static Exception unwrap(CompletionException e) {
    return e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
  }

  @Override
  public void start() {}

  @Override
  public CompletableFuture<Void> shutdown(JobStatus jobStatus) {
    release.run();
    return CompletableFuture.completedFuture(null);
  }
  @Override
  public long getAndIncrement() throws Exception {
    try {
      return store.counterGetAndIncrement().join();
    } catch (CompletionException e) {
      throw unwrap(e);
    }
  }

  @Override
  public long get() {
    try {
      return store.counter().join();
    } catch (CompletionException e) {
      throw new FlinkRuntimeException("reading the checkpoint counter failed", e.getCause());
    }
  }

  @Override
  public void setCount(long newId) throws Exception {
    try {
      store.counterSet(newId).join();
    } catch (CompletionException e) {
      throw unwrap(e);
    }
  }
}
